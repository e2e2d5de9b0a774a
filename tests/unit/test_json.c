/*
 * test_json.c — unit tests for common/gw_json.c (counting JSON values
 * before parsing).
 *
 * The count must never be below what jansson allocates (it is an upper
 * bound callers refuse on), must ignore structure inside strings, must
 * stop early, and must read exactly `len` bytes (ASan watches the inputs,
 * which are copied to exact-size blocks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_json.h"

#include <stdlib.h>
#include <string.h>

static size_t count(const char *s, size_t max)
{
	size_t n = strlen(s), r;
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	memcpy(p, s, n);
	r = gw_json_count_values(p, n, max);
	free(p);
	return r;
}

static void test_counts(void **state)
{
	(void)state;
	assert_int_equal(count("", 100), 1);
	assert_int_equal(count("0", 100), 1);
	assert_int_equal(count("\"a,b[c{d\"", 100), 1);
	assert_int_equal(count("[1,2,3]", 100), 4);
	assert_int_equal(count("{\"a\":[1,2],\"b\":3}", 100), 5);
	/* Empty containers count one too many, never too few. */
	assert_int_equal(count("[[],{}]", 100), 5); /* 3 values */
	/* Escapes: \" does not end a string, \\ does not escape the quote. */
	assert_int_equal(count("[\"\\\",\",1]", 100), 3);
	assert_int_equal(count("[\"\\\\\",1]", 100), 3);
	/* Not validated: the parser refuses this, the count is just a bound. */
	assert_int_equal(count(",,,", 100), 4);
}

static void test_stops_past_max(void **state)
{
	(void)state;
	assert_int_equal(count("[1,2,3]", 4), 4);
	assert_int_equal(count("[1,2,3]", 3), 4);
	assert_int_equal(count("[1,2,3,4,5,6]", 2), 3);
	assert_int_equal(count("[1]", 0), 1);
}

/* A backslash as the last byte of a string at the end of input. */
static void test_reads_only_len(void **state)
{
	(void)state;
	assert_int_equal(count("\"\\", 10), 1);
	assert_int_equal(count("[\"", 10), 2);
	assert_int_equal(gw_json_count_values("[1,2]", 2, 10), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_stops_past_max),
		cmocka_unit_test(test_reads_only_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
