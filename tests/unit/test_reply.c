/*
 * test_reply.c — unit tests for gateway/cluster/gw_reply.c: the shapes of the Redis
 * replies the cluster acts on, read from hand-built replies.
 *
 * Replies are made the way the node gets them: RESP text fed to hiredis's
 * own reader, so each test case reads as the wire bytes Redis (or a broken
 * or hostile Redis) would send. Malformed replies must be refused with
 * GW_EINVAL before anything in them is used: the visitors count every call,
 * and a refused reply must have had none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_alloc.h"
#include "gw_auth.h"
#include "gw_protocol.h"
#include "gw_reply.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers ------------------------------------------------------------ */

/* One reply from RESP text (`len` bytes; 0: strlen). */
static redisReply *resp_n(const char *text, size_t len)
{
	redisReader *rd = redisReaderCreate();
	void *reply = NULL;

	assert_non_null(rd);
	assert_int_equal(redisReaderFeed(rd, text, len ? len : strlen(text)), REDIS_OK);
	assert_int_equal(redisReaderGetReply(rd, &reply), REDIS_OK);
	assert_non_null(reply);
	redisReaderFree(rd);
	return reply;
}

static redisReply *resp(const char *text)
{
	return resp_n(text, 0);
}

/* An array of bulk strings, the list ending with NULL. */
static redisReply *strs(const char *first, ...)
{
	char *buf = malloc(1 << 20), body[1 << 16];
	size_t n = 0, off = 0;
	const char *s;
	va_list ap;
	redisReply *r;
	int k;

	assert_non_null(buf);
	va_start(ap, first);
	for (s = first; s; s = va_arg(ap, const char *)) {
		k = snprintf(body + off, sizeof(body) - off, "$%zu\r\n%s\r\n", strlen(s), s);
		off += (size_t)k;
		n++;
	}
	va_end(ap);
	k = snprintf(buf, 1 << 20, "*%zu\r\n%s", n, body);
	r = resp_n(buf, (size_t)k);
	free(buf);
	return r;
}

typedef struct {
	int conns, nodes;
	char log[1024];
} seen_t;

static void on_conn(void *ud, const gw_sweep_entry_t *e)
{
	seen_t *s = ud;
	size_t n = strlen(s->log);

	s->conns++;
	snprintf(s->log + n, sizeof(s->log) - n, "%s:%s/%s/%s ", e->node, e->conn,
		 e->user, e->lobby);
}

static void on_node(void *ud, const char *node, size_t conns)
{
	seen_t *s = ud;
	size_t n = strlen(s->log);

	s->nodes++;
	snprintf(s->log + n, sizeof(s->log) - n, "[%s %zu] ", node, conns);
}

static const gw_sweep_visit_t visit = { on_conn, on_node };

/* Expects `r` (consumed) to be refused, with no visit at all. */
static void expect_refused(redisReply *r)
{
	seen_t s = { 0 };

	assert_int_equal(gw_reply_sweep(r, &visit, &s), GW_EINVAL);
	assert_int_equal(s.conns, 0);
	assert_int_equal(s.nodes, 0);
	freeReplyObject(r);
}

/* --- sweep ---------------------------------------------------------------- */

static void test_sweep_well_formed(void **state)
{
	seen_t s = { 0 };
	redisReply *r = strs("n2", "n2.1a", "bob", "chess", "n2.1b", "carol", "go", "",
			     "n3", "", NULL);

	(void)state;
	assert_int_equal(gw_reply_sweep(r, &visit, &s), GW_OK);
	assert_string_equal(s.log, "n2:n2.1a/bob/chess n2:n2.1b/carol/go [n2 2] [n3 0] ");
	freeReplyObject(r);

	/* Nothing expired: an empty array. */
	memset(&s, 0, sizeof(s));
	r = resp("*0\r\n");
	assert_int_equal(gw_reply_sweep(r, &visit, &s), GW_OK);
	assert_int_equal(s.conns + s.nodes, 0);
	freeReplyObject(r);
}

static void test_sweep_not_an_array(void **state)
{
	(void)state;
	expect_refused(resp(":3\r\n"));
	expect_refused(resp("$-1\r\n"));
	expect_refused(resp("-ERR boom\r\n"));
	expect_refused(resp("+OK\r\n"));
	expect_refused(resp("$2\r\nn2\r\n"));
	assert_int_equal(gw_reply_sweep(NULL, &visit, NULL), GW_EINVAL);
}

