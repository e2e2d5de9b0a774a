/*
 * gw_sentinel.c — master discovery through Redis Sentinel (see gw_sentinel.h).
 *
 * Two hiredis contexts at most: `q` for the resolve in flight (one sentinel
 * at a time) and `w` for the +switch-master subscription. A context is let
 * go of by clearing its pointer first and then freeing it, so callbacks
 * that hiredis runs while freeing see a context that is no longer ours and
 * return at once (the same rule as gw_redis).
 */
#include "gw_sentinel.h"
#include "gw_alloc.h"
#include "gw_common.h"
#include "gw_log.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASK_DEADLINE_MS 800   /* one sentinel's answer */
#define REWATCH_MS 1000

struct gw_sentinel {
	struct event_base *base;
	gw_redis_url_t url;
	gw_sentinel_addr_fn on_switch;
	void *ud;

	redisAsyncContext *q, *w;
	struct event *deadline, *rewatch;
	gw_sentinel_addr_fn cb;   /* the resolve in flight, or NULL */
	void *cb_ud;
	int cur;                  /* the sentinel that answered last */
	int tried;                /* sentinels asked in this resolve */
	int asking;               /* index of the sentinel being asked */
	char current[300];
};

static void ask(gw_sentinel_t *s);
static void watch(gw_sentinel_t *s);

static void drop(redisAsyncContext **slot)
{
	redisAsyncContext *c = *slot;

	*slot = NULL;
	if (c)
		redisAsyncFree(c);
}

static void on_connect(const redisAsyncContext *c, int status);
static void on_disconnect(const redisAsyncContext *c, int status);

static redisAsyncContext *open_ctx(gw_sentinel_t *s, int idx)
{
	const gw_redis_addr_t *a = &s->url.sentinels[idx];
	redisAsyncContext *c = redisAsyncConnect(a->host, a->port);

	if (!c)
		return NULL;
	if (c->err) {
		redisAsyncFree(c);
		return NULL;
	}
	c->data = s;
	redisLibeventAttach(c, s->base);
	redisAsyncSetConnectCallback(c, on_connect);
	redisAsyncSetDisconnectCallback(c, on_disconnect);
	if (s->url.sentinel_pass[0]) {
		if (s->url.sentinel_user[0])
			redisAsyncCommand(c, NULL, NULL, "AUTH %s %s", s->url.sentinel_user,
					  s->url.sentinel_pass);
		else
			redisAsyncCommand(c, NULL, NULL, "AUTH %s", s->url.sentinel_pass);
	}
	return c;
}

/* --- resolve ----------------------------------------------------------------- */

static void finish(gw_sentinel_t *s, const char *host, int port)
{
	gw_sentinel_addr_fn cb = s->cb;

	evtimer_del(s->deadline);
	drop(&s->q);
	s->cb = NULL;
	if (host) {
		s->cur = s->asking;
		snprintf(s->current, sizeof(s->current), "%s:%d",
			 s->url.sentinels[s->cur].host, s->url.sentinels[s->cur].port);
		if (!s->w)
			watch(s);
	}
	if (cb)
		cb(s->cb_ud, host, port);
}

static void attempt_failed(gw_sentinel_t *s, const char *why)
{
	const gw_redis_addr_t *a = &s->url.sentinels[s->asking];

	GW_LOG(GW_LOG_WARN, "sentinel_unanswered", GW_S("sentinel", a->host),
	       GW_I("port", a->port), GW_S("why", why));
	evtimer_del(s->deadline);
	drop(&s->q);
	ask(s);
}

static void on_master(redisAsyncContext *c, void *reply, void *priv)
{
	gw_sentinel_t *s = priv;
	redisReply *r = reply;
	char host[256];
	long port;

	if (c != s->q || !s->cb)
		return;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len == 0 || r->element[0]->len >= sizeof(host)) {
		attempt_failed(s, r && r->type == REDIS_REPLY_ERROR ? r->str
				  : r && r->type == REDIS_REPLY_NIL ? "unknown master"
				  : "unexpected reply");
		return;
	}
	port = strtol(r->element[1]->str, NULL, 10);
	if (port <= 0 || port > 65535) {
		attempt_failed(s, "bad port");
		return;
	}
	memcpy(host, r->element[0]->str, r->element[0]->len);
	host[r->element[0]->len] = '\0';
	finish(s, host, (int)port);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	GW_UNUSED(fd);
	GW_UNUSED(what);
	attempt_failed(arg, "deadline");
}

