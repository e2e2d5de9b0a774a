/*
 * gw_ratelimit.h — a token bucket per connection (8 bytes).
 *
 * Tokens are kept in thousandths so the bucket needs no floating point:
 * `rate` tokens per second refill up to `burst`; each message takes one.
 */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include "gw_common.h"

typedef struct {
	uint32_t milli_tokens;
	uint32_t last_ms; /* low 32 bits of the monotonic clock; wraps safely */
} gw_bucket_t;

static inline void gw_bucket_init(gw_bucket_t *b, uint32_t burst, uint64_t now)
{
	b->milli_tokens = burst * 1000u;
	b->last_ms = (uint32_t)now;
}

/* Takes one token; returns 1 if allowed, 0 if the message must be dropped. */
static inline int gw_bucket_take(gw_bucket_t *b, uint32_t rate, uint32_t burst,
				 uint64_t now)
{
	uint32_t elapsed = (uint32_t)now - b->last_ms;
	uint64_t t = b->milli_tokens + (uint64_t)elapsed * rate;
	uint64_t cap = (uint64_t)burst * 1000u;

	b->last_ms = (uint32_t)now;
	if (t > cap)
		t = cap;
	if (t < 1000) {
		b->milli_tokens = (uint32_t)t;
		return 0;
	}
	b->milli_tokens = (uint32_t)(t - 1000);
	return 1;
}

#endif
