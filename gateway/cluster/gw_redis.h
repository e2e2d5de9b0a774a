/*
 * gw_redis.h — the node's Redis link: two hiredis async connections on the
 * node's libevent loop (commands, pipelined; subscriptions) driven by one
 * explicit state machine.
 *
 *   DOWN → [RESOLVING →] CONNECTING → AUTHENTICATING → LOADING_SCRIPTS →
 *     SUBSCRIBING → READY
 *   any failure, on either connection → BACKOFF → [RESOLVING →] CONNECTING …
 *
 * With a sentinel:// URL the link first asks the sentinels for the master
 * (RESOLVING, gw_sentinel), checks with ROLE that the server it reached is
 * the master (AUTHENTICATING), and leaves at once when a sentinel announces
 * +switch-master; everything after the failure path (scripts reloaded,
 * channels re-subscribed, on_ready → the cluster restores this node's
 * presence and signals gaps) is the same as after any reconnect.
 *
 * hiredis 0.14 has no command timeouts, so the link keeps its own
 * deadlines: a PING on the command connection and a publish-to-self probe
 * through the subscription connection must come back in time, and each
 * step of the connect sequence must finish in time. A context that misses
 * a deadline is freed (never reused); hiredis then fails every pending
 * callback with a NULL reply, so nothing piles up. Reconnects back off
 * exponentially with jitter.
 *
 * Lua scripts are loaded with SCRIPT LOAD and called with EVALSHA; a
 * NOSCRIPT reply (Redis restarted or failed over) resends the body once.
 *
 * Callbacks: if a call that takes a callback fails, the callback is never
 * called. Otherwise it is called exactly once, with NULL when the link
 * failed first. The reply is freed after the callback returns.
 */
#ifndef GW_REDIS_H
#define GW_REDIS_H

#include "gw_common.h"

struct event_base;
struct redisReply;
typedef struct gw_redis gw_redis_t;

typedef enum {
	GW_REDIS_DOWN = 0,
	GW_REDIS_CONNECTING,
	GW_REDIS_AUTHENTICATING,
	GW_REDIS_LOADING_SCRIPTS,
	GW_REDIS_SUBSCRIBING,
	GW_REDIS_READY,
	GW_REDIS_BACKOFF,
	GW_REDIS_RESOLVING,
} gw_redis_state_t;

typedef struct {
	/* The link became READY (after every (re)connect). */
	void (*on_ready)(void *ud);
	/* The link was READY and failed. */
	void (*on_down)(void *ud);
	/*
	 * Optional: the link is (re)subscribing (every connect, before READY):
	 * the owner calls gw_redis_subscribe_once for every channel it keeps
	 * itself.
	 */
	void (*on_subscribing)(void *ud);
	/* A message on a subscribed channel; both strings are borrowed. */
	void (*on_message)(void *ud, const char *channel, size_t channel_len,
			   const char *msg, size_t len);
} gw_redis_events_t;

typedef void (*gw_redis_reply_fn)(void *ud, struct redisReply *reply);

/*
 * Parses `url` (see gw_redis_url.h: redis://, unix:// or sentinel://) and
 * starts connecting. `scripts` (NUL-terminated
 * Lua sources, borrowed for the link's life) are loaded on every connect.
 * `probe_channel` is subscribed to for the liveness probe.
 */
gw_redis_t *gw_redis_create(struct event_base *base, const char *url,
			    const char *const *scripts, size_t nscripts,
			    const char *probe_channel,
			    const gw_redis_events_t *events, void *ud,
			    char *err, size_t errlen);
void gw_redis_free(gw_redis_t *r);

gw_redis_state_t gw_redis_state(const gw_redis_t *r);
const char *gw_redis_state_name(gw_redis_state_t st);
int gw_redis_ready(const gw_redis_t *r);
/* Monotonic ms of the last successful probe round trip; 0 if none yet. */
uint64_t gw_redis_last_probe(const gw_redis_t *r);
/* Round-trip ms of the last PING. */
uint32_t gw_redis_latency_ms(const gw_redis_t *r);
uint64_t gw_redis_reconnects(const gw_redis_t *r);
/* The master's host (or socket path), borrowed; its port into *port. */
const char *gw_redis_master(const gw_redis_t *r, int *port);
/* Wall ms of the last change of master (0: none yet), and how many. */
uint64_t gw_redis_last_switch_ms(const gw_redis_t *r);
uint64_t gw_redis_switches(const gw_redis_t *r);
/* Replies refused as malformed (gw_redis_refuse). */
uint64_t gw_redis_bad_replies(const gw_redis_t *r);

/*
 * A reply did not have the shape its command promises (`what` names it):
 * logged, counted, and the link dropped through the one failure path
 * (BACKOFF, then reconnect). Nothing of that reply may be used. Safe to
 * call from a reply callback.
 */
void gw_redis_refuse(gw_redis_t *r, const char *what);

/* A command (argv form). GW_EUNAVAIL unless READY. */
int gw_redis_command(gw_redis_t *r, gw_redis_reply_fn cb, void *ud, int argc,
		     const char **argv, const size_t *lens);
/*
 * Runs script `idx` with `nkeys` keys followed by args (all in argv).
 * Arguments are copied. GW_EUNAVAIL unless READY.
 */
int gw_redis_script(gw_redis_t *r, size_t idx, gw_redis_reply_fn cb, void *ud,
		    int nkeys, int argc, const char **argv, const size_t *lens);
/* Fire-and-forget PUBLISH. */
int gw_redis_publish(gw_redis_t *r, const char *channel, size_t clen,
		     const char *msg, size_t len);

/*
 * The set of channels to be subscribed to: kept across reconnects, sent at
 * once when READY. Idempotent.
 */
int gw_redis_subscribe(gw_redis_t *r, const char *channel);
/*
 * A channel the owner keeps itself (one per lobby: many, so the link holds
 * no copy; `channel` is borrowed for the call): sent now while SUBSCRIBING
 * (awaited like the set's) or READY, else not at all -- the owner names it
 * again from on_subscribing on the next connect. Not idempotent: one call
 * per channel and connect.
 */
void gw_redis_subscribe_once(gw_redis_t *r, const char *channel);
/* Either kind: leaves the set if there, UNSUBSCRIBE sent while SUBSCRIBING or READY. */
void gw_redis_unsubscribe(gw_redis_t *r, const char *channel);

#endif
