/*
 * gw_cluster.c — the node's part of the cluster state in Redis
 * (docs/redis-schema.md): the Redis link's lifecycle, the node's lease, the
 * sweep of dead nodes, the restore after Redis comes back, cluster-wide
 * admission and the link's status (the stats snapshot: gw_stats.c). The bus operations
 * (fan-out, presence, lookups) live in gw_fanout.c; both reach the core
 * only through the sink.
 *
 * With several shards (--redis lists them) there is one link per shard:
 * leases, sweeps and restores run on each shard, and each operation on a
 * lobby or a user goes to the shard it is placed on (gw_cluster__link_*;
 * docs/redis-schema.md, Shards). With one shard everything is as it was.
 *
 * Nothing here is per-connection on a timer: the lease and the sweep are
 * one script call per node and shard per --lease-ttl/3, whatever the
 * connection count. Per-connection Redis work happens only on connect (admit) and
 * disconnect (release), pipelined on the command connection.
 */
#include "gw_cluster.h"
#include "gw_cluster_int.h"
#include "gw_alloc.h"
#include "gw_auth.h"
#include "gw_log.h"
#include "gw_reply.h"
#include "gw_scripts.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scripts[] = { gw_lua_admit, gw_lua_release, gw_lua_lease,
				       gw_lua_sweep, gw_lua_restore, gw_lua_stats,
				       gw_lua_admit_lobby, gw_lua_admit_user, gw_lua_user_conns,
				       gw_lua_history_publish, gw_lua_history_read, gw_lua_settle };

#define RESTORE_BATCH 256
/* /ready fails when the pub/sub self-probe is older than this. */
#define READY_PROBE_MS 5000

/* --- helpers ----------------------------------------------------------------- */

/* KEYS[1] and the ARGV of the largest call, a restore batch, fit. */
#define SCRIPT_ARGS_MAX (64 + 5 * RESTORE_BATCH)

gw_redis_t *gw_cluster__link_lobby(const gw_cluster_t *c, const char *lobby, size_t len)
{
	return c->shards[gw_shard_of(lobby, len, c->nshards)].redis;
}

gw_redis_t *gw_cluster__link_user(const gw_cluster_t *c, const char *user, size_t len)
{
	return c->shards[gw_shard_of(user, len, c->nshards)].redis;
}

gw_redis_t *gw_cluster__link_any(const gw_cluster_t *c)
{
	uint32_t i;

	for (i = 0; i < c->nshards; i++)
		if (gw_redis_ready(c->shards[i].redis))
			return c->shards[i].redis;
	return c->shards[0].redis;
}

int gw_cluster__script(gw_cluster_t *c, gw_redis_t *link, int idx, gw_redis_reply_fn cb,
		       void *ud, int argc, const char **argv)
{
	size_t lens[SCRIPT_ARGS_MAX];
	const char *args[SCRIPT_ARGS_MAX];
	int i;

	if (argc < 0 || argc >= SCRIPT_ARGS_MAX)
		return GW_EINVAL;
	args[0] = c->total_key;
	lens[0] = strlen(c->total_key);
	for (i = 0; i < argc; i++) {
		args[i + 1] = argv[i];
		lens[i + 1] = strlen(argv[i]);
	}
	return gw_redis_script(link, (size_t)idx, cb, ud, 1, argc + 1, args, lens);
}

/* --- admission ------------------------------------------------------------------ */

typedef struct {
	gw_cluster_t *c;
	gw_admit_done_fn done;
	uint64_t conn_id;
	char conn[GW_CONN_ID_MAX];
	char user[GW_AUTH_SUB_MAX + 1];
	char lobby[GW_LOBBY_MAX + 1];
} admit_t;

/* The user's part of connection `conn` on the user's shard, when that is
 * not the lobby's: two idempotent HDELs. */
