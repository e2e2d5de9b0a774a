/*
 * fuzz_cluster.c — a node in cluster mode, driven from its edges: client
 * frames into gw_session_on_receive() (→ router → bus → the Redis bus),
 * pub/sub messages from other nodes into the Redis bus's subscription
 * handler (→ the sink → router → sessions), and Redis replies into
 * whatever the node is waiting on. libwebsockets and the Redis links are
 * stubs (fuzz/stub_lws.c, fuzz/stub_redis.c); the sessions, router,
 * registry, presence, health, admission, bus and the Redis bus
 * (gw_cluster, gw_fanout, gw_admit_shards, gw_stats, gw_reply) are the
 * daemon's own, wired as main.c wires them.
 *
 * Parsers tested alone cannot find what goes wrong between them: a client
 * frame is not NUL-terminated, and only the path that hands it on to the
 * bus (inbound) shows whether something treats it as a C string. So
 * frames and messages are passed in buffers of exactly their size, where
 * ASan sees any over-read.
 *
 * The input: one byte of settings (bit 0x08: two Redis shards), then
 * operations until it runs out; k picks a session (or a shard's link):
 *
 *   op % 9 == 0  a whole text frame from session k (opened first if needed)
 *             1  a fragment from session k: first/final/binary flags, bytes
 *             2  a pub/sub message, raw, on a channel picked from the input
 *             3  an envelope built from input fields (origin, lobby, user,
 *                conn, seq, payload), encoded, then delivered as in 2
 *             4  link k's oldest waiting call answered: NULL, the usual
 *                reply for it, or a reply tree built from the input
 *             5  session k opens (user and lobby from the input) or closes
 *                (LWS_CALLBACK_CLOSED)
 *             6  session k is writeable (its queue drains; a close goes out)
 *             7  one turn of the event loop (the deferred detaches)
 *             8  link k goes up or down
 *
 * At the end the node shuts down as main() does on SIGTERM, so
 * LeakSanitizer sees what a real shutdown would leave.
 */
#include "stub.h"
#include "gw_admission.h"
#include "gw_alloc.h"
#include "gw_bus.h"
#include "gw_cluster.h"
#include "gw_cluster_int.h" /* the script indexes (S_*), for the usual replies */
#include "gw_connid.h"
#include "gw_envelope.h"
#include "gw_health.h"
#include "gw_log.h"
#include "gw_map.h"
#include "gw_protocol.h"
#include "gw_router.h"
#include "gw_session.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <string.h>

#define NSESS 4
#define FRAME_MAX 4096

static const char *const users[] = { "alice", "bob", "carol", "dave" };
static const char *const lobbies[] = { "chess", "go", "lobby:1" };
static const char *const origins[] = { "other", "fz", "n3" };

static struct event_base *base;
static gw_node_t node;
static gw_config_t cfg;
static gw_session_t *sess[NSESS];

