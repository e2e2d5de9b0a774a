/*
 * gw_redis.c — the Redis link state machine (see gw_redis.h).
 */
#include "gw_redis.h"
#include "gw_redis_url.h"
#include "gw_sentinel.h"
#include "gw_alloc.h"
#include "gw_log.h"
#include "gw_map.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEADLINE_MS 3000      /* a PING, a probe or a connect step */
#define TICK_MS 250
#define PROBE_EVERY_MS 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

static const char *state_names[] = {
	"down", "connecting", "authenticating", "loading_scripts",
	"subscribing", "ready", "backoff", "resolving",
};

struct gw_redis {
	struct event_base *base;
	gw_redis_url_t url;   /* host/port or unix path, credentials, db */
	gw_sentinel_t *sentinel;  /* sentinel:// only */
	char master[256];     /* the address connected to: host (or socket path) */
	int master_port;
	uint64_t switched_ms; /* wall ms of the last change of master; 0 = none */
	uint64_t switches;
	const char *const *scripts;
	size_t nscripts;
	char (*shas)[41];
	char *probe_channel;
	gw_redis_events_t ev;
	void *ud;

	gw_redis_state_t state;
	uint64_t state_since;
	redisAsyncContext *cmd, *sub;
	int connected;  /* contexts connected in CONNECTING */
	int steps_left; /* replies awaited in the current state */
	struct event *tick, *retry;
	uint32_t backoff_ms;
	uint64_t ping_sent, probe_sent, last_probe, probe_seq, reconnects;
	uint64_t bad_replies;
	uint32_t latency_ms;
	int ping_out;
	gw_map_t *subs; /* channel → owned NUL-terminated name */
};

static void link_fail(gw_redis_t *r, const char *why);

const char *gw_redis_state_name(gw_redis_state_t st)
{
	return (unsigned)st < GW_ARRAY_LEN(state_names) ? state_names[st] : "?";
}

gw_redis_state_t gw_redis_state(const gw_redis_t *r)
{
	return r->state;
}

int gw_redis_ready(const gw_redis_t *r)
{
	return r && r->state == GW_REDIS_READY;
}

uint64_t gw_redis_last_probe(const gw_redis_t *r)
{
	return r->last_probe;
}

uint32_t gw_redis_latency_ms(const gw_redis_t *r)
{
	return r->latency_ms;
}

const char *gw_redis_master(const gw_redis_t *r, int *port)
{
	if (port)
		*port = r->master_port;
	return r->master;
}

uint64_t gw_redis_last_switch_ms(const gw_redis_t *r)
{
	return r->switched_ms;
}

uint64_t gw_redis_switches(const gw_redis_t *r)
{
	return r->switches;
}

uint64_t gw_redis_reconnects(const gw_redis_t *r)
{
	return r->reconnects;
}

uint64_t gw_redis_bad_replies(const gw_redis_t *r)
{
	return r->bad_replies;
}

static void set_state(gw_redis_t *r, gw_redis_state_t st)
{
	GW_LOG(st == GW_REDIS_BACKOFF ? GW_LOG_WARN : GW_LOG_DEBUG, "redis_state",
	       GW_S("from", state_names[r->state]), GW_S("to", state_names[st]));
	r->state = st;
	r->state_since = gw_now_ms();
}

/* --- URL ------------------------------------------------------------------ */

static int parse_url(gw_redis_t *r, const char *url, char *err, size_t errlen)
{
	char why[160];
	int rc = gw_redis_url_parse(url, &r->url, why, sizeof(why));

	if (rc != GW_OK)
		snprintf(err, errlen, "--redis: %s", why);
	return rc;
}

/* --- connect sequence ------------------------------------------------------ */

static int ours(const gw_redis_t *r, const redisAsyncContext *c)
{
	return c && (c == r->cmd || c == r->sub);
}

static int reply_ok(const redisReply *reply)
{
	return reply && reply->type != REDIS_REPLY_ERROR;
}

static void subscribe_all(gw_redis_t *r);

static void step_done(gw_redis_t *r);

static void on_step(redisAsyncContext *c, void *reply, void *priv)
{
	gw_redis_t *r = priv;

	if (!ours(r, c))
		return;
	if (!reply_ok(reply)) {
		link_fail(r, reply ? ((redisReply *)reply)->str : "no reply");
		return;
	}
	step_done(r);
}

