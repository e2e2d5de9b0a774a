/*
 * test_userconns.c — the one user lookup's classification
 * (common/gw_userconns): live or gone, once per node, one connection only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_userconns.h"

#include <string.h>

#define S(x) { x, sizeof(x) - 1 }

static void test_live_gone_and_once_per_node(void **state)
{
	const gw_ustr_t conns[] = { S("n1.1"), S("ghost.2"), S("n1.3"), S("n2.a"),
				    S("nodot"), S("n2.xyz") };
	const gw_ustr_t live[] = { S("n2"), S("n1") };
	gw_user_conn_t e[6];
	size_t n;

	(void)state;
	n = gw_user_conns(conns, 6, live, 2, NULL, e);
	assert_int_equal(n, 4);               /* "nodot" and "n2.xyz" are no ids */
	assert_int_equal(gw_user_conns_live(e, n), 3);
	assert_true(e[0].live && e[0].first);
	assert_int_equal(e[0].node.len, 2);
	assert_false(e[1].live || e[1].first); /* ghost: no lease */
	assert_true(e[2].live && !e[2].first); /* n1 again: published once */
	assert_true(e[3].live && e[3].first);
	assert_memory_equal(e[3].node.str, "n2", 2);
}

static void test_only_one_connection(void **state)
{
	const gw_ustr_t conns[] = { S("n1.1"), S("n1.3"), S("ghost.2") };
	const gw_ustr_t live[] = { S("n1") };
	gw_user_conn_t e[3];

	(void)state;
	assert_int_equal(gw_user_conns(conns, 3, live, 1, "n1.3", e), 1);
	assert_true(e[0].live && e[0].first);
	assert_memory_equal(e[0].conn.str, "n1.3", 4);
	assert_int_equal(gw_user_conns(conns, 3, live, 1, "ghost.2", e), 1);
	assert_false(e[0].live);
	/* A prefix of an id is not that id. */
	assert_int_equal(gw_user_conns(conns, 3, live, 1, "n1.", e), 0);
	/* No live node at all: everything is gone. */
	assert_int_equal(gw_user_conns(conns, 3, live, 0, NULL, e), 3);
	assert_int_equal(gw_user_conns_live(e, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_gone_and_once_per_node),
		cmocka_unit_test(test_only_one_connection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
