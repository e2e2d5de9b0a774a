/*
 * gw_cluster.c — what the cluster must know, in Redis (docs/redis-schema.md):
 * the node's lease, presence and lobby membership written by the admission
 * script, cross-node fan-out over pub/sub, the sweep of dead nodes, and the
 * restore after Redis comes back.
 *
 * Nothing here is per-connection on a timer: the lease and the sweep are
 * one script call per node per --lease-ttl/3, whatever the connection
 * count. Per-connection Redis work happens only on connect (admit) and
 * disconnect (release), pipelined on the command connection.
 *
 * Local delivery never waits on Redis: the router delivers to local
 * members first and hands the same encoded frame to gw_cluster_publish_*.
 */
#include "gw_cluster.h"
#include "gw_alloc.h"
#include "gw_auth.h"
#include "gw_envelope.h"
#include "gw_log.h"
#include "gw_presence.h"
#include "gw_protocol.h"
#include "gw_redis.h"
#include "gw_router.h"
#include "gw_scripts.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_ADMIT = 0, S_RELEASE, S_LEASE, S_SWEEP, S_RESTORE, S_STATS };
static const char *const scripts[] = { gw_lua_admit, gw_lua_release, gw_lua_lease,
				       gw_lua_sweep, gw_lua_restore, gw_lua_stats };

#define RESTORE_BATCH 256
#define CH_MAX 512

/* Per-lobby state: the last sequence number seen from each origin node. */
typedef struct {
	size_t n;
	struct {
		char origin[65];
		uint64_t seq;
	} v[];
} lobby_state_t;

struct gw_cluster {
	gw_node_t *node;
	gw_redis_t *redis;
	gw_admission_t *admission;
	char prefix[72];      /* "{P}" */
	char total_key[96];
	char node_ch[CH_MAX];
	char cluster_ch[CH_MAX];
	struct event *timer;  /* lease + sweep */
	int was_ready;        /* a reconnect (not the first connect) means gaps */
	gw_buf_t *snapshot;   /* cluster stats JSON, refreshed with the lease */
	uint64_t inbound;     /* messages appended to the inbound stream */
	int leaving;          /* SIGTERM: no more leases */
};

static void lobby_channel(const gw_cluster_t *c, const char *lobby, char *out)
{
	snprintf(out, CH_MAX, "%s:ch:lobby:%s", c->prefix, lobby);
}

/* --- helpers ----------------------------------------------------------------- */

static int script(gw_cluster_t *c, int idx, gw_redis_reply_fn cb, void *ud,
		  int argc, const char **argv)
{
	size_t lens[64 + 4 * RESTORE_BATCH];
	const char *args[64 + 4 * RESTORE_BATCH];
	int i;

	args[0] = c->total_key;
	lens[0] = strlen(c->total_key);
	for (i = 0; i < argc; i++) {
		args[i + 1] = argv[i];
		lens[i + 1] = strlen(argv[i]);
	}
	return gw_redis_script(c->redis, (size_t)idx, cb, ud, 1, argc + 1, args, lens);
}

static void conn_id(const gw_cluster_t *c, uint64_t id, char *out)
{
	snprintf(out, GW_CONN_ID_MAX, "%s.%llx", c->node->cfg->node_id,
		 (unsigned long long)id);
}

/* The node of a connection id: everything before the last dot. */
static size_t node_part(const char *conn, size_t len)
{
	size_t i = len;

	while (i > 0 && conn[i - 1] != '.')
		i--;
	return i ? i - 1 : 0;
}

static void publish_env(gw_cluster_t *c, const char *channel, gw_envelope_t *e)
{
	char *buf;
	size_t len;

	e->version = 1;
	e->origin = c->node->cfg->node_id;
	e->origin_len = strlen(e->origin);
	if (gw_envelope_encode(e, &buf, &len) != GW_OK)
		return;
	if (gw_redis_publish(c->redis, channel, strlen(channel), buf, len) == GW_OK)
		c->node->stats.pubsub_out++;
	gw_free(buf);
}