static void ask(gw_sentinel_t *s)
{
	struct timeval tv = { 0, ASK_DEADLINE_MS * 1000 };

	if (s->tried == s->url.nsentinels) {
		finish(s, NULL, 0);
		return;
	}
	s->asking = (s->cur + s->tried++) % s->url.nsentinels;
	s->q = open_ctx(s, s->asking);
	if (!s->q) {
		attempt_failed(s, "cannot create connection");
		return;
	}
	redisAsyncCommand(s->q, on_master, s, "SENTINEL get-master-addr-by-name %s",
			  s->url.master);
	evtimer_add(s->deadline, &tv);
}

int gw_sentinel_resolve(gw_sentinel_t *s, gw_sentinel_addr_fn cb, void *ud)
{
	gw_sentinel_cancel(s);
	s->cb = cb;
	s->cb_ud = ud;
	s->tried = 0;
	ask(s);
	return GW_OK;
}

void gw_sentinel_cancel(gw_sentinel_t *s)
{
	s->cb = NULL;
	evtimer_del(s->deadline);
	drop(&s->q);
}

/* --- watch ------------------------------------------------------------------- */

/* "+switch-master": "NAME OLD_IP OLD_PORT NEW_IP NEW_PORT". */
static void on_watch(redisAsyncContext *c, void *reply, void *priv)
{
	gw_sentinel_t *s = priv;
	redisReply *r = reply;
	char name[128], oh[256], nh[256];
	int op, np;

	if (c != s->w || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") ||
	    r->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (sscanf(r->element[2]->str, "%127s %255s %d %255s %d", name, oh, &op, nh, &np) != 5 ||
	    strcmp(name, s->url.master) || np <= 0 || np > 65535)
		return;
	GW_LOG(GW_LOG_WARN, "sentinel_switch_master", GW_S("master", name),
	       GW_S("from", oh), GW_I("from_port", op), GW_S("to", nh), GW_I("to_port", np));
	if (s->on_switch)
		s->on_switch(s->ud, nh, np);
}

static void watch(gw_sentinel_t *s)
{
	s->w = open_ctx(s, s->cur);
	if (!s->w) {
		struct timeval tv = { REWATCH_MS / 1000, (REWATCH_MS % 1000) * 1000 };

		evtimer_add(s->rewatch, &tv);
		return;
	}
	redisAsyncCommand(s->w, on_watch, s, "SUBSCRIBE +switch-master");
}

static void rewatch_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_sentinel_t *s = arg;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	if (!s->w)
		watch(s);
}

/* --- connection events ------------------------------------------------------- */

static void lost(gw_sentinel_t *s, const redisAsyncContext *c, const char *why)
{
	if (c == s->q) {
		s->q = NULL;   /* hiredis frees it */
		if (s->cb)
			attempt_failed(s, why);
	} else if (c == s->w) {
		struct timeval tv = { REWATCH_MS / 1000, (REWATCH_MS % 1000) * 1000 };

		s->w = NULL;
		s->cur = (s->cur + 1) % s->url.nsentinels;
		evtimer_add(s->rewatch, &tv);
	}
}

static void on_connect(const redisAsyncContext *c, int status)
{
	if (status != REDIS_OK)
		lost(c->data, c, c->errstr[0] ? c->errstr : "connect failed");
}

static void on_disconnect(const redisAsyncContext *c, int status)
{
	GW_UNUSED(status);
	lost(c->data, c, c->errstr[0] ? c->errstr : "disconnected");
}

/* --- lifecycle --------------------------------------------------------------- */

gw_sentinel_t *gw_sentinel_create(struct event_base *base, const gw_redis_url_t *url,
				  gw_sentinel_addr_fn on_switch, void *ud)
{
	gw_sentinel_t *s;

	if (!url->sentinel || url->nsentinels <= 0)
		return NULL;
	s = gw_calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->base = base;
	s->url = *url;
	s->on_switch = on_switch;
	s->ud = ud;
	s->cur = (int)(gw_now_ms() % (uint64_t)url->nsentinels); /* spread the nodes */
	s->deadline = evtimer_new(base, deadline_cb, s);
	s->rewatch = evtimer_new(base, rewatch_cb, s);
	if (!s->deadline || !s->rewatch) {
		gw_sentinel_free(s);
		return NULL;
	}
	return s;
}

void gw_sentinel_free(gw_sentinel_t *s)
{
	if (!s)
		return;
	s->cb = NULL;
	s->on_switch = NULL;
	drop(&s->q);
	drop(&s->w);
	if (s->deadline)
		event_free(s->deadline);
	if (s->rewatch)
		event_free(s->rewatch);
	explicit_bzero(&s->url, sizeof(s->url));
	gw_free(s);
}

const char *gw_sentinel_current(const gw_sentinel_t *s)
{
	return s->current;
}
