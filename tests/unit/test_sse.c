/*
 * test_sse.c — unit tests for gateway/core/gw_sse.c: the event layout of
 * a frame (the id: line only for a top-level "offset", one data: line
 * whatever the frame holds) and the reading of Last-Event-ID, where what
 * cannot be read refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_buf.h"
#include "gw_sse.h"

#include <stdlib.h>
#include <string.h>

static size_t offset(const char *s, char *out)
{
	size_t n = strlen(s), r;
	unsigned char *p = malloc(n ? n : 1); /* exact size: ASan watches */

	assert_non_null(p);
	memcpy(p, s, n);
	r = gw_sse_frame_offset(p, n, out);
	free(p);
	return r;
}

static void test_offset(void **state)
{
	char id[GW_SSE_ID_MAX + 1];

	(void)state;
	assert_int_equal(offset("{\"type\":\"message\",\"offset\":42,\"data\":1}", id), 2);
	assert_string_equal(id, "42");
	assert_int_equal(offset("{\"data\":{\"offset\":7},\"offset\":9}", id), 1);
	assert_string_equal(id, "9");
	assert_int_equal(offset("{ \"offset\" : 18446744073709551615 }", id), 20);
	/* Nested, inside strings, absent, not a number, malformed: none. */
	assert_int_equal(offset("{\"data\":{\"offset\":7}}", id), 0);
	assert_int_equal(offset("{\"data\":[\"},\\\"offset\\\":1\"]}", id), 0);
	assert_int_equal(offset("{\"type\":\"welcome\"}", id), 0);
	assert_int_equal(offset("{\"offset\":\"3\"}", id), 0);
	assert_int_equal(offset("{\"offset\":-3}", id), 0);
	assert_int_equal(offset("{\"offset\":123456789012345678901}", id), 0);
	assert_int_equal(offset("{\"a\":1", id), 0);
	assert_int_equal(offset("", id), 0);
	assert_int_equal(offset("[1]", id), 0);
}

static void event(const char *frame, const char *want)
{
	const gw_session_writer_t *w = &gw_sse_writer;
	gw_buf_t *b = gw_buf_new(strlen(frame));
	unsigned char *out;
	size_t n;

	assert_non_null(b);
	assert_int_equal(gw_buf_append_str(&b, frame), 0);
	out = malloc(b->len + w->overhead);
	assert_non_null(out);
	n = w->frame(b, out);
	assert_true(n <= b->len + w->overhead);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	free(out);
	gw_buf_unref(b);
}

static void test_frame(void **state)
{
	(void)state;
	event("{\"type\":\"welcome\"}", "data: {\"type\":\"welcome\"}\n\n");
	event("{\"offset\":5,\"data\":\"x\"}", "id: 5\ndata: {\"offset\":5,\"data\":\"x\"}\n\n");
	/* Raw line breaks (whitespace in JSON) cannot split the event. */
	event("{\"a\":\r\n1}", "data: {\"a\":  1}\n\n");
	event("{\"offset\":18446744073709551615}",
	      "id: 18446744073709551615\ndata: {\"offset\":18446744073709551615}\n\n");
}

static void test_last_event_id(void **state)
{
	uint64_t v = 1;

	(void)state;
	assert_int_equal(gw_sse_parse_last_event_id("0", 1, &v), 0);
	assert_true(v == 0);
	assert_int_equal(gw_sse_parse_last_event_id("18446744073709551615", 20, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(gw_sse_parse_last_event_id("18446744073709551616", 20, &v), GW_EINVAL);
	assert_int_equal(gw_sse_parse_last_event_id("", 0, &v), GW_EINVAL);
	assert_int_equal(gw_sse_parse_last_event_id("12x", 3, &v), GW_EINVAL);
	assert_int_equal(gw_sse_parse_last_event_id("-1", 2, &v), GW_EINVAL);
	assert_int_equal(gw_sse_parse_last_event_id(" 1", 2, &v), GW_EINVAL);
	assert_int_equal(gw_sse_parse_last_event_id("000000000000000000001", 21, &v),
			 GW_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offset),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_last_event_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