static void publish_lobby_frame(gw_cluster_t *c, const char *lobby, uint64_t seq,
				const gw_buf_t *frame)
{
	char ch[CH_MAX];
	gw_envelope_t e = { .type = GW_ENV_MSG };

	lobby_channel(c, lobby, ch);
	e.lobby = lobby;
	e.lobby_len = strlen(lobby);
	e.seq = seq;
	e.payload = (const char *)gw_buf_data((gw_buf_t *)frame);
	e.payload_len = frame->len;
	publish_env(c, ch, &e);
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

static void release_args(gw_cluster_t *c, const char *conn, const char *user,
			 const char *lobby)
{
	const char *argv[5] = { c->prefix, c->node->cfg->node_id, conn, user, lobby };

	script(c, S_RELEASE, NULL, NULL, 5, argv);
}

static gw_admit_t fallback(gw_cluster_t *c, const gw_admit_req_t *req)
{
	if (c->node->cfg->redis_fail_mode == GW_FAIL_CLOSED)
		return GW_ADMIT_UNAVAILABLE;
	/* fail_open: local caps only; on_ready's restore reconciles Redis. */
	return gw_admission_check_local(c->node, req);
}

static void kick_remote(gw_cluster_t *c, const char *conn, size_t len,
			const char *user)
{
	char ch[CH_MAX];
	size_t nl = node_part(conn, len);
	gw_envelope_t e = { .type = GW_ENV_KICK };

	if (nl == strlen(c->node->cfg->node_id) &&
	    memcmp(conn, c->node->cfg->node_id, nl) == 0)
		return; /* ours: the router closes local ones itself */
	snprintf(ch, sizeof(ch), "%s:ch:node:%.*s", c->prefix, (int)nl, conn);
	e.user = user;
	e.user_len = strlen(user);
	e.conn = conn;
	e.conn_len = len;
	e.reason = "replaced";
	e.reason_len = 8;
	publish_env(c, ch, &e);
}

static void on_admit(void *ud, redisReply *reply)
{
	admit_t *a = ud;
	gw_cluster_t *c = a->c;
	gw_admit_t v = GW_ADMIT_UNAVAILABLE;
	size_t i;

	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
	    reply->element[0]->type == REDIS_REPLY_STRING) {
		const char *s = reply->element[0]->str;

		if (strcmp(s, "ok") == 0)
			v = GW_ADMIT_OK;
		else if (strcmp(s, "server_full") == 0)
			v = GW_ADMIT_SERVER_FULL;
		else if (strcmp(s, "node_full") == 0)
			v = GW_ADMIT_NODE_FULL;
		else if (strcmp(s, "lobby_full") == 0)
			v = GW_ADMIT_LOBBY_FULL;
		else if (strcmp(s, "user_limit") == 0)
			v = GW_ADMIT_USER_LIMIT;
		for (i = 1; v == GW_ADMIT_OK && i < reply->elements; i++)
			if (reply->element[i]->type == REDIS_REPLY_STRING)
				kick_remote(c, reply->element[i]->str,
					    reply->element[i]->len, a->user);
	} else {
		gw_admit_req_t req = { a->conn_id, a->user, strlen(a->user),
				       a->lobby, strlen(a->lobby) };

		v = fallback(c, &req);
		reply = NULL;
	}
	if (!gw_registry_find(c->node->reg, a->conn_id)) {
		/* The client left while we asked: give the slot back. */
		if (v == GW_ADMIT_OK && reply)
			release_args(c, a->conn, a->user, a->lobby);
	} else {
		a->done(c->node, a->conn_id, v);
	}
	gw_free(a);
}

static int cluster_admit(void *impl, const gw_admit_req_t *req,
			 gw_admit_done_fn done)
{
	gw_cluster_t *c = impl;
	const gw_config_t *cfg = c->node->cfg;
	char max_total[24], node_max[24], max_lobby[24], per_user[24], now[24];
	const char *argv[11];
	admit_t *a;

	if (req->user_len > GW_AUTH_SUB_MAX || req->lobby_len > GW_LOBBY_MAX)
		return GW_EINVAL;
	if (!gw_redis_ready(c->redis)) {
		done(c->node, req->conn_id, fallback(c, req));
		return GW_OK;
	}
	a = gw_calloc(1, sizeof(*a));
	if (!a)
		return GW_ENOMEM;
	a->c = c;
	a->done = done;
	a->conn_id = req->conn_id;
	conn_id(c, req->conn_id, a->conn);
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
	if (script(c, S_ADMIT, on_admit, a, 11, argv) != GW_OK) {
		gw_free(a);
		done(c->node, req->conn_id, fallback(c, req));
	}
	return GW_OK;
}

