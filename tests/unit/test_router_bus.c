/*
 * test_router_bus.c — the router and presence behind the bus seam, with a
 * fake bus that records what the core asks of it.
 *
 * What is real: gw_router, gw_presence, gw_registry, gw_health (its wheel
 * only; no tick runs), gw_protocol and a libevent base for the deferred
 * detach. What is fake: the bus (ops recording every call into `log`),
 * admission (answers OK at once and logs releases into the same `log`, so
 * the order of leave and release is visible) and the session layer: this
 * file defines the gw_session_* functions the core calls, so the linker
 * never pulls gateway/core/gw_session.o (and libwebsockets) in. A fake session
 * records the frames queued to it, and closing goes up through node->up
 * exactly as the real one does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_admission.h"
#include "gw_alloc.h"
#include "gw_bus.h"
#include "gw_health.h"
#include "gw_log.h"
#include "gw_presence.h"
#include "gw_protocol.h"
#include "gw_router.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the fake session layer ------------------------------------------------- */

#define FRAMES 16

typedef struct {
	gw_session_t s;           /* first: a gw_session_t * is a conn_t * */
	char frames[FRAMES][512];
	int n;
} conn_t;

static int last_close;

uint16_t gw_close_code(gw_close_t c)
{
	return (uint16_t)(4000 + c);
}

const char *gw_close_reason(gw_close_t c)
{
	return c == GW_CLOSE_NORMAL ? "closed" : "other";
}

const char *gw_close_name(gw_close_t c)
{
	return gw_close_reason(c);
}

char *gw_session_id_str(const gw_session_t *s, char *buf)
{
	snprintf(buf, GW_CONN_ID_MAX, "%s.%llx", s->node->cfg->node_id,
		 (unsigned long long)s->m.id);
	return buf;
}

/* The last frame too big for frames[] (a presence list of thousands). */
static char *big_frame;

int gw_session_send(gw_session_t *s, gw_buf_t *b)
{
	conn_t *c = (conn_t *)s;

	if (s->state == GW_SS_CLOSING)
		return GW_EAGAIN;
	assert_true(c->n < FRAMES);
	if (b->len >= sizeof(c->frames[0])) {
		free(big_frame);
		big_frame = strndup((const char *)gw_buf_data(b), b->len);
		assert_non_null(big_frame);
		strcpy(c->frames[c->n++], "(big)");
		return GW_OK;
	}
	memcpy(c->frames[c->n], gw_buf_data(b), b->len);
	c->frames[c->n++][b->len] = '\0';
	return GW_OK;
}

int gw_session_flush_init(gw_node_t *node)
{
	(void)node;
	return GW_OK;
}

void gw_session_flush_free(gw_node_t *node)
{
	(void)node;
}

int gw_session_send_owned(gw_session_t *s, gw_buf_t *b)
{
	int rc;

	if (!b)
		return GW_ENOMEM;
	rc = gw_session_send(s, b);
	gw_buf_unref(b);
	return rc;
}

void gw_session_error(gw_session_t *s, const char *code, const char *msg, int abuse)
{
	GW_UNUSED(abuse);
	gw_session_send_owned(s, gw_proto_error(code, msg));
}

void gw_session_close(gw_session_t *s, gw_close_t why)
{
	if (s->state == GW_SS_CLOSING)
		return;
	s->state = GW_SS_CLOSING;
	s->close = (uint8_t)why;
	last_close = why;
	s->node->up->closing(s, why);
}

/* History is off in these tests (--history-size 0): never held. */
int gw_session_hold(gw_session_t *s)
{
	GW_UNUSED(s);
	fail_msg("gw_session_hold with history off");
	return GW_EINVAL;
}

void gw_session_release(gw_session_t *s, gw_buf_t *const *first, size_t n,
			uint64_t upto, uint64_t until_ms)
{
	GW_UNUSED(s);
	GW_UNUSED(first);
	GW_UNUSED(n);
	GW_UNUSED(upto);
	GW_UNUSED(until_ms);
	fail_msg("gw_session_release with history off");
}

/* --- the event log shared by the fake bus and the fake admission ------------- */

static char log_[32][600];
static int nlog;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	assert_true(nlog < 32);
	va_start(ap, fmt);
	vsnprintf(log_[nlog++], sizeof(log_[0]), fmt, ap);
	va_end(ap);
}

