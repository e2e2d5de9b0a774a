/*
 * test_keys.c — Redis key and channel names (common/gw_keys), and the one
 * Redis URL parser (common/gw_redis_url).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_common.h"
#include "gw_keys.h"
#include "gw_redis_url.h"

#include <string.h>

static void test_names(void **state)
{
	gw_keys_t k;
	char out[GW_KEY_MAX];

	(void)state;
	assert_int_equal(gw_keys_init(&k, "gw"), GW_OK);
	assert_int_equal(gw_key_total(&k, out), 10);
	assert_string_equal(out, "{gw}:total");
	gw_key_nodes(&k, out);
	assert_string_equal(out, "{gw}:nodes");
	gw_key_lobbies(&k, out);
	assert_string_equal(out, "{gw}:lobbies");
	gw_key_inbound(&k, out);
	assert_string_equal(out, "{gw}:inbound");
	gw_key_node(&k, "n1", 2, out);
	assert_string_equal(out, "{gw}:node:n1");
	gw_key_node_conns(&k, "n1", 2, out);
	assert_string_equal(out, "{gw}:node:n1:conns");
	gw_key_lobby(&k, "chessXX", 5, out);   /* only `len` bytes */
	assert_string_equal(out, "{gw}:lobby:chess");
	gw_key_user(&k, "alice", 5, out);
	assert_string_equal(out, "{gw}:user:alice");
	gw_key_held(&k, "chess", 5, out);
	assert_string_equal(out, "{gw}:held:chess");
	gw_ch_lobby(&k, "chess", 5, out);
	assert_string_equal(out, "{gw}:ch:lobby:chess");
	gw_ch_node(&k, "n1", 2, out);
	assert_string_equal(out, "{gw}:ch:node:n1");
	gw_ch_cluster(&k, out);
	assert_string_equal(out, "{gw}:ch:cluster");
	gw_ch_probe(&k, "n1", 2, out);
	assert_string_equal(out, "{gw}:ch:probe:n1");
}

static void test_lobby_of_channel(void **state)
{
	gw_keys_t k;
	char out[GW_KEY_MAX];
	size_t len = 0;
	const char *l;
	int n;

	(void)state;
	gw_keys_init(&k, "app");
	n = gw_ch_lobby(&k, "a:b", 3, out);
	l = gw_ch_lobby_name(&k, out, (size_t)n, &len);
	assert_non_null(l);
	assert_int_equal(len, 3);
	assert_memory_equal(l, "a:b", 3);
	assert_null(gw_ch_lobby_name(&k, "{app}:ch:node:x", 15, &len));
	assert_null(gw_ch_lobby_name(&k, "{gw}:ch:lobby:x", 15, &len));
	assert_null(gw_ch_lobby_name(&k, "{app}:ch:lobby:", 15, &len));
}

static void test_bounds(void **state)
{
	gw_keys_t k;
	char out[GW_KEY_MAX], big[GW_KEY_MAX];
	char prefix[70];

	(void)state;
	memset(prefix, 'p', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	assert_int_equal(gw_keys_init(&k, prefix), GW_EINVAL);   /* 69 bytes */
	assert_int_equal(gw_keys_init(&k, ""), GW_EINVAL);
	prefix[64] = '\0';
	assert_int_equal(gw_keys_init(&k, prefix), GW_OK);
	memset(big, 'x', sizeof(big));
	/* A name that does not fit is refused, never truncated. */
	assert_int_equal(gw_key_lobby(&k, big, sizeof(big), out), GW_ETOOBIG);
	assert_int_equal(gw_key_node_conns(&k, big, GW_KEY_MAX - 66 - 7, out), GW_ETOOBIG);
	assert_true(gw_key_user(&k, big, 256, out) > 0);         /* the longest user id fits */
	assert_true(gw_ch_lobby(&k, big, 256, out) > 0);
}

static void test_url_ok(void **state)
{
	gw_redis_url_t u;
	char err[200];

	(void)state;
	assert_int_equal(gw_redis_url_parse("redis://127.0.0.1:6380/2", &u, err, sizeof(err)), GW_OK);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 2);
	assert_string_equal(u.user, "");
	assert_int_equal(gw_redis_url_parse("redis://h", &u, err, sizeof(err)), GW_OK);
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 0);
	assert_int_equal(gw_redis_url_parse("redis://sec@h/", &u, err, sizeof(err)), GW_OK);
	assert_string_equal(u.pass, "sec");
	assert_string_equal(u.user, "");
	/* The user ends at the first ':', userinfo at the last '@'. */
	assert_int_equal(gw_redis_url_parse("redis://gw:p:a@ss@h:1", &u, err, sizeof(err)), GW_OK);
	assert_string_equal(u.user, "gw");
	assert_string_equal(u.pass, "p:a@ss");
	assert_string_equal(u.host, "h");
	assert_int_equal(u.port, 1);
	assert_int_equal(gw_redis_url_parse("unix:///run/redis.sock?db=3", &u, err, sizeof(err)), GW_OK);
	assert_string_equal(u.path, "/run/redis.sock");
	assert_int_equal(u.db, 3);
}