static void cluster_release(void *impl, const gw_admit_req_t *req)
{
	gw_cluster_t *c = impl;
	char conn[GW_CONN_ID_MAX], user[GW_AUTH_SUB_MAX + 1], lobby[GW_LOBBY_MAX + 1];

	if (!gw_redis_ready(c->redis) || req->user_len > GW_AUTH_SUB_MAX ||
	    req->lobby_len > GW_LOBBY_MAX)
		return; /* on_ready's restore drops what we could not release */
	conn_id(c, req->conn_id, conn);
	memcpy(user, req->user, req->user_len);
	user[req->user_len] = '\0';
	memcpy(lobby, req->lobby, req->lobby_len);
	lobby[req->lobby_len] = '\0';
	release_args(c, conn, user, lobby);
}

static const gw_admission_ops_t cluster_ops = {
	.name = "redis",
	.admit = cluster_admit,
	.release = cluster_release,
	.free = NULL, /* the cluster owns itself */
};

gw_admission_t *gw_cluster_admission(gw_cluster_t *c)
{
	return gw_admission_create(&cluster_ops, c);
}

/* --- presence ------------------------------------------------------------------- */

void gw_cluster_presence_join(gw_cluster_t *c, gw_session_t *s)
{
	gw_lobby_t *l = s->m.lobby;
	char ch[CH_MAX], id[GW_CONN_ID_MAX];
	gw_buf_t *b;

	if (l->count == 1) {
		lobby_channel(c, l->name, ch);
		gw_redis_subscribe(c->redis, ch);
	}
	if (!c->node->cfg->presence_events)
		return;
	b = gw_proto_presence_event(1, l->name, s->m.user->name,
				    gw_session_id_str(s, id), NULL);
	if (b) {
		publish_lobby_frame(c, l->name, ++l->seq, b);
		gw_buf_unref(b);
	}
}

void gw_cluster_presence_leave(gw_cluster_t *c, gw_session_t *s,
			       const char *reason)
{
	gw_lobby_t *l = s->m.lobby;
	char ch[CH_MAX], id[GW_CONN_ID_MAX];
	gw_buf_t *b;

	if (c->node->cfg->presence_events) {
		b = gw_proto_presence_event(0, l->name, s->m.user->name,
					    gw_session_id_str(s, id), reason);
		if (b) {
			publish_lobby_frame(c, l->name, ++l->seq, b);
			gw_buf_unref(b);
		}
	}
	if (l->count == 1) {
		/* The last local member: stop listening, forget the sequences. */
		lobby_channel(c, l->name, ch);
		gw_redis_unsubscribe(c->redis, ch);
		gw_free(l->cluster);
		l->cluster = NULL;
	}
}

typedef struct {
	gw_cluster_t *c;
	uint64_t asker;
	char lobby[GW_LOBBY_MAX + 1];
} query_t;

static int str_seen(redisReply *r, size_t upto, size_t i)
{
	size_t j;

	for (j = 0; j < upto; j++)
		if (r->element[j]->len == r->element[i]->len &&
		    memcmp(r->element[j]->str, r->element[i]->str, r->element[i]->len) == 0)
			return 1;
	return 0;
}

static void on_query(void *ud, redisReply *reply)
{
	query_t *q = ud;
	gw_member_t *m = gw_registry_find(q->c->node->reg, q->asker);
	gw_session_t *s = m ? GW_SESSION_OF(m) : NULL;
	gw_buf_t *b;
	size_t i, n = 0;

	if (s && s->state == GW_SS_OPEN) {
		if (!reply || reply->type != REDIS_REPLY_ARRAY) {
			gw_session_send_owned(s, gw_presence_local_reply(q->c->node, s->m.lobby));
		} else {
			/* One entry per connection: list each user once. */
			b = gw_proto_presence_begin(q->lobby);
			for (i = 0; i < reply->elements; i++) {
				if (reply->element[i]->type != REDIS_REPLY_STRING ||
				    str_seen(reply, i, i))
					continue;
				b = gw_proto_presence_add(b, reply->element[i]->str, n == 0);
				n++;
			}
			gw_session_send_owned(s, gw_proto_presence_end(b, n));
		}
	}
	gw_free(q);
}

int gw_cluster_presence_query(gw_cluster_t *c, gw_session_t *s)
{
	char key[CH_MAX];
	const char *argv[2] = { "HVALS", key };
	size_t lens[2];
	query_t *q;
	int rc;

	if (!gw_redis_ready(c->redis))
		return GW_EUNAVAIL;
	q = gw_calloc(1, sizeof(*q));
	if (!q)
		return GW_ENOMEM;
	q->c = c;
	q->asker = s->m.id;
	memcpy(q->lobby, s->m.lobby->name, s->m.lobby->name_len);
	snprintf(key, sizeof(key), "%s:lobby:%s", c->prefix, q->lobby);
	lens[0] = 5;
	lens[1] = strlen(key);
	rc = gw_redis_command(c->redis, on_query, q, 2, argv, lens);
	if (rc)
		gw_free(q);
	return rc;
}

