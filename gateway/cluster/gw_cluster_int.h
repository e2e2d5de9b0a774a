/*
 * gw_cluster_int.h — what gw_cluster.c (link, leases, admission, status)
 * and gw_fanout.c (the bus operations: presence events, pub/sub in and
 * out, lookups) share, with gw_admit_shards.c (admission across shards),
 * gw_held.c (held leaves) and gw_stats.c. Private to the cluster folder;
 * everyone else uses gw_cluster.h and gw_bus.h.
 */
#ifndef GW_CLUSTER_INT_H
#define GW_CLUSTER_INT_H

#include "gw_admission.h"
#include "gw_bus.h"
#include "gw_envelope.h"
#include "gw_keys.h"
#include "gw_map.h"
#include "gw_protocol.h"
#include "gw_redis.h"
#include "gw_shard.h"

#define CH_MAX 512

typedef struct gw_cluster gw_cluster_t;

enum { S_ADMIT = 0, S_RELEASE, S_LEASE, S_SWEEP, S_RESTORE, S_STATS,
       S_ADMIT_LOBBY, S_ADMIT_USER, S_USER_CONNS, S_HIST_PUBLISH, S_HIST_READ,
       S_SETTLE };

/*
 * One Redis shard (--redis names 1..GW_SHARDS_MAX): its link, its sweep
 * timer and what its last stats reply said. Every node holds a lease on
 * every shard and listens to its node channel and the cluster channel on
 * every shard; lobbies and users are placed by gw_shard_of().
 */
typedef struct {
	gw_cluster_t *c;
	uint32_t idx;
	gw_redis_t *redis;
	struct event *sweep_ev; /* the next sweep: at this shard's earliest lease expiry */
	int was_ready;          /* a reconnect (not the first connect) means gaps */
	long long total;        /* {P}:total and HLEN {P}:lobbies here, last read */
	long long lobbies;
} cluster_shard_t;

/*
 * A node id seen as the origin of lobby envelopes, interned (c->origins,
 * keyed by the id) so that each lobby's gap detection holds a pointer
 * instead of a copy: with lobbies spread over many nodes, every lobby
 * here tracks most of them. Counted by the lobby states that point to it
 * (gw_fanout.c, origin_get/origin_put); freed with the last.
 */
typedef struct {
	uint32_t refs;
	uint32_t len;
	char id[];
} origin_t;

/* Lobby history's part of a lobby state (gw_history.c): opaque here. */
typedef struct lobby_history lobby_history_t;

/*
 * Per-lobby state, one per lobby with local members (hung off the
 * registry's lobby, gw_lobby_t.bus, so a node keeps no map and no name of
 * its own for it): created by the first local join, freed by the last
 * local leave -- both inside the registry lobby's life.
 * The sequence we stamp on what we publish there, and the last sequence
 * seen from each other node (gap detection). A node holds one per lobby
 * with local members, so it is kept small: what only history needs is
 * apart, allocated by gw_history.c on first use (never without
 * --history-size) and freed with the state.
 */
typedef struct {
	uint32_t members;     /* local members */
	uint32_t n;           /* entries in seen */
	uint64_t seq;         /* our last published sequence */
	struct {
		origin_t *origin; /* a reference (origin_put when dropped) */
		uint64_t seq;
	} *seen;
	lobby_history_t *hist; /* NULL: no history frame or read yet */
	gw_lobby_t *lobby;    /* borrowed: the registry's, which outlives this */
} lobby_state_t;