static const char *buf_str(const gw_buf_t *b)
{
	static char tmp[512];

	if (!b)
		return "-";
	snprintf(tmp, sizeof(tmp), "%.*s", (int)b->len, (const char *)gw_buf_data((gw_buf_t *)b));
	return tmp;
}

/* Index of the first log line starting with `prefix`, or -1. */
static int log_find(const char *prefix)
{
	int i;

	for (i = 0; i < nlog; i++)
		if (strncmp(log_[i], prefix, strlen(prefix)) == 0)
			return i;
	return -1;
}

static int log_count(const char *prefix)
{
	int i, n = 0;

	for (i = 0; i < nlog; i++)
		n += strncmp(log_[i], prefix, strlen(prefix)) == 0;
	return n;
}

/* --- the fake bus ------------------------------------------------------------ */

static int presence_rc;          /* what presence_query answers */
static gw_bus_sent_fn sent_done; /* the last send_user's callback */
static void *sent_ud;

static void fb_joined(void *impl, gw_session_t *s, gw_buf_t *event)
{
	GW_UNUSED(impl);
	logf_("joined %llu %s", (unsigned long long)s->m.id, buf_str(event));
}

static void fb_left(void *impl, gw_session_t *s, gw_buf_t *event)
{
	GW_UNUSED(impl);
	assert_non_null(s->m.lobby); /* still linked */
	logf_("left %llu %s", (unsigned long long)s->m.id, buf_str(event));
}

static int fb_publish(void *impl, const char *lobby, gw_buf_t *frame)
{
	GW_UNUSED(impl);
	logf_("publish %s %s", lobby ? lobby : "*", buf_str(frame));
	return GW_OK;
}

static int fb_send_user(void *impl, const char *user, size_t len, const char *conn,
			gw_buf_t *frame, const char *kick, gw_bus_sent_fn done, void *ud)
{
	GW_UNUSED(impl);
	logf_("send_user %.*s %s %s %s", (int)len, user, conn ? conn : "-",
	      kick ? kick : "-", buf_str(frame));
	sent_done = done;
	sent_ud = ud;
	return GW_OK;
}

static int fb_presence_query(void *impl, gw_session_t *s)
{
	GW_UNUSED(impl);
	logf_("presence_query %llu", (unsigned long long)s->m.id);
	return presence_rc;
}

static int fb_inbound(void *impl, gw_session_t *s, const char *type, const char *raw,
		      size_t len)
{
	GW_UNUSED(impl);
	GW_UNUSED(s);
	logf_("inbound %s %.*s", type, (int)len, raw);
	return GW_ENOENT;
}

static void fb_status(void *impl, gw_bus_status_t *out)
{
	GW_UNUSED(impl);
	GW_UNUSED(out);
}

static gw_buf_t *fb_snapshot(void *impl)
{
	GW_UNUSED(impl);
	return NULL;
}

static int fb_lookup(void *impl, int lobby, const char *name, gw_bus_lookup_fn done,
		     void *ud)
{
	GW_UNUSED(impl);
	GW_UNUSED(lobby);
	GW_UNUSED(name);
	GW_UNUSED(done);
	GW_UNUSED(ud);
	return GW_ENOENT;
}

static void fb_shutdown(void *impl)
{
	GW_UNUSED(impl);
}

static const gw_bus_ops_t fake_bus_ops = {
	.kind = "fake",
	.lobby_joined = fb_joined,
	.lobby_left = fb_left,
	.publish = fb_publish,
	.send_user = fb_send_user,
	.presence_query = fb_presence_query,
	.inbound = fb_inbound,
	.status = fb_status,
	.snapshot = fb_snapshot,
	.lookup = fb_lookup,
	.shutdown = fb_shutdown,
	.free = NULL,
};

/* --- the fake admission -------------------------------------------------------- */

static int fa_admit(void *impl, const gw_admit_req_t *req, gw_admit_done_fn done)
{
	done(impl, req->conn_id, GW_ADMIT_OK, 0);
	return GW_OK;
}

static void fa_release(void *impl, const gw_admit_req_t *req)
{
	GW_UNUSED(impl);
	logf_("release %llu", (unsigned long long)req->conn_id);
}

static const gw_admission_ops_t fake_admission_ops = {
	.name = "fake",
	.admit = fa_admit,
	.release = fa_release,
	.free = NULL,
};

/* --- fixture ------------------------------------------------------------------ */

typedef struct {
	gw_node_t node;
	gw_config_t cfg;
	gw_bus_sink_t sink;
	conn_t *alice, *bob, *carol;
} fx_t;