static void test_sweep_wrong_element_types(void **state)
{
	(void)state;
	/* A node id that is not a string, after a valid node: nothing visited. */
	expect_refused(resp("*4\r\n$2\r\nn2\r\n$0\r\n\r\n:7\r\n$0\r\n\r\n"));
	/* nil, integer, status and nested array where strings belong */
	expect_refused(resp("*5\r\n$2\r\nn2\r\n$5\r\nn2.1a\r\n$-1\r\n$5\r\nchess\r\n$0\r\n\r\n"));
	expect_refused(resp("*5\r\n$2\r\nn2\r\n$5\r\nn2.1a\r\n$3\r\nbob\r\n:5\r\n$0\r\n\r\n"));
	expect_refused(resp("*5\r\n$2\r\nn2\r\n+n2.1a\r\n$3\r\nbob\r\n$5\r\nchess\r\n$0\r\n\r\n"));
	expect_refused(resp("*3\r\n$2\r\nn2\r\n*1\r\n$1\r\nx\r\n$0\r\n\r\n"));
	/* a separator that is nil rather than "" */
	expect_refused(resp("*2\r\n$2\r\nn2\r\n$-1\r\n"));
}

static void test_sweep_wrong_shape(void **state)
{
	char lobby[GW_LOBBY_MAX + 2], user[GW_AUTH_SUB_MAX + 2];

	(void)state;
	/* no separator after the last node */
	expect_refused(strs("n2", NULL));
	expect_refused(strs("n2", "n2.1a", "bob", "chess", NULL));
	/* a triple cut short at the end */
	expect_refused(strs("n2", "n2.1a", "bob", NULL));
	expect_refused(strs("n2", "n2.1a", NULL));
	/* a triple cut short by the separator: "" where the lobby belongs */
	expect_refused(strs("n2", "n2.1a", "bob", "", NULL));
	/* empty node id, user or lobby */
	expect_refused(strs("", "", NULL));
	expect_refused(strs("n2", "n2.1a", "", "chess", "", NULL));
	/* longer than anything the gateway writes */
	memset(lobby, 'l', sizeof(lobby) - 1);
	lobby[sizeof(lobby) - 1] = '\0';
	expect_refused(strs("n2", "n2.1a", "bob", lobby, "", NULL));
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	expect_refused(strs("n2", "n2.1a", user, "chess", "", NULL));
	/* an embedded NUL (the strings are used as C strings) */
	expect_refused(resp_n("*5\r\n$2\r\nn2\r\n$5\r\nn2.1a\r\n$3\r\nb\0b\r\n$5\r\nchess\r\n$0\r\n\r\n",
			      sizeof("*5\r\n$2\r\nn2\r\n$5\r\nn2.1a\r\n$3\r\nb\0b\r\n$5\r\nchess\r\n$0\r\n\r\n") - 1));
	/* the longest allowed are fine */
	lobby[GW_LOBBY_MAX] = '\0';
	user[GW_AUTH_SUB_MAX] = '\0';
	{
		seen_t s = { 0 };
		redisReply *r = strs("n2", "n2.1a", user, lobby, "", NULL);

		assert_int_equal(gw_reply_sweep(r, &visit, &s), GW_OK);
		assert_int_equal(s.conns, 1);
		freeReplyObject(r);
	}
}

/* --- connection ids --------------------------------------------------------- */

static void test_conn_ids(void **state)
{
	redisReply *r;

	(void)state;
	r = strs("n1.1a", "n2.ff", NULL);
	assert_int_equal(gw_reply_conn_ids(r), GW_OK);
	freeReplyObject(r);
	r = resp("*0\r\n");
	assert_int_equal(gw_reply_conn_ids(r), GW_OK);
	freeReplyObject(r);
	r = strs("n1.1a", "nodot", NULL);
	assert_int_equal(gw_reply_conn_ids(r), GW_EINVAL);
	freeReplyObject(r);
	r = strs(".1a", NULL);
	assert_int_equal(gw_reply_conn_ids(r), GW_EINVAL);
	freeReplyObject(r);
	r = resp("*2\r\n$5\r\nn1.1a\r\n:1\r\n");
	assert_int_equal(gw_reply_conn_ids(r), GW_EINVAL);
	freeReplyObject(r);
	r = resp("$5\r\nn1.1a\r\n");
	assert_int_equal(gw_reply_conn_ids(r), GW_EINVAL);
	freeReplyObject(r);
}

/* --- presence --------------------------------------------------------------- */

/* The reply's "users" and "count", checked against `want` (NULL-ended). */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_well_formed),
		cmocka_unit_test(test_sweep_not_an_array),
		cmocka_unit_test(test_sweep_wrong_element_types),
		cmocka_unit_test(test_sweep_wrong_shape),
		cmocka_unit_test(test_conn_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