void gw_cluster__release_user_part(gw_cluster_t *c, const char *conn, const char *user,
				   gw_redis_t *u)
{
	char key[CH_MAX], idx[CH_MAX];
	const char *a1[3] = { "HDEL", key, conn }, *a2[3] = { "HDEL", idx, conn };
	size_t l1[3], l2[3];

	snprintf(key, sizeof(key), "%s:user:%s", c->prefix, user);
	snprintf(idx, sizeof(idx), "%s:node:%s:users", c->prefix, c->node->cfg->node_id);
	l1[0] = l2[0] = 4;
	l1[1] = strlen(key);
	l2[1] = strlen(idx);
	l1[2] = l2[2] = strlen(conn);
	gw_redis_command(u, NULL, NULL, 3, a1, l1);
	gw_redis_command(u, NULL, NULL, 3, a2, l2);
}

/*
 * release.lua on the lobby's shard removes the whole entry there (its HDEL
 * of the user's entry is a no-op when the user lives on another shard: the
 * key exists only on the user's shard); the user's part elsewhere is two
 * idempotent HDELs.
 */
void gw_cluster__release(gw_cluster_t *c, const char *conn, const char *user,
			 const char *lobby, int user_part)
{
	const char *node = c->node->cfg->node_id;
	const char *argv[5] = { c->prefix, node, conn, user, lobby };
	gw_redis_t *l = gw_cluster__link_lobby(c, lobby, strlen(lobby));
	gw_redis_t *u = gw_cluster__link_user(c, user, strlen(user));

	gw_cluster__script(c, l, S_RELEASE, NULL, NULL, 5, argv);
	if (u != l && user_part)
		gw_cluster__release_user_part(c, conn, user, u);
}

gw_admit_t gw_cluster__fallback(gw_cluster_t *c, const gw_admit_req_t *req)
{
	if (c->node->cfg->redis_fail_mode == GW_FAIL_CLOSED)
		return GW_ADMIT_UNAVAILABLE;
	/* fail_open: local caps only; on_ready's restore reconciles Redis. */
	return gw_admission_check_local(c->node, req);
}

void gw_cluster__kick_remote(gw_cluster_t *c, const char *conn, size_t len,
			     const char *user)
{
	if (gw_cluster__is_local(c, conn, len))
		return; /* ours: the router closes local ones itself */
	gw_cluster__publish_node(c, conn, gw_conn_id_node_len(conn, len), user, conn,
				 len, NULL, "replaced");
}

int gw_cluster__verdict(const redisReply *reply)
{
	static const struct { const char *s; gw_admit_t v; } names[] = {
		{ "ok", GW_ADMIT_OK }, { "resumed", GW_ADMIT_OK },
		{ "server_full", GW_ADMIT_SERVER_FULL },
		{ "node_full", GW_ADMIT_NODE_FULL }, { "lobby_full", GW_ADMIT_LOBBY_FULL },
		{ "user_limit", GW_ADMIT_USER_LIMIT },
	};
	size_t i;

	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return -1;
	for (i = 0; i < GW_ARRAY_LEN(names); i++)
		if (strcmp(reply->element[0]->str, names[i].s) == 0)
			return (int)names[i].v;
	return (int)GW_ADMIT_UNAVAILABLE;
}

static void on_admit(void *ud, redisReply *reply)
{
	admit_t *a = ud;
	gw_cluster_t *c = a->c;
	int v = gw_cluster__verdict(reply), resumed = 0;
	const char *held = NULL, *held_value = NULL;
	size_t i, first = 1;

	if (v == GW_ADMIT_OK &&
	    (resumed = gw_cluster__resumed(reply, &held, &held_value, &first)) < 0) {
		/* Unreadable means refused: the link goes; the entries Redis may
		 * hold for this connection go with the restore. */
		gw_redis_refuse(c->shards[0].redis, "admit");
		resumed = 0;
		v = -1;
	}
	if (v >= 0) {
		for (i = first; v == GW_ADMIT_OK && i < reply->elements; i++)
			if (reply->element[i]->type == REDIS_REPLY_STRING)
				gw_cluster__kick_remote(c, reply->element[i]->str,
							reply->element[i]->len, a->user);
	} else {
		gw_admit_req_t req = { a->conn_id, a->user, strlen(a->user),
				       a->lobby, strlen(a->lobby) };

		v = (int)gw_cluster__fallback(c, &req);
		reply = NULL;
	}
	if (!gw_registry_find(c->node->reg, a->conn_id)) {
		/* The client left while we asked: give the slot back, and the
		 * held leave it took. */
		if (v == GW_ADMIT_OK && reply)
			gw_cluster__release(c, a->conn, a->user, a->lobby, 1);
		if (resumed)
			gw_cluster__give_back(c, a->lobby, held, held_value);
	} else {
		a->done(c->node, a->conn_id, (gw_admit_t)v, resumed);
	}
	gw_free(a);
}

