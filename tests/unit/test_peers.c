/*
 * test_peers.c — gw_peers: per-IP counts, handshakes in flight, the
 * right-most untrusted X-Forwarded-For entry, and that every record's
 * release returns the books to zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "gw_peers.h"

static gw_peers_t *peers(long per_ip, long handshakes, const char *trusted)
{
	gw_config_t cfg;
	char err[128];
	gw_peers_t *p;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_conns_per_ip = per_ip;
	cfg.max_handshakes = handshakes;
	cfg.trusted_proxies = (char *)trusted;
	p = gw_peers_create(&cfg, err, sizeof(err));
	assert_non_null(p);
	return p;
}

static gw_ip_t ip(const char *s)
{
	gw_ip_t a;

	assert_int_equal(gw_ip_parse(s, strlen(s), &a), GW_OK);
	return a;
}

static void test_per_ip(void **state)
{
	gw_peers_t *p = peers(2, 0, "");
	gw_ip_t a = ip("10.0.0.1"), b = ip("10.0.0.2");
	gw_peer_t *c[4];

	(void)state;
	assert_int_equal(gw_peers_accept(p, &a, &c[0]), GW_PEER_OK);
	assert_int_equal(gw_peers_accept(p, &a, &c[1]), GW_PEER_OK);
	assert_int_equal(gw_peers_accept(p, &a, &c[2]), GW_PEER_PER_IP);
	assert_int_equal(gw_peers_accept(p, &b, &c[3]), GW_PEER_OK);
	assert_int_equal(gw_peers_count(p, &a), 2);
	assert_string_equal(gw_peer_addr(c[2]), "10.0.0.1");
	gw_peers_release(p, c[2]); /* refused: was never charged */
	assert_int_equal(gw_peers_count(p, &a), 2);
	gw_peers_release(p, c[0]);
	assert_int_equal(gw_peers_count(p, &a), 1);
	assert_int_equal(gw_peers_accept(p, &a, &c[0]), GW_PEER_OK);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			gw_peers_release(p, c[i]);
	assert_int_equal(gw_peers_count(p, &a), 0);
	assert_int_equal(gw_peers_count(p, &b), 0);
	assert_int_equal(gw_peers_handshakes(p), 0);
	gw_peers_release(p, NULL);
	gw_peers_free(p);
}

static void test_handshakes(void **state)
{
	gw_peers_t *p = peers(0, 2, "");
	gw_ip_t a = ip("10.0.0.1");
	gw_peer_t *c[3];

	(void)state;
	assert_int_equal(gw_peers_accept(p, &a, &c[0]), GW_PEER_OK);
	assert_int_equal(gw_peers_accept(p, &a, &c[1]), GW_PEER_OK);
	assert_int_equal(gw_peers_accept(p, &a, &c[2]), GW_PEER_HANDSHAKES);
	gw_peers_release(p, c[2]);
	assert_int_equal(gw_peers_handshakes(p), 2);
	/* Headers in: the handshake is over, the slot is free (once). */
	assert_int_equal(gw_peers_request(p, c[0], NULL, 0), GW_PEER_OK);
	assert_int_equal(gw_peers_request(p, c[0], NULL, 0), GW_PEER_OK);
	assert_int_equal(gw_peers_handshakes(p), 1);
	assert_int_equal(gw_peers_accept(p, &a, &c[2]), GW_PEER_OK);
	for (int i = 0; i < 3; i++)
		gw_peers_release(p, c[i]);
	assert_int_equal(gw_peers_handshakes(p), 0);
	/* An unreadable peer address refuses. */
	assert_int_equal(gw_peers_accept(p, NULL, &c[0]), GW_PEER_UNKNOWN);
	gw_peers_release(p, c[0]);
	gw_peers_free(p);
}

/* The client a request from the proxy is charged to, or its refusal. */
static gw_peer_verdict_t via_proxy(gw_peers_t *p, const char *xff, int len, char *who)
{
	gw_ip_t lb = ip("10.9.9.9");
	gw_peer_t *c;
	gw_peer_verdict_t v;

	assert_int_equal(gw_peers_accept(p, &lb, &c), GW_PEER_OK);
	assert_true(gw_peer_behind_proxy(c));
	v = gw_peers_request(p, c, xff, len < 0 ? len : (int)strlen(xff));
	strcpy(who, gw_peer_addr(c));
	gw_peers_release(p, c);
	return v;
}

