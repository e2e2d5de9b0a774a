/*
 * test_admission.c — unit tests for gateway/core/gw_admission.c: the local
 * admission decision (node, cluster and lobby caps; the reject, multi and
 * replace user policies) and the seam's plumbing.
 *
 * The node is built by hand with only what gw_admission_check_local()
 * reads: `cfg` (filled here, every cap generous unless a test lowers it)
 * and `reg` (a real registry, populated with joined members). As in the
 * router, the connection asking for admission is not yet joined.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_admission.h"
#include "gw_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXC 64

typedef struct {
	gw_node_t node;
	gw_config_t cfg;
	struct {
		gw_member_t m;
	} conns[MAXC];
	size_t n;
} fx_t;

/* --- helpers ------------------------------------------------------------ */

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->cfg.max_connections = 1000;
	f->cfg.node_max_connections = 1000;
	f->cfg.max_per_lobby = 1000;
	f->cfg.max_per_user = 8;
	f->cfg.user_policy = GW_POLICY_REPLACE;
	f->node.cfg = &f->cfg;
	f->node.reg = gw_registry_create();
	if (!f->node.reg) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;

	gw_registry_free(f->node.reg);
	free(f);
	return 0;
}

/* A connection of `user` joined to `lobby`. */
static gw_member_t *connect_(fx_t *f, const char *user, const char *lobby)
{
	gw_member_t *m;

	assert_true(f->n < MAXC);
	m = &f->conns[f->n].m;
	m->id = 1000 + f->n++;
	assert_int_equal(gw_registry_add(f->node.reg, m), GW_OK);
	assert_int_equal(gw_registry_join(f->node.reg, m, user, strlen(user), lobby,
					  strlen(lobby)), GW_OK);
	return m;
}

static gw_admit_t check(fx_t *f, const char *user, const char *lobby)
{
	gw_admit_req_t req = { 99999, user, strlen(user), lobby, strlen(lobby) };

	return gw_admission_check_local(&f->node, &req);
}

/* --- caps ----------------------------------------------------------------- */

static void test_empty_node_admits(void **state)
{
	fx_t *f = *state;

	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_OK);
	f->cfg.user_policy = GW_POLICY_REJECT;
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_OK);
	f->cfg.user_policy = GW_POLICY_MULTI;
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_OK);
}

static void test_node_cap(void **state)
{
	fx_t *f = *state;

	f->cfg.node_max_connections = 3;
	connect_(f, "a", "l1");
	connect_(f, "b", "l2");
	assert_int_equal(check(f, "new", "l3"), GW_ADMIT_OK); /* 2 of 3 */
	connect_(f, "c", "l3");
	assert_int_equal(check(f, "new", "l3"), GW_ADMIT_NODE_FULL);
	assert_int_equal(check(f, "new", "l1"), GW_ADMIT_NODE_FULL);
	/* A leave makes room again. */
	gw_registry_remove(f->node.reg, &f->conns[0].m);
	assert_int_equal(check(f, "new", "l3"), GW_ADMIT_OK);
}

static void test_global_cap(void **state)
{
	fx_t *f = *state;

	f->cfg.max_connections = 2;
	connect_(f, "a", "l1");
	assert_int_equal(check(f, "new", "l1"), GW_ADMIT_OK);
	connect_(f, "b", "l2");
	assert_int_equal(check(f, "new", "l1"), GW_ADMIT_SERVER_FULL);
	/* When both caps are reached, the cluster-wide one is reported. */
	f->cfg.node_max_connections = 2;
	assert_int_equal(check(f, "new", "l1"), GW_ADMIT_SERVER_FULL);
	f->cfg.max_connections = 3;
	assert_int_equal(check(f, "new", "l1"), GW_ADMIT_NODE_FULL);
}

