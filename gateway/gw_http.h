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

#endif
