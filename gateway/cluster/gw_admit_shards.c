/*
 * gw_admit_shards.c — admission when --redis names several shards
 * (docs/redis-schema.md, Shards). With one shard, admit.lua decides
 * everything in one script (gw_cluster.c); here the facts live apart:
 *
 *   - the node cap: this node alone admits to itself, so its own count
 *     (joined + in flight) is exact and needs no Redis;
 *   - the cluster-wide cap: each node may admit, until the next stats
 *     round (every --lease-ttl/3), its share floor(headroom / live nodes)
 *     of the headroom the round found (Σ {P}:total over the shards);
 *   - the lobby cap: admit_lobby.lua on the lobby's shard, atomic there,
 *     so a lobby is never over-admitted;
 *   - the user policy: admit_user.lua on the user's shard, atomic there.
 *
 * The lobby's part is reserved first; when the user's part refuses
 * (user_limit) or cannot be asked under fail_closed, the lobby's part is
 * released again. A held leave the lobby's part resumed is then put back. When lobby and user share a shard, admit.lua does both
 * at once (with the total and node caps above already checked).
 */
#include "gw_cluster_int.h"
#include "gw_alloc.h"
#include "gw_auth.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

/* "no limit" for the caps a shard cannot judge (admit.lua's total, node). */
#define NO_LIMIT "9000000000000000"

typedef struct {
	gw_cluster_t *c;
	gw_admit_done_fn done;
	uint64_t conn_id;
	gw_redis_t *lobby_link, *user_link;
	char conn[GW_CONN_ID_MAX];
	char user[GW_AUTH_SUB_MAX + 1];
	char lobby[GW_LOBBY_MAX + 1];
	char now[24];
	int resumed;           /* the lobby's part took a held leave: */
	char held[GW_CONN_ID_MAX];               /* its connection */
	char held_value[GW_AUTH_SUB_MAX + 32];   /* and its record */
} sadmit_t;

static gw_admit_t fallback(sadmit_t *a)
{
	gw_admit_req_t req = { a->conn_id, a->user, strlen(a->user), a->lobby,
			       strlen(a->lobby) };

	return gw_cluster__fallback(a->c, &req);
}

/* `reserved`: Redis holds the connection's entries (to give back if the
 * client left meanwhile). */
static void finish(sadmit_t *a, gw_admit_t v, int reserved)
{
	gw_cluster_t *c = a->c;

	c->pending--;
	if (v == GW_ADMIT_OK)
		c->admitted++;
	if (!gw_registry_find(c->node->reg, a->conn_id)) {
		if (v == GW_ADMIT_OK && reserved)
			gw_cluster__release(c, a->conn, a->user, a->lobby, 1);
		if (a->resumed)
			gw_cluster__give_back(c, a->lobby, a->held, a->held_value);
	} else {
		a->done(c->node, a->conn_id, v, v == GW_ADMIT_OK && a->resumed);
	}
	gw_free(a);
}

/* An OK answer: notes a resumed held leave, kicks the replaced
 * connections. -1 (and nothing done) when the answer is unreadable. */
static int take_ok(sadmit_t *a, const redisReply *reply, gw_redis_t *link)
{
	const char *held, *value;
	size_t i, first;
	int r = gw_cluster__resumed(reply, &held, &value, &first);

	if (r < 0) {
		gw_redis_refuse(link, "admit");
		return -1;
	}
	if (r > 0 && !a->resumed) {
		if (strlen(held) >= sizeof(a->held) || strlen(value) >= sizeof(a->held_value)) {
			gw_redis_refuse(link, "admit");
			return -1;
		}
		a->resumed = 1;
		strcpy(a->held, held);
		strcpy(a->held_value, value);
	}
	for (i = first; i < reply->elements; i++)
		if (reply->element[i]->type == REDIS_REPLY_STRING)
			gw_cluster__kick_remote(a->c, reply->element[i]->str,
						reply->element[i]->len, a->user);
	return 0;
}

/* admit.lua: lobby and user on one shard. */
static void on_both(void *ud, redisReply *reply)
{
	sadmit_t *a = ud;
	int v = gw_cluster__verdict(reply);

	if (v == GW_ADMIT_OK && take_ok(a, reply, a->lobby_link) < 0)
		v = -1;
	if (v < 0) {
		finish(a, fallback(a), 0);
		return;
	}
	finish(a, (gw_admit_t)v, 1);
}