static int cluster_admit(void *impl, const gw_admit_req_t *req,
			 gw_admit_done_fn done)
{
	gw_cluster_t *c = impl;
	const gw_config_t *cfg = c->node->cfg;
	char max_total[24], node_max[24], max_lobby[24], per_user[24], now[24];
	char margin[24];
	const char *argv[12];
	admit_t *a;

	if (req->user_len > GW_AUTH_SUB_MAX || req->lobby_len > GW_LOBBY_MAX)
		return GW_EINVAL;
	if (c->nshards > 1)
		return gw_cluster__admit_sharded(c, req, done);
	if (!gw_redis_ready(c->shards[0].redis)) {
		done(c->node, req->conn_id, gw_cluster__fallback(c, req), 0);
		return GW_OK;
	}
	a = gw_calloc(1, sizeof(*a));
	if (!a)
		return GW_ENOMEM;
	a->c = c;
	a->done = done;
	a->conn_id = req->conn_id;
	gw_conn_id_format(c->node->cfg->node_id, req->conn_id, a->conn);
	memcpy(a->user, req->user, req->user_len);
	memcpy(a->lobby, req->lobby, req->lobby_len);
	snprintf(max_total, sizeof(max_total), "%ld", cfg->max_connections);
	snprintf(node_max, sizeof(node_max), "%ld", cfg->node_max_connections);
	snprintf(max_lobby, sizeof(max_lobby), "%ld", cfg->max_per_lobby);
	snprintf(per_user, sizeof(per_user), "%ld", cfg->max_per_user);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	argv[0] = c->prefix;
	argv[1] = cfg->node_id;
	argv[2] = a->conn;
	argv[3] = a->user;
	argv[4] = a->lobby;
	argv[5] = max_total;
	argv[6] = node_max;
	argv[7] = max_lobby;
	argv[8] = gw_user_policy_name(cfg->user_policy);
	argv[9] = per_user;
	argv[10] = now;
	gw_cluster__held_margin(c, margin);
	argv[11] = margin;
	if (gw_cluster__script(c, c->shards[0].redis, S_ADMIT, on_admit, a, 12, argv) != GW_OK) {
		gw_free(a);
		done(c->node, req->conn_id, gw_cluster__fallback(c, req), 0);
	}
	return GW_OK;
}

static void cluster_release(void *impl, const gw_admit_req_t *req)
{
	gw_cluster_t *c = impl;
	char conn[GW_CONN_ID_MAX], user[GW_AUTH_SUB_MAX + 1], lobby[GW_LOBBY_MAX + 1];

	if (req->user_len > GW_AUTH_SUB_MAX || req->lobby_len > GW_LOBBY_MAX)
		return; /* a shard down: its on_ready's restore drops what we could not release */
	gw_conn_id_format(c->node->cfg->node_id, req->conn_id, conn);
	memcpy(user, req->user, req->user_len);
	user[req->user_len] = '\0';
	memcpy(lobby, req->lobby, req->lobby_len);
	lobby[req->lobby_len] = '\0';
	gw_cluster__release(c, conn, user, lobby, 1);
}

static const gw_admission_ops_t cluster_ops = {
	.name = "redis",
	.admit = cluster_admit,
	.release = cluster_release,
	.hold = gw_cluster__hold,
	.settle = gw_cluster__settle,
	.free = NULL, /* the cluster owns itself */
};

gw_admission_t *gw_cluster_admission(gw_cluster_t *c)
{
	return gw_admission_create(&cluster_ops, c);
}

/* --- lease, sweep, restore ------------------------------------------------------------ */

static void sweep(cluster_shard_t *sh);

#define SWEEP_MARGIN_MS 200

/*
 * The lease's reply is the earliest lease expiry on its shard: the sweep
 * is due then (plus a margin for clocks), not at the next period, so a dead
 * node's entries go within about a second of its lease running out. Every
 * lease re-arms it, so a healthy cluster never sweeps at all: a refreshed
 * lease moves the earliest expiry on before it is reached. Every node
 * holds a lease on every shard, so each shard sweeps itself.
 */
