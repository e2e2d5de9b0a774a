/*
 * gw_presence.h — who is where: the only builder of presence frames.
 *
 * Join and leave events are built here (NULL with
 * --presence-events=false, for every caller: the router's joins and
 * leaves and the cluster's sweep of dead nodes alike); the router delivers
 * them to the lobby's local members and hands the same buffer to the bus.
 * Presence queries are answered by the bus when it can (Redis knows the
 * whole cluster) and from this node's registry otherwise.
 */
#ifndef GW_PRESENCE_H
#define GW_PRESENCE_H

#include "gw_bus.h"

/*
 * The presence_join (join 1) or presence_leave event for `s` (joined),
 * with `reason` for a leave. A new reference, or NULL when presence events
 * are off (or out of memory).
 */
gw_buf_t *gw_presence_event(gw_node_t *node, gw_session_t *s, int join,
			    const char *reason);
/* presence_leave for a connection of a dead node (reason node_lost). */
gw_buf_t *gw_presence_lost(gw_node_t *node, const char *lobby, const char *user,
			   const char *conn);
/* Answers a {"type":"presence"} request from `s`. */
void gw_presence_query(gw_node_t *node, gw_session_t *s);
/*
 * The bus's answer for connection `conn_id` (looked up again; it may be
 * gone): `users` one entry per connection, or NULL to answer locally.
 */
void gw_presence_reply(gw_node_t *node, uint64_t conn_id, const char *lobby,
		       const gw_bus_str_t *users, size_t n);
/* The local reply: the lobby's users here, each once. A new reference. */
gw_buf_t *gw_presence_local_reply(gw_node_t *node, gw_lobby_t *l);

#endif