/* --- fan-out ---------------------------------------------------------------------- */

void gw_cluster_publish_lobby(gw_cluster_t *c, gw_lobby_t *l, const char *from,
			      gw_buf_t *frame)
{
	GW_UNUSED(from);
	publish_lobby_frame(c, l->name, ++l->seq, frame);
}

typedef struct {
	gw_cluster_t *c;
	uint64_t from;
	size_t delivered_here;
	gw_buf_t *frame;
	char to[GW_AUTH_SUB_MAX + 1];
} direct_t;

static void on_locate(void *ud, redisReply *reply)
{
	direct_t *d = ud;
	gw_cluster_t *c = d->c;
	const char *me = c->node->cfg->node_id;
	size_t i, sent = 0, mine = strlen(me);
	gw_member_t *m;

	if (reply && reply->type == REDIS_REPLY_ARRAY) {
		for (i = 0; i < reply->elements; i++) {
			redisReply *e = reply->element[i];
			size_t j, nl, dup = 0;
			char ch[CH_MAX];
			gw_envelope_t env = { .type = GW_ENV_MSG };

			if (e->type != REDIS_REPLY_STRING)
				continue;
			nl = node_part(e->str, e->len);
			if (nl == mine && memcmp(e->str, me, nl) == 0) {
				sent++; /* delivered locally already */
				continue;
			}
			for (j = 0; j < i && !dup; j++)
				dup = node_part(reply->element[j]->str, reply->element[j]->len) == nl &&
				      memcmp(reply->element[j]->str, e->str, nl) == 0;
			sent++;
			if (dup)
				continue;
			snprintf(ch, sizeof(ch), "%s:ch:node:%.*s", c->prefix, (int)nl, e->str);
			env.user = d->to;
			env.user_len = strlen(d->to);
			env.payload = (const char *)gw_buf_data(d->frame);
			env.payload_len = d->frame->len;
			publish_env(c, ch, &env);
		}
	}
	m = gw_registry_find(c->node->reg, d->from);
	if (m && !sent && !d->delivered_here)
		gw_session_error(GW_SESSION_OF(m), reply ? "user_offline" : "unavailable",
				 reply ? "no such user is connected"
				       : "the cluster could not be asked", 0);
	gw_buf_unref(d->frame);
	gw_free(d);
}

void gw_cluster_send_user(gw_cluster_t *c, gw_session_t *from, const char *to,
			  size_t to_len, gw_buf_t *frame, size_t delivered_here)
{
	char key[CH_MAX];
	const char *argv[2] = { "HKEYS", key };
	size_t lens[2];
	direct_t *d;

	if (to_len > GW_AUTH_SUB_MAX)
		goto offline;
	d = gw_calloc(1, sizeof(*d));
	if (!d)
		goto offline;
	d->c = c;
	d->from = from->m.id;
	d->delivered_here = delivered_here;
	d->frame = gw_buf_ref(frame);
	memcpy(d->to, to, to_len);
	snprintf(key, sizeof(key), "%s:user:%s", c->prefix, d->to);
	lens[0] = 5;
	lens[1] = strlen(key);
	if (gw_redis_command(c->redis, on_locate, d, 2, argv, lens) == GW_OK)
		return;
	gw_buf_unref(d->frame);
	gw_free(d);
offline:
	if (!delivered_here)
		gw_session_error(from, "unavailable", "the cluster could not be asked", 0);
}

/* --- inbound ----------------------------------------------------------------------- */

static uint64_t *seq_slot(gw_lobby_t *l, const char *origin, size_t len)
{
	lobby_state_t *st = l->cluster, *ns;
	size_t i;

	if (len > 64)
		return NULL;
	for (i = 0; st && i < st->n; i++)
		if (strlen(st->v[i].origin) == len && memcmp(st->v[i].origin, origin, len) == 0)
			return &st->v[i].seq;
	ns = gw_realloc(st, sizeof(*st) + (st ? st->n + 1 : 1) * sizeof(st->v[0]));
	if (!ns)
		return NULL;
	if (!st)
		ns->n = 0;
	memcpy(ns->v[ns->n].origin, origin, len);
	ns->v[ns->n].origin[len] = '\0';
	ns->v[ns->n].seq = 0;
	l->cluster = ns;
	return &ns->v[ns->n++].seq;
}