static void on_lease(void *ud, redisReply *reply)
{
	cluster_shard_t *sh = ud;
	gw_cluster_t *c = sh->c;
	long long due, wait;
	struct timeval tv;

	if (!reply || reply->type != REDIS_REPLY_INTEGER || c->leaving)
		return;
	due = reply->integer;
	wait = due - (long long)gw_wall_ms() + SWEEP_MARGIN_MS;
	wait = GW_MAX(0, GW_MIN(wait, c->node->cfg->lease_ttl * 1000LL));
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(sh->sweep_ev, &tv);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	cluster_shard_t *sh = arg;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	if (gw_redis_ready(sh->redis) && !sh->c->leaving)
		sweep(sh);
}

static void lease(cluster_shard_t *sh)
{
	gw_cluster_t *c = sh->c;
	const gw_config_t *cfg = c->node->cfg;
	char ttl[24], now[24], started[24], node_max[24], addr[300], in[24], out[24];
	char conns[24];
	const char *argv[12];

	if (c->leaving)
		return;
	snprintf(ttl, sizeof(ttl), "%ld", cfg->lease_ttl * 1000);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	snprintf(started, sizeof(started), "%llu", (unsigned long long)c->node->started_ms);
	snprintf(node_max, sizeof(node_max), "%ld", cfg->node_max_connections);
	snprintf(addr, sizeof(addr), "%s", cfg->listen);
	argv[0] = c->prefix;
	argv[1] = cfg->node_id;
	argv[2] = ttl;
	argv[3] = now;
	argv[4] = addr;
	argv[5] = started;
	argv[6] = "1";
	argv[7] = node_max;
	snprintf(in, sizeof(in), "%llu", (unsigned long long)c->node->stats.messages_in);
	snprintf(out, sizeof(out), "%llu", (unsigned long long)c->node->stats.messages_out);
	argv[8] = in;
	argv[9] = out;
	argv[10] = cfg->admin_listen;
	/* Several shards: no one shard's index holds all our connections. */
	snprintf(conns, sizeof(conns), "%zu", gw_registry_joined(c->node->reg));
	argv[11] = conns;
	gw_cluster__script(c, sh->redis, S_LEASE, on_lease, sh, c->nshards > 1 ? 12 : 11, argv);
}

/*
 * The sweep returns node, (conn user lobby)*, "" per dead node (read by
 * gw_reply_sweep). Survivors
 * tell the affected lobbies: presence_leave with reason node_lost (built
 * by the core, which delivers it to our own members), to the lobby
 * channel for other nodes.
 */
static void swept_conn(void *ud, const gw_sweep_entry_t *e)
{
	gw_cluster_t *c = ((cluster_shard_t *)ud)->c;
	gw_buf_t *b = c->sink.member_lost(c->sink.ud, e->lobby, e->user, e->conn);

	if (b) {
		gw_cluster__publish_lobby_frame(c, e->lobby, 0, b);
		gw_buf_unref(b);
	}
}

static void swept_node(void *ud, const char *node, size_t conns)
{
	cluster_shard_t *sh = ud;

	if (sh->c->nshards > 1)
		GW_LOG(GW_LOG_WARN, "node_lost", GW_S("node", node), GW_I("connections", conns),
		       GW_I("shard", sh->idx));
	else
		GW_LOG(GW_LOG_WARN, "node_lost", GW_S("node", node), GW_I("connections", conns));
}

static void on_sweep(void *ud, redisReply *reply)
{
	static const gw_sweep_visit_t visit = { swept_conn, swept_node };
	cluster_shard_t *sh = ud;

	if (!reply)
		return; /* the link failed first */
	if (gw_reply_sweep(reply, &visit, sh) != GW_OK)
		gw_redis_refuse(sh->redis, "sweep");
}

static void sweep(cluster_shard_t *sh)
{
	gw_cluster_t *c = sh->c;
	char now[24];
	const char *argv[2] = { c->prefix, now };

	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	gw_cluster__script(c, sh->redis, S_SWEEP, on_sweep, sh, 2, argv);
}

