/*
 * gw_stats.c — the cluster overview behind /cluster, /api/stats,
 * /api/nodes and the dashboard: one stats.lua per shard every
 * --lease-ttl/3, summed at the end of the round. The sums also feed the
 * cluster-wide cap of a sharded cluster (gw_admit_shards.c).
 */
#include "gw_cluster_int.h"
#include "gw_alloc.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void json_kv_str(gw_buf_t **b, const char *k, const char *v, size_t n, int first)
{
	if (!first)
		gw_buf_append(b, ",", 1);
	gw_buf_append_json_str(b, k, strlen(k));
	gw_buf_append(b, ":", 1);
	gw_buf_append_json_str(b, v, n);
}

/* The live nodes' lease hashes of a stats reply as a JSON array: node hash
 * fields as strings, except the numeric ones. */
static gw_buf_t *nodes_json(const redisReply *reply, size_t *n)
{
	gw_buf_t *b = gw_buf_new(512);
	size_t i, j;

	*n = 0;
	if (!b)
		return NULL;
	gw_buf_append_str(&b, "[");
	for (i = 2; i < reply->elements; i++) {
		redisReply *h = reply->element[i];

		if (h->type != REDIS_REPLY_ARRAY)
			continue;
		gw_buf_append_str(&b, i > 2 ? ",{" : "{");
		(*n)++;
		for (j = 0; j + 1 < h->elements; j += 2) {
			const char *k = h->element[j]->str, *v = h->element[j + 1]->str;
			size_t vl = h->element[j + 1]->len;

			if (!k || !v)
				continue;
			if (strcmp(k, "id") && strcmp(k, "addr") && strcmp(k, "admin") &&
			    strcmp(k, "version") && vl && vl < 32) {
				if (j)
					gw_buf_append(&b, ",", 1);
				gw_buf_append_json_str(&b, k, strlen(k));
				gw_buf_append(&b, ":", 1);
				gw_buf_append(&b, v, vl);
			} else {
				json_kv_str(&b, k, v, vl, j == 0);
			}
		}
		gw_buf_append(&b, "}", 1);
	}
	if (gw_buf_append_str(&b, "]") != GW_OK) {
		gw_buf_unref(b);
		return NULL;
	}
	return b;
}

/*
 * The end of a stats round. The snapshot: {"mode","node","total",
 * "max_connections","capacity_percent","active_lobbies","nodes":[...]}:
 * totals summed over the shards (a shard that did not answer counts with
 * what it said last), the nodes from the first shard that answered (every
 * node leases on every shard). The sums also feed the cluster-wide cap of
 * a sharded cluster (gw_admit_shards.c).
 */
static void stats_round_end(gw_cluster_t *c)
{
	const gw_config_t *cfg = c->node->cfg;
	long long total = 0, lobbies = 0;
	gw_buf_t *b;
	char num[96];
	uint32_t i;

	if (!c->stats_nodes)
		return; /* no shard answered */
	for (i = 0; i < c->nshards; i++) {
		total += c->shards[i].total;
		lobbies += c->shards[i].lobbies;
	}
	c->known_total = total;
	c->live_nodes = c->stats_live;
	c->admitted -= c->admitted_at_send;
	c->admitted_at_send = 0;
	b = gw_buf_new(512);
	if (b) {
		gw_buf_append_str(&b, "{\"mode\":\"cluster\",\"node\":");
		gw_buf_append_json_str(&b, cfg->node_id, strlen(cfg->node_id));
		snprintf(num, sizeof(num), ",\"total\":%lld,\"max_connections\":%ld,", total,
			 cfg->max_connections);
		gw_buf_append_str(&b, num);
		snprintf(num, sizeof(num), "\"capacity_percent\":%.2f,\"active_lobbies\":%lld,",
			 100.0 * (double)total / (double)cfg->max_connections, lobbies);
		gw_buf_append_str(&b, num);
		gw_buf_append_str(&b, "\"nodes\":");
		gw_buf_append(&b, gw_buf_data(c->stats_nodes), c->stats_nodes->len);
		if (gw_buf_append_str(&b, "}") == GW_OK) {
			gw_buf_unref(c->snapshot);
			c->snapshot = b;
		} else {
			gw_buf_unref(b);
		}
	}
	gw_buf_unref(c->stats_nodes);
	c->stats_nodes = NULL;
}

static void on_stats(void *ud, redisReply *reply)
{
	cluster_shard_t *sh = ud;
	gw_cluster_t *c = sh->c;

	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2) {
		sh->total = reply->element[0]->str ? atoll(reply->element[0]->str) : 0;
		sh->lobbies = reply->element[1]->integer;
		if (!c->stats_nodes)
			c->stats_nodes = nodes_json(reply, &c->stats_live);
	}
	if (c->stats_pending && --c->stats_pending == 0)
		stats_round_end(c);
}

void gw_cluster__refresh_stats(gw_cluster_t *c)
{
	char now[24];
	const char *argv[2] = { c->prefix, now };
	uint32_t i;

	if (c->stats_pending)
		return; /* the last round is still out */
	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	c->admitted_at_send = c->admitted;
	for (i = 0; i < c->nshards; i++)
		if (gw_redis_ready(c->shards[i].redis) &&
		    gw_cluster__script(c, c->shards[i].redis, S_STATS, on_stats,
				       &c->shards[i], 2, argv) == GW_OK)
			c->stats_pending++;
}

gw_buf_t *gw_cluster__snapshot(void *impl)
{
	gw_cluster_t *c = impl;

	return c->snapshot ? gw_buf_ref(c->snapshot) : NULL;
}

