/*
 * gw_cluster.h — the node's link to the cluster (Redis): presence, leases,
 * cluster-wide admission and cross-node fan-out.
 *
 * Created only when --redis is set; everywhere else node->cluster is NULL
 * and the node runs standalone. Only this module talks to Redis.
 */
#ifndef GW_CLUSTER_H
#define GW_CLUSTER_H

#include "gw_admission.h"
#include "gw_session.h"

/* Connects asynchronously; start-up does not wait for Redis. */
gw_cluster_t *gw_cluster_create(gw_node_t *node, char *err, size_t errlen);
void gw_cluster_free(gw_cluster_t *c);

/* The admission implementation backed by the Redis script. */
gw_admission_t *gw_cluster_admission(gw_cluster_t *c);

/*
 * `s` joined / is leaving its lobby. `event` is the presence frame already
 * encoded for local members (NULL with --presence-events=false); it is
 * published as is, never encoded twice.
 */
void gw_cluster_presence_join(gw_cluster_t *c, gw_session_t *s, gw_buf_t *event);
void gw_cluster_presence_leave(gw_cluster_t *c, gw_session_t *s, gw_buf_t *event);
/* Answers `s` from Redis; GW_OK if it will, an error to answer locally. */
int gw_cluster_presence_query(gw_cluster_t *c, gw_session_t *s);

/* Publishes an encoded lobby frame to the other nodes serving the lobby. */
void gw_cluster_publish_lobby(gw_cluster_t *c, gw_lobby_t *l, gw_buf_t *frame);
/*
 * Delivers an encoded direct frame to `to` on other nodes; replies
 * user_offline to `from` (by id) when nobody has it.
 */
void gw_cluster_send_user(gw_cluster_t *c, gw_session_t *from, const char *to,
			  size_t to_len, gw_buf_t *frame, size_t delivered_here);

/* SIGTERM: take this node's presence and lease out of Redis now. */
void gw_cluster_shutdown(gw_cluster_t *c);
/* Whether the Redis link is ready (for /ready and /stats). */
int gw_cluster_ready(const gw_cluster_t *c);

/* --- for the admin listener (gw_admin) and the router ------------------ */

struct redisReply;
typedef struct gw_redis gw_redis_t;

/* The cached cluster snapshot (JSON, refreshed every --lease-ttl/3 s);
 * a new reference, or NULL before the first refresh. */
gw_buf_t *gw_cluster_snapshot(gw_cluster_t *c);
void gw_cluster_refresh_stats(gw_cluster_t *c);
const char *gw_cluster_prefix(const gw_cluster_t *c);
gw_redis_t *gw_cluster_redis(const gw_cluster_t *c);
/* A read command (argv strings); see gw_redis_command for the contract. */
int gw_cluster_command(gw_cluster_t *c, void (*cb)(void *ud, struct redisReply *r),
		       void *ud, int argc, const char **argv);
/* Publishes `frame` to a lobby's channel, or (lobby NULL) to every node. */
int gw_cluster_publish_frame(gw_cluster_t *c, const char *lobby, gw_buf_t *frame);
/* A message for `user` (or a kick, of one conn if given) to one node. */
int gw_cluster_publish_node(gw_cluster_t *c, const char *node, size_t node_len,
			    int kick, const char *user, const char *conn,
			    gw_buf_t *frame);
/* Appends an unhandled client message (`raw`, `len` bytes, not
 * NUL-terminated) to the inbound stream, within the inbound bounds. */
void gw_cluster_inbound(gw_cluster_t *c, gw_session_t *s, const char *type,
			const char *raw, size_t len);
uint64_t gw_cluster_inbound_count(const gw_cluster_t *c);
/* Messages refused by the inbound bounds: over --inbound-rate (`rate`
 * non-zero) or over --inbound-max-message. */
uint64_t gw_cluster_inbound_dropped(const gw_cluster_t *c, int rate);

#endif
