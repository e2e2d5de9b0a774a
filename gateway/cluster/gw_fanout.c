/*
 * gw_fanout.c — the Redis bus's operations (gw_bus_ops_t): presence
 * events and presence queries, lobby broadcasts and user messages out to
 * other nodes, lookups, the inbound stream, and everything other nodes and
 * backends publish, in (with gap detection), handed up through the sink.
 *
 * Local delivery never waits on Redis: the core delivers to local members
 * itself and hands the same encoded frame to the bus.
 *
 * Every Redis call goes to the shard that holds what it names: a lobby's
 * key and channel to the lobby's shard, a user's entries to the user's
 * (gw_cluster__link_lobby / _user), cluster frames to any shard (every
 * node listens to the cluster channel on every shard).
 */
#include "gw_cluster_int.h"
#include "gw_alloc.h"
#include "gw_auth.h"
#include "gw_log.h"
#include "gw_reply.h"
#include "gw_userconns.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_cluster__lobby_channel(const gw_cluster_t *c, const char *lobby, char *out)
{
	if (gw_ch_lobby(&c->keys, lobby, strlen(lobby), out) < 0)
		out[0] = '\0'; /* lobby names are bounded far below; never reached */
}

int gw_cluster__is_local(const gw_cluster_t *c, const char *conn, size_t len)
{
	const char *me = c->node->cfg->node_id;
	size_t nl = gw_conn_id_node_len(conn, len);

	return nl == strlen(me) && memcmp(conn, me, nl) == 0;
}

void gw_cluster__publish_env(gw_cluster_t *c, gw_redis_t *link, const char *channel,
			     gw_envelope_t *e)
{
	char *buf;
	size_t len;

	e->version = 1;
	e->origin = c->node->cfg->node_id;
	e->origin_len = strlen(e->origin);
	if (gw_envelope_encode(e, &buf, &len) != GW_OK)
		return;
	if (gw_redis_publish(link, channel, strlen(channel), buf, len) == GW_OK)
		c->pubsub_out++;
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
	gw_cluster__publish_env(c, gw_cluster__link_lobby(c, lobby, e.lobby_len), ch, &e);
}

/* --- per-lobby state ------------------------------------------------------------ */

lobby_state_t *gw_cluster__lobby_state(const gw_cluster_t *c, const char *name,
				       size_t len)
{
	gw_lobby_t *l = gw_registry_lobby(c->node->reg, name, len);

	return l ? l->bus : NULL;
}

static lobby_state_t *lobby_state(const gw_cluster_t *c, const char *lobby)
{
	return gw_cluster__lobby_state(c, lobby, strlen(lobby));
}

/* A reference to the interned node id `id` (created on first use); NULL
 * when out of memory. */
static origin_t *origin_get(gw_cluster_t *c, const char *id, size_t len)
{
	origin_t *o = gw_map_get(c->origins, id, len);

	if (!o) {
		o = gw_calloc(1, sizeof(*o) + len + 1);
		if (!o)
			return NULL;
		memcpy(o->id, id, len);
		o->len = (uint32_t)len;
		if (gw_map_put(c->origins, o->id, len, o)) {
			gw_free(o);
			return NULL;
		}
	}
	o->refs++;
	return o;
}

static void origin_put(gw_cluster_t *c, origin_t *o)
{
	if (--o->refs == 0) {
		gw_map_del(c->origins, o->id, o->len);
		gw_free(o);
	}
}

static void lobby_state_free(gw_cluster_t *c, lobby_state_t *st)
{
	uint32_t i;

	if (st) {
		for (i = 0; i < st->n; i++)
			origin_put(c, st->seen[i].origin);
		gw_free(st->seen);
		gw_cluster__history_forget(st);
	}
	gw_free(st);
}

static int free_one(gw_lobby_t *l, void *ud)
{
	lobby_state_free(ud, l->bus);
	l->bus = NULL;
	return 0;
}