static conn_t *connect_(fx_t *f, uint64_t id, const char *user, const char *lobby)
{
	conn_t *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->s.node = &f->node;
	c->s.m.id = id;
	c->s.want_user = gw_strdup(user);
	c->s.want_lobby = gw_strdup(lobby);
	gw_ratelimit_init(&c->s.rl, &f->cfg, gw_now_ms());
	assert_int_equal(gw_registry_add(f->node.reg, &c->s.m), GW_OK);
	gw_router_admit(&c->s);
	assert_int_equal(c->s.state, GW_SS_OPEN);
	return c;
}

static void settle(fx_t *f)
{
	event_base_loop(f->node.base, EVLOOP_NONBLOCK);
}

static void forget(fx_t *f, conn_t *c)
{
	GW_UNUSED(f);
	c->s.state = GW_SS_CLOSING;
	gw_router_forget(&c->s);
	gw_free(c->s.want_user);
	gw_free(c->s.want_lobby);
	free(c);
}

static void reset(conn_t *c)
{
	c->n = 0;
}

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->cfg.node_id = "n1";
	f->cfg.presence_events = 1;
	f->cfg.heartbeat_interval = 30;
	f->cfg.max_message_size = 4096;
	f->cfg.rate_limit = 1000;
	f->cfg.rate_burst = 1000;
	f->cfg.rate_bytes = 1 << 20;
	f->cfg.rate_bytes_burst = 1 << 20;
	f->cfg.rate_violations = 10;
	f->cfg.abuse_limit = 10;
	f->cfg.user_policy = GW_POLICY_MULTI;
	f->node.cfg = &f->cfg;
	f->node.base = event_base_new();
	f->node.reg = gw_registry_create();
	assert_non_null(f->node.base);
	assert_non_null(f->node.reg);
	assert_int_equal(gw_router_init(&f->node), GW_OK);
	f->node.health = gw_health_create(&f->node);
	f->node.bus = gw_bus_create(&fake_bus_ops, NULL);
	f->node.admission = gw_admission_create(&fake_admission_ops, &f->node);
	assert_non_null(f->node.health);
	assert_non_null(f->node.bus);
	assert_non_null(f->node.admission);
	gw_router_sink(&f->node, &f->sink);
	presence_rc = GW_ENOENT;
	sent_done = NULL;
	nlog = 0;
	*state = f;
	return 0;
}

/* alice and bob in chess, carol in go; logs and frames cleared. */
static int setup3(void **state)
{
	fx_t *f;

	setup(state);
	f = *state;
	f->alice = connect_(f, 1, "alice", "chess");
	f->bob = connect_(f, 2, "bob", "chess");
	f->carol = connect_(f, 3, "carol", "go");
	reset(f->alice);
	reset(f->bob);
	reset(f->carol);
	nlog = 0;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;

	if (f->alice)
		forget(f, f->alice);
	if (f->bob)
		forget(f, f->bob);
	if (f->carol)
		forget(f, f->carol);
	gw_router_shutdown(&f->node);
	gw_health_free(f->node.health);
	gw_admission_free(f->node.admission);
	gw_bus_free(f->node.bus);
	gw_registry_free(f->node.reg);
	event_base_free(f->node.base);
	free(f);
	return 0;
}

static void say(conn_t *c, const char *json)
{
	gw_router_on_message(&c->s, json, strlen(json));
}

/* --- tests ------------------------------------------------------------------- */

/* A join tells the bus once, with the very frame local members got. */
static void test_join_tells_bus_with_local_event(void **state)
{
	fx_t *f = *state;
	char want[600];

	f->alice = connect_(f, 1, "alice", "chess");
	reset(f->alice);
	nlog = 0;
	f->bob = connect_(f, 2, "bob", "chess");
	/* alice saw bob join; bob got his welcome only. */
	assert_int_equal(f->alice->n, 1);
	assert_non_null(strstr(f->alice->frames[0], "\"presence_join\""));
	assert_non_null(strstr(f->bob->frames[0], "\"welcome\""));
	assert_int_equal(f->bob->n, 1);
	assert_int_equal(log_count("joined "), 1);
	snprintf(want, sizeof(want), "joined 2 %s", f->alice->frames[0]);
	assert_string_equal(log_[log_find("joined ")], want);
}

