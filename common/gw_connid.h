/*
 * gw_connid.h — connection ids as text, the one place that knows their
 * format: "NODE.HEX" (the node id, a dot, the node's counter in lower-case
 * hex). Used in Redis, envelopes, the admin API, gatewayctl and logs; the
 * node of any connection is the part before the last dot. Pure functions.
 */
#ifndef GW_CONNID_H
#define GW_CONNID_H

#include <stddef.h>
#include <stdint.h>

/* Room for "NODE.HEX": a 64-byte node id, a dot, 16 digits and a NUL. */
#define GW_CONN_ID_MAX 96

/* Writes the id into `buf` (GW_CONN_ID_MAX bytes); returns `buf`. */
char *gw_conn_id_format(const char *node_id, uint64_t id, char *buf);
/* The node part's length (0 when there is no dot). Reads `len` bytes. */
size_t gw_conn_id_node_len(const char *conn, size_t len);
/* The counter, or 0 when `conn` is not a connection id. */
uint64_t gw_conn_id_counter(const char *conn, size_t len);
/*
 * The counter of `conn` if it names a connection of node `node_id`; 0 if
 * it names another node's, or is not a connection id.
 */
uint64_t gw_conn_id_local(const char *node_id, const char *conn, size_t len);

#endif
