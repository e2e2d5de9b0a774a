/*
 * gw_router.h — what happens to a connection and its messages.
 *
 * The router decides; gw_session writes; the bus (gw_bus.h) carries what
 * other nodes must hear. It admits upgraded connections, turns client
 * frames into broadcasts, direct messages and presence replies, delivers
 * locally (one encoded buffer shared by every receiver), and hands the
 * same buffer to the bus. What other nodes send comes back through the
 * sink it builds (gw_router_sink).
 */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include "gw_buf.h"
#include "gw_bus.h"
#include "gw_session.h"

int gw_router_init(gw_node_t *node);
void gw_router_shutdown(gw_node_t *node);

/* ESTABLISHED: apply the upgrade filter's verdict, then ask admission. */
void gw_router_admit(gw_session_t *s);
/* One complete text message / a binary message from the client. */
void gw_router_on_message(gw_session_t *s, const char *in, size_t len);
void gw_router_on_binary(gw_session_t *s);

/*
 * Closing: queues `s` for detach at a safe point (never inside a fan-out
 * walk). Detach leaves the lobby, releases the admission slot, and emits
 * presence_leave. gw_router_forget() is the CLOSED step: detach now if
 * still pending, then drop the id.
 */
void gw_router_detach(gw_session_t *s, gw_close_t why);
void gw_router_forget(gw_session_t *s);

/*
 * The core's side of the bus: what other nodes publish, delivered here.
 * `node` is borrowed for the sink's lifetime.
 */
void gw_router_sink(gw_node_t *node, gw_bus_sink_t *out);

/*
 * Local delivery, also used by the sink and the admin API.
 * `b` stays the caller's. Returns the number of sessions it was queued to.
 */
size_t gw_router_deliver_lobby(gw_node_t *node, gw_lobby_t *l, gw_buf_t *b,
			       uint64_t exclude_conn);
size_t gw_router_deliver_user(gw_node_t *node, const char *user, size_t len,
			      gw_buf_t *b);
/* Closes every local connection of `user` (all when conn_id is 0). */
size_t gw_router_kick(gw_node_t *node, const char *user, size_t len,
		      uint64_t conn_id, gw_close_t why);
/* Closes every connection (shutdown). */
void gw_router_close_all(gw_node_t *node, gw_close_t why);

#endif