/* At the end only (the registry still there, its lobbies kept for nobody). */
void gw_cluster__free_lobbies(gw_cluster_t *c)
{
	if (c->node && c->node->reg)
		gw_registry_each_lobby(c->node->reg, free_one, c);
	gw_map_free(c->origins); /* empty now: every reference was a lobby's */
	c->origins = NULL;
}

/* The next sequence for what we publish to `lobby`; 0 (unsequenced) when
 * we have no members there. */
static uint64_t next_seq(gw_cluster_t *c, const char *lobby)
{
	lobby_state_t *st = lobby_state(c, lobby);

	return st ? ++st->seq : 0;
}

/* --- presence ------------------------------------------------------------------- */

void gw_cluster__lobby_joined(void *impl, gw_session_t *s, gw_buf_t *event)
{
	gw_cluster_t *c = impl;
	const char *name = s->m.lobby->name;
	size_t len = s->m.lobby->name_len;
	lobby_state_t *st = s->m.lobby->bus;
	char ch[CH_MAX];

	if (!st) {
		/*
		 * The first local member: listen to the lobby. The link keeps
		 * no copy of the channel: gw_cluster__resubscribe names it
		 * again after a reconnect, from the lobby states. Without a
		 * state nothing here could take the lobby's messages.
		 */
		st = gw_calloc(1, sizeof(*st));
		if (st) {
			st->lobby = s->m.lobby;
			s->m.lobby->bus = st;
			gw_cluster__lobby_channel(c, name, ch);
			gw_redis_subscribe_once(gw_cluster__link_lobby(c, name, len), ch);
		}
	}
	if (st)
		st->members++;
	if (event)
		gw_cluster__publish_lobby_frame(c, name, st ? ++st->seq : 0, event);
}

void gw_cluster__lobby_left(void *impl, gw_session_t *s, gw_buf_t *event)
{
	gw_cluster_t *c = impl;
	const char *name = s->m.lobby->name;
	lobby_state_t *st = s->m.lobby->bus;
	char ch[CH_MAX];

	if (event)
		gw_cluster__publish_lobby_frame(c, name, st ? ++st->seq : 0, event);
	if (st && --st->members == 0) {
		/* The last local member: stop listening, forget the sequences. */
		gw_cluster__lobby_channel(c, name, ch);
		gw_redis_unsubscribe(gw_cluster__link_lobby(c, name, strlen(name)), ch);
		s->m.lobby->bus = NULL;
		lobby_state_free(c, st);
	}
}

typedef struct {
	gw_cluster_t *c;
	gw_redis_t *link;
	uint64_t asker;
	char lobby[GW_LOBBY_MAX + 1];
} query_t;