static void send_gap(gw_cluster_t *c, gw_lobby_t *l, uint64_t missed)
{
	gw_buf_t *b = gw_proto_gap(l->name, missed);

	c->node->stats.gaps++;
	GW_LOG(GW_LOG_WARN, "pubsub_gap", GW_S("lobby", l->name), GW_I("missed", missed));
	if (b) {
		gw_router_deliver_lobby(c->node, l, b, 0);
		gw_buf_unref(b);
	}
}

static gw_buf_t *payload_buf(const gw_envelope_t *e)
{
	gw_buf_t *b = gw_buf_new(e->payload_len);

	if (b && gw_buf_append(&b, e->payload, e->payload_len)) {
		gw_buf_unref(b);
		return NULL;
	}
	return b;
}

static void on_lobby_msg(gw_cluster_t *c, const gw_envelope_t *e)
{
	gw_lobby_t *l = gw_registry_lobby(c->node->reg, e->lobby, e->lobby_len);
	uint64_t *last;
	gw_buf_t *b;

	if (!l || !l->count)
		return; /* nobody here any more */
	if (e->seq && e->origin_len && (last = seq_slot(l, e->origin, e->origin_len))) {
		if (*last && e->seq > *last + 1)
			send_gap(c, l, e->seq - *last - 1);
		*last = e->seq;
	}
	b = payload_buf(e);
	if (b) {
		gw_router_deliver_lobby(c->node, l, b, 0);
		gw_buf_unref(b);
	}
}

typedef struct {
	gw_node_t *node;
	gw_buf_t *b;
} everyone_t;

static int deliver_all(gw_lobby_t *l, void *ud)
{
	everyone_t *ev = ud;

	if (l->count)
		gw_router_deliver_lobby(ev->node, l, ev->b, 0);
	return 0;
}

static void on_message(void *ud, const char *channel, size_t clen,
		       const char *msg, size_t len)
{
	gw_cluster_t *c = ud;
	const char *me = c->node->cfg->node_id;
	gw_envelope_t e;
	gw_buf_t *b;

	c->node->stats.pubsub_in++;
	if (gw_envelope_decode(msg, len, &e) != GW_OK) {
		GW_LOG(GW_LOG_WARN, "bad_envelope", GW_I("bytes", len));
		gw_envelope_clear(&e);
		return;
	}
	if (e.origin_len == strlen(me) && memcmp(e.origin, me, e.origin_len) == 0) {
		gw_envelope_clear(&e); /* our own publication: delivered locally */
		return;
	}
	if (clen == strlen(c->cluster_ch) && memcmp(channel, c->cluster_ch, clen) == 0) {
		if (e.type == GW_ENV_MSG && (b = payload_buf(&e))) {
			everyone_t ev = { c->node, b };

			gw_registry_each_lobby(c->node->reg, deliver_all, &ev);
			gw_buf_unref(b);
		}
	} else if (e.type == GW_ENV_MSG && e.user_len) {
		if ((b = payload_buf(&e))) {
			gw_router_deliver_user(c->node, e.user, e.user_len, b);
			gw_buf_unref(b);
		}
	} else if (e.type == GW_ENV_MSG && e.lobby_len) {
		on_lobby_msg(c, &e);
	} else if (e.type == GW_ENV_KICK && e.user_len) {
		uint64_t id = 0;
		size_t nl = e.conn_len ? node_part(e.conn, e.conn_len) : 0;

		if (e.conn_len && nl + 1 < e.conn_len) {
			char hex[24];
			size_t hl = GW_MIN(e.conn_len - nl - 1, sizeof(hex) - 1);

			memcpy(hex, e.conn + nl + 1, hl);
			hex[hl] = '\0';
			id = strtoull(hex, NULL, 16);
		}
		gw_router_kick(c->node, e.user, e.user_len, id,
			       e.reason_len == 8 && memcmp(e.reason, "replaced", 8) == 0
				       ? GW_CLOSE_REPLACED : GW_CLOSE_KICKED);
	}
	gw_envelope_clear(&e);
}

/* --- lease, sweep, restore ------------------------------------------------------------ */

static void lease(gw_cluster_t *c)
{
	const gw_config_t *cfg = c->node->cfg;
	char ttl[24], now[24], started[24], node_max[24], addr[300], in[24], out[24];
	const char *argv[11];

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
	script(c, S_LEASE, NULL, NULL, 11, argv);
}