/* --presence-events=false: nobody here is told, and the bus gets NULL. */
static void test_presence_events_off(void **state)
{
	fx_t *f = *state;

	f->cfg.presence_events = 0;
	f->alice = connect_(f, 1, "alice", "chess");
	reset(f->alice);
	nlog = 0;
	f->bob = connect_(f, 2, "bob", "chess");
	assert_int_equal(f->alice->n, 0);
	assert_string_equal(log_[0], "joined 2 -");
	/* The sweep's node_lost obeys the flag too. */
	assert_null(f->sink.member_lost(f->sink.ud, "chess", "dave", "n2.1"));
	assert_int_equal(f->alice->n, 0);
}

/* A broadcast: delivered to the lobby here, published to the bus once. */
static void test_broadcast_local_and_published_once(void **state)
{
	fx_t *f = *state;
	char want[600];

	say(f->alice, "{\"type\":\"broadcast\",\"data\":{\"m\":1}}");
	assert_int_equal(f->bob->n, 1);
	assert_non_null(strstr(f->bob->frames[0], "\"message\""));
	assert_int_equal(f->alice->n, 0); /* no echo */
	assert_int_equal(f->carol->n, 0); /* another lobby */
	assert_int_equal(log_count("publish "), 1);
	snprintf(want, sizeof(want), "publish chess %s", f->bob->frames[0]);
	assert_string_equal(log_[log_find("publish ")], want);
	assert_int_equal(f->node.stats.broadcasts, 1);
	/* With echo the sender gets it too; still one publication. */
	nlog = 0;
	say(f->alice, "{\"type\":\"broadcast\",\"data\":2,\"echo\":true}");
	assert_int_equal(f->alice->n, 1);
	assert_int_equal(f->bob->n, 2);
	assert_int_equal(log_count("publish "), 1);
}

/* A direct message to a user not here: the bus looks them up; its answer
 * decides user_offline. */
static void test_direct_to_absent_user(void **state)
{
	fx_t *f = *state;

	say(f->alice, "{\"type\":\"direct\",\"to\":\"dave\",\"data\":\"hi\"}");
	assert_int_equal(log_count("send_user dave - - {\"type\":\"direct\""), 1);
	assert_non_null(sent_done);
	assert_int_equal(f->alice->n, 0); /* not before the bus answers */
	sent_done(sent_ud, GW_OK, 0);
	assert_int_equal(f->alice->n, 1);
	assert_non_null(strstr(f->alice->frames[0], "\"user_offline\""));

	/* Found on another node: no error. */
	reset(f->alice);
	say(f->alice, "{\"type\":\"direct\",\"to\":\"dave\",\"data\":\"hi\"}");
	sent_done(sent_ud, GW_OK, 2);
	assert_int_equal(f->alice->n, 0);

	/* The cluster could not be asked. */
	say(f->alice, "{\"type\":\"direct\",\"to\":\"dave\",\"data\":\"hi\"}");
	sent_done(sent_ud, GW_EUNAVAIL, 0);
	assert_int_equal(f->alice->n, 1);
	assert_non_null(strstr(f->alice->frames[0], "\"unavailable\""));

	/* The sender left before the answer: nobody to tell, nothing leaks. */
	reset(f->alice);
	say(f->alice, "{\"type\":\"direct\",\"to\":\"dave\",\"data\":\"hi\"}");
	forget(f, f->alice);
	f->alice = NULL;
	sent_done(sent_ud, GW_OK, 0);
}

/* A direct message to a user here is delivered here; the bus still hears
 * of it (they may have other connections elsewhere), and no error comes. */
static void test_direct_to_local_user(void **state)
{
	fx_t *f = *state;

	say(f->alice, "{\"type\":\"direct\",\"to\":\"carol\",\"data\":\"hi\"}");
	assert_int_equal(f->carol->n, 1);
	assert_non_null(strstr(f->carol->frames[0], "\"direct\""));
	assert_int_equal(log_count("send_user carol "), 1);
	sent_done(sent_ud, GW_OK, 0);
	assert_int_equal(f->alice->n, 0);
	assert_int_equal(f->node.stats.directs, 1);
}

/* The bus declines a presence query: the core answers from here. */
static void test_presence_query_falls_back_locally(void **state)
{
	fx_t *f = *state;

	presence_rc = GW_EUNAVAIL;
	say(f->alice, "{\"type\":\"presence\"}");
	assert_int_equal(log_count("presence_query 1"), 1);
	assert_int_equal(f->alice->n, 1);
	assert_string_equal(f->alice->frames[0],
			    "{\"type\":\"presence\",\"lobby\":\"chess\","
			    "\"users\":[\"alice\",\"bob\"],\"count\":2}");
}

