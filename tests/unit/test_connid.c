/*
 * test_connid.c — connection ids as text ("NODE.HEX"): format and parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_connid.h"

#include <string.h>

static void test_round_trip(void **state)
{
	char buf[GW_CONN_ID_MAX];
	const uint64_t ids[] = { 1, 0xabcdef, 0xa207235c0d00001ull, UINT64_MAX };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		gw_conn_id_format("node-1.eu", ids[i], buf);
		assert_int_equal(gw_conn_id_node_len(buf, strlen(buf)), strlen("node-1.eu"));
		assert_true(gw_conn_id_counter(buf, strlen(buf)) == ids[i]);
	}
	assert_string_equal(gw_conn_id_format("n1", 0x2a, buf), "n1.2a");
}

static void test_malformed(void **state)
{
	(void)state;
	assert_int_equal(gw_conn_id_node_len("nodot", 5), 0);
	assert_true(gw_conn_id_counter("nodot", 5) == 0);
	assert_true(gw_conn_id_counter("n1.", 3) == 0);
	assert_true(gw_conn_id_counter("n1.xyz", 6) == 0);
	assert_true(gw_conn_id_counter("n1.2A", 5) == 0);              /* ids are lower-case */
	assert_true(gw_conn_id_counter("n1.11111111111111111", 20) == 0); /* 17 digits */
	/* Only `len` bytes are read. */
	assert_true(gw_conn_id_counter("n1.2aXX", 5) == 0x2a);
}

/* A connection id names a node as well as a counter: "n9.2a" is not ours. */
static void test_local(void **state)
{
	(void)state;
	assert_true(gw_conn_id_local("n1", "n1.2a", 5) == 0x2a);
	assert_true(gw_conn_id_local("node-1.eu", "node-1.eu.1f", 12) == 0x1f);
	assert_true(gw_conn_id_local("n1", "n9.2a", 5) == 0);
	assert_true(gw_conn_id_local("n1", "n11.2a", 6) == 0);
	assert_true(gw_conn_id_local("n11", "n1.2a", 5) == 0);
	assert_true(gw_conn_id_local("n1", "2a", 2) == 0);
	assert_true(gw_conn_id_local("n1", "n1.", 3) == 0);
	assert_true(gw_conn_id_local("n1", "n1.xyz", 6) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
