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
 * If admit() or settle() returns an error, its `done` is never called.
 *
 * Held leaves (--leave-grace-ms, gw_grace.h): a member whose leave is
 * held is not released but held (its admission entries stay: presence
 * is as it was when the leave was held); when the grace ends the holder
 * settles it, which releases the entries and says whether the leave is
 * still to be announced. An admission of the same user into the same
 * lobby meanwhile — on any node, for the cluster implementation — takes
 * the held leave's place: its answer says `resumed`, and the held leave
 * settles to "not announced".
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

/* `resumed` (only with GW_ADMIT_OK): the connection took the place of a
 * held leave of the same user in the same lobby; its join is not told. */
typedef void (*gw_admit_done_fn)(gw_node_t *node, uint64_t conn_id,
				 gw_admit_t verdict, int resumed);
/* A held leave of connection `conn_id` settled: `announce` 1 when the leave
 * is to be told now, 0 when a rejoin took its place. */
typedef void (*gw_settle_done_fn)(gw_node_t *node, uint64_t conn_id, int announce);

typedef struct {
	const char *name;
	int (*admit)(void *impl, const gw_admit_req_t *req, gw_admit_done_fn done);
	/* The connection left (only after an OK verdict). */
	void (*release)(void *impl, const gw_admit_req_t *req);
	/* The connection left with its leave held until `deadline_ms` (wall
	 * clock), instead of release(). NULL: nothing to keep. An error: the
	 * leave is not held (the caller releases and announces it now). */
	int (*hold)(void *impl, const gw_admit_req_t *req, uint64_t deadline_ms);
	/* The grace of a held connection ended: release what hold() kept and
	 * answer whether to announce. NULL: always announce. */
	int (*settle)(void *impl, const gw_admit_req_t *req, gw_settle_done_fn done);
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
int gw_admission_hold(gw_admission_t *a, const gw_admit_req_t *req, uint64_t deadline_ms);
/* `done` may be called before this returns (the local implementation). */
int gw_admission_settle(gw_admission_t *a, const gw_admit_req_t *req,
			gw_settle_done_fn done);
const char *gw_admission_name(const gw_admission_t *a);

/*
 * The local decision, shared by the cluster implementation when Redis is
 * down and --redis-fail-mode=open.
 */
gw_admit_t gw_admission_check_local(gw_node_t *node, const gw_admit_req_t *req);

#endif