static void on_script_loaded(redisAsyncContext *c, void *reply, void *priv)
{
	gw_redis_t *r = priv;
	redisReply *rep = reply;
	size_t i = (size_t)r->nscripts - (size_t)r->steps_left;

	if (!ours(r, c))
		return;
	if (!reply_ok(rep) || rep->type != REDIS_REPLY_STRING || rep->len != 40) {
		link_fail(r, rep && rep->str ? rep->str : "SCRIPT LOAD failed");
		return;
	}
	memcpy(r->shas[i], rep->str, 40);
	r->shas[i][40] = '\0';
	step_done(r);
}

static void send_auth(gw_redis_t *r, redisAsyncContext *c)
{
	if (r->url.pass[0]) {
		if (r->url.user[0])
			redisAsyncCommand(c, on_step, r, "AUTH %s %s", r->url.user, r->url.pass);
		else
			redisAsyncCommand(c, on_step, r, "AUTH %s", r->url.pass);
		r->steps_left++;
	}
	if (r->url.db) {
		redisAsyncCommand(c, on_step, r, "SELECT %d", r->url.db);
		r->steps_left++;
	}
}

/*
 * A sentinel's answer can be stale (a demoted master that came back as a
 * replica, a failover in progress): only a server that says it is the
 * master is used.
 */
static void on_role(redisAsyncContext *c, void *reply, void *priv)
{
	gw_redis_t *r = priv;
	redisReply *rep = reply;

	if (!ours(r, c))
		return;
	if (!reply_ok(rep) || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(rep->element[0]->str, "master")) {
		link_fail(r, "not a master (ROLE)");
		return;
	}
	step_done(r);
}

static void enter(gw_redis_t *r, gw_redis_state_t st)
{
	size_t i;

	set_state(r, st);
	r->steps_left = 0;
	switch (st) {
	case GW_REDIS_AUTHENTICATING:
		send_auth(r, r->cmd);
		send_auth(r, r->sub);
		if (r->sentinel) {
			redisAsyncCommand(r->cmd, on_role, r, "ROLE");
			r->steps_left++;
		}
		break;
	case GW_REDIS_LOADING_SCRIPTS:
		for (i = 0; i < r->nscripts; i++) {
			redisAsyncCommand(r->cmd, on_script_loaded, r,
					  "SCRIPT LOAD %s", r->scripts[i]);
			r->steps_left++;
		}
		break;
	case GW_REDIS_SUBSCRIBING:
		subscribe_all(r);
		r->steps_left = (int)gw_map_count(r->subs);
		if (r->ev.on_subscribing)
			r->ev.on_subscribing(r->ud); /* gw_redis_subscribe_once */
		break;
	case GW_REDIS_READY:
		r->backoff_ms = 0;
		r->ping_out = 0;
		r->last_probe = r->probe_sent = gw_now_ms();
		GW_LOG(GW_LOG_INFO, "redis_ready", GW_S("addr", r->master),
		       GW_I("port", r->master_port),
		       GW_I("subscriptions", gw_map_count(r->subs)));
		if (r->ev.on_ready)
			r->ev.on_ready(r->ud);
		return;
	default:
		return;
	}
	if (r->steps_left == 0)
		step_done(r);
}

static void step_done(gw_redis_t *r)
{
	if (r->steps_left > 0 && --r->steps_left > 0)
		return;
	switch (r->state) {
	case GW_REDIS_AUTHENTICATING:
		enter(r, GW_REDIS_LOADING_SCRIPTS);
		break;
	case GW_REDIS_LOADING_SCRIPTS:
		enter(r, GW_REDIS_SUBSCRIBING);
		break;
	case GW_REDIS_SUBSCRIBING:
		enter(r, GW_REDIS_READY);
		break;
	default:
		break;
	}
}

static void on_connect(const redisAsyncContext *c, int status)
{
	gw_redis_t *r = c->data;

	if (!ours(r, c))
		return;
	if (status != REDIS_OK) {
		/* hiredis frees a context that failed to connect. */
		if (c == r->cmd)
			r->cmd = NULL;
		else
			r->sub = NULL;
		link_fail(r, c->errstr[0] ? c->errstr : "connect failed");
		return;
	}
	if (++r->connected == 2 && r->state == GW_REDIS_CONNECTING)
		enter(r, GW_REDIS_AUTHENTICATING);
}

