/*
 * test_ratelimit.c — unit tests for common/gw_ratelimit.h (token bucket in
 * thousandths of a token, 32-bit millisecond clock; the client's budget of
 * messages and bytes, and its violation count).
 *
 * Expectations are exact: `rate` tokens per second is `rate` thousandths
 * per millisecond, so after a drained bucket the next message is allowed
 * after exactly ceil(1000 / rate) ms, and never before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_ratelimit.h"

#include <string.h>

/* Takes until refused at `now`; returns how many were allowed. */
static unsigned drain(gw_bucket_t *b, uint32_t rate, uint32_t burst, uint64_t now)
{
	unsigned n = 0;

	while (gw_bucket_take(b, rate, burst, now)) {
		n++;
		assert_true(n <= burst); /* never more than the bucket holds */
	}
	return n;
}

static void test_burst_then_deny(void **state)
{
	gw_bucket_t b;
	int i;

	(void)state;
	gw_bucket_init(&b, 5, 1000);
	for (i = 0; i < 5; i++)
		assert_true(gw_bucket_take(&b, 10, 5, 1000));
	assert_false(gw_bucket_take(&b, 10, 5, 1000));
	assert_false(gw_bucket_take(&b, 10, 5, 1000)); /* stays refused */
	assert_int_equal(b.milli_tokens, 0);
}

static void test_small_bucket(void **state)
{
	gw_bucket_t b;

	(void)state;
	gw_bucket_init(&b, 1, 0);
	assert_true(gw_bucket_take(&b, 1, 1, 0));
	assert_false(gw_bucket_take(&b, 1, 1, 0));
	assert_false(gw_bucket_take(&b, 1, 1, 999));
	assert_true(gw_bucket_take(&b, 1, 1, 1000));
}

/* 10 tokens/s: one token per 100 ms, to the millisecond. */
static void test_refill_exact(void **state)
{
	gw_bucket_t b;
	uint64_t t = 5000;
	int i;

	(void)state;
	gw_bucket_init(&b, 3, t);
	assert_int_equal(drain(&b, 10, 3, t), 3);
	for (i = 0; i < 20; i++) {
		assert_false(gw_bucket_take(&b, 10, 3, t + 99));
		assert_true(gw_bucket_take(&b, 10, 3, t + 100));
		assert_false(gw_bucket_take(&b, 10, 3, t + 100));
		t += 100;
	}
}

/* Refusals do not reset the refill: partial tokens keep accumulating. */
static void test_refill_accumulates_across_refusals(void **state)
{
	gw_bucket_t b;
	uint64_t t;

	(void)state;
	/* Burst 2, so the leftover below is not clipped by the cap. */
	gw_bucket_init(&b, 2, 0);
	assert_int_equal(drain(&b, 3, 2, 0), 2);
	/* 3/s: 333 ms give 999 thousandths, 334 give 1002. */
	for (t = 1; t < 334; t += 37)
		assert_false(gw_bucket_take(&b, 3, 2, t));
	assert_false(gw_bucket_take(&b, 3, 2, 333));
	assert_true(gw_bucket_take(&b, 3, 2, 334));
	/* The 2 thousandths left over count towards the next token. */
	assert_false(gw_bucket_take(&b, 3, 2, 666)); /* 2 + 332 * 3 = 998 */
	assert_true(gw_bucket_take(&b, 3, 2, 667));  /* 1001 */
}

/* Sustained sending at the limit: exactly rate per second over a minute. */
static void test_sustained_rate(void **state)
{
	gw_bucket_t b;
	uint64_t t;
	unsigned allowed = 0;

	(void)state;
	gw_bucket_init(&b, 50, 0);
	allowed += drain(&b, 50, 50, 0);
	for (t = 1; t <= 60000; t++)
		allowed += gw_bucket_take(&b, 50, 50, t) ? 1 : 0;
	assert_int_equal(allowed, 50 + 50 * 60);
}

/* A long idle period refills to `burst`, not beyond. */
static void test_cap_at_burst(void **state)
{
	gw_bucket_t b;

	(void)state;
	gw_bucket_init(&b, 4, 0);
	assert_int_equal(drain(&b, 10, 4, 0), 4);
	assert_int_equal(drain(&b, 10, 4, 3600 * 1000), 4);
	/* Rate fast enough to refill the bucket many times in 1 ms. */
	assert_int_equal(drain(&b, 1000000, 4, 3600 * 1000 + 1), 4);
	/* And the bucket's largest configured size (1e6) does not overflow. */
	gw_bucket_init(&b, 1000000, 0);
	assert_int_equal(b.milli_tokens, 1000000000u);
	assert_true(gw_bucket_take(&b, 1000000, 1000000, 4000000000u));
	assert_int_equal(b.milli_tokens, 999999000u);
}