struct gw_cluster {
	gw_node_t *node;
	gw_bus_sink_t sink;   /* the way back into the core */
	cluster_shard_t shards[GW_SHARDS_MAX];
	uint32_t nshards;
	gw_map_t *origins;    /* node id → origin_t (gap detection) */
	char prefix[72];      /* "{P}" */
	gw_keys_t keys;       /* every key and channel name (common/gw_keys) */
	char total_key[GW_KEY_MAX];
	char node_ch[CH_MAX];
	char cluster_ch[CH_MAX];
	struct event *timer;  /* lease, every --lease-ttl/3 */
	gw_buf_t *snapshot;   /* cluster stats JSON, refreshed with the lease */
	uint64_t inbound;     /* messages appended to the inbound stream */
	uint64_t inbound_too_big;      /* refused: over --inbound-max-message */
	uint64_t inbound_rate_limited; /* refused: the user over --inbound-rate */
	uint64_t pubsub_in;   /* envelopes received / published */
	uint64_t pubsub_out;
	int leaving;          /* SIGTERM: no more leases */
	/* The stats round (one stats.lua per shard, summed at its end). */
	size_t stats_pending;
	gw_buf_t *stats_nodes;  /* the "nodes" array from the first shard that answered */
	size_t stats_live;      /* how many nodes it listed */
	/* Several shards: the cluster-wide cap (gw_admit_shards.c). */
	long long known_total;  /* Σ {P}:total over the shards, last round */
	size_t live_nodes;      /* live nodes, last round */
	long admitted;          /* admitted here since the round was sent */
	long admitted_at_send;
	long pending;           /* admissions in flight here */
	uint64_t rng;         /* epoch candidates (gw_history.c) */
	uint64_t repair_seq;  /* ids of repair fetches */
	uint64_t hist_repaired;   /* messages fetched from history after a gap */
	uint64_t hist_unrepaired; /* ... that history no longer held (gap sent) */
	uint64_t hist_failed;     /* history broadcasts Redis refused */
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

/*
 * Routing: the link of the shard a lobby's keys and channel live on, the
 * link of the shard a user's entries live on (gw_shard_of), and a link for
 * what every shard carries (the cluster channel, node channels): the first
 * ready one, else shard 0. With one shard all three are that shard.
 */
gw_redis_t *gw_cluster__link_lobby(const gw_cluster_t *c, const char *lobby, size_t len);
gw_redis_t *gw_cluster__link_user(const gw_cluster_t *c, const char *user, size_t len);
gw_redis_t *gw_cluster__link_any(const gw_cluster_t *c);

/* Runs script `idx` on `link` with KEYS[1] = {P}:total and `argv` as ARGV. */
int gw_cluster__script(gw_cluster_t *c, gw_redis_t *link, int idx, gw_redis_reply_fn cb,
		       void *ud, int argc, const char **argv);
/* An admission script's verdict; -1 when the reply is not one. */
int gw_cluster__verdict(const struct redisReply *reply);
/*
 * An OK admission script's answer: 1 when it resumed a held leave
 * ({"resumed", held_conn, held_value, ...}; *conn and *value borrowed from
 * the reply), 0 for a plain {"ok", ...}, -1 when the reply is not readable.
 * *first receives the index of the first replaced connection.
 */
int gw_cluster__resumed(const struct redisReply *reply, const char **conn,
			const char **value, size_t *first);
/* The user's part of connection `conn` (ours) on link `u`, the user's
 * shard when it is not the lobby's: two idempotent HDELs. */
void gw_cluster__release_user_part(gw_cluster_t *c, const char *conn, const char *user,
				   gw_redis_t *u);
/* gw_admission_ops_t.hold and .settle (gw_held.c). */
int gw_cluster__hold(void *impl, const gw_admit_req_t *req, uint64_t deadline_ms);
int gw_cluster__settle(void *impl, const gw_admit_req_t *req, gw_settle_done_fn done);
/* Puts back a held leave that a resumed admission took but could not use
 * (the client left meanwhile, or the user's part refused). */
void gw_cluster__give_back(gw_cluster_t *c, const char *lobby, const char *conn,
			   const char *value);
/* The ARGV value of held_margin_ms for the admission scripts. */
void gw_cluster__held_margin(const gw_cluster_t *c, char out[24]);
/* The verdict when Redis could not decide (--redis-fail-mode). */
gw_admit_t gw_cluster__fallback(gw_cluster_t *c, const gw_admit_req_t *req);
/* Another node's connection `conn` of `user` was replaced: tell its node. */
void gw_cluster__kick_remote(gw_cluster_t *c, const char *conn, size_t len,
			     const char *user);
/* Removes connection `conn` of this node: its lobby's part, and its user's
 * part when that lives on another shard and `user_part` is set. */
void gw_cluster__release(gw_cluster_t *c, const char *conn, const char *user,
			 const char *lobby, int user_part);
/* Several shards: admission (gw_admit_shards.c); same contract as
 * gw_admission_ops_t.admit. */
int gw_cluster__admit_sharded(gw_cluster_t *c, const gw_admit_req_t *req,
			      gw_admit_done_fn done);
/* Whether connection id `conn` belongs to this node. */
int gw_cluster__is_local(const gw_cluster_t *c, const char *conn, size_t len);
void gw_cluster__lobby_channel(const gw_cluster_t *c, const char *lobby, char *out);
/* Stamps version and origin, encodes and publishes `e` on `channel` through `link`. */
void gw_cluster__publish_env(gw_cluster_t *c, gw_redis_t *link, const char *channel,
			     gw_envelope_t *e);
void gw_cluster__publish_lobby_frame(gw_cluster_t *c, const char *lobby,
				     uint64_t seq, const gw_buf_t *frame);
/* A message (frame) or a kick (frame NULL, `reason`) for `user` — one
 * connection when `conn` is set — on node `node` (its channel, published
 * on the user's shard: every node listens on every shard). */
void gw_cluster__publish_node(gw_cluster_t *c, const char *node, size_t node_len,
			      const char *user, const char *conn, size_t conn_len,
			      const gw_buf_t *frame, const char *reason);
/* The subscription connection's messages (gw_redis_events_t.on_message). */
void gw_cluster__on_message(void *ud, const char *channel, size_t clen,
			    const char *msg, size_t len);
/* Starts a stats round (gw_stats.c); the bus's snapshot operation. */
void gw_cluster__refresh_stats(gw_cluster_t *c);
gw_buf_t *gw_cluster__snapshot(void *impl);
/* A gap event (`missed` 0: unknown) to every lobby with local members
 * placed on shard `shard` (all of them with one shard). */
void gw_cluster__gap_all(gw_cluster_t *c, uint32_t shard);
/* Subscribes shard `shard`'s link (it is SUBSCRIBING) to the channel of
 * every lobby with local members placed there: the link keeps no copy. */
void gw_cluster__resubscribe(gw_cluster_t *c, uint32_t shard);
void gw_cluster__free_lobbies(gw_cluster_t *c);
/* The state of lobby `name` (NULL: no local members, or none for it). */
lobby_state_t *gw_cluster__lobby_state(const gw_cluster_t *c, const char *name,
				       size_t len);

/*
 * gw_history.c: lobby history (--history-size). The two bus operations;
 * offer() takes a history frame (one with an offset, `frame` borrowed)
 * from the lobby channel and delivers it in offset order, fetching what a
 * gap skipped; reset() forgets a lobby's position (the link reconnected)
 * and forget() frees what a lobby state holds for it (st->hist, which
 * gw_history.c allocates on first use and only it reads).
 */
int gw_cluster__publish_history(void *impl, const char *lobby, gw_buf_t *head,
				uint64_t exclude);
int gw_cluster__history(void *impl, const char *lobby, uint64_t since,
			const char *epoch, size_t max_n, size_t max_bytes,
			gw_bus_history_fn done, void *ud);
void gw_cluster__history_offer(gw_cluster_t *c, lobby_state_t *st, gw_buf_t *frame,
			       uint64_t off, uint64_t exclude);
void gw_cluster__history_reset(gw_cluster_t *c, lobby_state_t *st);
void gw_cluster__history_forget(lobby_state_t *st);
void gw_cluster__history_seed(gw_cluster_t *c);

#endif