static void on_disconnect(const redisAsyncContext *c, int status)
{
	gw_redis_t *r = c->data;

	GW_UNUSED(status);
	if (!ours(r, c))
		return; /* a context we already let go of */
	if (c == r->cmd)
		r->cmd = NULL;
	else
		r->sub = NULL;
	link_fail(r, c->errstr[0] ? c->errstr : "disconnected");
}

static redisAsyncContext *open_ctx(gw_redis_t *r)
{
	redisAsyncContext *c = r->url.path[0] ? redisAsyncConnectUnix(r->url.path)
					     : redisAsyncConnect(r->master, r->master_port);

	if (!c)
		return NULL;
	if (c->err) {
		GW_LOG(GW_LOG_WARN, "redis_connect_failed", GW_S("error", c->errstr));
		redisAsyncFree(c);
		return NULL;
	}
	c->data = r;
	redisLibeventAttach(c, r->base);
	redisAsyncSetConnectCallback(c, on_connect);
	redisAsyncSetDisconnectCallback(c, on_disconnect);
	return c;
}

static void open_link(gw_redis_t *r)
{
	set_state(r, GW_REDIS_CONNECTING);
	r->connected = 0;
	r->cmd = open_ctx(r);
	r->sub = open_ctx(r);
	if (!r->cmd || !r->sub)
		link_fail(r, "cannot create connection");
}

/* The master's address: the URL's, or the sentinels' answer. */
static void set_master(gw_redis_t *r, const char *host, int port)
{
	if (!strcmp(r->master, host) && r->master_port == port)
		return;
	if (r->master[0]) {
		r->switched_ms = gw_wall_ms();
		r->switches++;
	}
	GW_LOG(r->master[0] ? GW_LOG_WARN : GW_LOG_INFO, "redis_master",
	       GW_S("from", r->master[0] ? r->master : "-"), GW_S("to", host),
	       GW_I("port", port));
	snprintf(r->master, sizeof(r->master), "%s", host);
	r->master_port = port;
}

static void on_resolved(void *ud, const char *host, int port)
{
	gw_redis_t *r = ud;

	if (r->state != GW_REDIS_RESOLVING)
		return;
	if (!host) {
		link_fail(r, "no sentinel knows the master");
		return;
	}
	set_master(r, host, port);
	open_link(r);
}

static void start_connect(gw_redis_t *r)
{
	if (!r->sentinel) {
		open_link(r);
		return;
	}
	set_state(r, GW_REDIS_RESOLVING);
	gw_sentinel_resolve(r->sentinel, on_resolved, r);
}

/*
 * A sentinel announced a failover: leave the old master now rather than at
 * the next deadline; the resolve that follows finds the new one.
 */
static void on_switch(void *ud, const char *host, int port)
{
	gw_redis_t *r = ud;

	if (!strcmp(r->master, host) && r->master_port == port &&
	    r->state != GW_REDIS_BACKOFF)
		return;
	if (r->state == GW_REDIS_BACKOFF) {
		event_del(r->retry);
		start_connect(r);
		return;
	}
	link_fail(r, "+switch-master");
}

static void teardown(gw_redis_t *r)
{
	redisAsyncContext *c = r->cmd, *s = r->sub;

	/* Forget them first: their callbacks then see foreign contexts. */
	r->cmd = r->sub = NULL;
	if (c)
		redisAsyncFree(c);
	if (s)
		redisAsyncFree(s);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	GW_UNUSED(fd);
	GW_UNUSED(what);
	start_connect(arg);
}

