/*
 * gw_health.h — heartbeats, round-trip latency, stale and expired
 * connections, on one timing wheel (no per-tick scan of all connections).
 *
 * Every --heartbeat-interval a connection gets a JSON health_ping and a
 * WebSocket ping; a health_pong, a protocol pong or any message answers it.
 * After --heartbeat-misses unanswered pings it is closed as stale; when its
 * token's exp passes it is closed as expired. A receive-only member (SSE)
 * gets its transport's keep-alive instead (a ": ping" comment), and a ping
 * it could not be written stands for a ping unanswered.
 */
#ifndef GW_HEALTH_H
#define GW_HEALTH_H

#include "gw_session.h"

gw_health_t *gw_health_create(gw_node_t *node);
void gw_health_free(gw_health_t *h);

void gw_health_start(gw_health_t *h, gw_session_t *s);
void gw_health_stop(gw_health_t *h, gw_session_t *s);
/* A pong (app-level or protocol) arrived: record the round trip. */
void gw_health_on_pong(gw_health_t *h, gw_session_t *s);
/* Any message: the peer is alive. */
static inline void gw_health_alive(gw_session_t *s)
{
	s->misses = 0;
}

/* Upper bounds (ms) of the RTT histogram buckets; the last is +Inf. */
extern const uint32_t gw_health_rtt_bounds[11];

#endif
