/*
 * gw_admission.h — may this connection join? Node, cluster, lobby and user
 * limits, decided before the welcome.
 *
 * The seam between standalone and cluster mode: the local implementation
 * counts this node's registry and answers at once; gw_cluster's runs one
 * Redis script that checks and reserves atomically and answers later. The
 * router does not know which runs. The `done` callback receives the
 * connection id, never a pointer: the connection may be gone by then (the
 * router then releases the slot).
 *
 * If admit() returns an error, `done` is never called.
 */
#ifndef GW_ADMISSION_H
#define GW_ADMISSION_H

#include "gw_node.h"

typedef enum {
	GW_ADMIT_OK = 0,
	GW_ADMIT_SERVER_FULL,  /* cluster-wide --max-connections */
	GW_ADMIT_NODE_FULL,    /* --node-max-connections */
	GW_ADMIT_LOBBY_FULL,   /* --max-per-lobby */
	GW_ADMIT_USER_LIMIT,   /* policy reject, or multi at --max-per-user */
	GW_ADMIT_UNAVAILABLE,  /* Redis down and --redis-fail-mode=closed */
} gw_admit_t;

typedef struct {
	uint64_t conn_id;
	const char *user;
	size_t user_len;
	const char *lobby;
	size_t lobby_len;
} gw_admit_req_t;

typedef void (*gw_admit_done_fn)(gw_node_t *node, uint64_t conn_id,
				 gw_admit_t verdict);

typedef struct {
	const char *name;
	int (*admit)(void *impl, const gw_admit_req_t *req, gw_admit_done_fn done);
	/* The connection left (only after an OK verdict). */
	void (*release)(void *impl, const gw_admit_req_t *req);
	void (*free)(void *impl);
} gw_admission_ops_t;

/* Takes ownership of `impl` (ops->free releases it). */
gw_admission_t *gw_admission_create(const gw_admission_ops_t *ops, void *impl);
/* The standalone implementation, counting `node`'s registry. */
gw_admission_t *gw_admission_local(gw_node_t *node);
void gw_admission_free(gw_admission_t *a);

int gw_admission_admit(gw_admission_t *a, const gw_admit_req_t *req,
		       gw_admit_done_fn done);
void gw_admission_release(gw_admission_t *a, const gw_admit_req_t *req);
const char *gw_admission_name(const gw_admission_t *a);

/*
 * The local decision, shared by the cluster implementation when Redis is
 * down and --redis-fail-mode=open.
 */
gw_admit_t gw_admission_check_local(gw_node_t *node, const gw_admit_req_t *req);

#endif