_Static_assert(3 + 5 * RESTORE_BATCH < SCRIPT_ARGS_MAX, "a restore batch fits a script call");

typedef struct {
	cluster_shard_t *sh;
	const char *argv[3 + 5 * RESTORE_BATCH];
	char strs[RESTORE_BATCH][2][GW_CONN_ID_MAX];
	int argc, n, sent;
	size_t count;
} restore_t;

static void restore_flush(restore_t *r)
{
	if (r->n == 0 && r->sent)
		return;
	gw_cluster__script(r->sh->c, r->sh->redis, S_RESTORE, NULL, NULL, r->argc, r->argv);
	r->sent++;
	r->argc = 3;
	r->n = 0;
	r->argv[2] = "0";
}

/* Which parts of a connection live on shard `idx`: "lu", "l", "u" or NULL. */
static const char *parts_on(const gw_cluster_t *c, uint32_t idx, const char *user,
			    const char *lobby)
{
	int l = gw_shard_of(lobby, strlen(lobby), c->nshards) == idx;
	int u = gw_shard_of(user, strlen(user), c->nshards) == idx;

	return l && u ? "lu" : l ? "l" : u ? "u" : NULL;
}

static int restore_one(void *ud, uint64_t id, const char *user, const char *lobby,
		       uint64_t since_ms)
{
	restore_t *r = ud;
	const char *parts = parts_on(r->sh->c, r->sh->idx, user, lobby);

	if (!parts)
		return 0;
	gw_conn_id_format(r->sh->c->node->cfg->node_id, id, r->strs[r->n][0]);
	snprintf(r->strs[r->n][1], GW_CONN_ID_MAX, "%llu", (unsigned long long)since_ms);
	r->argv[r->argc++] = r->strs[r->n][0];
	r->argv[r->argc++] = user;
	r->argv[r->argc++] = lobby;
	r->argv[r->argc++] = r->strs[r->n][1];
	r->argv[r->argc++] = parts;
	r->count++;
	if (++r->n == RESTORE_BATCH)
		restore_flush(r);
	return 0;
}

/* Make the shard hold exactly our live connections placed on it: reset,
 * then batches. */
static void restore(cluster_shard_t *sh)
{
	gw_cluster_t *c = sh->c;
	restore_t *r = gw_calloc(1, sizeof(*r));

	if (!r)
		return;
	r->sh = sh;
	r->argv[0] = c->prefix;
	r->argv[1] = c->node->cfg->node_id;
	r->argv[2] = "1";
	r->argc = 3;
	c->sink.each_conn(c->sink.ud, restore_one, r);
	restore_flush(r);
	if (c->nshards > 1)
		GW_LOG(GW_LOG_INFO, "presence_restored", GW_I("connections", r->count),
		       GW_I("shard", sh->idx));
	else
		GW_LOG(GW_LOG_INFO, "presence_restored",
		       GW_I("connections", gw_registry_joined(c->node->reg)));
	gw_free(r);
}

static void on_ready(void *ud)
{
	cluster_shard_t *sh = ud;
	gw_cluster_t *c = sh->c;

	lease(sh);
	restore(sh);
	sweep(sh);
	gw_cluster__refresh_stats(c);
	/* Whatever was published on this shard while we were not subscribed
	 * is lost. */
	if (sh->was_ready)
		gw_cluster__gap_all(c, sh->idx);
	sh->was_ready = 1;
}

static void on_down(void *ud)
{
	cluster_shard_t *sh = ud;
	gw_cluster_t *c = sh->c;
	const char *mode = c->node->cfg->redis_fail_mode == GW_FAIL_CLOSED
				   ? "fail_closed" : "fail_open";

	if (c->nshards > 1)
		GW_LOG(GW_LOG_WARN, "cluster_degraded", GW_S("mode", mode),
		       GW_I("shard", sh->idx));
	else
		GW_LOG(GW_LOG_WARN, "cluster_degraded", GW_S("mode", mode));
}

static void on_subscribing(void *ud)
{
	cluster_shard_t *sh = ud;

	gw_cluster__resubscribe(sh->c, sh->idx);
}

