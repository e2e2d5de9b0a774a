/*
 * gw_node.h — the node: what every gateway module shares.
 *
 * main owns the one event_base and creates the node; gw_server attaches
 * libwebsockets to that base; the router, health, admission and presence
 * modules read the node's config and registry and bump its counters.
 */
#ifndef GW_NODE_H
#define GW_NODE_H

#include "gw_config.h"
#include "gw_ratelimit.h"
#include "gw_registry.h"
#include "gw_wheel.h"

struct event_base;
struct event;
struct lws_context;
typedef struct gw_auth gw_auth_t;
typedef struct gw_admission gw_admission_t;
typedef struct gw_presence gw_presence_t;
typedef struct gw_bus gw_bus_t;
typedef struct gw_health gw_health_t;
typedef struct gw_grace gw_grace_t;
typedef struct gw_session gw_session_t;
typedef struct gw_peers gw_peers_t;
typedef struct gw_tls gw_tls_t;

/* Counters: monotonic since start, reported by /stats and /metrics. */
typedef struct {
	uint64_t accepted;        /* upgrades completed */
	uint64_t admitted;
	uint64_t rejected[24];    /* by gw_close_t, before admission */
	uint64_t closed[24];      /* by gw_close_t, after admission */
	uint64_t messages_in;
	uint64_t messages_out;    /* frames queued to clients */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t broadcasts;
	uint64_t directs;
	uint64_t errors_sent;
	uint64_t rate_limited;    /* messages dropped by the rate limiter */
	uint64_t rate_limited_bytes; /* ... by its byte budget */
	uint64_t dropped;         /* frames dropped (closing or queue full) */
	uint64_t pongs;
	uint64_t rtt_sum_ms;
	uint64_t rtt_count;
	uint64_t rtt_buckets[12]; /* ping RTT histogram, see gw_health.c */
	uint64_t gaps;            /* pub/sub gaps reported by the bus */
	uint64_t direct_writes;   /* frames written whole by the fast path */
	uint64_t partial_writes;  /* fast-path writes the socket took only part of */
	uint64_t batches;         /* writes of several queued frames at once */
	uint64_t batched_frames;  /* the frames those carried */
	uint64_t conns_refused[8]; /* by gw_peer_verdict_t, before any request */
} gw_stats_t;

typedef struct gw_node {
	gw_config_t *cfg;
	struct event_base *base;
	struct lws_context *lws;
	gw_auth_t *auth;
	gw_registry_t *reg;
	gw_admission_t *admission;
	gw_presence_t *presence;
	gw_bus_t *bus;          /* to the other nodes (gw_bus.h); never NULL */
	gw_health_t *health;
	gw_grace_t *grace;      /* held leaves, --leave-grace-ms (gw_router) */
	/*
	 * Standalone rejoin of a held leave: 1 if a leave of `user` held in
	 * `lobby` was taken (gw_grace_take, set by the router). The local
	 * admission asks through this, so it needs no include of gw_grace.
	 * NULL: nothing is ever held.
	 */
	int (*held_take)(struct gw_node *node, const char *lobby, size_t lobby_len,
			 const char *user, size_t user_len);
	gw_peers_t *peers;      /* per-IP and handshake bookkeeping (gw_server) */
	/* After a burst of accepts, the heap's free pages go back (gw_server). */
	struct event *trim_ev;
	uint64_t accepts, accepts_seen, accepts_trimmed;
	/* HTTP-level refusals log at most 10 lines a second (gw_server). */
	gw_bucket_t refusal_log;
	uint64_t refusals_unlogged;
	gw_tls_t *tls;          /* NULL unless --tls-cert: wss:// */
	gw_stats_t stats;
	uint64_t started_ms;    /* wall clock */
	uint64_t next_conn;     /* connection id counter */
	int draining;           /* shutting down: refuse new connections */
	const struct gw_session_up *up; /* sessions' calls upward (gw_router) */
	gw_list_t reap;         /* closing sessions awaiting detach (gw_router) */
	struct event *reap_ev;
	/* Sessions (by id) whose queued frames wait for the flush at the end
	 * of this loop turn, or of the --write-delay-ms window (gw_session). */
	uint64_t *flush_ids;
	size_t flush_n, flush_cap;
	struct event *flush_ev;
	int port;               /* the port we listen on */
	int listen_share;       /* --workers: other processes bind the port too */
	char host[256];
} gw_node_t;

#endif