/* The bus takes a presence query: the answer comes later through the sink
 * (one user per connection listed once), or the local one if it fails. */
static void test_presence_query_answered_by_bus(void **state)
{
	fx_t *f = *state;
	gw_bus_str_t users[] = { { "alice", 5 }, { "dave", 4 }, { "alice", 5 } };

	presence_rc = GW_OK;
	say(f->alice, "{\"type\":\"presence\"}");
	assert_int_equal(f->alice->n, 0);
	f->sink.presence_reply(f->sink.ud, 1, "chess", users, 3);
	assert_int_equal(f->alice->n, 1);
	assert_string_equal(f->alice->frames[0],
			    "{\"type\":\"presence\",\"lobby\":\"chess\","
			    "\"users\":[\"alice\",\"dave\"],\"count\":2}");
	f->sink.presence_reply(f->sink.ud, 1, "chess", NULL, 0);
	assert_int_equal(f->alice->n, 2);
	assert_non_null(strstr(f->alice->frames[1], "[\"alice\",\"bob\"]"));
	/* An answer for a connection that is gone goes nowhere. */
	f->sink.presence_reply(f->sink.ud, 99, "chess", users, 3);
}

/* Detach: the leave goes to the bus (still linked, with the frame members
 * got) before the admission slot is released, and only at a safe point. */
static void test_detach_order(void **state)
{
	fx_t *f = *state;
	int left, released;
	char want[600];

	gw_session_close(&f->bob->s, GW_CLOSE_NORMAL);
	assert_int_equal(nlog, 0); /* deferred: never inside a walk */
	settle(f);
	left = log_find("left 2 ");
	released = log_find("release 2");
	assert_true(left >= 0);
	assert_true(released > left);
	assert_int_equal(f->alice->n, 1);
	assert_non_null(strstr(f->alice->frames[0], "\"presence_leave\""));
	snprintf(want, sizeof(want), "left 2 %s", f->alice->frames[0]);
	assert_string_equal(log_[left], want);
	assert_null(f->bob->s.m.lobby);
	assert_int_equal(gw_registry_lobby(f->node.reg, "chess", 5)->count, 1);
}

/* Many connections of many users: every user once, in first-seen order (a
 * set, not a rescan: 60,000 entries would take seconds in O(n^2)). */
static void test_presence_reply_large(void **state)
{
	enum { USERS = 20000, CONNS = 3 };
	fx_t *f = *state;
	gw_bus_str_t *users = calloc(USERS * CONNS, sizeof(*users));
	char (*names)[16] = calloc(USERS, sizeof(*names));
	const char *last;
	size_t i;

	assert_non_null(users);
	assert_non_null(names);
	for (i = 0; i < USERS; i++)
		snprintf(names[i], sizeof(names[i]), "u%zu", i);
	for (i = 0; i < USERS * CONNS; i++)
		users[i] = (gw_bus_str_t){ names[i % USERS], strlen(names[i % USERS]) };
	presence_rc = GW_OK;
	say(f->alice, "{\"type\":\"presence\"}");
	f->sink.presence_reply(f->sink.ud, 1, "chess", users, USERS * CONNS);
	assert_int_equal(f->alice->n, 1);
	assert_string_equal(f->alice->frames[0], "(big)");
	assert_non_null(strstr(big_frame, "\"count\":20000}"));
	last = strstr(big_frame, "\"u19999\"");
	assert_non_null(last);
	assert_null(strstr(last + 1, "\"u19999\""));
	free(big_frame);
	big_frame = NULL;
	free(users);
	free(names);
}

/* What other nodes publish reaches the local members through the sink. */
static void test_sink_delivers(void **state)
{
	fx_t *f = *state;
	gw_buf_t *b = gw_proto_message("chess", "dave", "1", 1);

	assert_int_equal(f->sink.deliver_lobby(f->sink.ud, "chess", 5, b, 0), 2);
	assert_int_equal(f->alice->n, 1);
	assert_int_equal(f->bob->n, 1);
	assert_int_equal(f->carol->n, 0);
	assert_int_equal(f->sink.deliver_lobby(f->sink.ud, "chess", 5, b, 2), 1);
	assert_int_equal(f->sink.deliver_lobby(f->sink.ud, "poker", 5, b, 0), 0);
	assert_int_equal(f->sink.deliver_all(f->sink.ud, b), 3);
	assert_int_equal(f->carol->n, 1);
	assert_int_equal(f->sink.deliver_user(f->sink.ud, "carol", 5, b), 1);
	assert_int_equal(f->carol->n, 2);
	assert_int_equal(f->sink.deliver_user(f->sink.ud, "dave", 4, b), 0);
	/* Nothing delivered through the sink is published again. */
	assert_int_equal(log_count("publish "), 0);
	gw_buf_unref(b);
}

