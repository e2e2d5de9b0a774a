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

void gw_cluster_presence_join(gw_cluster_t *c, gw_session_t *s);
void gw_cluster_presence_leave(gw_cluster_t *c, gw_session_t *s,
			       const char *reason);
/* Answers `s` from Redis; GW_OK if it will, an error to answer locally. */
int gw_cluster_presence_query(gw_cluster_t *c, gw_session_t *s);

/* Publishes an encoded lobby frame to the other nodes serving the lobby. */
void gw_cluster_publish_lobby(gw_cluster_t *c, gw_lobby_t *l, const char *from,
			      gw_buf_t *frame);
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

#endif