/* A reply's string elements as borrowed names (NULL when it is no array). */
static gw_bus_str_t *reply_strs(const redisReply *r, size_t *n)
{
	gw_bus_str_t *v;
	size_t i;

	*n = 0;
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return NULL;
	v = gw_calloc(r->elements ? r->elements : 1, sizeof(*v));
	for (i = 0; v && i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			v[(*n)++] = (gw_bus_str_t){ r->element[i]->str, r->element[i]->len };
	return v;
}

static void on_query(void *ud, redisReply *reply)
{
	query_t *q = ud;
	gw_cluster_t *c = q->c;
	size_t n, i;
	gw_bus_str_t *users;

	/* A reply that is not an array of user ids is refused, never read. */
	for (i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			break;
	if (reply && (reply->type != REDIS_REPLY_ARRAY || i < reply->elements)) {
		gw_redis_refuse(q->link, "presence");
		reply = NULL;
	}
	users = reply_strs(reply, &n);

	c->sink.presence_reply(c->sink.ud, q->asker, q->lobby, users, n);
	gw_free(users);
	gw_free(q);
}

int gw_cluster__presence_query(void *impl, gw_session_t *s)
{
	gw_cluster_t *c = impl;
	char key[CH_MAX];
	const char *argv[2] = { "HVALS", key };
	size_t lens[2];
	gw_redis_t *link = gw_cluster__link_lobby(c, s->m.lobby->name, s->m.lobby->name_len);
	query_t *q;
	int rc;

	if (!gw_redis_ready(link))
		return GW_EUNAVAIL;
	q = gw_calloc(1, sizeof(*q));
	if (!q)
		return GW_ENOMEM;
	q->c = c;
	q->link = link;
	q->asker = s->m.id;
	memcpy(q->lobby, s->m.lobby->name, s->m.lobby->name_len);
	gw_key_lobby(&c->keys, q->lobby, strlen(q->lobby), key);
	lens[0] = 5;
	lens[1] = strlen(key);
	rc = gw_redis_command(link, on_query, q, 2, argv, lens);
	if (rc)
		gw_free(q);
	return rc;
}

/* --- fan-out ---------------------------------------------------------------------- */

int gw_cluster__publish(void *impl, const char *lobby, gw_buf_t *frame)
{
	gw_cluster_t *c = impl;
	char ch[CH_MAX];
	gw_envelope_t e = { .type = GW_ENV_MSG };
	/* Taken even when Redis is down: other nodes then see the gap. */
	uint64_t seq = lobby ? next_seq(c, lobby) : 0;
	gw_redis_t *link = lobby ? gw_cluster__link_lobby(c, lobby, strlen(lobby))
				 : gw_cluster__link_any(c);

	if (!gw_redis_ready(link))
		return GW_EUNAVAIL;
	if (lobby) {
		gw_cluster__publish_lobby_frame(c, lobby, seq, frame);
		return GW_OK;
	}
	e.payload = (const char *)gw_buf_data(frame);
	e.payload_len = frame->len;
	snprintf(ch, sizeof(ch), "%s", c->cluster_ch);
	gw_cluster__publish_env(c, link, ch, &e);
	return GW_OK;
}

void gw_cluster__publish_node(gw_cluster_t *c, const char *node, size_t node_len,
			      const char *user, const char *conn, size_t conn_len,
			      const gw_buf_t *frame, const char *reason)
{
	char ch[CH_MAX];
	gw_envelope_t e = { .type = frame ? GW_ENV_MSG : GW_ENV_KICK };

	if (gw_ch_node(&c->keys, node, node_len, ch) < 0)
		return;
	e.user = user;
	e.user_len = strlen(user);
	e.conn = conn;
	e.conn_len = conn ? conn_len : 0;
	if (frame) {
		e.payload = (const char *)gw_buf_data((gw_buf_t *)frame);
		e.payload_len = frame->len;
	} else {
		e.reason = reason;
		e.reason_len = strlen(reason);
	}
	gw_cluster__publish_env(c, gw_cluster__link_user(c, user, e.user_len), ch, &e);
}

/*
 * The one user lookup (common/gw_userconns.h, shared with gatewayctl):
 * user_conns.lua returns U's connections and the live nodes in one round
 * trip; every live node holding one (but this one, which the core served)
 * gets the message or the kick once, on its node channel. An entry whose
 * node's lease ran out is gone: never delivered to, never counted.
 */
typedef struct {
	gw_cluster_t *c;
	gw_redis_t *link;     /* the user's shard */
	gw_bus_sent_fn done;
	void *ud;
	gw_buf_t *frame;      /* NULL for a kick */
	const char *kick;     /* static */
	char user[GW_AUTH_SUB_MAX + 1];
	char conn[GW_CONN_ID_MAX];
} send_t;

/* A reply array of strings as borrowed gw_ustr_t (the caller frees). */
static gw_ustr_t *ustrs(const redisReply *r)
{
	gw_ustr_t *v = gw_calloc(r->elements ? r->elements : 1, sizeof(*v));
	size_t i;

	for (i = 0; v && i < r->elements; i++)
		v[i] = (gw_ustr_t){ r->element[i]->str, r->element[i]->len };
	return v;
}

static void on_user_conns(void *ud, redisReply *r)
{
	send_t *op = ud;
	gw_cluster_t *c = op->c;
	gw_ustr_t *conns = NULL, *live = NULL;
	gw_user_conn_t *e = NULL;
	size_t i, k, n = 0;

	if (r && gw_reply_user_conns(r) != GW_OK) {
		gw_redis_refuse(op->link, "user connections");
		r = NULL;
	}
	if (r) {
		conns = ustrs(r->element[0]);
		live = ustrs(r->element[1]);
		e = gw_calloc(r->element[0]->elements ? r->element[0]->elements : 1, sizeof(*e));
	}
	if (!r || !conns || !live || !e) {
		op->done(op->ud, GW_EUNAVAIL, 0);
		goto out;
	}
	k = gw_user_conns(conns, r->element[0]->elements, live, r->element[1]->elements,
			  op->conn[0] ? op->conn : NULL, e);
	for (i = 0; i < k; i++) {
		if (!e[i].live || gw_cluster__is_local(c, e[i].conn.str, e[i].conn.len))
			continue; /* gone, or served by the core */
		n++;
		if (e[i].first)
			gw_cluster__publish_node(c, e[i].conn.str, e[i].node.len, op->user,
						 op->conn[0] ? op->conn : NULL,
						 strlen(op->conn), op->frame, op->kick);
	}
	op->done(op->ud, GW_OK, n);
out:
	gw_free(conns);
	gw_free(live);
	gw_free(e);
	gw_buf_unref(op->frame);
	gw_free(op);
}

int gw_cluster__send_user(void *impl, const char *user, size_t len, const char *conn,
			 gw_buf_t *frame, const char *kick, gw_bus_sent_fn done,
			 void *ud)
{
	gw_cluster_t *c = impl;
	char now[24];
	const char *argv[3];
	send_t *op;

	if (len > GW_AUTH_SUB_MAX || (conn && strlen(conn) >= GW_CONN_ID_MAX))
		return GW_EINVAL;
	op = gw_calloc(1, sizeof(*op));
	if (!op)
		return GW_ENOMEM;
	*op = (send_t){ .c = c, .link = gw_cluster__link_user(c, user, len), .done = done,
			.ud = ud, .kick = kick ? kick : "kicked" };
	memcpy(op->user, user, len);
	if (conn)
		strcpy(op->conn, conn);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)gw_wall_ms());
	argv[0] = c->prefix;
	argv[1] = op->user;
	argv[2] = now;
	op->frame = frame ? gw_buf_ref(frame) : NULL;
	if (gw_cluster__script(c, op->link, S_USER_CONNS, on_user_conns, op, 3, argv) == GW_OK)
		return GW_OK;
	gw_buf_unref(op->frame);
	gw_free(op);
	return GW_EUNAVAIL;
}

