/*
 * gw_reply.c — checked reading of the Redis replies the cluster acts on
 * (see gw_reply.h).
 */
#include "gw_reply.h"
#include "gw_auth.h"
#include "gw_map.h"
#include "gw_protocol.h"
#include "gw_connid.h"

#include <hiredis/hiredis.h>
#include <string.h>

/* A bulk string of min..max bytes with no NUL inside (usable as a C string). */
static int is_str(const redisReply *e, size_t min, size_t max)
{
	return e && e->type == REDIS_REPLY_STRING && e->str && e->len >= min &&
	       e->len <= max && memchr(e->str, '\0', e->len) == NULL;
}

/*
 * One walk for both passes: with `v` NULL it only checks, so the visiting
 * pass never meets a surprise half-way through.
 */
static int sweep_walk(const redisReply *r, const gw_sweep_visit_t *v, void *ud)
{
	size_t i = 0, n;

	if (!r || r->type != REDIS_REPLY_ARRAY || (r->elements && !r->element))
		return GW_EINVAL;
	while (i < r->elements) {
		gw_sweep_entry_t e;

		if (!is_str(r->element[i], 1, GW_REPLY_NODE_MAX))
			return GW_EINVAL;
		e.node = r->element[i++]->str;
		for (n = 0;; n++) {
			if (i >= r->elements)
				return GW_EINVAL; /* no "" after the node's entries */
			if (is_str(r->element[i], 0, 0)) {
				i++;
				break;
			}
			if (r->elements - i < 3 ||
			    !is_str(r->element[i], 1, GW_CONN_ID_MAX - 1) ||
			    !is_str(r->element[i + 1], 1, GW_AUTH_SUB_MAX) ||
			    !is_str(r->element[i + 2], 1, GW_LOBBY_MAX))
				return GW_EINVAL;
			e.conn = r->element[i]->str;
			e.user = r->element[i + 1]->str;
			e.lobby = r->element[i + 2]->str;
			i += 3;
			if (v && v->conn)
				v->conn(ud, &e);
		}
		if (v && v->node)
			v->node(ud, e.node, n);
	}
	return GW_OK;
}

int gw_reply_sweep(const redisReply *r, const gw_sweep_visit_t *v, void *ud)
{
	int rc = sweep_walk(r, NULL, NULL);

	return rc ? rc : sweep_walk(r, v, ud);
}

int gw_reply_conn_ids(const redisReply *r)
{
	size_t i;

	if (!r || r->type != REDIS_REPLY_ARRAY || (r->elements && !r->element))
		return GW_EINVAL;
	for (i = 0; i < r->elements; i++)
		if (!is_str(r->element[i], 3, GW_CONN_ID_MAX - 1) ||
		    !gw_conn_id_node_len(r->element[i]->str, r->element[i]->len) ||
		    !gw_conn_id_counter(r->element[i]->str, r->element[i]->len))
			return GW_EINVAL;
	return GW_OK;
}

int gw_reply_user_conns(const redisReply *r)
{
	size_t i;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    gw_reply_conn_ids(r->element[0]) != GW_OK ||
	    r->element[1]->type != REDIS_REPLY_ARRAY ||
	    (r->element[1]->elements && !r->element[1]->element))
		return GW_EINVAL;
	for (i = 0; i < r->element[1]->elements; i++)
		if (!is_str(r->element[1]->element[i], 1, GW_REPLY_NODE_MAX))
			return GW_EINVAL;
	return GW_OK;
}
