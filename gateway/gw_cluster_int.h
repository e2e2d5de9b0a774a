/*
 * gw_cluster_int.h — what gw_cluster.c (link, leases, admission) and
 * gw_fanout.c (presence events, pub/sub in and out) share. Private to
 * those two files; everyone else uses gw_cluster.h.
 */
#ifndef GW_CLUSTER_INT_H
#define GW_CLUSTER_INT_H

#include "gw_cluster.h"
#include "gw_envelope.h"
#include "gw_redis.h"

#define CH_MAX 512

enum { S_ADMIT = 0, S_RELEASE, S_LEASE, S_SWEEP, S_RESTORE, S_STATS };

/* Per-lobby state (gw_lobby_t.cluster): the last sequence seen per origin. */
typedef struct {
	size_t n;
	struct {
		char origin[65];
		uint64_t seq;
	} v[];
} lobby_state_t;

struct gw_cluster {
	gw_node_t *node;
	gw_redis_t *redis;
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
	int leaving;          /* SIGTERM: no more leases */
};

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
/* The subscription connection's messages (gw_redis_events_t.on_message). */
void gw_cluster__on_message(void *ud, const char *channel, size_t clen,
			    const char *msg, size_t len);
/* A gap event to a lobby's local members. */
void gw_cluster__send_gap(gw_cluster_t *c, gw_lobby_t *l, uint64_t missed);

#endif
