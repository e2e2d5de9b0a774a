/*
 * gw_metrics.h — /metrics in the Prometheus text format (docs/api.md).
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include "gw_buf.h"
#include "gw_node.h"

/* A new buffer with the exposition, or NULL on OOM. */
gw_buf_t *gw_metrics_render(gw_node_t *node);

#endif