/* --- lookups ----------------------------------------------------------------------- */

typedef struct {
	gw_bus_lookup_fn done;
	void *ud;
} lookup_t;

static void on_lookup(void *ud, redisReply *r)
{
	lookup_t *lk = ud;
	size_t n;
	gw_bus_str_t *v = reply_strs(r, &n);

	if (!v)
		lk->done(lk->ud, GW_EUNAVAIL, NULL, 0);
	else
		lk->done(lk->ud, GW_OK, v, n & ~(size_t)1);
	gw_free(v);
	gw_free(lk);
}

int gw_cluster__lookup(void *impl, int lobby, const char *name, gw_bus_lookup_fn done,
		      void *ud)
{
	gw_cluster_t *c = impl;
	char key[CH_MAX];
	const char *argv[2] = { "HGETALL", key };
	size_t lens[2];
	lookup_t *lk;

	if (strlen(name) > GW_AUTH_SUB_MAX)
		return GW_EINVAL;
	lk = gw_calloc(1, sizeof(*lk));
	if (!lk)
		return GW_ENOMEM;
	*lk = (lookup_t){ done, ud };
	(lobby ? gw_key_lobby : gw_key_user)(&c->keys, name, strlen(name), key);
	lens[0] = 7;
	lens[1] = strlen(key);
	if (gw_redis_command(lobby ? gw_cluster__link_lobby(c, name, strlen(name))
				   : gw_cluster__link_user(c, name, strlen(name)),
			     on_lookup, lk, 2, argv, lens) == GW_OK)
		return GW_OK;
	gw_free(lk);
	return GW_EUNAVAIL;
}

