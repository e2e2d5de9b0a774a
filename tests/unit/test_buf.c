/*
 * test_buf.c — unit tests for common/gw_buf.c: reference counting, growth,
 * the JSON string escaper and the integer formatters, and the promise that
 * a failed append leaves the buffer exactly as it was.
 *
 * Escaped output is checked byte for byte where the spelling is fixed
 * (\" \\ \n \r \t), and by parsing it back with jansson (an independent
 * JSON implementation) for everything, so that "valid JSON that decodes
 * to the input" is what is tested, not one particular spelling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_alloc.h"
#include "gw_buf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- helpers ------------------------------------------------------------ */

static void assert_payload(gw_buf_t *b, const void *want, size_t n)
{
	assert_int_equal(b->len, n);
	assert_true(b->len <= b->cap);
	assert_memory_equal(gw_buf_data(b), want, n);
}

#define ASSERT_STR(b, s) assert_payload((b), (s), strlen(s))

/* The escaped form of s[0..n) as a fresh buffer. */
static gw_buf_t *escaped(const char *s, size_t n)
{
	gw_buf_t *b = gw_buf_new(0);

	assert_non_null(b);
	assert_int_equal(gw_buf_append_json_str(&b, s, n), GW_OK);
	return b;
}

/* Parses the buffer as a JSON string and checks it decodes to s[0..n). */
static void assert_roundtrip(gw_buf_t *b, const char *s, size_t n)
{
	json_error_t err;
	json_t *j = json_loadb((const char *)gw_buf_data(b), b->len,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

	if (!j)
		fail_msg("not JSON: %.*s (%s)", (int)b->len, (const char *)gw_buf_data(b),
			 err.text);
	assert_true(json_is_string(j));
	assert_int_equal(json_string_length(j), n);
	assert_memory_equal(json_string_value(j), s, n);
	json_decref(j);
}

static void check_escape(const char *in, size_t n, const char *want)
{
	gw_buf_t *b = escaped(in, n);

	ASSERT_STR(b, want);
	assert_roundtrip(b, in, n);
	gw_buf_unref(b);
}

#define CHECK_ESCAPE(lit, want) check_escape((lit), sizeof(lit) - 1, (want))

/* --- new / ref / unref ---------------------------------------------------- */

static void test_new(void **state)
{
	gw_buf_t *b = gw_buf_new(100);

	(void)state;
	assert_non_null(b);
	assert_int_equal(b->refs, 1);
	assert_int_equal(b->len, 0);
	assert_int_equal(b->cap, 100);
	assert_ptr_equal(gw_buf_data(b), b->mem + GW_BUF_HEADROOM);
	/* The headroom and the whole capacity are writable (ASan checks). */
	memset(b->mem, 'h', GW_BUF_HEADROOM);
	memset(gw_buf_data(b), 'p', 100);
	gw_buf_unref(b);

	b = gw_buf_new(0);
	assert_non_null(b);
	assert_int_equal(b->cap, 0);
	memset(b->mem, 'h', GW_BUF_HEADROOM);
	gw_buf_unref(b);
}

static void test_new_too_big(void **state)
{
	(void)state;
	assert_null(gw_buf_new((size_t)UINT32_MAX));
	assert_null(gw_buf_new((size_t)UINT32_MAX - GW_BUF_HEADROOM + 1));
	assert_null(gw_buf_new(SIZE_MAX));
}

static void test_new_alloc_failure(void **state)
{
	(void)state;
	gw_alloc_fail_after(0);
	assert_null(gw_buf_new(10));
	gw_alloc_fail_after(-1);
}

static void test_refcount(void **state)
{
	gw_buf_t *b = gw_buf_new(8);

	(void)state;
	assert_ptr_equal(gw_buf_ref(b), b);
	assert_int_equal(b->refs, 2);
	assert_ptr_equal(gw_buf_ref(b), b);
	assert_int_equal(b->refs, 3);
	gw_buf_unref(b);
	assert_int_equal(b->refs, 2);
	gw_buf_unref(b);
	assert_int_equal(b->refs, 1);
	/* Still alive and usable by the last holder (ASan: no use after free). */
	assert_int_equal(gw_buf_append_str(&b, "ok"), GW_OK);
	ASSERT_STR(b, "ok");
	gw_buf_unref(b); /* freed here; LeakSanitizer would report otherwise */
	gw_buf_unref(NULL);
}

/* Many holders, released in any order: one free, at the last unref. */
static void test_refcount_many(void **state)
{
	gw_buf_t *b = gw_buf_new(4);
	int i;

	(void)state;
	for (i = 0; i < 1000; i++)
		gw_buf_ref(b);
	assert_int_equal(b->refs, 1001);
	for (i = 0; i < 1000; i++)
		gw_buf_unref(b);
	assert_int_equal(b->refs, 1);
	gw_buf_unref(b);
}

/* --- append --------------------------------------------------------------- */

static void test_append_basic(void **state)
{
	gw_buf_t *b = gw_buf_new(4);

	(void)state;
	assert_int_equal(gw_buf_append(&b, "ab", 2), GW_OK);
	assert_int_equal(gw_buf_append(&b, "", 0), GW_OK);
	assert_int_equal(gw_buf_append_str(&b, "cd"), GW_OK);
	ASSERT_STR(b, "abcd");
	assert_int_equal(b->cap, 4); /* filled exactly, no growth yet */
	assert_int_equal(gw_buf_append(&b, "\0e", 2), GW_OK); /* bytes, not C strings */
	assert_payload(b, "abcd\0e", 6);
	assert_true(b->cap >= 6);
	assert_int_equal(b->refs, 1);
	gw_buf_unref(b);
}

/* Growth by many small appends and by one large one keeps every byte. */
static void test_append_growth(void **state)
{
	const size_t n = 200000;
	unsigned char *want = malloc(n);
	gw_buf_t *b = gw_buf_new(0);
	size_t i, grows = 0;
	uint32_t cap = b->cap;

	(void)state;
	assert_non_null(want);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)(i * 7 + 3);

		want[i] = c;
		assert_int_equal(gw_buf_append(&b, &c, 1), GW_OK);
		if (b->cap != cap) {
			grows++;
			cap = b->cap;
		}
	}
	assert_payload(b, want, n);
	/* Geometric growth: a handful of reallocations, not one per byte. */
	assert_true(grows < 20);
	gw_buf_unref(b);

	b = gw_buf_new(1);
	assert_int_equal(gw_buf_append(&b, want, n), GW_OK);
	assert_payload(b, want, n);
	assert_int_equal(gw_buf_append(&b, want, n), GW_OK);
	assert_int_equal(b->len, 2 * n);
	assert_memory_equal(gw_buf_data(b) + n, want, n);
	gw_buf_unref(b);
	free(want);
}

