/*
 * gw_admin.h — the admin HTTP listener (libevent evhttp on the node's
 * loop): /healthz, /ready, /metrics, /stats and the API key-protected
 * server API under /api (docs/api.md).
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include "gw_node.h"

typedef struct gw_admin gw_admin_t;

/* Listens on --admin-listen; NULL with `err` set on failure. */
gw_admin_t *gw_admin_create(gw_node_t *node, char *err, size_t errlen);
void gw_admin_free(gw_admin_t *a);

/* /ready's verdict: 1 ready, else 0 with a short reason. */
int gw_admin_ready(gw_node_t *node, const char **why);

#endif