static void test_lobby_cap(void **state)
{
	fx_t *f = *state;

	f->cfg.max_per_lobby = 2;
	connect_(f, "a", "chess");
	assert_int_equal(check(f, "new", "chess"), GW_ADMIT_OK);
	connect_(f, "b", "chess");
	assert_int_equal(check(f, "new", "chess"), GW_ADMIT_LOBBY_FULL);
	assert_int_equal(check(f, "new", "go"), GW_ADMIT_OK); /* other lobbies unaffected */
	assert_int_equal(check(f, "new", "chess2"), GW_ADMIT_OK);
	assert_int_equal(check(f, "new", "ches"), GW_ADMIT_OK);
	/* Node-wide caps come before the lobby's. */
	f->cfg.node_max_connections = 2;
	assert_int_equal(check(f, "new", "chess"), GW_ADMIT_NODE_FULL);
}

/* Caps of 1: the smallest configurable values. */
static void test_caps_of_one(void **state)
{
	fx_t *f = *state;

	f->cfg.max_per_lobby = 1;
	f->cfg.node_max_connections = 1;
	f->cfg.max_connections = 1;
	assert_int_equal(check(f, "a", "l"), GW_ADMIT_OK);
	connect_(f, "a", "l");
	assert_int_equal(check(f, "b", "other"), GW_ADMIT_SERVER_FULL);
}

/* Only joined connections count; registered-but-admitting ones do not. */
static void test_unjoined_do_not_count(void **state)
{
	fx_t *f = *state;
	gw_member_t pending[5];
	int i;

	f->cfg.node_max_connections = 2;
	connect_(f, "a", "l");
	for (i = 0; i < 5; i++) {
		memset(&pending[i], 0, sizeof(pending[i]));
		pending[i].id = 50 + (uint64_t)i;
		assert_int_equal(gw_registry_add(f->node.reg, &pending[i]), GW_OK);
	}
	assert_int_equal(check(f, "b", "l"), GW_ADMIT_OK);
	for (i = 0; i < 5; i++)
		gw_registry_remove(f->node.reg, &pending[i]);
}

/* --- user policies -------------------------------------------------------- */

static void test_policy_reject(void **state)
{
	fx_t *f = *state;

	f->cfg.user_policy = GW_POLICY_REJECT;
	connect_(f, "alice", "chess");
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_USER_LIMIT);
	assert_int_equal(check(f, "alice", "go"), GW_ADMIT_USER_LIMIT);
	assert_int_equal(check(f, "bob", "chess"), GW_ADMIT_OK);
	assert_int_equal(check(f, "alic", "chess"), GW_ADMIT_OK);
	/* max_per_user is for multi only. */
	f->cfg.max_per_user = 100;
	assert_int_equal(check(f, "alice", "go"), GW_ADMIT_USER_LIMIT);
	/* Once alice has gone, she may come back. */
	gw_registry_leave(f->node.reg, &f->conns[0].m);
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_OK);
}

static void test_policy_multi(void **state)
{
	fx_t *f = *state;

	f->cfg.user_policy = GW_POLICY_MULTI;
	f->cfg.max_per_user = 3;
	connect_(f, "alice", "chess");
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_OK);
	connect_(f, "alice", "chess");
	assert_int_equal(check(f, "alice", "go"), GW_ADMIT_OK);
	connect_(f, "alice", "go");
	/* 3 of 3, in any lobby. */
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_USER_LIMIT);
	assert_int_equal(check(f, "alice", "poker"), GW_ADMIT_USER_LIMIT);
	assert_int_equal(check(f, "bob", "chess"), GW_ADMIT_OK);
	/* A user's own conns count towards the node and lobby caps. */
	f->cfg.max_per_user = 10;
	f->cfg.max_per_lobby = 2;
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_LOBBY_FULL);
	f->cfg.node_max_connections = 3;
	assert_int_equal(check(f, "alice", "poker"), GW_ADMIT_NODE_FULL);
}

static void test_policy_multi_limit_one(void **state)
{
	fx_t *f = *state;

	f->cfg.user_policy = GW_POLICY_MULTI;
	f->cfg.max_per_user = 1;
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_OK);
	connect_(f, "alice", "chess");
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_USER_LIMIT);
}