/* The one failure path: drop both connections, back off, reconnect. */
static void link_fail(gw_redis_t *r, const char *why)
{
	int was_ready = r->state == GW_REDIS_READY;
	struct timeval tv;
	uint32_t wait;

	if (r->state == GW_REDIS_BACKOFF || r->state == GW_REDIS_DOWN)
		return;
	GW_LOG(GW_LOG_WARN, "redis_down", GW_S("state", state_names[r->state]),
	       GW_S("why", why));
	set_state(r, GW_REDIS_BACKOFF);
	r->reconnects++;
	teardown(r);
	if (r->sentinel)
		gw_sentinel_cancel(r->sentinel);
	r->backoff_ms = r->backoff_ms ? GW_MIN(r->backoff_ms * 2, BACKOFF_MAX_MS)
				      : BACKOFF_MIN_MS;
	/* Jitter in [backoff/2, backoff] so nodes do not reconnect in step. */
	wait = r->backoff_ms / 2 + (uint32_t)(random() % (r->backoff_ms / 2 + 1));
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	event_add(r->retry, &tv);
	if (was_ready && r->ev.on_down)
		r->ev.on_down(r->ud);
}

void gw_redis_refuse(gw_redis_t *r, const char *what)
{
	r->bad_replies++;
	GW_LOG(GW_LOG_ERROR, "redis_bad_reply", GW_S("reply", what));
	/* Inside a reply callback hiredis defers the context's free. */
	link_fail(r, "malformed reply");
}

/* --- deadlines ------------------------------------------------------------- */

static void on_pong(redisAsyncContext *c, void *reply, void *priv)
{
	gw_redis_t *r = priv;

	if (!ours(r, c) || !reply_ok(reply))
		return;
	r->ping_out = 0;
	r->latency_ms = (uint32_t)(gw_now_ms() - r->ping_sent);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_redis_t *r = arg;
	uint64_t now = gw_now_ms();
	char probe[32];
	int n;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	if (r->state == GW_REDIS_BACKOFF || r->state == GW_REDIS_DOWN)
		return;
	if (r->state != GW_REDIS_READY) {
		if (now - r->state_since > DEADLINE_MS)
			link_fail(r, "connect step deadline");
		return;
	}
	if (r->ping_out && now - r->ping_sent > DEADLINE_MS) {
		link_fail(r, "ping deadline");
		return;
	}
	if (now - r->last_probe > DEADLINE_MS + PROBE_EVERY_MS) {
		link_fail(r, "pub/sub probe deadline");
		return;
	}
	if (!r->ping_out) {
		r->ping_out = 1;
		r->ping_sent = now;
		redisAsyncCommand(r->cmd, on_pong, r, "PING");
	}
	if (now - r->probe_sent >= PROBE_EVERY_MS) {
		r->probe_sent = now;
		n = snprintf(probe, sizeof(probe), "probe:%llu",
			     (unsigned long long)++r->probe_seq);
		gw_redis_publish(r, r->probe_channel, strlen(r->probe_channel),
				 probe, (size_t)n);
	}
}

/* --- subscriptions ------------------------------------------------------- */