static void test_forwarded_for(void **state)
{
	gw_peers_t *p = peers(100, 0, "10.9.0.0/16, 192.168.0.1");
	char who[GW_IP_TEXT_MAX];
	gw_ip_t direct = ip("10.8.0.1");
	gw_peer_t *c;

	(void)state;
	assert_int_equal(via_proxy(p, "1.2.3.4", 0, who), GW_PEER_OK);
	assert_string_equal(who, "1.2.3.4");
	/* Left entries are the client's own claims: the right-most wins. */
	assert_int_equal(via_proxy(p, "6.6.6.6, 1.2.3.4", 0, who), GW_PEER_OK);
	assert_string_equal(who, "1.2.3.4");
	/* Trusted hops on the right are skipped. */
	assert_int_equal(via_proxy(p, "6.6.6.6,1.2.3.4, 192.168.0.1,10.9.1.1", 0, who), GW_PEER_OK);
	assert_string_equal(who, "1.2.3.4");
	/* All trusted: the left-most. */
	assert_int_equal(via_proxy(p, "10.9.3.3, 192.168.0.1", 0, who), GW_PEER_OK);
	assert_string_equal(who, "10.9.3.3");
	/* Ports and brackets as some proxies write them. */
	assert_int_equal(via_proxy(p, "[2001:db8::5]:1234", 0, who), GW_PEER_OK);
	assert_string_equal(who, "2001:db8::5");
	/* Absent: the proxy itself. */
	assert_int_equal(via_proxy(p, "", 0, who), GW_PEER_OK);
	assert_string_equal(who, "10.9.9.9");
	/* Unreadable or unparseable (on the way to the client) refuses. */
	assert_int_equal(via_proxy(p, "", -1, who), GW_PEER_BAD_FORWARDED);
	assert_int_equal(via_proxy(p, "1.2.3.4, junk", 0, who), GW_PEER_BAD_FORWARDED);
	assert_int_equal(via_proxy(p, "1.2.3.4,", 0, who), GW_PEER_BAD_FORWARDED);
	assert_int_equal(via_proxy(p, "unknown", 0, who), GW_PEER_BAD_FORWARDED);
	/* Junk left of the client is the client's business. */
	assert_int_equal(via_proxy(p, "junk, 1.2.3.4", 0, who), GW_PEER_OK);
	assert_string_equal(who, "1.2.3.4");
	/* An untrusted peer's X-Forwarded-For is never read. */
	assert_int_equal(gw_peers_accept(p, &direct, &c), GW_PEER_OK);
	assert_false(gw_peer_behind_proxy(c));
	assert_int_equal(gw_peers_request(p, c, "junk", 4), GW_PEER_OK);
	assert_string_equal(gw_peer_addr(c), "10.8.0.1");
	gw_peers_release(p, c);
	assert_int_equal(gw_peers_handshakes(p), 0);
	gw_peers_free(p);
}

static void test_forwarded_client_limited(void **state)
{
	gw_peers_t *p = peers(1, 0, "10.9.9.9");
	gw_ip_t lb = ip("10.9.9.9"), client = ip("1.2.3.4");
	gw_peer_t *c[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(gw_peers_accept(p, &lb, &c[i]), GW_PEER_OK);
	assert_int_equal(gw_peers_request(p, c[0], "1.2.3.4", 7), GW_PEER_OK);
	assert_int_equal(gw_peers_request(p, c[1], "5.5.5.5, 1.2.3.4", 16), GW_PEER_PER_IP);
	assert_int_equal(gw_peers_request(p, c[2], "5.5.5.5", 7), GW_PEER_OK);
	assert_int_equal(gw_peers_count(p, &client), 1);
	assert_int_equal(gw_peers_count(p, &lb), 0);
	for (int i = 0; i < 3; i++)
		gw_peers_release(p, c[i]);
	assert_int_equal(gw_peers_count(p, &client), 0);
	gw_peers_free(p);
}

static void test_verdict_table(void **state)
{
	(void)state;
	assert_int_equal(gw_peer_verdict_status(GW_PEER_PER_IP), 429);
	assert_int_equal(gw_peer_verdict_status(GW_PEER_HANDSHAKES), 503);
	assert_int_equal(gw_peer_verdict_status(GW_PEER_BAD_FORWARDED), 400);
	assert_string_equal(gw_peer_verdict_name(GW_PEER_PER_IP), "per_ip");
	for (int v = 1; v < GW_PEER_N_VERDICTS; v++)
		assert_true(*gw_peer_verdict_message((gw_peer_verdict_t)v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_ip),
		cmocka_unit_test(test_handshakes),
		cmocka_unit_test(test_forwarded_for),
		cmocka_unit_test(test_forwarded_client_limited),
		cmocka_unit_test(test_verdict_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
