/*
 * gw_presence.c — presence events and queries (see gw_presence.h).
 */
#include "gw_presence.h"
#include "gw_cluster.h"
#include "gw_protocol.h"
#include "gw_router.h"

#include <string.h>

/*
 * Every presence event frame is built here, so --presence-events is
 * honoured by construction: NULL when events are off.
 */
static gw_buf_t *event_build(gw_node_t *node, int join, const char *lobby,
			     const char *user, const char *conn, const char *reason)
{
	if (!node->cfg->presence_events)
		return NULL;
	return gw_proto_presence_event(join, lobby, user, conn, reason);
}

/*
 * One presence frame per event: delivered to the local members, and the
 * same buffer published to the other nodes.
 */
static gw_buf_t *event_frame(gw_node_t *node, gw_session_t *s, int join,
			     const char *reason)
{
	char id[GW_CONN_ID_MAX];
	gw_buf_t *b = event_build(node, join, s->m.lobby->name, s->m.user->name,
				  gw_session_id_str(s, id), reason);

	if (b)
		gw_router_deliver_lobby(node, s->m.lobby, b, s->m.id);
	return b;
}

void gw_presence_join(gw_node_t *node, gw_session_t *s)
{
	gw_buf_t *b = event_frame(node, s, 1, NULL);

	if (node->cluster)
		gw_cluster_presence_join(node->cluster, s, b);
	gw_buf_unref(b);
}

void gw_presence_leave(gw_node_t *node, gw_session_t *s, const char *reason)
{
	gw_buf_t *b = event_frame(node, s, 0, reason);

	if (node->cluster)
		gw_cluster_presence_leave(node->cluster, s, b);
	gw_buf_unref(b);
}

void gw_presence_node_lost(gw_node_t *node, const char *lobby, const char *user,
			   const char *conn)
{
	gw_buf_t *b = event_build(node, 0, lobby, user, conn, "node_lost");
	gw_lobby_t *l;

	if (!b)
		return;
	l = gw_registry_lobby(node->reg, lobby, strlen(lobby));
	if (l && l->count)
		gw_router_deliver_lobby(node, l, b, 0);
	if (node->cluster)
		gw_cluster_publish_frame(node->cluster, lobby, b);
	gw_buf_unref(b);
}

gw_buf_t *gw_presence_local_reply(gw_node_t *node, gw_lobby_t *l)
{
	uint64_t mark = gw_registry_next_mark(node->reg);
	gw_buf_t *b = gw_proto_presence_begin(l->name);
	size_t n = 0;
	gw_list_t *pos;

	for (pos = l->members.next; b && pos != &l->members; pos = pos->next) {
		gw_member_t *m = GW_MEMBER_OF(pos, lobby_link);

		if (m->user->mark == mark)
			continue;
		m->user->mark = mark;
		b = gw_proto_presence_add(b, m->user->name, n == 0);
		n++;
	}
	return gw_proto_presence_end(b, n);
}

void gw_presence_query(gw_node_t *node, gw_session_t *s)
{
	if (node->cluster && gw_cluster_presence_query(node->cluster, s) == GW_OK)
		return;
	gw_session_send_owned(s, gw_presence_local_reply(node, s->m.lobby));
}
