/*
 * stub_redis.c — the Redis links (gw_redis.h) without Redis, for fuzz
 * targets (see stub.h). Single-threaded, like the daemon.
 */
#include "stub.h"
#include "gw_alloc.h"
#include "gw_shard.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX 256

typedef struct {
	stub_call_t call;
	gw_redis_reply_fn cb;
	void *ud;
} pending_t;

struct gw_redis {
	gw_redis_events_t ev;
	void *ud;
	int ready;
	int subs;
	int in_cb;        /* a reply callback of this link is running */
	int fail_after;   /* failed inside one: answer the rest with NULL after it */
	uint64_t refused;
	pending_t queue[QUEUE_MAX];
	size_t q_head, q_len;
};

uint64_t stub_redis_commands, stub_redis_publishes, stub_redis_refused;
static gw_redis_t *links[GW_SHARDS_MAX];
static size_t nlinks;

gw_redis_t *gw_redis_create(struct event_base *base, const char *url,
			    const char *const *scripts, size_t nscripts,
			    const char *probe_channel,
			    const gw_redis_events_t *events, void *ud,
			    char *err, size_t errlen)
{
	gw_redis_t *r;

	(void)base;
	fuzz_touch(url, strlen(url));
	for (size_t i = 0; i < nscripts; i++)
		fuzz_touch(scripts[i], strlen(scripts[i]));
	fuzz_touch(probe_channel, strlen(probe_channel));
	FUZZ_CHECK(nlinks < GW_SHARDS_MAX);
	if (!(r = gw_calloc(1, sizeof(*r)))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->ev = *events;
	r->ud = ud;
	links[nlinks++] = r;
	return r;
}

static void answer_one(gw_redis_t *r, redisReply *reply)
{
	pending_t p;

	if (!r->q_len)
		return;
	p = r->queue[r->q_head];
	r->q_head = (r->q_head + 1) % QUEUE_MAX;
	r->q_len--;
	r->in_cb++;
	p.cb(p.ud, reply);
	r->in_cb--;
	/* hiredis frees a context freed inside a callback once it returns,
	 * failing what is left with NULL. */
	if (!r->in_cb && r->fail_after) {
		r->fail_after = 0;
		while (r->q_len)
			answer_one(r, NULL);
	}
}

/* The link's one failure path: drop, fail what waits, tell the owner. */
static void link_fail(gw_redis_t *r)
{
	if (!r->ready)
		return;
	r->ready = 0;
	if (r->in_cb) {
		r->fail_after = 1;
	} else {
		while (r->q_len)
			answer_one(r, NULL);
	}
	r->ev.on_down(r->ud);
}

void gw_redis_free(gw_redis_t *r)
{
	size_t i;

	if (!r)
		return;
	r->ready = 0;
	while (r->q_len)
		answer_one(r, NULL);
	for (i = 0; i < nlinks && links[i] != r; i++)
		;
	FUZZ_CHECK(i < nlinks);
	memmove(&links[i], &links[i + 1], (nlinks - i - 1) * sizeof(links[0]));
	nlinks--;
	gw_free(r);
}

gw_redis_state_t gw_redis_state(const gw_redis_t *r)
{
	return r->ready ? GW_REDIS_READY : GW_REDIS_BACKOFF;
}

const char *gw_redis_state_name(gw_redis_state_t st)
{
	return st == GW_REDIS_READY ? "ready" : "backoff";
}

int gw_redis_ready(const gw_redis_t *r)
{
	return r && r->ready;
}

uint64_t gw_redis_last_probe(const gw_redis_t *r)
{
	(void)r;
	return 0;
}

uint32_t gw_redis_latency_ms(const gw_redis_t *r)
{
	(void)r;
	return 0;
}

uint64_t gw_redis_reconnects(const gw_redis_t *r)
{
	(void)r;
	return 0;
}

const char *gw_redis_master(const gw_redis_t *r, int *port)
{
	(void)r;
	if (port)
		*port = 6379;
	return "stub";
}

uint64_t gw_redis_last_switch_ms(const gw_redis_t *r)
{
	(void)r;
	return 0;
}

uint64_t gw_redis_switches(const gw_redis_t *r)
{
	(void)r;
	return 0;
}

uint64_t gw_redis_bad_replies(const gw_redis_t *r)
{
	return r->refused;
}

void gw_redis_refuse(gw_redis_t *r, const char *what)
{
	fuzz_touch(what, strlen(what));
	if (getenv("FUZZ_TRACE"))
		fprintf(stderr, "redis link %p: refused a reply (%s)\n", (void *)r, what);
	r->refused++;
	stub_redis_refused++;
	link_fail(r);
}

static int enqueue(gw_redis_t *r, const char *name, int script,
		   gw_redis_reply_fn cb, void *ud, int argc, const char **argv,
		   const size_t *lens)
{
	pending_t *p;

	if (!gw_redis_ready(r))
		return GW_EUNAVAIL;
	FUZZ_CHECK(argc > 0);
	for (int i = 0; i < argc; i++)
		fuzz_touch(argv[i], lens[i]);
	stub_redis_commands++;
	if (getenv("FUZZ_TRACE")) /* for writing seeds: what the node asks, in order */
		fprintf(stderr, "redis link %p: %s%s\n", (void *)r, name, cb ? "" : " (no reply)");
	if (!cb)
		return GW_OK;
	if (r->q_len == QUEUE_MAX)
		return GW_EIO; /* as hiredis refusing the command */
	p = &r->queue[(r->q_head + r->q_len++) % QUEUE_MAX];
	memset(p, 0, sizeof(*p));
	snprintf(p->call.name, sizeof(p->call.name), "%s", name);
	p->call.script = script;
	p->cb = cb;
	p->ud = ud;
	return GW_OK;
}

int gw_redis_command(gw_redis_t *r, gw_redis_reply_fn cb, void *ud, int argc,
		     const char **argv, const size_t *lens)
{
	char name[16];

	snprintf(name, sizeof(name), "%.*s", argc > 0 ? (int)GW_MIN(lens[0], 15) : 0,
		 argc > 0 ? argv[0] : "");
	return enqueue(r, name, -1, cb, ud, argc, argv, lens);
}

int gw_redis_script(gw_redis_t *r, size_t idx, gw_redis_reply_fn cb, void *ud,
		    int nkeys, int argc, const char **argv, const size_t *lens)
{
	char name[16];

	FUZZ_CHECK(nkeys >= 0 && nkeys <= argc);
	snprintf(name, sizeof(name), "script:%zu", idx);
	return enqueue(r, name, (int)idx, cb, ud, argc, argv, lens);
}

int gw_redis_publish(gw_redis_t *r, const char *channel, size_t clen,
		     const char *msg, size_t len)
{
	if (!gw_redis_ready(r))
		return GW_EUNAVAIL;
	fuzz_touch(channel, clen);
	fuzz_touch(msg, len);
	stub_redis_publishes++;
	return GW_OK;
}

int gw_redis_subscribe(gw_redis_t *r, const char *channel)
{
	fuzz_touch(channel, strlen(channel));
	r->subs++;
	return GW_OK;
}

void gw_redis_subscribe_once(gw_redis_t *r, const char *channel)
{
	fuzz_touch(channel, strlen(channel));
	r->subs++;
}

void gw_redis_unsubscribe(gw_redis_t *r, const char *channel)
{
	fuzz_touch(channel, strlen(channel));
	r->subs--;
}

/* --- the harness's side ------------------------------------------------------ */

size_t stub_redis_links(void)
{
	return nlinks;
}

void stub_redis_set_ready(size_t k, int ready)
{
	gw_redis_t *r = k < nlinks ? links[k] : NULL;

	if (!r || !ready == !r->ready)
		return;
	if (!ready) {
		link_fail(r);
		return;
	}
	r->ready = 1;
	if (r->ev.on_subscribing)
		r->ev.on_subscribing(r->ud);
	r->ev.on_ready(r->ud);
}

int stub_redis_is_ready(size_t k)
{
	return k < nlinks && links[k]->ready;
}

const stub_call_t *stub_redis_peek(size_t k)
{
	return k < nlinks && links[k]->q_len ? &links[k]->queue[links[k]->q_head].call
					     : NULL;
}

void stub_redis_answer(size_t k, redisReply *reply)
{
	if (k < nlinks)
		answer_one(links[k], reply);
}

void stub_redis_message(size_t k, const char *channel, size_t clen, const char *msg,
			size_t len)
{
	if (k < nlinks)
		links[k]->ev.on_message(links[k]->ud, channel, clen, msg, len);
}
