/*
 * gw_cluster_int.h — what gw_cluster.c (link, leases, admission, status)
 * and gw_fanout.c (the bus operations: presence events, pub/sub in and
 * out, lookups) share. Private to those two files; everyone else uses
 * gw_cluster.h and gw_bus.h.
 */
#ifndef GW_CLUSTER_INT_H
#define GW_CLUSTER_INT_H

#include "gw_bus.h"
#include "gw_envelope.h"
#include "gw_map.h"
#include "gw_protocol.h"
#include "gw_redis.h"

#define CH_MAX 512

typedef struct gw_cluster gw_cluster_t;

enum { S_ADMIT = 0, S_RELEASE, S_LEASE, S_SWEEP, S_RESTORE, S_STATS, S_USER_CONNS };

/*
 * Per-lobby state, one per lobby with local members (c->lobbies, keyed by
 * name): created by the first local join, freed by the last local leave.
 * The sequence we stamp on what we publish there, and the last sequence
 * seen from each other node (gap detection).
 */
typedef struct {
	uint32_t members;     /* local members */
	uint64_t seq;         /* our last published sequence */
	size_t n;
	struct {
		char origin[65];
		uint64_t seq;
	} *seen;
	char name[];
} lobby_state_t;

struct gw_cluster {
	gw_node_t *node;
	gw_bus_sink_t sink;   /* the way back into the core */
	gw_redis_t *redis;
	gw_map_t *lobbies;    /* name → lobby_state_t */
	char prefix[72];      /* "{P}" */
	char total_key[96];
	char node_ch[CH_MAX];
	char cluster_ch[CH_MAX];
	struct event *timer;  /* lease, every --lease-ttl/3 */
	struct event *sweep_ev; /* the next sweep: at the earliest lease expiry */
	int was_ready;        /* a reconnect (not the first connect) means gaps */
	gw_buf_t *snapshot;   /* cluster stats JSON, refreshed with the lease */
	uint64_t inbound;     /* messages appended to the inbound stream */
	uint64_t inbound_too_big;      /* refused: over --inbound-max-message */
	uint64_t inbound_rate_limited; /* refused: the user over --inbound-rate */
	uint64_t pubsub_in;   /* envelopes received / published */
	uint64_t pubsub_out;
	int leaving;          /* SIGTERM: no more leases */
};

/*
 * gw_fanout.c is the lower half (pub/sub in and out, the per-lobby state,
 * the bus operations that carry messages); gw_cluster.c the upper one (the
 * link's lifecycle, leases, admission, status, and the bus table, which
 * names the operations below). Arrows run from gw_cluster.c to
 * gw_fanout.c only.
 */
void gw_cluster__lobby_joined(void *impl, gw_session_t *s, gw_buf_t *event);
void gw_cluster__lobby_left(void *impl, gw_session_t *s, gw_buf_t *event);
int gw_cluster__publish(void *impl, const char *lobby, gw_buf_t *frame);
int gw_cluster__send_user(void *impl, const char *user, size_t len, const char *conn,
			  gw_buf_t *frame, const char *kick, gw_bus_sent_fn done,
			  void *ud);
int gw_cluster__presence_query(void *impl, gw_session_t *s);
int gw_cluster__inbound(void *impl, gw_session_t *s, const char *type,
			const char *raw, size_t len);
int gw_cluster__lookup(void *impl, int lobby, const char *name,
		       gw_bus_lookup_fn done, void *ud);

/* Runs script `idx` with KEYS[1] = {P}:total and `argv` as ARGV. */
int gw_cluster__script(gw_cluster_t *c, int idx, gw_redis_reply_fn cb, void *ud,
		       int argc, const char **argv);
/* Whether connection id `conn` belongs to this node. */
int gw_cluster__is_local(const gw_cluster_t *c, const char *conn, size_t len);
void gw_cluster__lobby_channel(const gw_cluster_t *c, const char *lobby, char *out);
/* Stamps version and origin, encodes and publishes `e` on `channel`. */
void gw_cluster__publish_env(gw_cluster_t *c, const char *channel, gw_envelope_t *e);
void gw_cluster__publish_lobby_frame(gw_cluster_t *c, const char *lobby,
				     uint64_t seq, const gw_buf_t *frame);
/* A message (frame) or a kick (frame NULL, `reason`) for `user` — one
 * connection when `conn` is set — on node `node` (its channel). */
void gw_cluster__publish_node(gw_cluster_t *c, const char *node, size_t node_len,
			      const char *user, const char *conn, size_t conn_len,
			      const gw_buf_t *frame, const char *reason);
/* The subscription connection's messages (gw_redis_events_t.on_message). */
void gw_cluster__on_message(void *ud, const char *channel, size_t clen,
			    const char *msg, size_t len);
/* A gap event (`missed`, 0: unknown) to every lobby with local members. */
void gw_cluster__gap_all(gw_cluster_t *c);
void gw_cluster__free_lobbies(gw_cluster_t *c);

#endif