/*
 * The sweep returns node, (conn user lobby)*, "" per dead node. Survivors
 * tell the affected lobbies: presence_leave with reason node_lost, to the
 * lobby channel for other nodes and straight to our own members.
 */
static void on_sweep(void *ud, redisReply *reply)
{
	gw_cluster_t *c = ud;
	size_t i = 0;

	if (!reply || reply->type != REDIS_REPLY_ARRAY)
		return;
	while (i < reply->elements) {
		const char *dead = reply->element[i++]->str;
		size_t n = 0;

		while (i + 2 < reply->elements && reply->element[i]->len) {
			const char *conn = reply->element[i]->str;
			const char *user = reply->element[i + 1]->str;
			const char *lobby = reply->element[i + 2]->str;
			gw_lobby_t *l = gw_registry_lobby(c->node->reg, lobby, strlen(lobby));
			gw_buf_t *b = gw_proto_presence_event(0, lobby, user, conn, "node_lost");

			if (b) {
				if (l && l->count)
					gw_router_deliver_lobby(c->node, l, b, 0);
				publish_lobby_frame(c, lobby, 0, b);
				gw_buf_unref(b);
			}
			i += 3;
			n++;
		}
		i++; /* the "" separator */
		GW_LOG(GW_LOG_WARN, "node_lost", GW_S("node", dead), GW_I("connections", n));
	}
}

static void sweep(gw_cluster_t *c)
{
	char now[24];
	const char *argv[2] = { c->prefix, now };

	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	script(c, S_SWEEP, on_sweep, c, 2, argv);
}

typedef struct {
	gw_cluster_t *c;
	const char *argv[3 + 4 * RESTORE_BATCH];
	char strs[RESTORE_BATCH][2][GW_CONN_ID_MAX];
	int argc, n, sent;
} restore_t;

static void restore_flush(restore_t *r)
{
	if (r->n == 0 && r->sent)
		return;
	script(r->c, S_RESTORE, NULL, NULL, r->argc, r->argv);
	r->sent++;
	r->argc = 3;
	r->n = 0;
	r->argv[2] = "0";
}

static int restore_one(gw_member_t *m, void *ud)
{
	restore_t *r = ud;
	gw_session_t *s = GW_SESSION_OF(m);

	if (!m->lobby || s->state != GW_SS_OPEN)
		return 0;
	conn_id(r->c, m->id, r->strs[r->n][0]);
	snprintf(r->strs[r->n][1], GW_CONN_ID_MAX, "%llu", (unsigned long long)s->since_ms);
	r->argv[r->argc++] = r->strs[r->n][0];
	r->argv[r->argc++] = m->user->name;
	r->argv[r->argc++] = m->lobby->name;
	r->argv[r->argc++] = r->strs[r->n][1];
	if (++r->n == RESTORE_BATCH)
		restore_flush(r);
	return 0;
}

/* Make Redis hold exactly our live connections: reset, then batches. */
static void restore(gw_cluster_t *c)
{
	restore_t *r = gw_calloc(1, sizeof(*r));

	if (!r)
		return;
	r->c = c;
	r->argv[0] = c->prefix;
	r->argv[1] = c->node->cfg->node_id;
	r->argv[2] = "1";
	r->argc = 3;
	gw_registry_each_member(c->node->reg, restore_one, r);
	restore_flush(r);
	GW_LOG(GW_LOG_INFO, "presence_restored",
	       GW_I("connections", gw_registry_joined(c->node->reg)));
	gw_free(r);
}

static int gap_lobby(gw_lobby_t *l, void *ud)
{
	if (l->count)
		send_gap(ud, l, 0);
	return 0;
}

static void on_ready(void *ud)
{
	gw_cluster_t *c = ud;

	lease(c);
	restore(c);
	sweep(c);
	gw_cluster_refresh_stats(c);
	/* Whatever was published while we were not subscribed is lost. */
	if (c->was_ready)
		gw_registry_each_lobby(c->node->reg, gap_lobby, c);
	c->was_ready = 1;
}

static void on_down(void *ud)
{
	gw_cluster_t *c = ud;

	GW_LOG(GW_LOG_WARN, "cluster_degraded",
	       GW_S("mode", c->node->cfg->redis_fail_mode == GW_FAIL_CLOSED
				    ? "fail_closed" : "fail_open"));
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_cluster_t *c = arg;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	if (!gw_redis_ready(c->redis) || c->leaving)
		return;
	lease(c);
	sweep(c);
	gw_cluster_refresh_stats(c);
}

