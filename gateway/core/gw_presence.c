/*
 * gw_presence.c — presence events and queries (see gw_presence.h).
 */
#include "gw_presence.h"
#include "gw_auth.h"
#include "gw_map.h"
#include "gw_protocol.h"

#include <string.h>

gw_buf_t *gw_presence_event(gw_node_t *node, gw_session_t *s, int join,
			    const char *reason)
{
	char id[GW_CONN_ID_MAX];

	if (!node->cfg->presence_events)
		return NULL;
	return gw_proto_presence_event(join, s->m.lobby->name, s->m.user->name,
				       gw_session_id_str(s, id), reason);
}

gw_buf_t *gw_presence_lost(gw_node_t *node, const char *lobby, const char *user,
			   const char *conn)
{
	if (!node->cfg->presence_events)
		return NULL;
	return gw_proto_presence_event(0, lobby, user, conn, "node_lost");
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

void gw_presence_reply(gw_node_t *node, uint64_t conn_id, const char *lobby,
		       const gw_bus_str_t *users, size_t n)
{
	gw_member_t *m = gw_registry_find(node->reg, conn_id);
	gw_session_t *s = m ? GW_SESSION_OF(m) : NULL;
	gw_buf_t *b;
	gw_map_t *seen;
	size_t i, k = 0;
	char name[GW_AUTH_SUB_MAX + 1];

	if (!s || s->state != GW_SS_OPEN)
		return;
	if (!users || !(seen = gw_map_create(n))) {
		gw_session_send_owned(s, gw_presence_local_reply(node, s->m.lobby));
		return;
	}
	/*
	 * One entry per connection: list each user once, in O(n) through a
	 * (keyed) set, since a lobby may hold many thousands.
	 */
	b = gw_proto_presence_begin(lobby);
	for (i = 0; b && i < n; i++) {
		if (users[i].len > GW_AUTH_SUB_MAX ||
		    gw_map_get(seen, users[i].str, users[i].len) ||
		    gw_map_put(seen, users[i].str, users[i].len, (void *)&users[i]))
			continue;
		memcpy(name, users[i].str, users[i].len);
		name[users[i].len] = '\0';
		b = gw_proto_presence_add(b, name, k == 0);
		k++;
	}
	gw_map_free(seen);
	gw_session_send_owned(s, gw_proto_presence_end(b, k));
}

void gw_presence_query(gw_node_t *node, gw_session_t *s)
{
	if (gw_bus_presence_query(node->bus, s) == GW_OK)
		return;
	gw_session_send_owned(s, gw_presence_local_reply(node, s->m.lobby));
}