/*
 * Replace: the user's existing connections are about to be closed, so they
 * do not count towards the node or cluster caps, nor towards the lobby's
 * when they are in the lobby asked for.
 */
static void test_policy_replace_node_caps(void **state)
{
	fx_t *f = *state;

	f->cfg.user_policy = GW_POLICY_REPLACE;
	f->cfg.node_max_connections = 2;
	connect_(f, "alice", "chess");
	connect_(f, "bob", "go");
	assert_int_equal(check(f, "carol", "chess"), GW_ADMIT_NODE_FULL);
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_OK);
	assert_int_equal(check(f, "alice", "poker"), GW_ADMIT_OK);
	assert_int_equal(check(f, "bob", "chess"), GW_ADMIT_OK);

	f->cfg.max_connections = 2;
	assert_int_equal(check(f, "carol", "chess"), GW_ADMIT_SERVER_FULL);
	assert_int_equal(check(f, "alice", "go"), GW_ADMIT_OK);
}

static void test_policy_replace_lobby_cap(void **state)
{
	fx_t *f = *state;

	f->cfg.user_policy = GW_POLICY_REPLACE;
	f->cfg.max_per_lobby = 1;
	connect_(f, "alice", "chess");
	connect_(f, "bob", "go");
	/* Alice replacing herself in chess: her old conn there does not count. */
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_OK);
	/* Alice moving to go: her conn in chess does not free room in go. */
	assert_int_equal(check(f, "alice", "go"), GW_ADMIT_LOBBY_FULL);
	assert_int_equal(check(f, "carol", "chess"), GW_ADMIT_LOBBY_FULL);
}

/*
 * A user with several connections under replace (left from a previous
 * policy, or not yet reaped): all of them are discounted, and exactly those
 * in the requested lobby are discounted from it.
 */
static void test_policy_replace_several(void **state)
{
	fx_t *f = *state;

	f->cfg.user_policy = GW_POLICY_REPLACE;
	connect_(f, "alice", "chess");
	connect_(f, "alice", "chess");
	connect_(f, "alice", "go");
	connect_(f, "bob", "chess");
	connect_(f, "bob", "go");

	/* Lobby: chess has 3, two of them alice's → 1 counted. */
	f->cfg.max_per_lobby = 2;
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_OK);
	f->cfg.max_per_lobby = 1;
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_LOBBY_FULL);
	/* go has 2, one of them alice's → 1 counted. */
	assert_int_equal(check(f, "alice", "go"), GW_ADMIT_LOBBY_FULL);
	f->cfg.max_per_lobby = 2;
	assert_int_equal(check(f, "alice", "go"), GW_ADMIT_OK);
	/* Bob has one conn in chess: 3 - 1 = 2 counted. */
	assert_int_equal(check(f, "bob", "chess"), GW_ADMIT_LOBBY_FULL);
	assert_int_equal(check(f, "carol", "chess"), GW_ADMIT_LOBBY_FULL);
	f->cfg.max_per_lobby = 3;
	assert_int_equal(check(f, "bob", "chess"), GW_ADMIT_OK);
	assert_int_equal(check(f, "carol", "chess"), GW_ADMIT_LOBBY_FULL);

	/* Node: 5 joined, 3 of them alice's → 2 counted. */
	f->cfg.max_per_lobby = 1000;
	f->cfg.node_max_connections = 3;
	assert_int_equal(check(f, "alice", "poker"), GW_ADMIT_OK);
	f->cfg.node_max_connections = 2;
	assert_int_equal(check(f, "alice", "poker"), GW_ADMIT_NODE_FULL);
	assert_int_equal(check(f, "bob", "poker"), GW_ADMIT_NODE_FULL); /* 5 - 2 = 3 */
	f->cfg.node_max_connections = 4;
	assert_int_equal(check(f, "bob", "poker"), GW_ADMIT_OK);
}