/* --- lifecycle ---------------------------------------------------------------------- */

gw_cluster_t *gw_cluster_create(gw_node_t *node, char *err, size_t errlen)
{
	const gw_config_t *cfg = node->cfg;
	gw_redis_events_t ev = { on_ready, on_down, on_message };
	long period_ms = cfg->lease_ttl * 1000 / 3;
	struct timeval tv = { period_ms / 1000, (period_ms % 1000) * 1000 };
	char probe[CH_MAX];
	gw_cluster_t *c = gw_calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->node = node;
	snprintf(c->prefix, sizeof(c->prefix), "{%s}", cfg->redis_prefix);
	snprintf(c->total_key, sizeof(c->total_key), "%s:total", c->prefix);
	snprintf(c->node_ch, sizeof(c->node_ch), "%s:ch:node:%s", c->prefix, cfg->node_id);
	snprintf(c->cluster_ch, sizeof(c->cluster_ch), "%s:ch:cluster", c->prefix);
	snprintf(probe, sizeof(probe), "%s:ch:probe:%s", c->prefix, cfg->node_id);
	c->redis = gw_redis_create(node->base, cfg->redis_url, scripts,
				   GW_ARRAY_LEN(scripts), probe, &ev, c, err, errlen);
	if (!c->redis) {
		gw_cluster_free(c);
		return NULL;
	}
	c->timer = event_new(node->base, -1, EV_PERSIST, timer_cb, c);
	if (!c->timer || event_add(c->timer, &tv) ||
	    gw_redis_subscribe(c->redis, c->node_ch) ||
	    gw_redis_subscribe(c->redis, c->cluster_ch)) {
		snprintf(err, errlen, "out of memory");
		gw_cluster_free(c);
		return NULL;
	}
	return c;
}

void gw_cluster_free(gw_cluster_t *c)
{
	if (!c)
		return;
	if (c->timer)
		event_free(c->timer);
	gw_redis_free(c->redis);
	gw_buf_unref(c->snapshot);
	gw_free(c);
}

void gw_cluster_shutdown(gw_cluster_t *c)
{
	char now[24];
	const char *argv[3] = { c->prefix, now, c->node->cfg->node_id };

	c->leaving = 1;
	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	/* Drops our lease and every entry of ours at once (see sweep.lua). */
	script(c, S_SWEEP, NULL, NULL, 3, argv);
}

int gw_cluster_ready(const gw_cluster_t *c)
{
	return c && gw_redis_ready(c->redis);
}

/* --- operator and backend API ------------------------------------------------------ */

static void json_kv_str(gw_buf_t **b, const char *k, const char *v, size_t n, int first)
{
	if (!first)
		gw_buf_append(b, ",", 1);
	gw_buf_append_json_str(b, k, strlen(k));
	gw_buf_append(b, ":", 1);
	gw_buf_append_json_str(b, v, n);
}

/*
 * The snapshot: {"mode","node","total","max_connections","capacity_percent",
 * "active_lobbies","nodes":[{field:value,...}]} — node hash fields as
 * strings, except the numeric ones.
 */
static void on_stats(void *ud, redisReply *reply)
{
	gw_cluster_t *c = ud;
	const gw_config_t *cfg = c->node->cfg;
	gw_buf_t *b;
	char num[64];
	long long total;
	size_t i, j;

	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2)
		return;
	b = gw_buf_new(512);
	if (!b)
		return;
	total = reply->element[0]->str ? atoll(reply->element[0]->str) : 0;
	gw_buf_append_str(&b, "{\"mode\":\"cluster\",\"node\":");
	gw_buf_append_json_str(&b, cfg->node_id, strlen(cfg->node_id));
	snprintf(num, sizeof(num), ",\"total\":%lld,\"max_connections\":%ld,", total,
		 cfg->max_connections);
	gw_buf_append_str(&b, num);
	snprintf(num, sizeof(num), "\"capacity_percent\":%.2f,\"active_lobbies\":%lld,",
		 100.0 * (double)total / (double)cfg->max_connections,
		 reply->element[1]->integer);
	gw_buf_append_str(&b, num);
	gw_buf_append_str(&b, "\"nodes\":[");
	for (i = 2; i < reply->elements; i++) {
		redisReply *h = reply->element[i];

		if (h->type != REDIS_REPLY_ARRAY)
			continue;
		gw_buf_append_str(&b, i > 2 ? ",{" : "{");
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
	if (gw_buf_append_str(&b, "]}") == GW_OK) {
		gw_buf_unref(c->snapshot);
		c->snapshot = b;
	} else {
		gw_buf_unref(b);
	}
}