static void test_url_refused(void **state)
{
	static const char *bad[] = {
		"", "http://h", "redis://", "redis://:6379", "redis://h:0", "redis://h:65536",
		"redis://h:12x", "redis://h/-1", "redis://h/1x", "redis://u:p@", "unix://",
		"unix:///", "unix:///s?db=x", "unix:///s?x=1", "redis://h:99999999999",
	};
	gw_redis_url_t u;
	char err[200], url[600];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_not_equal(gw_redis_url_parse(bad[i], &u, err, sizeof(err)), GW_OK);
		assert_non_null(strstr(err, "redis://"));
	}
	/* Too long is refused, and the password never reaches the message. */
	strcpy(url, "redis://u:");
	memset(url + 10, 's', 300);
	strcpy(url + 310, "@h");
	assert_int_equal(gw_redis_url_parse(url, &u, err, sizeof(err)), GW_ETOOBIG);
	assert_null(strstr(err, "sss"));
	assert_int_equal(gw_redis_url_parse(NULL, &u, err, sizeof(err)), GW_EINVAL);
}

static void test_url_sentinel(void **state)
{
	gw_redis_url_t u;
	char err[200];

	(void)state;
	assert_int_equal(gw_redis_url_parse("sentinel://gw:pw@s1:26380,s2,10.0.0.3:5000/mymaster/4"
					    "?sentinel_password=sp&sentinel_user=su",
					    &u, err, sizeof(err)), GW_OK);
	assert_true(u.sentinel);
	assert_int_equal(u.nsentinels, 3);
	assert_string_equal(u.sentinels[0].host, "s1");
	assert_int_equal(u.sentinels[0].port, 26380);
	assert_string_equal(u.sentinels[1].host, "s2");
	assert_int_equal(u.sentinels[1].port, 26379);
	assert_string_equal(u.sentinels[2].host, "10.0.0.3");
	assert_int_equal(u.sentinels[2].port, 5000);
	assert_string_equal(u.master, "mymaster");
	assert_int_equal(u.db, 4);
	assert_string_equal(u.user, "gw");
	assert_string_equal(u.pass, "pw");
	assert_string_equal(u.sentinel_user, "su");
	assert_string_equal(u.sentinel_pass, "sp");
	assert_string_equal(u.host, "");
	assert_int_equal(gw_redis_url_parse("sentinel://h/m", &u, err, sizeof(err)), GW_OK);
	assert_int_equal(u.db, 0);
	assert_string_equal(u.master, "m");

	assert_int_not_equal(gw_redis_url_parse("sentinel://h", &u, err, sizeof(err)), GW_OK);
	assert_int_not_equal(gw_redis_url_parse("sentinel:///m", &u, err, sizeof(err)), GW_OK);
	assert_int_not_equal(gw_redis_url_parse("sentinel://h,/m", &u, err, sizeof(err)), GW_OK);
	assert_int_not_equal(gw_redis_url_parse("sentinel://h/", &u, err, sizeof(err)), GW_OK);
	assert_int_not_equal(gw_redis_url_parse("sentinel://h:0/m", &u, err, sizeof(err)), GW_OK);
	assert_int_not_equal(gw_redis_url_parse("sentinel://h/m/x", &u, err, sizeof(err)), GW_OK);
	assert_int_not_equal(gw_redis_url_parse("sentinel://h/m?other=1", &u, err, sizeof(err)), GW_OK);
	assert_int_not_equal(gw_redis_url_parse("sentinel://h/m?sentinel_password", &u, err, sizeof(err)), GW_OK);
	assert_int_equal(gw_redis_url_parse("sentinel://a,b,c,d,e,f,g,h,i/m", &u, err, sizeof(err)),
			 GW_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_lobby_of_channel),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_url_ok),
		cmocka_unit_test(test_url_refused),
		cmocka_unit_test(test_url_sentinel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
