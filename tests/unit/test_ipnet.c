/*
 * test_ipnet.c — gw_ipnet: address grammar (with the brackets and ports
 * X-Forwarded-For entries carry), CIDR lists, matching, loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "gw_ipnet.h"

static gw_ip_t ip(const char *s)
{
	gw_ip_t a;

	assert_int_equal(gw_ip_parse(s, strlen(s), &a), GW_OK);
	return a;
}

static void test_parse_and_format(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "10.1.2.3", "10.1.2.3" },       { " 10.1.2.3\t", "10.1.2.3" },
		{ "10.1.2.3:8080", "10.1.2.3" },  { "::1", "::1" },
		{ "[2001:db8::1]", "2001:db8::1" }, { "[2001:db8::1]:443", "2001:db8::1" },
		{ "::ffff:10.1.2.3", "10.1.2.3" }, { "2001:DB8::1", "2001:db8::1" },
	};
	static const char *const bad[] = { "", " ", "10.1.2", "10.1.2.300", "10.1.2.3:",
					   "10.1.2.3:123456", "10.1.2.3:x", "[10.1.2.3]",
					   "[::1", "[::1]x", "example.com", "unknown",
					   "10.1.2.3/8", "1.2.3.4, 5.6.7.8" };
	char text[GW_IP_TEXT_MAX];
	gw_ip_t a;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		a = ip(ok[i].in);
		gw_ip_format(&a, text);
		assert_string_equal(text, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gw_ip_parse(bad[i], strlen(bad[i]), &a), GW_EINVAL);
	/* Only `len` bytes are read: a slice of a longer header. */
	assert_int_equal(gw_ip_parse("10.0.0.1,10.0.0.2", 8, &a), GW_OK);
	gw_ip_format(&a, text);
	assert_string_equal(text, "10.0.0.1");
}

static void test_lists_and_match(void **state)
{
	gw_ipnet_t list[GW_IPNET_MAX];
	size_t n = 99;
	gw_ip_t a;

	(void)state;
	assert_int_equal(gw_ipnet_parse_list("", list, GW_IPNET_MAX, &n), GW_OK);
	assert_int_equal(n, 0);
	a = ip("10.0.0.1");
	assert_false(gw_ipnet_match(list, n, &a));

	assert_int_equal(gw_ipnet_parse_list("10.0.0.0/8, 192.168.1.7 fd00::/8,,", list,
					     GW_IPNET_MAX, &n), GW_OK);
	assert_int_equal(n, 3);
	a = ip("10.255.0.1");
	assert_true(gw_ipnet_match(list, n, &a));
	a = ip("11.0.0.1");
	assert_false(gw_ipnet_match(list, n, &a));
	a = ip("192.168.1.7");
	assert_true(gw_ipnet_match(list, n, &a));
	a = ip("192.168.1.8");
	assert_false(gw_ipnet_match(list, n, &a));
	a = ip("fdab::1");
	assert_true(gw_ipnet_match(list, n, &a));
	a = ip("fe00::1");
	assert_false(gw_ipnet_match(list, n, &a));
	/* An IPv4 network never matches a non-mapped IPv6 address. */
	assert_int_equal(gw_ipnet_parse_list("0.0.0.0/0", list, GW_IPNET_MAX, &n), GW_OK);
	a = ip("2001:db8::1");
	assert_false(gw_ipnet_match(list, n, &a));
	a = ip("1.2.3.4");
	assert_true(gw_ipnet_match(list, n, &a));
	/* Odd prefix lengths. */
	assert_int_equal(gw_ipnet_parse_list("10.0.0.128/25", list, GW_IPNET_MAX, &n), GW_OK);
	a = ip("10.0.0.200");
	assert_true(gw_ipnet_match(list, n, &a));
	a = ip("10.0.0.127");
	assert_false(gw_ipnet_match(list, n, &a));

	/* Host bits set, bad lengths, names: refused. */
	assert_int_equal(gw_ipnet_parse_list("10.0.0.1/8", NULL, 0, NULL), GW_EINVAL);
	assert_int_equal(gw_ipnet_parse_list("10.0.0.0/33", NULL, 0, NULL), GW_EINVAL);
	assert_int_equal(gw_ipnet_parse_list("::/129", NULL, 0, NULL), GW_EINVAL);
	assert_int_equal(gw_ipnet_parse_list("10.0.0.0/", NULL, 0, NULL), GW_EINVAL);
	assert_int_equal(gw_ipnet_parse_list("10.0.0.0/-1", NULL, 0, NULL), GW_EINVAL);
	assert_int_equal(gw_ipnet_parse_list("lb.example", NULL, 0, NULL), GW_EINVAL);
	/* Too many entries. */
	assert_int_equal(gw_ipnet_parse_list("1.1.1.1,2.2.2.2,3.3.3.3", list, 2, &n), GW_EFULL);
}

static void test_loopback(void **state)
{
	gw_ip_t a;

	(void)state;
	a = ip("127.0.0.1");
	assert_true(gw_ip_is_loopback(&a));
	a = ip("127.9.9.9");
	assert_true(gw_ip_is_loopback(&a));
	a = ip("::1");
	assert_true(gw_ip_is_loopback(&a));
	a = ip("0.0.0.0");
	assert_false(gw_ip_is_loopback(&a));
	a = ip("::");
	assert_false(gw_ip_is_loopback(&a));
	a = ip("128.0.0.1");
	assert_false(gw_ip_is_loopback(&a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_format),
		cmocka_unit_test(test_lists_and_match),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