static void on_message(void *ud, const char *channel, size_t clen, const char *msg,
		       size_t len)
{
	gw_cluster__on_message(((cluster_shard_t *)ud)->c, channel, clen, msg, len);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_cluster_t *c = arg;
	uint32_t i;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	if (c->leaving)
		return;
	for (i = 0; i < c->nshards; i++)
		if (gw_redis_ready(c->shards[i].redis))
			lease(&c->shards[i]);
	gw_cluster__refresh_stats(c);
}

/* --- lifecycle ---------------------------------------------------------------------- */

static int shard_open(gw_cluster_t *c, uint32_t idx, const char *url, char *err,
		      size_t errlen)
{
	gw_redis_events_t ev = { on_ready, on_down, on_subscribing, on_message };
	const gw_config_t *cfg = c->node->cfg;
	cluster_shard_t *sh = &c->shards[idx];
	char probe[CH_MAX], why[256];

	sh->c = c;
	sh->idx = idx;
	gw_ch_probe(&c->keys, cfg->node_id, strlen(cfg->node_id), probe);
	sh->redis = gw_redis_create(c->node->base, url, scripts, GW_ARRAY_LEN(scripts),
				    probe, &ev, sh, why, sizeof(why));
	if (!sh->redis) {
		if (c->nshards > 1)
			snprintf(err, errlen, "Redis shard %u: %s", idx, why);
		else
			snprintf(err, errlen, "%s", why);
		return GW_EINVAL;
	}
	sh->sweep_ev = evtimer_new(c->node->base, sweep_cb, sh);
	/* Every shard carries the node and cluster channels (docs/redis-schema.md). */
	if (!sh->sweep_ev || gw_redis_subscribe(sh->redis, c->node_ch) ||
	    gw_redis_subscribe(sh->redis, c->cluster_ch)) {
		snprintf(err, errlen, "out of memory");
		return GW_ENOMEM;
	}
	return GW_OK;
}

