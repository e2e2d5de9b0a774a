/*
 * gw_fanout.c — the cluster's pub/sub side: presence events and presence
 * queries, lobby broadcasts and direct messages out to other nodes, and
 * everything other nodes and backends publish, in (with gap detection).
 *
 * Local delivery never waits on Redis: the router delivers to local
 * members first and hands the same encoded frame to gw_cluster_publish_*.
 */
#include "gw_cluster_int.h"
#include "gw_alloc.h"
#include "gw_auth.h"
#include "gw_log.h"
#include "gw_presence.h"
#include "gw_protocol.h"
#include "gw_reply.h"
#include "gw_router.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_cluster__publish_env(gw_cluster_t *c, const char *channel, gw_envelope_t *e)
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

void gw_cluster__publish_lobby_frame(gw_cluster_t *c, const char *lobby, uint64_t seq,
				const gw_buf_t *frame)
{
	char ch[CH_MAX];
	gw_envelope_t e = { .type = GW_ENV_MSG };

	gw_cluster__lobby_channel(c, lobby, ch);
	e.lobby = lobby;
	e.lobby_len = strlen(lobby);
	e.seq = seq;
	e.payload = (const char *)gw_buf_data((gw_buf_t *)frame);
	e.payload_len = frame->len;
	gw_cluster__publish_env(c, ch, &e);
}

/* --- presence ------------------------------------------------------------------- */

void gw_cluster_presence_join(gw_cluster_t *c, gw_session_t *s, gw_buf_t *event)
{
	gw_lobby_t *l = s->m.lobby;
	char ch[CH_MAX];

	if (l->count == 1) {
		gw_cluster__lobby_channel(c, l->name, ch);
		gw_redis_subscribe(c->redis, ch);
	}
	if (event)
		gw_cluster__publish_lobby_frame(c, l->name, ++l->seq, event);
}