/* Lengths past the 4 GiB bound are refused before anything is read. */
static void test_append_too_big(void **state)
{
	gw_buf_t *b = gw_buf_new(8);
	const char dummy[1] = { 'x' };

	(void)state;
	assert_int_equal(gw_buf_append_str(&b, "keep"), GW_OK);
	assert_int_equal(gw_buf_append(&b, dummy, (size_t)UINT32_MAX), GW_ETOOBIG);
	assert_int_equal(gw_buf_append(&b, dummy, (size_t)UINT32_MAX - 8), GW_ETOOBIG);
	assert_int_equal(gw_buf_append_json_str(&b, dummy, (size_t)1 << 31), GW_ETOOBIG);
	ASSERT_STR(b, "keep");
	gw_buf_unref(b);
}

/* --- JSON strings --------------------------------------------------------- */

static void test_json_plain(void **state)
{
	(void)state;
	CHECK_ESCAPE("", "\"\"");
	CHECK_ESCAPE("alice", "\"alice\"");
	CHECK_ESCAPE("a b/c:d'e", "\"a b/c:d'e\"");
	/* Only the first n bytes are used; the rest need not be a string. */
	check_escape("abcdef", 3, "\"abc\"");
}

static void test_json_specials(void **state)
{
	(void)state;
	CHECK_ESCAPE("\"", "\"\\\"\"");
	CHECK_ESCAPE("\\", "\"\\\\\"");
	CHECK_ESCAPE("a\"b\\c", "\"a\\\"b\\\\c\"");
	CHECK_ESCAPE("\n", "\"\\n\"");
	CHECK_ESCAPE("\r", "\"\\r\"");
	CHECK_ESCAPE("\t", "\"\\t\"");
	CHECK_ESCAPE("l1\r\nl2\tx", "\"l1\\r\\nl2\\tx\"");
	CHECK_ESCAPE("\\\"\\\"", "\"\\\\\\\"\\\\\\\"\"");
}

/* Every other control character becomes \u00XX (either hex case). */
static void test_json_control_chars(void **state)
{
	int c;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		char in[1] = { (char)c }, want[16];
		gw_buf_t *b;

		if (c == '\n' || c == '\r' || c == '\t')
			continue;
		b = escaped(in, 1);
		snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		assert_int_equal(b->len, 8);
		if (strncasecmp((const char *)gw_buf_data(b), want, 8) != 0)
			fail_msg("byte 0x%02x escaped as %.*s", c, (int)b->len,
				 (const char *)gw_buf_data(b));
		assert_roundtrip(b, in, 1);
		gw_buf_unref(b);
	}
	/* NUL inside the input is data, not the end. */
	check_escape("a\0b", 3, "\"a\\u0000b\"");
}

