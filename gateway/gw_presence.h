/*
 * gw_presence.h — who is where, told to the lobby and to the cluster.
 *
 * Join and leave events go to the lobby's local members (unless
 * --presence-events=false) and, in cluster mode, to gw_cluster, which
 * writes presence to Redis and fans the events out to other nodes.
 * Presence queries are answered from the registry when standalone and from
 * Redis in a cluster.
 */
#ifndef GW_PRESENCE_H
#define GW_PRESENCE_H

#include "gw_session.h"

/* `s` has just joined its lobby. */
void gw_presence_join(gw_node_t *node, gw_session_t *s);
/* `s` is leaving its lobby (still linked) for `reason`. */
void gw_presence_leave(gw_node_t *node, gw_session_t *s, const char *reason);
/*
 * A connection of a dead node, swept from Redis by this node: its lobby
 * (here and on the other nodes) gets presence_leave with reason node_lost.
 * All strings borrowed.
 */
void gw_presence_node_lost(gw_node_t *node, const char *lobby, const char *user,
			   const char *conn);
/* Answers a {"type":"presence"} request from `s`. */
void gw_presence_query(gw_node_t *node, gw_session_t *s);
/* The local reply: the lobby's users here, each once. */
gw_buf_t *gw_presence_local_reply(gw_node_t *node, gw_lobby_t *l);

#endif