void gw_cluster_presence_leave(gw_cluster_t *c, gw_session_t *s, gw_buf_t *event)
{
	gw_lobby_t *l = s->m.lobby;
	char ch[CH_MAX];

	if (event)
		gw_cluster__publish_lobby_frame(c, l->name, ++l->seq, event);
	if (l->count == 1) {
		/* The last local member: stop listening, forget the sequences. */
		gw_cluster__lobby_channel(c, l->name, ch);
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

static void on_query(void *ud, redisReply *reply)
{
	query_t *q = ud;
	gw_member_t *m = gw_registry_find(q->c->node->reg, q->asker);
	gw_session_t *s = m ? GW_SESSION_OF(m) : NULL;
	gw_buf_t *b = NULL;
	int rc = reply ? gw_reply_presence(reply, q->lobby, &b) : GW_EUNAVAIL;

	if (rc == GW_EINVAL)
		gw_redis_refuse(q->c->redis, "presence");
	if (s && s->state == GW_SS_OPEN) {
		/* No answer from Redis: what this node knows is better than nothing. */
		if (rc == GW_EINVAL || rc == GW_EUNAVAIL)
			b = gw_presence_local_reply(q->c->node, s->m.lobby);
		gw_session_send_owned(s, b);
	} else {
		gw_buf_unref(b);
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

void gw_cluster_publish_lobby(gw_cluster_t *c, gw_lobby_t *l, gw_buf_t *frame)
{
	gw_cluster__publish_lobby_frame(c, l->name, ++l->seq, frame);
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
	size_t i, sent = 0;
	gw_member_t *m;

	if (reply && gw_reply_conn_ids(reply) != GW_OK) {
		gw_redis_refuse(c->redis, "user connections");
		reply = NULL;
	}
	if (reply) {
		for (i = 0; i < reply->elements; i++) {
			redisReply *e = reply->element[i];
			size_t j, nl, dup = 0;
			char ch[CH_MAX];
			gw_envelope_t env = { .type = GW_ENV_MSG };

			nl = gw_conn_id_node_len(e->str, e->len);
			if (gw_cluster__is_local(c, e->str, e->len)) {
				sent++; /* delivered locally already */
				continue;
			}
			for (j = 0; j < i && !dup; j++)
				dup = gw_conn_id_node_len(reply->element[j]->str, reply->element[j]->len) == nl &&
				      memcmp(reply->element[j]->str, e->str, nl) == 0;
			sent++;
			if (dup)
				continue;
			snprintf(ch, sizeof(ch), "%s:ch:node:%.*s", c->prefix, (int)nl, e->str);
			env.user = d->to;
			env.user_len = strlen(d->to);
			env.payload = (const char *)gw_buf_data(d->frame);
			env.payload_len = d->frame->len;
			gw_cluster__publish_env(c, ch, &env);
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

void gw_cluster__send_gap(gw_cluster_t *c, gw_lobby_t *l, uint64_t missed)
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
			gw_cluster__send_gap(c, l, e->seq - *last - 1);
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

void gw_cluster__on_message(void *ud, const char *channel, size_t clen,
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
		uint64_t id = e.conn_len ? gw_conn_id_local(me, e.conn, e.conn_len) : 0;

		/* Another node's or a malformed connection id kicks nobody (0
		 * would mean all). */
		if (!e.conn_len || id)
			gw_router_kick(c->node, e.user, e.user_len, id,
				       e.reason_len == 8 && memcmp(e.reason, "replaced", 8) == 0
					       ? GW_CLOSE_REPLACED : GW_CLOSE_KICKED);
	}
	gw_envelope_clear(&e);
}

int gw_cluster_publish_frame(gw_cluster_t *c, const char *lobby, gw_buf_t *frame)
{
	char ch[CH_MAX];
	gw_envelope_t e = { .type = GW_ENV_MSG };

	if (!gw_redis_ready(c->redis))
		return GW_EUNAVAIL;
	e.payload = (const char *)gw_buf_data(frame);
	e.payload_len = frame->len;
	if (lobby) {
		gw_cluster__lobby_channel(c, lobby, ch);
		e.lobby = lobby;
		e.lobby_len = strlen(lobby);
	} else {
		snprintf(ch, sizeof(ch), "%s", c->cluster_ch);
	}
	gw_cluster__publish_env(c, ch, &e);
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
	gw_cluster__publish_env(c, ch, &e);
	return GW_OK;
}

/*
 * The inbound stream is the one place where any logged-in client writes
 * into Redis at will, so it is bounded three ways (docs/redis-schema.md):
 * in entries (MAXLEN ~ --inbound-maxlen), in bytes per entry
 * (--inbound-max-message) and in rate per user on this node
 * (--inbound-rate a second, bursts of as many). What is over is dropped,
 * counted and answered with an error; the connection stays open.
 *
 * `raw` is the client's frame as received: not NUL-terminated.
 */
void gw_cluster_inbound(gw_cluster_t *c, gw_session_t *s, const char *type,
			const char *raw, size_t len)
{
	const gw_config_t *cfg = c->node->cfg;
	gw_user_t *u = s->m.user;
	uint32_t rate = (uint32_t)cfg->inbound_rate;
	uint64_t t = gw_now_ms();
	char key[CH_MAX], maxlen[24], id[GW_CONN_ID_MAX], now[24];
	const char *argv[20];
	size_t lens[20];
	int i;

	if (len > (size_t)cfg->inbound_max_message) {
		c->inbound_too_big++;
		gw_session_error(s, "inbound_too_big",
				 "message dropped: larger than --inbound-max-message", 0);
		return;
	}
	if (!u->inbound_armed) {
		gw_bucket_init(&u->inbound, rate, t);
		u->inbound_armed = 1;
	}
	if (!gw_bucket_take(&u->inbound, rate, rate, t)) {
		c->inbound_rate_limited++;
		gw_session_error(s, "inbound_rate_limited",
				 "message dropped: over --inbound-rate", 0);
		return;
	}
	snprintf(key, sizeof(key), "%s:inbound", c->prefix);
	snprintf(maxlen, sizeof(maxlen), "%ld", cfg->inbound_maxlen);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	gw_session_id_str(s, id);
	argv[0] = "XADD"; argv[1] = key; argv[2] = "MAXLEN"; argv[3] = "~";
	argv[4] = maxlen; argv[5] = "*";
	argv[6] = "lobby"; argv[7] = s->m.lobby->name;
	argv[8] = "user"; argv[9] = u->name;
	argv[10] = "node"; argv[11] = cfg->node_id;
	argv[12] = "connection_id"; argv[13] = id;
	argv[14] = "type"; argv[15] = type;
	argv[16] = "payload"; argv[17] = raw;
	argv[18] = "time"; argv[19] = now;
	for (i = 0; i < 20; i++)
		lens[i] = i == 17 ? len : strlen(argv[i]);
	if (gw_redis_command(c->redis, NULL, NULL, 20, argv, lens) == GW_OK)
		c->inbound++;
	else
		gw_session_error(s, "unavailable", "the cluster could not be asked", 0);
}

uint64_t gw_cluster_inbound_count(const gw_cluster_t *c)
{
	return c->inbound;
}

uint64_t gw_cluster_inbound_dropped(const gw_cluster_t *c, int rate)
{
	return rate ? c->inbound_rate_limited : c->inbound_too_big;
}