/* Under replace, a user who is not connected is treated like anyone else. */
static void test_policy_replace_new_user(void **state)
{
	fx_t *f = *state;

	f->cfg.user_policy = GW_POLICY_REPLACE;
	f->cfg.max_per_lobby = 1;
	connect_(f, "bob", "chess");
	assert_int_equal(check(f, "alice", "chess"), GW_ADMIT_LOBBY_FULL);
	assert_int_equal(check(f, "alice", "go"), GW_ADMIT_OK);
}

/* --- the seam ------------------------------------------------------------- */

static gw_node_t *got_node;
static uint64_t got_id;
static gw_admit_t got_verdict;
static int got_calls;
static int got_resumed;

static void done(gw_node_t *node, uint64_t conn_id, gw_admit_t verdict, int resumed)
{
	got_resumed = resumed;
	got_node = node;
	got_id = conn_id;
	got_verdict = verdict;
	got_calls++;
}

static void test_local_admission(void **state)
{
	fx_t *f = *state;
	gw_admission_t *a = gw_admission_local(&f->node);
	gw_admit_req_t req = { 4242, "alice", 5, "chess", 5 };

	assert_non_null(a);
	assert_string_equal(gw_admission_name(a), "local");
	got_calls = 0;
	assert_int_equal(gw_admission_admit(a, &req, done), GW_OK);
	assert_int_equal(got_calls, 1); /* synchronously, once */
	assert_ptr_equal(got_node, &f->node);
	assert_int_equal(got_id, 4242);
	assert_int_equal(got_verdict, GW_ADMIT_OK);

	f->cfg.user_policy = GW_POLICY_REJECT;
	connect_(f, "alice", "go");
	assert_int_equal(gw_admission_admit(a, &req, done), GW_OK);
	assert_int_equal(got_calls, 2);
	assert_int_equal(got_verdict, GW_ADMIT_USER_LIMIT);
	gw_admission_release(a, &req); /* no release op: a no-op */
	gw_admission_free(a);
	gw_admission_free(NULL);
}

static int freed;
static void impl_free(void *impl)
{
	assert_ptr_equal(impl, &freed);
	freed++;
}

static int released;
static void impl_release(void *impl, const gw_admit_req_t *req)
{
	(void)impl;
	assert_int_equal(req->conn_id, 7);
	released++;
}

static int impl_admit(void *impl, const gw_admit_req_t *req, gw_admit_done_fn fn)
{
	(void)impl;
	(void)req;
	(void)fn;
	return GW_EUNAVAIL;
}

static const gw_admission_ops_t test_ops = {
	.name = "test",
	.admit = impl_admit,
	.release = impl_release,
	.free = impl_free,
};

/* create takes ownership of impl: freed by free, or at once if create fails. */
static void test_seam_ownership(void **state)
{
	gw_admit_req_t req = { 7, "u", 1, "l", 1 };
	gw_admission_t *a;

	(void)state;
	freed = released = got_calls = 0;
	a = gw_admission_create(&test_ops, &freed);
	assert_non_null(a);
	assert_string_equal(gw_admission_name(a), "test");
	/* An admit that fails never calls `done`. */
	assert_int_equal(gw_admission_admit(a, &req, done), GW_EUNAVAIL);
	assert_int_equal(got_calls, 0);
	gw_admission_release(a, &req);
	assert_int_equal(released, 1);
	gw_admission_free(a);
	assert_int_equal(freed, 1);

	gw_alloc_fail_after(0);
	a = gw_admission_create(&test_ops, &freed);
	gw_alloc_fail_after(-1);
	assert_null(a);
	assert_int_equal(freed, 2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_empty_node_admits),
		T(test_node_cap),
		T(test_global_cap),
		T(test_lobby_cap),
		T(test_caps_of_one),
		T(test_unjoined_do_not_count),
		T(test_policy_reject),
		T(test_policy_multi),
		T(test_policy_multi_limit_one),
		T(test_policy_replace_node_caps),
		T(test_policy_replace_lobby_cap),
		T(test_policy_replace_several),
		T(test_policy_replace_new_user),
		T(test_local_admission),
		cmocka_unit_test(test_seam_ownership),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
