/*
 * gw_userconns.c — a user's connections, live or gone (see gw_userconns.h).
 */
#include "gw_userconns.h"
#include "gw_connid.h"

#include <string.h>

static int same(gw_ustr_t a, gw_ustr_t b)
{
	return a.len == b.len && memcmp(a.str, b.str, a.len) == 0;
}

size_t gw_user_conns(const gw_ustr_t *conns, size_t n, const gw_ustr_t *live,
		     size_t n_live, const char *only, gw_user_conn_t *out)
{
	size_t i, j, k = 0, only_len = only ? strlen(only) : 0;

	for (i = 0; i < n; i++) {
		gw_user_conn_t *e = &out[k];
		size_t nl = gw_conn_id_node_len(conns[i].str, conns[i].len);

		if (!nl || !gw_conn_id_counter(conns[i].str, conns[i].len))
			continue;
		if (only && (conns[i].len != only_len || memcmp(conns[i].str, only, only_len)))
			continue;
		e->conn = conns[i];
		e->node = (gw_ustr_t){ conns[i].str, nl };
		e->live = 0;
		for (j = 0; j < n_live && !e->live; j++)
			e->live = same(live[j], e->node);
		e->first = e->live;
		for (j = 0; j < k && e->first; j++)
			e->first = !(out[j].live && same(out[j].node, e->node));
		k++;
	}
	return k;
}

size_t gw_user_conns_live(const gw_user_conn_t *e, size_t n)
{
	size_t i, live = 0;

	for (i = 0; i < n; i++)
		live += e[i].live != 0;
	return live;
}