/* Printable ASCII (DEL included) passes through unchanged, except " and \. */
static void test_json_ascii_passthrough(void **state)
{
	char in[0x80 - 0x20];
	gw_buf_t *b;
	size_t i, n = 0;

	(void)state;
	for (i = 0x20; i < 0x80; i++)
		if (i != '"' && i != '\\')
			in[n++] = (char)i;
	b = escaped(in, n);
	assert_int_equal(b->len, n + 2);
	assert_memory_equal(gw_buf_data(b) + 1, in, n);
	assert_roundtrip(b, in, n);
	gw_buf_unref(b);
}

/* UTF-8 (2, 3 and 4-byte sequences, U+2028) is passed through byte for byte. */
static void test_json_utf8(void **state)
{
	static const char s[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8 "
				"\xe4\xb8\xad\xe6\x96\x87";
	gw_buf_t *b = escaped(s, sizeof(s) - 1);

	(void)state;
	assert_int_equal(b->len, sizeof(s) - 1 + 2);
	assert_memory_equal(gw_buf_data(b) + 1, s, sizeof(s) - 1);
	assert_roundtrip(b, s, sizeof(s) - 1);
	gw_buf_unref(b);
}

/* Every byte value at once, worst case growth included. */
static void test_json_all_bytes_and_worst_case(void **state)
{
	char ctl[0x20 * 8];
	gw_buf_t *b = gw_buf_new(0);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ctl); i++)
		ctl[i] = (char)(i % 0x20 == '\n' ? 1 : i % 0x20); /* mostly \u00XX */
	assert_int_equal(gw_buf_append_json_str(&b, ctl, sizeof(ctl)), GW_OK);
	assert_roundtrip(b, ctl, sizeof(ctl));
	gw_buf_unref(b);

	/* Appended after existing content, into a buffer sized just short. */
	b = gw_buf_new(3);
	assert_int_equal(gw_buf_append_str(&b, "ab:"), GW_OK);
	assert_int_equal(gw_buf_append_json_str(&b, "\x01\x02\"", 3), GW_OK);
	assert_int_equal(b->len, 3 + 2 + 6 + 6 + 2);
	assert_memory_equal(gw_buf_data(b), "ab:\"", 4);
	gw_buf_unref(b);
}

/* --- integers ------------------------------------------------------------- */

static void check_u64(uint64_t v, const char *want)
{
	gw_buf_t *b = gw_buf_new(0);

	assert_int_equal(gw_buf_append_u64(&b, v), GW_OK);
	ASSERT_STR(b, want);
	gw_buf_unref(b);
}

static void check_i64(int64_t v, const char *want)
{
	gw_buf_t *b = gw_buf_new(0);

	assert_int_equal(gw_buf_append_i64(&b, v), GW_OK);
	ASSERT_STR(b, want);
	gw_buf_unref(b);
}

static void test_u64(void **state)
{
	(void)state;
	check_u64(0, "0");
	check_u64(1, "1");
	check_u64(9, "9");
	check_u64(10, "10");
	check_u64(100, "100");
	check_u64(4294967295u, "4294967295");
	check_u64(4294967296u, "4294967296");
	check_u64((uint64_t)INT64_MAX + 1, "9223372036854775808");
	check_u64(10000000000000000000u, "10000000000000000000");
	check_u64(UINT64_MAX, "18446744073709551615");
}

static void test_i64(void **state)
{
	(void)state;
	check_i64(0, "0");
	check_i64(7, "7");
	check_i64(-1, "-1");
	check_i64(-10, "-10");
	check_i64(INT32_MIN, "-2147483648");
	check_i64(INT64_MAX, "9223372036854775807");
	check_i64(INT64_MIN + 1, "-9223372036854775807");
	check_i64(INT64_MIN, "-9223372036854775808");
}

/* Numbers append after existing content and compose. */
static void test_numbers_compose(void **state)
{
	gw_buf_t *b = gw_buf_new(2);

	(void)state;
	assert_int_equal(gw_buf_append_str(&b, "["), GW_OK);
	assert_int_equal(gw_buf_append_i64(&b, INT64_MIN), GW_OK);
	assert_int_equal(gw_buf_append_str(&b, ","), GW_OK);
	assert_int_equal(gw_buf_append_u64(&b, UINT64_MAX), GW_OK);
	assert_int_equal(gw_buf_append_str(&b, "]"), GW_OK);
	ASSERT_STR(b, "[-9223372036854775808,18446744073709551615]");
	gw_buf_unref(b);
}