/* --- inbound ---------------------------------------------------------------------- */

static uint64_t *seq_slot(gw_cluster_t *c, lobby_state_t *st, const char *origin,
			  size_t len)
{
	uint32_t i;
	origin_t *o;
	void *nv;

	if (len > 64)
		return NULL;
	for (i = 0; i < st->n; i++)
		if (st->seen[i].origin->len == len &&
		    memcmp(st->seen[i].origin->id, origin, len) == 0)
			return &st->seen[i].seq;
	nv = gw_realloc(st->seen, (st->n + 1) * sizeof(st->seen[0]));
	if (!nv)
		return NULL;
	st->seen = nv;
	if (!(o = origin_get(c, origin, len)))
		return NULL;
	st->seen[st->n].origin = o;
	st->seen[st->n].seq = 0;
	return &st->seen[st->n++].seq;
}

typedef struct {
	gw_cluster_t *c;
	uint32_t shard;
} gap_t;

/* Lobbies without a state here (no local members left, or none could be
 * made) are skipped. */
static int gap_one(gw_lobby_t *l, void *ud)
{
	gap_t *g = ud;

	if (l->bus && gw_shard_of(l->name, l->name_len, g->c->nshards) == g->shard) {
		g->c->sink.gap(g->c->sink.ud, l->name, l->name_len, 0);
		gw_cluster__history_reset(g->c, l->bus);
	}
	return 0;
}

void gw_cluster__gap_all(gw_cluster_t *c, uint32_t shard)
{
	gap_t g = { c, shard };

	gw_registry_each_lobby(c->node->reg, gap_one, &g);
}

static int resubscribe_one(gw_lobby_t *l, void *ud)
{
	gap_t *g = ud;
	char ch[CH_MAX];

	if (l->bus && gw_shard_of(l->name, l->name_len, g->c->nshards) == g->shard) {
		gw_cluster__lobby_channel(g->c, l->name, ch);
		gw_redis_subscribe_once(g->c->shards[g->shard].redis, ch);
	}
	return 0;
}

