/*
 * gw_http.h — the plain HTTP endpoints served on the WebSocket port:
 * /healthz and /stats (docs/protocol.md).
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "gw_buf.h"
#include "gw_node.h"

/*
 * Builds the response for `path`: sets `*status` and returns a JSON body
 * (one reference, the caller's) or NULL on OOM.
 */
gw_buf_t *gw_http_route(gw_node_t *node, const char *method, const char *path,
			int *status);

/* The cluster overview (/cluster, /api/stats): the cached snapshot in a
 * cluster, this node alone when standalone. A new reference or NULL. */
gw_buf_t *gw_http_cluster_json(gw_node_t *node);

/* An embedded static file (dashboard, JS client) for `path`, or NULL. */
const unsigned char *gw_http_static(const char *path, const char **type,
				    size_t *len);

/* {"token":...} for `user`, signed with the node's secret (--dev-tokens). */
gw_buf_t *gw_http_dev_token(gw_node_t *node, const char *user, int *status);

#endif
