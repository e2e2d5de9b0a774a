/*
 * gw_cluster.h — the Redis bus: the node's link to the cluster (presence,
 * leases, cluster-wide admission, cross-node fan-out).
 *
 * Created by main only when --redis is set; the rest of the node sees it
 * only as a gw_bus_t (gw_bus.h) and a gw_admission_t. Only this module
 * (gw_cluster.c, gw_fanout.c, through gw_redis) talks to Redis; it calls
 * back into the core only through the sink it was given.
 */
#ifndef GW_CLUSTER_H
#define GW_CLUSTER_H

#include "gw_admission.h"
#include "gw_bus.h"

typedef struct gw_cluster gw_cluster_t;

/*
 * Connects asynchronously; start-up does not wait for Redis. `sink` is
 * copied; its ud must outlive the cluster. NULL with `err` set on failure.
 */
gw_cluster_t *gw_cluster_create(gw_node_t *node, const gw_bus_sink_t *sink,
				char *err, size_t errlen);
void gw_cluster_free(gw_cluster_t *c);

/* The bus backed by `c`; takes ownership of `c` (freeing the bus frees it,
 * and `c` is freed at once if this fails). */
gw_bus_t *gw_cluster_bus(gw_cluster_t *c);
/* The admission implementation backed by the Redis script; borrows `c`:
 * free it before the bus. */
gw_admission_t *gw_cluster_admission(gw_cluster_t *c);

#endif
