/*
 * gw_server.h — libwebsockets on the node's event loop: the listener, the
 * upgrade filter (lobby, token, origin), the protocol callback that feeds
 * gw_session and gw_router, and the HTTP endpoints.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include "gw_node.h"

/* Creates the lws context on node->base and starts listening. */
int gw_server_start(gw_node_t *node, char *err, size_t errlen);
/* Destroys the lws context (closes every socket). */
void gw_server_stop(gw_node_t *node);

#endif