/* rate 0 never refills; burst 0 never allows. */
static void test_degenerate(void **state)
{
	gw_bucket_t b;

	(void)state;
	gw_bucket_init(&b, 2, 0);
	assert_int_equal(drain(&b, 0, 2, 0), 2);
	assert_false(gw_bucket_take(&b, 0, 2, 1000000));
	gw_bucket_init(&b, 0, 0);
	assert_false(gw_bucket_take(&b, 100, 0, 0));
	assert_false(gw_bucket_take(&b, 100, 0, 100000));
}

/* The low 32 bits of the clock wrap every ~49.7 days; elapsed time does not. */
static void test_clock_wrap(void **state)
{
	const uint64_t wrap = (uint64_t)1 << 32;
	gw_bucket_t b;

	(void)state;
	gw_bucket_init(&b, 2, wrap - 50);
	assert_int_equal(drain(&b, 10, 2, wrap - 50), 2);
	/* 99 ms later, across the wrap: not yet; 100 ms: one token. */
	assert_false(gw_bucket_take(&b, 10, 2, wrap + 49));
	assert_true(gw_bucket_take(&b, 10, 2, wrap + 50));
	assert_false(gw_bucket_take(&b, 10, 2, wrap + 50));

	/* Far into the 64-bit clock, and across a later wrap. */
	gw_bucket_init(&b, 1, 7 * wrap - 1);
	assert_true(gw_bucket_take(&b, 10, 1, 7 * wrap - 1));
	assert_false(gw_bucket_take(&b, 10, 1, 7 * wrap + 98));
	assert_true(gw_bucket_take(&b, 10, 1, 7 * wrap + 99));
	/* The clock wrapping must not look like a huge refill. */
	assert_false(gw_bucket_take(&b, 10, 1, 7 * wrap + 100));
}

/* --- the client's budget: messages and bytes ----------------------------- */

static gw_config_t limits(long rate, long burst, long bytes, long bytes_burst,
			  long violations)
{
	gw_config_t c;

	memset(&c, 0, sizeof(c));
	c.rate_limit = rate;
	c.rate_burst = burst;
	c.rate_bytes = bytes;
	c.rate_bytes_burst = bytes_burst;
	c.rate_violations = violations;
	return c;
}

/* Few messages, many bytes: the byte bucket refuses, and refills exactly. */
static void test_bytes_burst_then_deny(void **state)
{
	gw_config_t c = limits(1000, 1000, 1000, 4096, 100);
	gw_ratelimit_t r;

	(void)state;
	gw_ratelimit_init(&r, &c, 0);
	assert_int_equal(gw_ratelimit_take(&r, &c, 4000, 0), GW_RL_PASS);
	assert_int_equal(gw_ratelimit_take(&r, &c, 96, 0), GW_RL_PASS);
	assert_int_equal(gw_ratelimit_take(&r, &c, 1, 0), GW_RL_BYTES);
	/* 1,000 bytes/s is one byte a millisecond. */
	assert_int_equal(gw_ratelimit_take(&r, &c, 2, 1), GW_RL_BYTES);
	assert_int_equal(gw_ratelimit_take(&r, &c, 2, 2), GW_RL_PASS);
	assert_int_equal(gw_ratelimit_take(&r, &c, 500, 501), GW_RL_BYTES);
	assert_int_equal(gw_ratelimit_take(&r, &c, 499, 501), GW_RL_PASS);
	assert_int_equal(gw_ratelimit_take(&r, &c, 1, 501), GW_RL_BYTES);
	/* Capped at the burst however long the pause. */
	assert_int_equal(gw_ratelimit_take(&r, &c, 4097, 3600000), GW_RL_BYTES);
	assert_int_equal(gw_ratelimit_take(&r, &c, 4096, 3600000), GW_RL_PASS);
	assert_int_equal(r.violations, 5);
}