void gw_cluster_refresh_stats(gw_cluster_t *c)
{
	char now[24];
	const char *argv[2] = { c->prefix, now };

	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	script(c, S_STATS, on_stats, c, 2, argv);
}

gw_buf_t *gw_cluster_snapshot(gw_cluster_t *c)
{
	return c->snapshot ? gw_buf_ref(c->snapshot) : NULL;
}

const char *gw_cluster_prefix(const gw_cluster_t *c)
{
	return c->prefix;
}

int gw_cluster_command(gw_cluster_t *c, void (*cb)(void *ud, redisReply *r),
		       void *ud, int argc, const char **argv)
{
	size_t lens[16];
	int i;

	if (argc > 16)
		return GW_EINVAL;
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return gw_redis_command(c->redis, cb, ud, argc, argv, lens);
}

int gw_cluster_publish_frame(gw_cluster_t *c, const char *lobby, const char *user,
			     gw_buf_t *frame)
{
	char ch[CH_MAX];
	gw_envelope_t e = { .type = GW_ENV_MSG };

	if (!gw_redis_ready(c->redis))
		return GW_EUNAVAIL;
	e.payload = (const char *)gw_buf_data(frame);
	e.payload_len = frame->len;
	if (lobby) {
		lobby_channel(c, lobby, ch);
		e.lobby = lobby;
		e.lobby_len = strlen(lobby);
	} else if (user) {
		/* to every node: the caller picked the node channel */
		return GW_EINVAL;
	} else {
		snprintf(ch, sizeof(ch), "%s", c->cluster_ch);
	}
	publish_env(c, ch, &e);
	return GW_OK;
}

int gw_cluster_publish_node(gw_cluster_t *c, const char *node, size_t node_len,
			    int kick, const char *user, const char *conn,
			    gw_buf_t *frame)
{
	char ch[CH_MAX];
	gw_envelope_t e = { .type = kick ? GW_ENV_KICK : GW_ENV_MSG };

	if (!gw_redis_ready(c->redis))
		return GW_EUNAVAIL;
	snprintf(ch, sizeof(ch), "%s:ch:node:%.*s", c->prefix, (int)node_len, node);
	e.user = user;
	e.user_len = strlen(user);
	if (conn) {
		e.conn = conn;
		e.conn_len = strlen(conn);
	}
	if (kick) {
		e.reason = "kicked";
		e.reason_len = 6;
		/* our own node channel skips our own origin: deliver directly */
	} else {
		e.payload = (const char *)gw_buf_data(frame);
		e.payload_len = frame->len;
	}
	publish_env(c, ch, &e);
	return GW_OK;
}

void gw_cluster_inbound(gw_cluster_t *c, gw_session_t *s, const char *type,
			const char *raw, size_t len)
{
	char key[CH_MAX], maxlen[24], id[GW_CONN_ID_MAX], now[24];
	const char *argv[21];
	size_t lens[21];
	int i;

	snprintf(key, sizeof(key), "%s:inbound", c->prefix);
	snprintf(maxlen, sizeof(maxlen), "%ld", c->node->cfg->inbound_maxlen);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	gw_session_id_str(s, id);
	argv[0] = "XADD"; argv[1] = key; argv[2] = "MAXLEN"; argv[3] = "~";
	argv[4] = maxlen; argv[5] = "*";
	argv[6] = "lobby"; argv[7] = s->m.lobby->name;
	argv[8] = "user"; argv[9] = s->m.user->name;
	argv[10] = "node"; argv[11] = c->node->cfg->node_id;
	argv[12] = "connection_id"; argv[13] = id;
	argv[14] = "type"; argv[15] = type;
	argv[16] = "payload"; argv[17] = raw;
	argv[18] = "time"; argv[19] = now;
	for (i = 0; i < 20; i++)
		lens[i] = strlen(argv[i]);
	lens[17] = len;
	if (gw_redis_command(c->redis, NULL, NULL, 20, argv, lens) == GW_OK)
		c->inbound++;
	else
		gw_session_error(s, "unavailable", "the cluster could not be asked", 0);
}

uint64_t gw_cluster_inbound_count(const gw_cluster_t *c)
{
	return c->inbound;
}

gw_redis_t *gw_cluster_redis(const gw_cluster_t *c)
{
	return c->redis;
}