void gw_cluster__resubscribe(gw_cluster_t *c, uint32_t shard)
{
	gap_t g = { c, shard };

	gw_registry_each_lobby(c->node->reg, resubscribe_one, &g);
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

/*
 * `own`: our own publication, which only a history frame (one with an
 * offset, gw_history.c) is delivered from; everything else we publish was
 * delivered locally before it was sent.
 */
static void on_lobby_msg(gw_cluster_t *c, const gw_envelope_t *e, int own)
{
	lobby_state_t *st = gw_cluster__lobby_state(c, e->lobby, e->lobby_len);
	uint64_t *last, off;
	gw_buf_t *b;

	if (!st)
		return; /* nobody here any more */
	if (c->node->cfg->history_size > 0 &&
	    (off = gw_proto_offset_of(e->payload, e->payload_len))) {
		const char *me = c->node->cfg->node_id;

		if ((b = payload_buf(e))) {
			gw_cluster__history_offer(c, st, b, off,
						  e->conn_len ? gw_conn_id_local(me, e->conn,
										 e->conn_len) : 0);
			gw_buf_unref(b);
		}
		return;
	}
	if (own)
		return;
	if (e->seq && e->origin_len && (last = seq_slot(c, st, e->origin, e->origin_len))) {
		if (*last && e->seq > *last + 1)
			c->sink.gap(c->sink.ud, st->lobby->name, e->lobby_len, e->seq - *last - 1);
		*last = e->seq;
	}
	b = payload_buf(e);
	if (b) {
		c->sink.deliver_lobby(c->sink.ud, st->lobby->name, e->lobby_len, b, 0);
		gw_buf_unref(b);
	}
}

void gw_cluster__on_message(void *ud, const char *channel, size_t clen,
		       const char *msg, size_t len)
{
	gw_cluster_t *c = ud;
	const char *me = c->node->cfg->node_id;
	gw_envelope_t e;
	gw_buf_t *b;
	int own;

	c->pubsub_in++;
	if (gw_envelope_decode(msg, len, &e) != GW_OK) {
		GW_LOG(GW_LOG_WARN, "bad_envelope", GW_I("bytes", len));
		gw_envelope_clear(&e);
		return;
	}
	own = e.origin_len == strlen(me) && memcmp(e.origin, me, e.origin_len) == 0;
	/* Our own publication was delivered locally -- but for history frames. */
	if (own && !(c->node->cfg->history_size > 0 && e.type == GW_ENV_MSG &&
		     e.lobby_len && !e.user_len)) {
		gw_envelope_clear(&e);
		return;
	}
	if (clen == strlen(c->cluster_ch) && memcmp(channel, c->cluster_ch, clen) == 0) {
		if (e.type == GW_ENV_MSG && (b = payload_buf(&e))) {
			c->sink.deliver_all(c->sink.ud, b);
			gw_buf_unref(b);
		}
	} else if (e.type == GW_ENV_MSG && e.user_len) {
		if ((b = payload_buf(&e))) {
			c->sink.deliver_user(c->sink.ud, e.user, e.user_len, b);
			gw_buf_unref(b);
		}
	} else if (e.type == GW_ENV_MSG && e.lobby_len) {
		on_lobby_msg(c, &e, own);
	} else if (e.type == GW_ENV_KICK && e.user_len) {
		uint64_t id = e.conn_len ? gw_conn_id_local(me, e.conn, e.conn_len) : 0;

		/* Another node's or a malformed connection id kicks nobody (0
		 * would mean all). */
		if (!e.conn_len || id)
			c->sink.kick(c->sink.ud, e.user, e.user_len, id,
				     e.reason_len == 8 && memcmp(e.reason, "replaced", 8) == 0
					     ? "replaced" : "kicked");
	}
	gw_envelope_clear(&e);
}

int gw_cluster__inbound(void *impl, gw_session_t *s, const char *type,
		       const char *raw, size_t len)
{
	gw_cluster_t *c = impl;
	const gw_config_t *cfg = c->node->cfg;
	gw_user_t *u = s->m.user;
	uint32_t rate = (uint32_t)cfg->inbound_rate;
	uint64_t t = gw_now_ms();
	char key[CH_MAX], maxlen[24], id[GW_CONN_ID_MAX], now[24];
	const char *argv[20];
	size_t lens[20];
	int i;

	if (cfg->inbound_maxlen <= 0)
		return GW_ENOENT; /* the inbound stream is off */
	if (len > (size_t)cfg->inbound_max_message) {
		c->inbound_too_big++;
		gw_session_error(s, "inbound_too_big",
				 "message dropped: larger than --inbound-max-message", 0);
		return GW_OK;
	}
	if (!u->inbound_armed) {
		gw_bucket_init(&u->inbound, rate, t);
		u->inbound_armed = 1;
	}
	if (!gw_bucket_take(&u->inbound, rate, rate, t)) {
		c->inbound_rate_limited++;
		gw_session_error(s, "inbound_rate_limited",
				 "message dropped: over --inbound-rate", 0);
		return GW_OK;
	}
	gw_key_inbound(&c->keys, key);
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
		lens[i] = i == 17 ? len : strlen(argv[i]); /* raw: not NUL-terminated */
	/* The stream lives on the lobby's shard: backends read {P}:inbound
	 * on every shard (docs/redis-schema.md, Shards). */
	if (gw_redis_command(gw_cluster__link_lobby(c, s->m.lobby->name, s->m.lobby->name_len),
			     NULL, NULL, 20, argv, lens) != GW_OK)
		return GW_EUNAVAIL;
	c->inbound++;
	return GW_OK;
}