/* A refused message costs neither bucket anything. */
static void test_refusal_is_free(void **state)
{
	gw_config_t c = limits(1, 2, 1000, 1000, 100);
	gw_ratelimit_t r;

	(void)state;
	gw_ratelimit_init(&r, &c, 0);
	/* Refused for bytes: the message token is kept... */
	assert_int_equal(gw_ratelimit_take(&r, &c, 1001, 0), GW_RL_BYTES);
	assert_int_equal(gw_ratelimit_take(&r, &c, 600, 0), GW_RL_PASS);
	assert_int_equal(gw_ratelimit_take(&r, &c, 400, 0), GW_RL_PASS);
	/* ...refused for messages: the bytes are kept (messages first). */
	assert_int_equal(gw_ratelimit_take(&r, &c, 2000, 0), GW_RL_MESSAGES);
	assert_int_equal(gw_ratelimit_take(&r, &c, 0, 999), GW_RL_MESSAGES);
	assert_int_equal(gw_ratelimit_take(&r, &c, 999, 1000), GW_RL_PASS);
	assert_int_equal(r.violations, 3);
}

/* The message bucket inside the budget behaves as gw_bucket_take. */
static void test_budget_messages_match_bucket(void **state)
{
	gw_config_t c = limits(3, 2, 1 << 30, 1 << 30, 1000000);
	gw_ratelimit_t r;
	gw_bucket_t b;
	uint64_t t;

	(void)state;
	gw_ratelimit_init(&r, &c, 5);
	gw_bucket_init(&b, 2, 5);
	for (t = 5; t < 5000; t += 7)
		assert_int_equal(gw_ratelimit_take(&r, &c, 10, t) == GW_RL_PASS,
				 gw_bucket_take(&b, 3, 2, t));
}

/* The largest rates and a long pause do not overflow (UBSan watches). */
static void test_budget_extremes(void **state)
{
	gw_config_t c = limits(1000000, 1000000, 1 << 30, 1 << 30, 100000);
	gw_ratelimit_t r;

	(void)state;
	gw_ratelimit_init(&r, &c, 0);
	assert_int_equal(gw_ratelimit_take(&r, &c, 1 << 30, 0), GW_RL_PASS);
	assert_int_equal(gw_ratelimit_take(&r, &c, 1, 0), GW_RL_BYTES);
	assert_int_equal(gw_ratelimit_take(&r, &c, 1 << 30, 4294967295u),
			 GW_RL_PASS);
	/* Larger than the burst: never passes, never overflows the cost. */
	assert_int_equal(gw_ratelimit_take(&r, &c, SIZE_MAX, 4294967295u),
			 GW_RL_BYTES);
}

/*
 * --rate-violations accepts up to GW_CONFIG_STRIKES_MAX (100,000); the
 * session's counter used to be 16 bits, so a limit above 65,535 never
 * closed anything. The count reaches the limit exactly, and stays there.
 */
static void test_violations_reach_large_limits(void **state)
{
	gw_config_t c = limits(1, 1, 1000, 1000, GW_CONFIG_STRIKES_MAX);
	gw_ratelimit_t r;
	long i;

	(void)state;
	gw_ratelimit_init(&r, &c, 0);
	assert_int_equal(gw_ratelimit_take(&r, &c, 1, 0), GW_RL_PASS);
	for (i = 1; i < GW_CONFIG_STRIKES_MAX; i++) {
		assert_int_equal(gw_ratelimit_take(&r, &c, 1, 0), GW_RL_MESSAGES);
		if (gw_ratelimit_exhausted(&r, &c))
			fail_msg("exhausted after %ld of %d", i,
				 GW_CONFIG_STRIKES_MAX);
	}
	assert_int_equal(gw_ratelimit_take(&r, &c, 1, 0), GW_RL_MESSAGES);
	assert_true(gw_ratelimit_exhausted(&r, &c));
	assert_int_equal(gw_ratelimit_take(&r, &c, 1, 0), GW_RL_MESSAGES);
	assert_int_equal(r.violations, GW_CONFIG_STRIKES_MAX);
	/* The counter's type can hold the largest limit the config takes. */
	r.violations = GW_CONFIG_STRIKES_MAX;
	assert_int_equal(r.violations, GW_CONFIG_STRIKES_MAX);
}

/* The bucket is what the header says: 8 bytes per connection. */
static void test_size(void **state)
{
	(void)state;
	assert_int_equal(sizeof(gw_bucket_t), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_deny),
		cmocka_unit_test(test_small_bucket),
		cmocka_unit_test(test_refill_exact),
		cmocka_unit_test(test_refill_accumulates_across_refusals),
		cmocka_unit_test(test_sustained_rate),
		cmocka_unit_test(test_cap_at_burst),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_clock_wrap),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_bytes_burst_then_deny),
		cmocka_unit_test(test_refusal_is_free),
		cmocka_unit_test(test_budget_messages_match_bucket),
		cmocka_unit_test(test_budget_extremes),
		cmocka_unit_test(test_violations_reach_large_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
