/*
 * gw_ratelimit.h — a client's send budget: a token bucket counted in
 * messages, a second one counted in bytes, and the count of messages they
 * refused.
 *
 * Why two buckets: counting messages alone lets a client send --rate-limit
 * messages of --max-message-size each (50 x 64 KiB = 3.2 MB/s by default)
 * into a lobby, and every member must then receive all of it; the readers,
 * not the sender, end up closed as slow consumers. The byte bucket bounds
 * what one sender can push into the fan-out.
 *
 * Tokens are kept in thousandths so neither bucket needs floating point:
 * `rate` tokens per second refill up to `burst`. Both buckets refill from
 * one timestamp on every message; a message passes only when both can pay
 * (one message token, `len` byte tokens), and a refused message costs
 * nothing. Every refusal counts a violation; the caller answers it with an
 * error frame, or closes the connection (1008) once
 * gw_ratelimit_exhausted() says the violations reached --rate-violations.
 *
 * The caller owns the structs (they live in the session); nothing here
 * allocates or keeps a pointer.
 */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include "gw_common.h"
#include "gw_config.h"

/* --- one bucket (8 bytes) ------------------------------------------------- */

typedef struct {
	uint32_t milli_tokens;
	uint32_t last_ms; /* low 32 bits of the monotonic clock; wraps safely */
} gw_bucket_t;

static inline void gw_bucket_init(gw_bucket_t *b, uint32_t burst, uint64_t now)
{
	b->milli_tokens = burst * 1000u;
	b->last_ms = (uint32_t)now;
}

/* `milli` thousandths refilled for `elapsed` ms at `rate`/s, capped at `burst`. */
static inline uint64_t gw_bucket_refill(uint64_t milli, uint32_t elapsed,
					uint64_t rate, uint64_t burst)
{
	uint64_t t = milli + (uint64_t)elapsed * rate;

	return t > burst * 1000u ? burst * 1000u : t;
}

/* Takes one token; returns 1 if allowed, 0 if the message must be dropped. */
static inline int gw_bucket_take(gw_bucket_t *b, uint32_t rate, uint32_t burst,
				 uint64_t now)
{
	uint64_t t = gw_bucket_refill(b->milli_tokens,
				      (uint32_t)now - b->last_ms, rate, burst);

	b->last_ms = (uint32_t)now;
	if (t < 1000) {
		b->milli_tokens = (uint32_t)t;
		return 0;
	}
	b->milli_tokens = (uint32_t)(t - 1000);
	return 1;
}

/* --- the client's budget -------------------------------------------------- */

typedef struct {
	uint64_t milli_bytes; /* the byte bucket, in thousandths of a byte */
	gw_bucket_t msgs;     /* the message bucket; its last_ms serves both */
	/*
	 * Refused messages so far. 32 bits: --rate-violations goes up to
	 * GW_CONFIG_STRIKES_MAX, which a 16-bit counter could never reach.
	 */
	uint32_t violations;
} gw_ratelimit_t;

typedef enum {
	GW_RL_PASS = 0, /* send it */
	GW_RL_MESSAGES, /* dropped: over --rate-limit / --rate-burst */
	GW_RL_BYTES,    /* dropped: over --rate-bytes / --rate-bytes-burst */
} gw_rl_verdict_t;

/* Full buckets, no violations. */
static inline void gw_ratelimit_init(gw_ratelimit_t *r, const gw_config_t *cfg,
				     uint64_t now)
{
	gw_bucket_init(&r->msgs, (uint32_t)cfg->rate_burst, now);
	r->milli_bytes = (uint64_t)cfg->rate_bytes_burst * 1000u;
	r->violations = 0;
}

/*
 * Charges one message of `len` bytes. Returns GW_RL_PASS, or why it was
 * dropped (GW_RL_MESSAGES first when both apply) after counting a
 * violation; the count stops at cfg->rate_violations.
 *
 * No overflow: the config bounds the byte rate and burst at 2^30, and
 * 2^32 ms of refill at 2^30 bytes/s is 2^62 thousandths.
 */
static inline gw_rl_verdict_t gw_ratelimit_take(gw_ratelimit_t *r,
						const gw_config_t *cfg,
						size_t len, uint64_t now)
{
	uint32_t elapsed = (uint32_t)now - r->msgs.last_ms;
	uint64_t msgs = gw_bucket_refill(r->msgs.milli_tokens, elapsed,
					 (uint64_t)cfg->rate_limit,
					 (uint64_t)cfg->rate_burst);
	uint64_t bytes = gw_bucket_refill(r->milli_bytes, elapsed,
					  (uint64_t)cfg->rate_bytes,
					  (uint64_t)cfg->rate_bytes_burst);
	uint64_t cost = len > (uint64_t)cfg->rate_bytes_burst ?
			UINT64_MAX : (uint64_t)len * 1000u;
	gw_rl_verdict_t v = GW_RL_PASS;

	if (msgs < 1000)
		v = GW_RL_MESSAGES;
	else if (bytes < cost)
		v = GW_RL_BYTES;
	if (v == GW_RL_PASS) {
		msgs -= 1000;
		bytes -= cost;
	} else if (r->violations < (uint64_t)cfg->rate_violations) {
		r->violations++;
	}
	r->msgs.milli_tokens = (uint32_t)msgs;
	r->msgs.last_ms = (uint32_t)now;
	r->milli_bytes = bytes;
	return v;
}

/* The drops have reached --rate-violations: the connection must close. */
static inline int gw_ratelimit_exhausted(const gw_ratelimit_t *r,
					 const gw_config_t *cfg)
{
	return r->violations >= (uint64_t)cfg->rate_violations;
}

#endif