static void on_user(void *ud, redisReply *reply)
{
	sadmit_t *a = ud;
	int v = gw_cluster__verdict(reply);

	if (v == GW_ADMIT_OK && take_ok(a, reply, a->user_link) < 0)
		v = -1;
	if (v == GW_ADMIT_OK) {
		finish(a, GW_ADMIT_OK, 1);
		return;
	}
	/* Refused, or the user's shard could not say: under fail_open the
	 * lobby's reservation stands (the user's shard's restore adds the
	 * rest); otherwise it is given back. */
	if (v < 0)
		v = (int)fallback(a);
	if (v != GW_ADMIT_OK) {
		gw_cluster__release(a->c, a->conn, a->user, a->lobby, 0);
		if (a->resumed)
			gw_cluster__give_back(a->c, a->lobby, a->held, a->held_value);
		a->resumed = 0;
	}
	finish(a, (gw_admit_t)v, 1);
}

static void on_lobby(void *ud, redisReply *reply)
{
	sadmit_t *a = ud;
	gw_cluster_t *c = a->c;
	const gw_config_t *cfg = c->node->cfg;
	char per_user[24];
	const char *argv[9];
	int v = gw_cluster__verdict(reply);

	if (v == GW_ADMIT_OK && take_ok(a, reply, a->lobby_link) < 0)
		v = -1;
	if (v < 0) {
		finish(a, fallback(a), 0);
		return;
	}
	if (v != GW_ADMIT_OK) {
		finish(a, (gw_admit_t)v, 0);
		return;
	}
	snprintf(per_user, sizeof(per_user), "%ld", cfg->max_per_user);
	argv[0] = c->prefix;
	argv[1] = cfg->node_id;
	argv[2] = a->conn;
	argv[3] = a->user;
	argv[4] = a->lobby;
	argv[5] = gw_user_policy_name(cfg->user_policy);
	argv[6] = per_user;
	argv[7] = a->now;
	argv[8] = a->resumed ? a->held : "";
	if (gw_cluster__script(c, a->user_link, S_ADMIT_USER, on_user, a, 9, argv) != GW_OK)
		on_user(a, NULL);
}

/* The cluster-wide cap: whether this node's share of the headroom the last
 * stats round found is used up. */
static int share_used(const gw_cluster_t *c)
{
	long long head = c->node->cfg->max_connections - c->known_total;
	long long n = c->live_nodes ? (long long)c->live_nodes : 1;

	return head / n - c->admitted - c->pending <= 0;
}

int gw_cluster__admit_sharded(gw_cluster_t *c, const gw_admit_req_t *req,
			      gw_admit_done_fn done)
{
	const gw_config_t *cfg = c->node->cfg;
	char max_lobby[24], per_user[24], margin[24];
	const char *argv[12];
	sadmit_t *a;
	int rc;

	if ((long)gw_registry_joined(c->node->reg) + c->pending >= cfg->node_max_connections) {
		done(c->node, req->conn_id, GW_ADMIT_NODE_FULL, 0);
		return GW_OK;
	}
	if (share_used(c)) {
		done(c->node, req->conn_id, GW_ADMIT_SERVER_FULL, 0);
		return GW_OK;
	}
	a = gw_calloc(1, sizeof(*a));
	if (!a)
		return GW_ENOMEM;
	a->c = c;
	a->done = done;
	a->conn_id = req->conn_id;
	gw_conn_id_format(cfg->node_id, req->conn_id, a->conn);
	memcpy(a->user, req->user, req->user_len);
	memcpy(a->lobby, req->lobby, req->lobby_len);
	snprintf(a->now, sizeof(a->now), "%llu", (unsigned long long)gw_wall_ms());
	a->lobby_link = gw_cluster__link_lobby(c, a->lobby, req->lobby_len);
	a->user_link = gw_cluster__link_user(c, a->user, req->user_len);
	c->pending++;
	if (!gw_redis_ready(a->lobby_link) || !gw_redis_ready(a->user_link)) {
		finish(a, fallback(a), 0);
		return GW_OK;
	}
	snprintf(max_lobby, sizeof(max_lobby), "%ld", cfg->max_per_lobby);
	snprintf(per_user, sizeof(per_user), "%ld", cfg->max_per_user);
	argv[0] = c->prefix;
	argv[1] = cfg->node_id;
	argv[2] = a->conn;
	argv[3] = a->user;
	argv[4] = a->lobby;
	gw_cluster__held_margin(c, margin);
	if (a->lobby_link == a->user_link) {
		argv[5] = NO_LIMIT;
		argv[6] = NO_LIMIT;
		argv[7] = max_lobby;
		argv[8] = gw_user_policy_name(cfg->user_policy);
		argv[9] = per_user;
		argv[10] = a->now;
		argv[11] = margin;
		rc = gw_cluster__script(c, a->lobby_link, S_ADMIT, on_both, a, 12, argv);
	} else {
		argv[5] = max_lobby;
		argv[6] = a->now;
		argv[7] = margin;
		rc = gw_cluster__script(c, a->lobby_link, S_ADMIT_LOBBY, on_lobby, a, 8, argv);
	}
	if (rc != GW_OK)
		finish(a, fallback(a), 0);
	return GW_OK;
}