/* Gap frames are built by the core, once, for the lobby's members. */
static void test_gap(void **state)
{
	fx_t *f = *state;

	f->sink.gap(f->sink.ud, "chess", 5, 3);
	assert_int_equal(f->alice->n, 1);
	assert_int_equal(f->bob->n, 1);
	assert_int_equal(f->carol->n, 0);
	assert_string_equal(f->alice->frames[0],
			    "{\"type\":\"gap\",\"lobby\":\"chess\",\"missed\":3}");
	assert_int_equal(f->node.stats.gaps, 1);
	f->sink.gap(f->sink.ud, "poker", 5, 0); /* nobody here: counted only */
	assert_int_equal(f->node.stats.gaps, 2);
}

/* A kick from another node closes the matching connections here. */
static void test_sink_kick(void **state)
{
	fx_t *f = *state;

	assert_int_equal(f->sink.kick(f->sink.ud, "bob", 3, 7, "kicked"), 0);
	assert_int_equal(f->bob->s.state, GW_SS_OPEN);
	assert_int_equal(f->sink.kick(f->sink.ud, "bob", 3, 2, "replaced"), 1);
	assert_int_equal(f->bob->s.state, GW_SS_CLOSING);
	assert_int_equal(last_close, GW_CLOSE_REPLACED);
	assert_int_equal(f->sink.kick(f->sink.ud, "carol", 5, 0, "kicked"), 1);
	assert_int_equal(last_close, GW_CLOSE_KICKED);
	settle(f);
}

/* A dead node's connection: presence_leave built here, delivered here,
 * handed back for publication. */
static void test_member_lost(void **state)
{
	fx_t *f = *state;
	gw_buf_t *b = f->sink.member_lost(f->sink.ud, "chess", "dave", "n2.1f");

	assert_non_null(b);
	assert_int_equal(f->alice->n, 1);
	assert_int_equal(f->bob->n, 1);
	assert_string_equal(f->alice->frames[0], buf_str(b));
	assert_non_null(strstr(f->alice->frames[0], "\"node_lost\""));
	gw_buf_unref(b);
}

/* Unknown types: the bus has no backends (GW_ENOENT), so unknown_type. */
static void test_inbound_declined(void **state)
{
	fx_t *f = *state;

	say(f->alice, "{\"type\":\"move\",\"x\":1}");
	assert_int_equal(log_count("inbound move "), 1);
	assert_int_equal(f->alice->n, 1);
	assert_non_null(strstr(f->alice->frames[0], "\"unknown_type\""));
}

/* The restore walk sees admitted connections only. */
static int count_conn(void *ud, uint64_t id, const char *user, const char *lobby,
		      uint64_t since_ms)
{
	GW_UNUSED(id);
	GW_UNUSED(user);
	GW_UNUSED(lobby);
	GW_UNUSED(since_ms);
	++*(int *)ud;
	return 0;
}

static void test_each_conn(void **state)
{
	fx_t *f = *state;
	int n = 0;

	gw_session_close(&f->carol->s, GW_CLOSE_NORMAL);
	assert_int_equal(f->sink.each_conn(f->sink.ud, count_conn, &n), 0);
	assert_int_equal(n, 2);
	settle(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_join_tells_bus_with_local_event,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_events_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broadcast_local_and_published_once,
						setup3, teardown),
		cmocka_unit_test_setup_teardown(test_direct_to_absent_user, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_direct_to_local_user, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_presence_query_falls_back_locally,
						setup3, teardown),
		cmocka_unit_test_setup_teardown(test_presence_query_answered_by_bus,
						setup3, teardown),
		cmocka_unit_test_setup_teardown(test_presence_reply_large, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_detach_order, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_sink_delivers, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_gap, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_sink_kick, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_member_lost, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_inbound_declined, setup3, teardown),
		cmocka_unit_test_setup_teardown(test_each_conn, setup3, teardown),
	};

	gw_log_level = GW_LOG_OFF;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