gw_cluster_t *gw_cluster_create(gw_node_t *node, const gw_bus_sink_t *sink,
				char *err, size_t errlen)
{
	const gw_config_t *cfg = node->cfg;
	long period_ms = cfg->lease_ttl * 1000 / 3;
	struct timeval tv = { period_ms / 1000, (period_ms % 1000) * 1000 };
	gw_shard_list_t *list = gw_calloc(1, sizeof(*list));
	gw_cluster_t *c = gw_calloc(1, sizeof(*c));
	uint32_t i;

	if (!c || !list) {
		snprintf(err, errlen, "out of memory");
		gw_free(c);
		gw_free(list);
		return NULL;
	}
	c->node = node;
	c->sink = *sink;
	c->origins = gw_map_create(16);
	if (!c->origins) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (gw_keys_init(&c->keys, cfg->redis_prefix) != GW_OK) {
		snprintf(err, errlen, "bad --redis-prefix");
		goto fail;
	}
	snprintf(c->prefix, sizeof(c->prefix), "%s", c->keys.tag);
	gw_cluster__history_seed(c);
	gw_key_total(&c->keys, c->total_key);
	gw_ch_node(&c->keys, cfg->node_id, strlen(cfg->node_id), c->node_ch);
	gw_ch_cluster(&c->keys, c->cluster_ch);
	if (gw_shard_list_parse(cfg->redis_url, list, err, errlen))
		goto fail;
	c->nshards = (uint32_t)list->n;
	for (i = 0; i < c->nshards; i++)
		if (shard_open(c, i, list->url[i], err, errlen))
			goto fail;
	c->timer = event_new(node->base, -1, EV_PERSIST, timer_cb, c);
	if (!c->timer || event_add(c->timer, &tv)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	gw_free(list);
	return c;
fail:
	gw_free(list);
	gw_cluster_free(c);
	return NULL;
}

void gw_cluster_free(gw_cluster_t *c)
{
	uint32_t i;

	if (!c)
		return;
	if (c->timer)
		event_free(c->timer);
	for (i = 0; i < GW_SHARDS_MAX; i++) {
		gw_redis_t *r = c->shards[i].redis;

		if (c->shards[i].sweep_ev)
			event_free(c->shards[i].sweep_ev);
		/*
		 * Forgotten before it is freed: freeing fails the link's
		 * pending calls with NULL, and their callbacks may reach for
		 * any shard's link (a sharded admission gives its slot back on
		 * the lobby's shard). A freed link must read as absent (not
		 * ready), never dangle. Found by fuzz_cluster.
		 */
		c->shards[i].redis = NULL;
		gw_redis_free(r);
	}
	gw_buf_unref(c->snapshot);
	gw_buf_unref(c->stats_nodes);
	gw_cluster__free_lobbies(c);
	gw_free(c);
}

static void cluster_free(void *impl)
{
	gw_cluster_free(impl);
}

static void cluster_shutdown(void *impl)
{
	gw_cluster_t *c = impl;
	char now[24];
	const char *argv[3] = { c->prefix, now, c->node->cfg->node_id };
	uint32_t i;

	c->leaving = 1;
	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	/* Drops our lease and every entry of ours at once (see sweep.lua). */
	for (i = 0; i < c->nshards; i++)
		gw_cluster__script(c, c->shards[i].redis, S_SWEEP, NULL, NULL, 3, argv);
}

/*
 * Readiness: with one shard, that shard's link. With several, the node is
 * ready while at least one shard is (a lost shard affects only what is
 * placed on it; the load balancer must not drain every node for it);
 * gw_redis_shards_up in /metrics and the log say which one is down.
 */
static void cluster_status(void *impl, gw_bus_status_t *out)
{
	gw_cluster_t *c = impl;
	gw_redis_state_t st = GW_REDIS_READY, i;
	const char *why = "redis_not_ready";
	gw_redis_t *r;
	uint32_t k;

	out->ready = 0;
	out->shards = c->nshards;
	for (k = 0; k < c->nshards; k++) {
		r = c->shards[k].redis;
		if (!gw_redis_ready(r)) {
			if (st == GW_REDIS_READY)
				st = gw_redis_state(r); /* the first shard that is down */
			continue;
		}
		if (gw_now_ms() - gw_redis_last_probe(r) > READY_PROBE_MS) {
			why = "pubsub_probe_stale";
			continue;
		}
		out->shards_up++;
	}
	if (out->shards_up)
		out->ready = 1;
	else
		out->why = why;
	out->link = 1;
	out->link_up = st == GW_REDIS_READY;
	out->link_state = (size_t)st;
	for (i = GW_REDIS_DOWN; i <= GW_REDIS_RESOLVING; i++)
		out->link_states[out->n_link_states++] = gw_redis_state_name(i);
	for (k = 0; k < c->nshards; k++) {
		r = c->shards[k].redis;
		out->latency_ms = GW_MAX(out->latency_ms, gw_redis_latency_ms(r));
		out->reconnects += gw_redis_reconnects(r);
		out->bad_replies += gw_redis_bad_replies(r);
		out->master_switched_ms = GW_MAX(out->master_switched_ms,
						 gw_redis_last_switch_ms(r));
		out->master_switches += gw_redis_switches(r);
	}
	out->inbound = c->inbound;
	out->inbound_too_big = c->inbound_too_big;
	out->inbound_rate_limited = c->inbound_rate_limited;
	out->pubsub_in = c->pubsub_in;
	out->pubsub_out = c->pubsub_out;
	out->history_repaired = c->hist_repaired;
	out->history_unrepaired = c->hist_unrepaired;
	out->history_failed = c->hist_failed;
	out->master = gw_redis_master(c->shards[0].redis, &out->master_port);
}

/* --- the table --------------------------------------------------------------------- */

static const gw_bus_ops_t bus_ops = {
	.kind = "cluster",
	.lobby_joined = gw_cluster__lobby_joined,
	.lobby_left = gw_cluster__lobby_left,
	.publish = gw_cluster__publish,
	.publish_history = gw_cluster__publish_history,
	.history = gw_cluster__history,
	.send_user = gw_cluster__send_user,
	.presence_query = gw_cluster__presence_query,
	.inbound = gw_cluster__inbound,
	.status = cluster_status,
	.snapshot = gw_cluster__snapshot,
	.lookup = gw_cluster__lookup,
	.shutdown = cluster_shutdown,
	.free = cluster_free,
};

gw_bus_t *gw_cluster_bus(gw_cluster_t *c)
{
	return gw_bus_create(&bus_ops, c);
}