/* A copy of [p, p+n) in a buffer of exactly n bytes (1 when n is 0). */
static char *dup_exact(const void *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	FUZZ_CHECK(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

/* --- node lifecycle, as main() does it ---------------------------------------- */

static void node_start(uint8_t settings)
{
	char text[1024], err[256];
	gw_bus_sink_t sink;
	gw_cluster_t *c;

	snprintf(text, sizeof(text),
		 "jwt_secret = fuzz-secret-fuzz-secret-fuzz-secret!\n"
		 "node_id = fz\n"
		 "redis = %s\n"
		 "log_level = error\n"
		 "rate_limit = 1000000\nrate_burst = 1000000\n"
		 "rate_bytes = 1073741824\nrate_bytes_burst = 1073741824\n"
		 "abuse_limit = %d\nsend_queue_max = %d\n"
		 "presence_events = %s\n"
		 "inbound_maxlen = %d\ninbound_max_message = %d\n"
		 "user_policy = %s\n"
		 "redis_fail_mode = %s\n",
		 settings & 0x08 ? "redis://stub:1 redis://stub:2" : "redis://stub:1",
		 settings & 0x40 ? 3 : 1000, settings & 0x80 ? 4 : 64,
		 settings & 1 ? "false" : "true", settings & 2 ? 0 : 10000,
		 settings & 0x04 ? 64 : 65536,
		 (const char *[]){ "replace", "reject", "multi", "multi" }[(settings >> 2) & 3],
		 settings & 0x10 ? "closed" : "open");
	if (gw_config_load_text(&cfg, text, strlen(text), "fuzz", err, sizeof(err))) {
		fprintf(stderr, "fuzz_cluster: %s\n", err);
		abort();
	}
	gw_log_level = GW_LOG_OFF;
	memset(&node, 0, sizeof(node));
	node.cfg = &cfg;
	node.base = base;
	node.started_ms = gw_wall_ms();
	node.next_conn = 0;
	node.reg = gw_registry_create();
	FUZZ_CHECK(node.reg && gw_router_init(&node) == GW_OK);
	node.health = gw_health_create(&node);
	FUZZ_CHECK(node.health);
	/* As main.c's start(): the Redis bus and its admission. */
	gw_router_sink(&node, &sink);
	c = gw_cluster_create(&node, &sink, err, sizeof(err));
	FUZZ_CHECK(c);
	node.bus = gw_cluster_bus(c);
	FUZZ_CHECK(node.bus);
	node.admission = gw_cluster_admission(c);
	FUZZ_CHECK(node.admission);
	if (settings & 0x20)
		for (size_t k = 0; k < stub_redis_links(); k++)
			stub_redis_set_ready(k, 1);
}

/* LWS_CALLBACK_CLOSED, then lws frees the per-session storage. */
static void sess_closed(int k)
{
	gw_session_t *s = sess[k];

	if (!s)
		return;
	gw_session_on_closed(s);
	free(s);
	sess[k] = NULL;
}

/* SIGTERM (main.c's on_signal), then stop() and cleanup(). */
static void node_stop(void)
{
	node.draining = 1;
	gw_bus_shutdown(node.bus);
	gw_router_close_all(&node, GW_CLOSE_GOING_AWAY);
	event_base_loop(base, EVLOOP_NONBLOCK);
	gw_health_free(node.health);
	node.health = NULL;
	for (int k = 0; k < NSESS; k++) /* gw_server_stop: lws closes everyone */
		sess_closed(k);
	gw_router_shutdown(&node);
	gw_admission_free(node.admission);
	gw_bus_free(node.bus);
	gw_registry_free(node.reg);
	gw_config_free(&cfg);
	/* Anything left on the loop is the node's leak; run it dry. */
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/*
 * What the upgrade filter and ESTABLISHED do: a verified user, a valid
 * lobby, an id, and admission.
 */
static void sess_open(int k, fuzz_in_t *in)
{
	uint8_t pick = fuzz_u8(in);
	gw_session_t *s = calloc(1, sizeof(*s));
	const char *user = users[pick & 3], *lobby = lobbies[(pick >> 2) % 3];
	char raw[17];

	FUZZ_CHECK(s);
	if (pick & 0x80) { /* a user name from the input, as a token's sub */
		size_t n;
		const uint8_t *p = fuzz_bytes(in, 16, &n);

		for (size_t i = 0; i < n; i++)
			raw[i] = p[i] < 0x20 || p[i] == 0x7f ? '_' : (char)p[i];
		raw[n] = '\0';
		if (n)
			user = raw;
	}
	s->wsi = (struct lws *)s;
	s->node = &node;
	s->m.id = ++node.next_conn;
	gw_ratelimit_init(&s->rl, &cfg, gw_now_ms());
	s->want_user = gw_strdup(user);
	s->want_lobby = gw_strdup(lobby);
	FUZZ_CHECK(s->want_user && s->want_lobby);
	sess[k] = s;
	if (gw_registry_add(node.reg, &s->m) != GW_OK) {
		s->state = GW_SS_CLOSING;
		sess_closed(k);
		return;
	}
	s->state = GW_SS_NEW;
	s->w = &gw_session_ws_writer;
	s->direct = !!(pick & 0x40); /* else as over TLS: always queued */
	gw_router_admit(s);
}

/* --- Redis replies ------------------------------------------------------------- */

static redisReply *reply_new(int type)
{
	redisReply *r = calloc(1, sizeof(*r));

	FUZZ_CHECK(r);
	r->type = type;
	return r;
}

/* hiredis strings are NUL-terminated, with their length beside them. */
static redisReply *reply_str(int type, const char *s, size_t n)
{
	redisReply *r = reply_new(type);

	r->str = malloc(n + 1);
	FUZZ_CHECK(r->str);
	memcpy(r->str, s, n);
	r->str[n] = '\0';
	r->len = n;
	return r;
}

static void reply_free(redisReply *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->elements; i++)
		reply_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

static redisReply *reply_array(size_t n)
{
	redisReply *r = reply_new(REDIS_REPLY_ARRAY);

	r->elements = n;
	r->element = calloc(n ? n : 1, sizeof(*r->element));
	FUZZ_CHECK(r->element);
	return r;
}

/* A word the node is likely to look for, or raw input bytes. */
static redisReply *reply_word(fuzz_in_t *in)
{
	uint8_t w = fuzz_u8(in);
	char buf[GW_CONN_ID_MAX];
	size_t n;
	const uint8_t *p;

	switch (w % 8) {
	case 0:
		return reply_str(REDIS_REPLY_STRING, "ok", 2);
	case 1:
		gw_conn_id_format(origins[(w >> 3) % 3], (w >> 5) + 1u, buf);
		return reply_str(REDIS_REPLY_STRING, buf, strlen(buf));
	case 2:
		return reply_str(REDIS_REPLY_STRING, users[(w >> 3) & 3], strlen(users[(w >> 3) & 3]));
	case 3:
		return reply_str(REDIS_REPLY_STRING, lobbies[(w >> 3) % 3], strlen(lobbies[(w >> 3) % 3]));
	case 4:
		return reply_str(REDIS_REPLY_STRING, "", 0);
	case 5: {
		redisReply *r = reply_new(REDIS_REPLY_INTEGER);

		r->integer = (long long)(int16_t)fuzz_u16(in);
		return r;
	}
	case 6:
		return reply_new(w & 8 ? REDIS_REPLY_NIL : REDIS_REPLY_ARRAY);
	default:
		p = fuzz_bytes(in, 64, &n);
		return reply_str(w & 8 ? REDIS_REPLY_ERROR : REDIS_REPLY_STRING,
				 (const char *)p, n);
	}
}

static redisReply *reply_tree(fuzz_in_t *in, int depth)
{
	uint8_t t = fuzz_u8(in);
	redisReply *r;

	if (depth > 2 || t % 4)
		return reply_word(in);
	r = reply_array(t >> 4);
	for (size_t i = 0; i < r->elements; i++)
		r->element[i] = reply_tree(in, depth + 1);
	return r;
}

/* What a healthy Redis usually answers the waiting call with. */
static redisReply *reply_usual(const stub_call_t *c)
{
	int admit = c->script == S_ADMIT || c->script == S_ADMIT_LOBBY ||
		    c->script == S_ADMIT_USER;
	redisReply *r = reply_array(admit ? 1 : 0);

	if (admit)
		r->element[0] = reply_str(REDIS_REPLY_STRING, "ok", 2);
	return r;
}

static void answer(size_t link, fuzz_in_t *in)
{
	const stub_call_t *c = stub_redis_peek(link);
	redisReply *r = NULL;

	if (!c)
		return;
	switch (fuzz_u8(in) % 3) {
	case 0:
		break;
	case 1:
		r = reply_usual(c);
		break;
	default:
		r = reply_tree(in, 0);
	}
	stub_redis_answer(link, r);
	reply_free(r); /* freed after the callback returns */
}

/* --- pub/sub ------------------------------------------------------------------- */

static void channel_of(fuzz_in_t *in, char *ch, size_t cap)
{
	uint8_t c = fuzz_u8(in);

	switch (c % 4) {
	case 0:
		snprintf(ch, cap, "{gw}:ch:node:fz");
		break;
	case 1:
		snprintf(ch, cap, "{gw}:ch:cluster");
		break;
	case 2:
		snprintf(ch, cap, "{gw}:ch:lobby:%s", lobbies[(c >> 2) % 3]);
		break;
	default:
		snprintf(ch, cap, "{gw}:ch:probe:fz");
	}
}

static void deliver(size_t link, const char *ch, const void *msg, size_t len)
{
	char *c = dup_exact(ch, strlen(ch)), *m = dup_exact(msg, len);

	stub_redis_message(link, c, strlen(ch), m, len);
	free(c);
	free(m);
}

static const char *pick_str(fuzz_in_t *in, const char *const *words, size_t nwords,
			    size_t *len)
{
	uint8_t w = fuzz_u8(in);

	if (w & 0x80)
		return (const char *)fuzz_bytes(in, 80, len);
	if (w & 0x40) {
		*len = 0;
		return NULL;
	}
	*len = strlen(words[w % nwords]);
	return words[w % nwords];
}

static void envelope(size_t link, fuzz_in_t *in)
{
	static const char *const reasons[] = { "replaced", "kicked" };
	gw_envelope_t e;
	char ch[128], conn[GW_CONN_ID_MAX], *enc;
	const char *const conns[] = { conn };
	size_t len;
	uint8_t t = fuzz_u8(in);

	memset(&e, 0, sizeof(e));
	channel_of(in, ch, sizeof(ch));
	e.type = (gw_env_type_t)(t % 3);
	gw_conn_id_format(t & 8 ? "fz" : "other", (t >> 4) + 1u, conn);
	e.origin = pick_str(in, origins, GW_ARRAY_LEN(origins), &e.origin_len);
	e.lobby = pick_str(in, lobbies, GW_ARRAY_LEN(lobbies), &e.lobby_len);
	e.user = pick_str(in, users, GW_ARRAY_LEN(users), &e.user_len);
	e.conn = pick_str(in, conns, 1, &e.conn_len);
	e.reason = pick_str(in, reasons, 2, &e.reason_len);
	e.seq = fuzz_u16(in);
	e.payload = (const char *)fuzz_bytes(in, FRAME_MAX, &e.payload_len);
	if (gw_envelope_encode(&e, &enc, &len) != GW_OK)
		return;
	deliver(link, ch, enc, len);
	gw_free(enc);
}

/* --- the target ------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const unsigned char key[16] = "fuzz-cluster-key";

	(void)argc;
	(void)argv;
	base = event_base_new();
	FUZZ_CHECK(base);
	/* A fixed hash key, so that a crash reproduces. */
	FUZZ_CHECK(gw_map_seed(key) == GW_OK);
	stub_lws_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in_t in = { data, size };
	int ops = 0;

	node_start(fuzz_u8(&in));
	stub_lws_drain();
	while (in.left && ops++ < 256) {
		uint8_t op = fuzz_u8(&in) % 9;
		uint8_t kb = fuzz_u8(&in);
		int k = kb % NSESS;
		size_t link = stub_redis_links() > 1 ? kb % stub_redis_links() : 0;
		const uint8_t *p;
		size_t n;
		char *buf, ch[128];

		switch (op) {
		case 0:
		case 1:
			if (!sess[k]) {
				sess_open(k, &in);
				if (!sess[k])
					break;
			}
			if (op == 1) {
				uint8_t f = fuzz_u8(&in);

				stub_frame = (stub_frame_t){ f & 1, !!(f & 2), !!(f & 4) };
			} else {
				stub_frame = (stub_frame_t){ 1, 1, 0 };
			}
			p = fuzz_bytes(&in, FRAME_MAX, &n);
			buf = dup_exact(p, n);
			gw_session_on_receive(sess[k], buf, n);
			free(buf);
			break;
		case 2:
			channel_of(&in, ch, sizeof(ch));
			p = fuzz_bytes(&in, FRAME_MAX, &n);
			deliver(link, ch, p, n);
			break;
		case 3:
			envelope(link, &in);
			break;
		case 4:
			answer(link, &in);
			break;
		case 5:
			if (sess[k])
				sess_closed(k);
			else
				sess_open(k, &in);
			break;
		case 6:
			stub_lws_drain();
			if (sess[k] && gw_session_on_writeable(sess[k]) < 0)
				sess_closed(k); /* lws sends the close, then CLOSED */
			break;
		case 7:
			event_base_loop(base, EVLOOP_NONBLOCK);
			break;
		case 8:
			stub_redis_set_ready(link, !stub_redis_is_ready(link));
			break;
		}
	}
	node_stop();
	return 0;
}
