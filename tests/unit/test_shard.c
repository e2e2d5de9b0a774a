/*
 * test_shard.c — the shard list and the placement function
 * (common/gw_shard): known values of the documented function (also
 * computed by tests/e2e/test_shards.py's Python copy), stability when a
 * shard is added, and the list's grammar.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_common.h"
#include "gw_shard.h"

#include <stdio.h>
#include <string.h>

static void test_known_values(void **state)
{
	(void)state;
	/* fmix64(fnv1a64(name)), documented in gw_shard.h. */
	assert_true(gw_shard_hash("", 0) == 0xefd01f60ba992926ULL);
	assert_true(gw_shard_hash("chess", 5) == 0xa559d824135e9720ULL);
	assert_true(gw_shard_hash("alice", 5) == 0x3507d047a67c08f4ULL);
	assert_int_equal(gw_shard_of("chess", 5, 1), 0);
	assert_int_equal(gw_shard_of("chess", 5, 2), 0);
	assert_int_equal(gw_shard_of("chess", 5, 3), 2);
	assert_int_equal(gw_shard_of("chess", 5, 4), 3);
	assert_int_equal(gw_shard_of("chess", 5, 16), 9);
	assert_int_equal(gw_shard_of("go", 2, 3), 0);
	assert_int_equal(gw_shard_of("go", 2, 16), 5);
	assert_int_equal(gw_shard_of("alice", 5, 4), 3);
	assert_int_equal(gw_shard_of("lobby-42", 8, 3), 1);
	assert_int_equal(gw_shard_of("chessXX", 5, 3), 2); /* only `len` bytes */
}

/* 3 → 4 shards moves about a quarter of 1000 names, every one to the new
 * shard; the 3 old shards each get about a third. */
static void test_adding_a_shard(void **state)
{
	size_t moved = 0, per[3] = { 0 }, i;
	char name[32];

	(void)state;
	for (i = 0; i < 1000; i++) {
		int n = snprintf(name, sizeof(name), "lobby-%zu", i);
		uint32_t a = gw_shard_of(name, (size_t)n, 3), b = gw_shard_of(name, (size_t)n, 4);

		assert_true(a < 3 && b < 4);
		per[a]++;
		if (a != b) {
			moved++;
			assert_int_equal(b, 3);
		}
	}
	assert_in_range(moved, 200, 300);
	for (i = 0; i < 3; i++)
		assert_in_range(per[i], 280, 390);
}

static void test_list(void **state)
{
	static gw_shard_list_t l;
	char err[300];

	(void)state;
	assert_int_equal(gw_shard_list_parse("redis://127.0.0.1:6379", &l, err, sizeof(err)),
			 GW_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.url[0], "redis://127.0.0.1:6379");
	assert_int_equal(gw_shard_list_parse("  redis://a:1 \tunix:///tmp/r.sock?db=2\n"
					     "sentinel://s1,s2/m  ", &l, err, sizeof(err)), GW_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.url[1], "unix:///tmp/r.sock?db=2");
	assert_string_equal(l.url[2], "sentinel://s1,s2/m");
	assert_int_equal(gw_shard_list_parse(" ", &l, err, sizeof(err)), GW_EINVAL);
	assert_int_equal(gw_shard_list_parse("redis://a:1 http://b", &l, err, sizeof(err)),
			 GW_EINVAL);
	assert_non_null(strstr(err, "shard 1"));
	assert_int_equal(gw_shard_list_parse("redis://a redis://a redis://a redis://a "
					     "redis://a redis://a redis://a redis://a "
					     "redis://a redis://a redis://a redis://a "
					     "redis://a redis://a redis://a redis://a "
					     "redis://a", &l, err, sizeof(err)), GW_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_adding_a_shard),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