static void on_sub_reply(redisAsyncContext *c, void *reply, void *priv)
{
	gw_redis_t *r = priv;
	redisReply *rep = reply;
	const char *kind;

	if (!ours(r, c) || !rep || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements < 3 || rep->element[0]->type != REDIS_REPLY_STRING)
		return;
	kind = rep->element[0]->str;
	if (strcmp(kind, "subscribe") == 0) {
		if (r->state == GW_REDIS_SUBSCRIBING)
			step_done(r);
		return;
	}
	if (strcmp(kind, "message") != 0 || rep->element[1]->type != REDIS_REPLY_STRING ||
	    rep->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (rep->element[1]->len == strlen(r->probe_channel) &&
	    memcmp(rep->element[1]->str, r->probe_channel, rep->element[1]->len) == 0) {
		r->last_probe = gw_now_ms();
		return;
	}
	if (r->ev.on_message)
		r->ev.on_message(r->ud, rep->element[1]->str, rep->element[1]->len,
				 rep->element[2]->str, rep->element[2]->len);
}

static int subscribe_one(void *v, void *ud)
{
	gw_redis_t *r = ud;
	const char *ch = v;
	const char *argv[2] = { "SUBSCRIBE", ch };
	size_t lens[2] = { 9, strlen(ch) };

	redisAsyncCommandArgv(r->sub, on_sub_reply, r, 2, argv, lens);
	return 0;
}

static void subscribe_all(gw_redis_t *r)
{
	gw_map_each(r->subs, subscribe_one, r);
}

int gw_redis_subscribe(gw_redis_t *r, const char *channel)
{
	char *ch;
	int rc;

	if (gw_map_get(r->subs, channel, strlen(channel)))
		return GW_OK;
	ch = gw_strdup(channel);
	if (!ch)
		return GW_ENOMEM;
	rc = gw_map_put(r->subs, ch, strlen(ch), ch);
	if (rc) {
		gw_free(ch);
		return rc;
	}
	if (r->state == GW_REDIS_READY)
		subscribe_one(ch, r);
	return GW_OK;
}

void gw_redis_subscribe_once(gw_redis_t *r, const char *channel)
{
	if (r->state == GW_REDIS_SUBSCRIBING) {
		r->steps_left++; /* its "subscribe" reply is one more step */
		subscribe_one((void *)channel, r);
	} else if (r->state == GW_REDIS_READY) {
		subscribe_one((void *)channel, r);
	}
}

void gw_redis_unsubscribe(gw_redis_t *r, const char *channel)
{
	const char *argv[2] = { "UNSUBSCRIBE", channel };
	size_t lens[2] = { 11, strlen(channel) };

	gw_free(gw_map_del(r->subs, channel, strlen(channel)));
	if (r->state == GW_REDIS_SUBSCRIBING || r->state == GW_REDIS_READY)
		redisAsyncCommandArgv(r->sub, on_sub_reply, r, 2, argv, lens);
}

/* --- commands and scripts ---------------------------------------------------- */

typedef struct {
	gw_redis_t *r;
	gw_redis_reply_fn cb;
	void *ud;
	size_t script;   /* index, or SIZE_MAX for plain commands */
	int retried;
	int argc;
	const char **argv; /* for scripts: argv[0..2] are EVALSHA sha nkeys */
	size_t *lens;
} call_t;

static void call_free(call_t *call)
{
	gw_free(call);
}

static void on_call_reply(redisAsyncContext *c, void *reply, void *priv)
{
	call_t *call = priv;
	redisReply *rep = reply;
	gw_redis_t *r = call->r;

	if (rep && rep->type == REDIS_REPLY_ERROR && call->script != SIZE_MAX &&
	    !call->retried && strncmp(rep->str, "NOSCRIPT", 8) == 0 &&
	    ours(r, c) && r->state == GW_REDIS_READY) {
		/* Redis lost its script cache: send the body this once. */
		call->retried = 1;
		call->argv[0] = "EVAL";
		call->lens[0] = 4;
		call->argv[1] = r->scripts[call->script];
		call->lens[1] = strlen(r->scripts[call->script]);
		if (redisAsyncCommandArgv(r->cmd, on_call_reply, call, call->argc,
					  call->argv, call->lens) == REDIS_OK)
			return;
		rep = NULL;
	}
	if (rep && rep->type == REDIS_REPLY_ERROR)
		GW_LOG(GW_LOG_WARN, "redis_error", GW_S("error", rep->str));
	if (call->cb)
		call->cb(call->ud, ours(r, c) || !rep ? rep : NULL);
	call_free(call);
}

int gw_redis_command(gw_redis_t *r, gw_redis_reply_fn cb, void *ud, int argc,
		     const char **argv, const size_t *lens)
{
	call_t *call;

	if (!gw_redis_ready(r))
		return GW_EUNAVAIL;
	call = gw_calloc(1, sizeof(*call));
	if (!call)
		return GW_ENOMEM;
	*call = (call_t){ r, cb, ud, SIZE_MAX, 0, 0, NULL, NULL };
	if (redisAsyncCommandArgv(r->cmd, on_call_reply, call, argc, argv,
				  lens) != REDIS_OK) {
		gw_free(call);
		return GW_EIO;
	}
	return GW_OK;
}

int gw_redis_script(gw_redis_t *r, size_t idx, gw_redis_reply_fn cb, void *ud,
		    int nkeys, int argc, const char **argv, const size_t *lens)
{
	size_t total = 0, i;
	call_t *call;
	char *data, nk[16];
	int n = argc + 3;

	if (!gw_redis_ready(r))
		return GW_EUNAVAIL;
	if (idx >= r->nscripts)
		return GW_EINVAL;
	for (i = 0; i < (size_t)argc; i++)
		total += lens[i];
	/* One block: the call, argv, lens, then the argument bytes. */
	call = gw_malloc(sizeof(*call) + (size_t)n * (sizeof(char *) + sizeof(size_t)) +
			 total + sizeof(nk));
	if (!call)
		return GW_ENOMEM;
	call->r = r;
	call->cb = cb;
	call->ud = ud;
	call->script = idx;
	call->retried = 0;
	call->argc = n;
	call->argv = (const char **)(call + 1);
	call->lens = (size_t *)(call->argv + n);
	data = (char *)(call->lens + n);
	call->argv[0] = "EVALSHA";
	call->lens[0] = 7;
	call->argv[1] = r->shas[idx];
	call->lens[1] = 40;
	snprintf(data, sizeof(nk), "%d", nkeys);
	call->argv[2] = data;
	call->lens[2] = strlen(data);
	data += sizeof(nk);
	for (i = 0; i < (size_t)argc; i++) {
		memcpy(data, argv[i], lens[i]);
		call->argv[3 + i] = data;
		call->lens[3 + i] = lens[i];
		data += lens[i];
	}
	if (redisAsyncCommandArgv(r->cmd, on_call_reply, call, n, call->argv,
				  call->lens) != REDIS_OK) {
		gw_free(call);
		return GW_EIO;
	}
	return GW_OK;
}

int gw_redis_publish(gw_redis_t *r, const char *channel, size_t clen,
		     const char *msg, size_t len)
{
	const char *argv[3] = { "PUBLISH", channel, msg };
	size_t lens[3] = { 7, clen, len };

	if (!gw_redis_ready(r))
		return GW_EUNAVAIL;
	return redisAsyncCommandArgv(r->cmd, NULL, NULL, 3, argv, lens) == REDIS_OK
		       ? GW_OK : GW_EIO;
}

/* --- lifecycle --------------------------------------------------------------- */

gw_redis_t *gw_redis_create(struct event_base *base, const char *url,
			    const char *const *scripts, size_t nscripts,
			    const char *probe_channel,
			    const gw_redis_events_t *events, void *ud,
			    char *err, size_t errlen)
{
	struct timeval tv = { 0, TICK_MS * 1000 };
	gw_redis_t *r = gw_calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->base = base;
	r->scripts = scripts;
	r->nscripts = nscripts;
	r->ev = *events;
	r->ud = ud;
	if (parse_url(r, url, err, errlen)) {
		gw_redis_free(r);
		return NULL;
	}
	if (r->url.sentinel &&
	    !(r->sentinel = gw_sentinel_create(base, &r->url, on_switch, r))) {
		snprintf(err, errlen, "out of memory");
		gw_redis_free(r);
		return NULL;
	}
	if (!r->sentinel)
		set_master(r, r->url.path[0] ? r->url.path : r->url.host, r->url.port);
	r->shas = gw_calloc(nscripts ? nscripts : 1, sizeof(*r->shas));
	r->probe_channel = gw_strdup(probe_channel);
	r->subs = gw_map_create(64);
	r->tick = event_new(base, -1, EV_PERSIST, tick_cb, r);
	r->retry = evtimer_new(base, retry_cb, r);
	if (!r->shas || !r->probe_channel || !r->subs || !r->tick || !r->retry ||
	    event_add(r->tick, &tv) || gw_redis_subscribe(r, probe_channel)) {
		snprintf(err, errlen, "out of memory");
		gw_redis_free(r);
		return NULL;
	}
	srandom((unsigned)gw_now_ms());
	start_connect(r);
	return r;
}

static int free_sub(void *v, void *ud)
{
	GW_UNUSED(ud);
	gw_free(v);
	return 0;
}

void gw_redis_free(gw_redis_t *r)
{
	if (!r)
		return;
	r->state = GW_REDIS_DOWN; /* no failure handling while freeing */
	teardown(r);
	gw_sentinel_free(r->sentinel);
	if (r->tick)
		event_free(r->tick);
	if (r->retry)
		event_free(r->retry);
	if (r->subs) {
		gw_map_each(r->subs, free_sub, NULL);
		gw_map_free(r->subs);
	}
	gw_free(r->shas);
	gw_free(r->probe_channel);
	explicit_bzero(&r->url, sizeof(r->url)); /* the password */
	gw_free(r);
}