/* --- allocation failure --------------------------------------------------- */

/* Snapshot of a buffer, to show a failed append changed nothing. */
typedef struct {
	gw_buf_t *ptr;
	uint32_t len, cap, refs;
	unsigned char bytes[64];
} snap_t;

static snap_t snap(gw_buf_t *b)
{
	snap_t s = { b, b->len, b->cap, b->refs, { 0 } };

	assert_true(b->len <= sizeof(s.bytes));
	memcpy(s.bytes, gw_buf_data(b), b->len);
	return s;
}

static void assert_unchanged(gw_buf_t *b, const snap_t *s)
{
	assert_ptr_equal(b, s->ptr);
	assert_int_equal(b->len, s->len);
	assert_int_equal(b->cap, s->cap);
	assert_int_equal(b->refs, s->refs);
	assert_memory_equal(gw_buf_data(b), s->bytes, s->len);
}

/* Each appender, into a full buffer with allocation failing: no change. */
static void test_oom_leaves_buffer_unchanged(void **state)
{
	gw_buf_t *b = gw_buf_new(4);
	snap_t s;

	(void)state;
	assert_int_equal(gw_buf_append_str(&b, "abcd"), GW_OK);
	s = snap(b);
	gw_alloc_fail_after(0);
	assert_int_equal(gw_buf_append(&b, "efgh", 4), GW_ENOMEM);
	assert_unchanged(b, &s);
	assert_int_equal(gw_buf_append_str(&b, "x"), GW_ENOMEM);
	assert_unchanged(b, &s);
	assert_int_equal(gw_buf_append_json_str(&b, "q\"", 2), GW_ENOMEM);
	assert_unchanged(b, &s);
	assert_int_equal(gw_buf_append_json_str(&b, "", 0), GW_ENOMEM);
	assert_unchanged(b, &s);
	assert_int_equal(gw_buf_append_u64(&b, 12345), GW_ENOMEM);
	assert_unchanged(b, &s);
	assert_int_equal(gw_buf_append_i64(&b, 42), GW_ENOMEM);
	assert_unchanged(b, &s);
	assert_int_equal(gw_buf_append_i64(&b, -42), GW_ENOMEM);
	assert_unchanged(b, &s);
	/* Appends that fit need no memory and still work. */
	assert_int_equal(gw_buf_append(&b, "", 0), GW_OK);
	gw_alloc_fail_after(-1);
	/* And with memory back, the same append succeeds. */
	assert_int_equal(gw_buf_append(&b, "efgh", 4), GW_OK);
	ASSERT_STR(b, "abcdefgh");
	gw_buf_unref(b);
}

/*
 * A negative number into a buffer with room for the '-' but not for the
 * digits: the sign must not be left behind when the digits cannot be added
 * ("On failure the buffer is unchanged", gw_buf.h).
 */
static void test_oom_negative_number_partial(void **state)
{
	gw_buf_t *b = gw_buf_new(5);
	uint32_t len;
	int rc;

	(void)state;
	assert_int_equal(gw_buf_append_str(&b, "n:"), GW_OK);
	gw_alloc_fail_after(0);
	rc = gw_buf_append_i64(&b, INT64_MIN); /* 20 bytes: must grow */
	gw_alloc_fail_after(-1);
	len = b->len;
	gw_buf_unref(b); /* before asserting, so a failure leaks nothing */
	assert_int_equal(rc, GW_ENOMEM);
	if (len != 2)
		fail_msg("failed append left %u bytes instead of 2 (a stray '-')", len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new),
		cmocka_unit_test(test_new_too_big),
		cmocka_unit_test(test_new_alloc_failure),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_refcount_many),
		cmocka_unit_test(test_append_basic),
		cmocka_unit_test(test_append_growth),
		cmocka_unit_test(test_append_too_big),
		cmocka_unit_test(test_json_plain),
		cmocka_unit_test(test_json_specials),
		cmocka_unit_test(test_json_control_chars),
		cmocka_unit_test(test_json_ascii_passthrough),
		cmocka_unit_test(test_json_utf8),
		cmocka_unit_test(test_json_all_bytes_and_worst_case),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_i64),
		cmocka_unit_test(test_numbers_compose),
		cmocka_unit_test(test_oom_leaves_buffer_unchanged),
		cmocka_unit_test(test_oom_negative_number_partial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
