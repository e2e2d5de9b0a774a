/*
 * gw_userconns.h — the one answer to "where is user U connected?", shared
 * by the Redis bus (direct messages, the admin API's send and kick) and by
 * gatewayctl, so that all of them agree about a connection whose node died
 * before the sweep removed it: such an entry is *gone* — reported as such,
 * never delivered to, never counted as the user being online.
 *
 * Input: U's connection ids (HKEYS {P}:user:U) and the nodes whose lease
 * has not expired (ZRANGEBYSCORE {P}:nodes (NOW +inf), which
 * gateway/cluster/lua/user_conns.lua returns together in one round trip.
 * Pure: no allocation, no I/O; O(n * (n + live)), n being one user's
 * connections and live the cluster's nodes.
 */
#ifndef GW_USERCONNS_H
#define GW_USERCONNS_H

#include <stddef.h>

typedef struct {
	const char *str;
	size_t len;
} gw_ustr_t;

typedef struct {
	gw_ustr_t conn;        /* "NODE.HEX" */
	gw_ustr_t node;        /* its node part */
	int live;              /* the node holds a lease */
	int first;             /* the first live entry of its node: publish once per node */
} gw_user_conn_t;

/*
 * Classifies the `n` connection ids in `conns` (borrowed) against the
 * `n_live` live node ids. With `only` (a connection id, NUL-terminated)
 * only that connection is considered. Writes one entry per considered
 * connection into `out` (room for `n`), in input order; returns how many
 * were written. Entries that are not connection ids are skipped.
 */
size_t gw_user_conns(const gw_ustr_t *conns, size_t n, const gw_ustr_t *live,
		     size_t n_live, const char *only, gw_user_conn_t *out);

/* How many of `n` classified entries are live. */
size_t gw_user_conns_live(const gw_user_conn_t *e, size_t n);

#endif
