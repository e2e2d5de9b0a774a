/*
 * test_registry.c — unit tests for gateway/core/gw_registry.c: connection ids,
 * lobbies and users, their counts and lifetimes, walks, and allocation
 * failure during a join.
 *
 * Members are embedded in a test struct, as gw_session embeds them. After
 * each change, check_consistent() recomputes every count from the members
 * the test knows about and compares it with what the registry reports, and
 * walks each lobby's and user's intrusive list: a list that disagrees with
 * a count, or a lobby or user that outlives its last member, fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_alloc.h"
#include "gw_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers ------------------------------------------------------------ */

typedef struct {
	int magic;       /* something before the member, as in a session */
	gw_member_t m;
	int added;       /* registered with gw_registry_add */
	char user[32];   /* the user and lobby it joined ("" if not joined) */
	char lobby[32];
} conn_t;

#define CONN_OF(mp) GW_CONTAINER_OF(mp, conn_t, m)

static void conn_init(conn_t *c, uint64_t id)
{
	memset(c, 0, sizeof(*c));
	c->magic = 0x5e55;
	c->m.id = id;
}

static void add(gw_registry_t *r, conn_t *c)
{
	assert_int_equal(gw_registry_add(r, &c->m), GW_OK);
	c->added = 1;
}

static int join(gw_registry_t *r, conn_t *c, const char *user, const char *lobby)
{
	int rc = gw_registry_join(r, &c->m, user, strlen(user), lobby, strlen(lobby));

	if (rc == GW_OK) {
		snprintf(c->user, sizeof(c->user), "%s", user);
		snprintf(c->lobby, sizeof(c->lobby), "%s", lobby);
	}
	return rc;
}

static void leave(gw_registry_t *r, conn_t *c)
{
	gw_registry_leave(r, &c->m);
	c->user[0] = c->lobby[0] = '\0';
}

static void remove_(gw_registry_t *r, conn_t *c)
{
	gw_registry_remove(r, &c->m);
	c->added = 0;
	c->user[0] = c->lobby[0] = '\0';
}

static gw_lobby_t *lobby(gw_registry_t *r, const char *name)
{
	return gw_registry_lobby(r, name, strlen(name));
}

static gw_user_t *user(gw_registry_t *r, const char *name)
{
	return gw_registry_user(r, name, strlen(name));
}

/* Distinct names among the joined conns, for field 0 (user) or 1 (lobby). */
static size_t distinct(conn_t *cs, size_t n, int field)
{
	size_t i, j, k = 0;

	for (i = 0; i < n; i++) {
		const char *a = field ? cs[i].lobby : cs[i].user;

		if (!*a)
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(a, field ? cs[j].lobby : cs[j].user) == 0)
				break;
		k += j == i;
	}
	return k;
}

/*
 * The registry agrees with the model in `cs` (every conn the test has),
 * plus `pinned` extra lobbies (none since the registry holds no cluster
 * state: the parameter stays for the model's sake).
 */
static void check_consistent(gw_registry_t *r, conn_t *cs, size_t n, size_t pinned)
{
	size_t i, added = 0, joined = 0;

	for (i = 0; i < n; i++) {
		conn_t *c = &cs[i];

		assert_int_equal(c->magic, 0x5e55);
		added += c->added;
		if (c->added)
			assert_ptr_equal(gw_registry_find(r, c->m.id), &c->m);
		if (!*c->lobby) {
			assert_null(c->m.lobby);
			assert_null(c->m.user);
			continue;
		}
		joined++;
		{
			gw_lobby_t *l = lobby(r, c->lobby);
			gw_user_t *u = user(r, c->user);
			gw_list_t *pos;
			uint32_t in_l = 0, in_u = 0, seen_l = 0, seen_u = 0;
			size_t j;

			assert_non_null(l);
			assert_non_null(u);
			assert_ptr_equal(c->m.lobby, l);
			assert_ptr_equal(c->m.user, u);
			assert_int_equal(l->name_len, strlen(c->lobby));
			assert_string_equal(l->name, c->lobby); /* NUL-terminated */
			assert_int_equal(u->name_len, strlen(c->user));
			assert_string_equal(u->name, c->user);
			for (j = 0; j < n; j++) {
				in_l += strcmp(cs[j].lobby, c->lobby) == 0;
				in_u += *cs[j].user && strcmp(cs[j].user, c->user) == 0;
			}
			assert_int_equal(l->count, in_l);
			assert_int_equal(u->count, in_u);
			for (pos = l->members.next; pos != &l->members; pos = pos->next) {
				assert_ptr_equal(GW_MEMBER_OF(pos, lobby_link)->lobby, l);
				seen_l++;
			}
			for (pos = u->conns.next; pos != &u->conns; pos = pos->next) {
				assert_ptr_equal(GW_MEMBER_OF(pos, user_link)->user, u);
				seen_u++;
			}
			assert_int_equal(seen_l, in_l);
			assert_int_equal(seen_u, in_u);
		}
	}
	assert_int_equal(gw_registry_conns(r), added);
	assert_int_equal(gw_registry_joined(r), joined);
	assert_int_equal(gw_registry_lobbies(r), distinct(cs, n, 1) + pinned);
	assert_int_equal(gw_registry_users(r), distinct(cs, n, 0));
}

/* --- create / ids --------------------------------------------------------- */

static void test_create_free(void **state)
{
	gw_registry_t *r = gw_registry_create();

	(void)state;
	assert_non_null(r);
	assert_int_equal(gw_registry_conns(r), 0);
	assert_int_equal(gw_registry_joined(r), 0);
	assert_int_equal(gw_registry_lobbies(r), 0);
	assert_int_equal(gw_registry_users(r), 0);
	assert_null(gw_registry_find(r, 1));
	assert_null(lobby(r, "x"));
	assert_null(user(r, "x"));
	gw_registry_free(r);
	gw_registry_free(NULL);
}

static void test_create_alloc_failure(void **state)
{
	long n;
	gw_registry_t *r = NULL;

	(void)state;
	for (n = 0; n < 20; n++) {
		gw_alloc_fail_after(n);
		r = gw_registry_create();
		gw_alloc_fail_after(-1);
		if (r)
			break;
	}
	assert_non_null(r);
	assert_true(n >= 4); /* struct and three maps at least */
	gw_registry_free(r);
}

static void test_add_find_remove(void **state)
{
	gw_registry_t *r = gw_registry_create();
	conn_t cs[4], dup;

	(void)state;
	conn_init(&cs[0], 1);
	conn_init(&cs[1], 2);
	conn_init(&cs[2], 0);           /* id 0 is an id like any other */
	conn_init(&cs[3], UINT64_MAX);
	for (int i = 0; i < 4; i++)
		add(r, &cs[i]);
	check_consistent(r, cs, 4, 0);
	assert_null(gw_registry_find(r, 3));

	/* Another member with a taken id is refused; the first stays. */
	conn_init(&dup, 2);
	assert_int_equal(gw_registry_add(r, &dup.m), GW_EEXIST);
	assert_ptr_equal(gw_registry_find(r, 2), &cs[1].m);
	check_consistent(r, cs, 4, 0);

	remove_(r, &cs[1]);
	assert_null(gw_registry_find(r, 2));
	check_consistent(r, cs, 4, 0);
	/* The id is free again. */
	assert_int_equal(gw_registry_add(r, &dup.m), GW_OK);
	assert_ptr_equal(gw_registry_find(r, 2), &dup.m);
	gw_registry_remove(r, &dup.m);
	/* Removing a member that was never added (or twice) changes nothing. */
	remove_(r, &cs[1]);
	check_consistent(r, cs, 4, 0);
	gw_registry_free(r);
}

/* --- join / leave --------------------------------------------------------- */

static void test_join_creates_lobby_and_user(void **state)
{
	gw_registry_t *r = gw_registry_create();
	conn_t c;
	gw_lobby_t *l;
	gw_user_t *u;

	(void)state;
	conn_init(&c, 10);
	add(r, &c);
	assert_int_equal(join(r, &c, "alice", "chess"), GW_OK);
	l = lobby(r, "chess");
	u = user(r, "alice");
	assert_non_null(l);
	assert_non_null(u);
	assert_int_equal(l->count, 1);
	assert_int_equal(u->count, 1);
	assert_ptr_equal(c.m.lobby, l);
	assert_ptr_equal(c.m.user, u);
	assert_ptr_equal(GW_MEMBER_OF(l->members.next, lobby_link), &c.m);
	assert_ptr_equal(GW_MEMBER_OF(u->conns.next, user_link), &c.m);
	check_consistent(r, &c, 1, 0);
	/* Lookup is by exact bytes. */
	assert_null(lobby(r, "Chess"));
	assert_null(lobby(r, "ches"));
	assert_null(user(r, "alice "));
	/* A user and a lobby with the same name are different things. */
	assert_null(lobby(r, "alice"));
	assert_null(user(r, "chess"));
	gw_registry_free(r);
}

/* Names are byte strings of the given length, not C strings. */
static void test_join_names_by_length(void **state)
{
	gw_registry_t *r = gw_registry_create();
	conn_t a, b;

	(void)state;
	conn_init(&a, 1);
	conn_init(&b, 2);
	add(r, &a);
	add(r, &b);
	assert_int_equal(gw_registry_join(r, &a.m, "alice-extra", 5, "chessXYZ", 5), GW_OK);
	assert_non_null(gw_registry_user(r, "alice", 5));
	assert_non_null(gw_registry_lobby(r, "chess", 5));
	assert_string_equal(a.m.user->name, "alice");
	assert_string_equal(a.m.lobby->name, "chess");
	assert_int_equal(gw_registry_join(r, &b.m, "alice", 5, "chess", 5), GW_OK);
	assert_ptr_equal(a.m.user, b.m.user);
	assert_ptr_equal(a.m.lobby, b.m.lobby);
	assert_int_equal(gw_registry_users(r), 1);
	assert_int_equal(gw_registry_lobbies(r), 1);
	gw_registry_free(r);
}

static void test_join_twice(void **state)
{
	gw_registry_t *r = gw_registry_create();
	conn_t c;

	(void)state;
	conn_init(&c, 1);
	add(r, &c);
	assert_int_equal(join(r, &c, "alice", "chess"), GW_OK);
	assert_int_equal(gw_registry_join(r, &c.m, "alice", 5, "chess", 5), GW_EEXIST);
	assert_int_equal(gw_registry_join(r, &c.m, "bob", 3, "go", 2), GW_EEXIST);
	/* Nothing was created or counted for the refused joins. */
	assert_null(lobby(r, "go"));
	assert_null(user(r, "bob"));
	check_consistent(r, &c, 1, 0);
	assert_int_equal(lobby(r, "chess")->count, 1);
	gw_registry_free(r);
}

static void test_leave_frees_empty(void **state)
{
	gw_registry_t *r = gw_registry_create();
	conn_t cs[2];

	(void)state;
	conn_init(&cs[0], 1);
	conn_init(&cs[1], 2);
	add(r, &cs[0]);
	add(r, &cs[1]);
	assert_int_equal(join(r, &cs[0], "alice", "chess"), GW_OK);
	assert_int_equal(join(r, &cs[1], "bob", "chess"), GW_OK);
	check_consistent(r, cs, 2, 0);

	leave(r, &cs[0]);
	assert_null(user(r, "alice")); /* alice's last conn: user freed */
	assert_non_null(lobby(r, "chess")); /* bob is still in it */
	assert_int_equal(lobby(r, "chess")->count, 1);
	check_consistent(r, cs, 2, 0);

	leave(r, &cs[0]); /* not joined: a no-op */
	check_consistent(r, cs, 2, 0);

	leave(r, &cs[1]);
	assert_null(lobby(r, "chess"));
	assert_null(user(r, "bob"));
	check_consistent(r, cs, 2, 0);
	assert_int_equal(gw_registry_conns(r), 2); /* still registered */

	/* A member can join again after leaving, elsewhere. */
	assert_int_equal(join(r, &cs[0], "alice", "go"), GW_OK);
	check_consistent(r, cs, 2, 0);
	gw_registry_free(r);
}

/* gw_registry_remove leaves first. */
static void test_remove_joined(void **state)
{
	gw_registry_t *r = gw_registry_create();
	conn_t cs[2];

	(void)state;
	conn_init(&cs[0], 1);
	conn_init(&cs[1], 2);
	add(r, &cs[0]);
	add(r, &cs[1]);
	assert_int_equal(join(r, &cs[0], "alice", "chess"), GW_OK);
	assert_int_equal(join(r, &cs[1], "alice", "chess"), GW_OK);
	remove_(r, &cs[0]);
	assert_null(cs[0].m.lobby);
	check_consistent(r, cs, 2, 0);
	remove_(r, &cs[1]);
	check_consistent(r, cs, 2, 0);
	assert_int_equal(gw_registry_lobbies(r), 0);
	assert_int_equal(gw_registry_users(r), 0);
	gw_registry_free(r);
}

/* Several conns per user, across lobbies; leaving in a scrambled order. */
static void test_multi_conns_across_lobbies(void **state)
{
	static const struct {
		const char *user, *lobby;
	} plan[] = {
		{ "alice", "chess" }, { "alice", "chess" }, { "alice", "go" },
		{ "bob", "chess" },   { "bob", "poker" },   { "carol", "go" },
		{ "alice", "poker" }, { "dave", "chess" },
	};
	static const size_t order[] = { 3, 0, 6, 7, 1, 5, 2, 4 };
	enum { N = GW_ARRAY_LEN(plan) };
	gw_registry_t *r = gw_registry_create();
	conn_t cs[N];
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		conn_init(&cs[i], 100 + i);
		add(r, &cs[i]);
		assert_int_equal(join(r, &cs[i], plan[i].user, plan[i].lobby), GW_OK);
		check_consistent(r, cs, i + 1, 0);
	}
	assert_int_equal(user(r, "alice")->count, 4);
	assert_int_equal(lobby(r, "chess")->count, 4);
	assert_int_equal(gw_registry_lobbies(r), 3);
	assert_int_equal(gw_registry_users(r), 4);
	assert_int_equal(gw_registry_joined(r), N);
	for (i = 0; i < N; i++) {
		leave(r, &cs[order[i]]);
		check_consistent(r, cs, N, 0);
	}
	assert_int_equal(gw_registry_lobbies(r), 0);
	assert_int_equal(gw_registry_users(r), 0);
	assert_int_equal(gw_registry_conns(r), N);
	gw_registry_free(r);
}

/* Many members, many lobbies and users (maps grow), joined and left. */
static void test_many(void **state)
{
	enum { N = 2500 };
	gw_registry_t *r = gw_registry_create();
	conn_t *cs = calloc(N, sizeof(*cs));
	size_t i;

	(void)state;
	assert_non_null(cs);
	for (i = 0; i < N; i++) {
		char u[16], l[16];

		conn_init(&cs[i], (uint64_t)i * 7919);
		add(r, &cs[i]);
		snprintf(u, sizeof(u), "u%zu", i % 1100);
		snprintf(l, sizeof(l), "l%zu", i % 300);
		assert_int_equal(join(r, &cs[i], u, l), GW_OK);
	}
	assert_int_equal(gw_registry_users(r), 1100);
	assert_int_equal(gw_registry_lobbies(r), 300);
	assert_int_equal(gw_registry_joined(r), N);
	for (i = 0; i < N; i += 2)
		remove_(r, &cs[i]);
	for (i = 1; i < N; i += 4)
		leave(r, &cs[i]);
	check_consistent(r, cs, N, 0);
	gw_registry_free(r); /* frees lobbies and users still present */
	free(cs);
}

/* --- walks ---------------------------------------------------------------- */

typedef struct {
	size_t visits, stop_after;
	int rc;
	char seen[8];
} walk_t;

static int visit_lobby(gw_lobby_t *l, void *ud)
{
	walk_t *w = ud;

	/* Lobbies are named "l0".."l7". */
	assert_int_equal(l->name[0], 'l');
	w->seen[l->name[1] - '0']++;
	return ++w->visits == w->stop_after ? w->rc : 0;
}

static int visit_member(gw_member_t *m, void *ud)
{
	walk_t *w = ud;
	conn_t *c = CONN_OF(m);

	assert_int_equal(c->magic, 0x5e55);
	w->seen[m->id]++;
	return ++w->visits == w->stop_after ? w->rc : 0;
}

static void test_walks(void **state)
{
	gw_registry_t *r = gw_registry_create();
	conn_t cs[8];
	walk_t w;
	size_t i;

	(void)state;
	for (i = 0; i < 8; i++) {
		char l[4];

		conn_init(&cs[i], i);
		add(r, &cs[i]);
		if (i == 7)
			continue; /* registered, not joined */
		snprintf(l, sizeof(l), "l%zu", i % 5);
		assert_int_equal(join(r, &cs[i], "u", l), GW_OK);
	}
	memset(&w, 0, sizeof(w));
	assert_int_equal(gw_registry_each_lobby(r, visit_lobby, &w), 0);
	assert_int_equal(w.visits, 5);
	for (i = 0; i < 8; i++)
		assert_int_equal(w.seen[i], i < 5 ? 1 : 0);

	memset(&w, 0, sizeof(w));
	assert_int_equal(gw_registry_each_member(r, visit_member, &w), 0);
	assert_int_equal(w.visits, 8); /* joined or not */
	for (i = 0; i < 8; i++)
		assert_int_equal(w.seen[i], 1);

	/* A non-zero return stops the walk and is returned. */
	memset(&w, 0, sizeof(w));
	w.stop_after = 3;
	w.rc = 99;
	assert_int_equal(gw_registry_each_member(r, visit_member, &w), 99);
	assert_int_equal(w.visits, 3);
	memset(&w, 0, sizeof(w));
	w.stop_after = 1;
	w.rc = -2;
	assert_int_equal(gw_registry_each_lobby(r, visit_lobby, &w), -2);
	assert_int_equal(w.visits, 1);

	gw_registry_free(r);
}

static void test_marks(void **state)
{
	gw_registry_t *r = gw_registry_create();
	uint64_t a, b, c;

	(void)state;
	a = gw_registry_next_mark(r);
	b = gw_registry_next_mark(r);
	c = gw_registry_next_mark(r);
	/* Fresh, distinct, and never 0 (the value of a new user's mark). */
	assert_true(a != 0 && b != 0 && c != 0);
	assert_true(a != b && b != c && a != c);
	gw_registry_free(r);
}

/* --- allocation failure --------------------------------------------------- */

/*
 * Joins `c` with the n-th allocation failing, for n = 0, 1, ... until the
 * join succeeds. After each failure the registry must be exactly as before
 * (checked against the model, `pinned` empty lobbies kept by l->cluster)
 * and `c` not joined; after success, `pinned_after` such lobbies remain.
 */
static void join_under_failure(gw_registry_t *r, conn_t *cs, size_t n, size_t pinned,
			       size_t pinned_after, conn_t *c, const char *u, const char *l)
{
	long k;

	for (k = 0; k < 50; k++) {
		int rc;

		gw_alloc_fail_after(k);
		rc = join(r, c, u, l);
		gw_alloc_fail_after(-1);
		if (rc == GW_OK)
			break;
		assert_int_equal(rc, GW_ENOMEM);
		assert_null(c->m.lobby);
		assert_null(c->m.user);
		check_consistent(r, cs, n, pinned);
	}
	assert_true(k < 50);
	check_consistent(r, cs, n, pinned_after);
}

static void test_join_alloc_failure(void **state)
{
	gw_registry_t *r = gw_registry_create();
	conn_t cs[5];

	(void)state;
	for (int i = 0; i < 5; i++) {
		conn_init(&cs[i], (uint64_t)i + 1);
		add(r, &cs[i]);
	}
	/* New lobby, new user. */
	join_under_failure(r, cs, 5, 0, 0, &cs[0], "alice", "chess");
	/* Existing lobby, new user: the lobby keeps its member. */
	join_under_failure(r, cs, 5, 0, 0, &cs[1], "bob", "chess");
	/* New lobby, existing user: the half-made lobby is not left behind. */
	join_under_failure(r, cs, 5, 0, 0, &cs[2], "alice", "go");
	/* Existing both. */
	join_under_failure(r, cs, 5, 0, 0, &cs[3], "bob", "go");
	/* An existing lobby survives a failed join into it. */
	join_under_failure(r, cs, 5, 0, 0, &cs[4], "carol", "go");
	gw_registry_free(r);
}

/*
 * Failure while a map must grow: fill the lobby map (created for 256) and
 * the user map (1024) to their thresholds, then join into a new lobby and
 * a new user with each allocation failing in turn.
 */
static void test_join_alloc_failure_on_growth(void **state)
{
	enum { N = 1030 };
	gw_registry_t *r = gw_registry_create();
	conn_t *cs = calloc(N + 1, sizeof(*cs));
	size_t i;

	(void)state;
	assert_non_null(cs);
	for (i = 0; i < N + 1; i++) {
		conn_init(&cs[i], i);
		add(r, &cs[i]);
	}
	for (i = 0; i < N; i++) {
		char u[16], l[16];
		long k;
		int rc = GW_ENOMEM;

		snprintf(u, sizeof(u), "user%zu", i);
		snprintf(l, sizeof(l), "lobby%zu", i);
		/* Cheap where nothing grows; every step near the thresholds. */
		if (i < 250 || (i > 262 && i < 1018)) {
			assert_int_equal(join(r, &cs[i], u, l), GW_OK);
			continue;
		}
		for (k = 0; rc != GW_OK; k++) {
			gw_alloc_fail_after(k);
			rc = join(r, &cs[i], u, l);
			gw_alloc_fail_after(-1);
			if (rc != GW_OK) {
				assert_int_equal(rc, GW_ENOMEM);
				assert_null(lobby(r, l));
				assert_null(user(r, u));
				assert_int_equal(gw_registry_lobbies(r), i);
				assert_int_equal(gw_registry_users(r), i);
				assert_int_equal(gw_registry_joined(r), i);
			}
		}
	}
	check_consistent(r, cs, N + 1, 0);
	gw_registry_free(r);
	free(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_free),
		cmocka_unit_test(test_create_alloc_failure),
		cmocka_unit_test(test_add_find_remove),
		cmocka_unit_test(test_join_creates_lobby_and_user),
		cmocka_unit_test(test_join_names_by_length),
		cmocka_unit_test(test_join_twice),
		cmocka_unit_test(test_leave_frees_empty),
		cmocka_unit_test(test_remove_joined),
		cmocka_unit_test(test_multi_conns_across_lobbies),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_walks),
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_join_alloc_failure),
		cmocka_unit_test(test_join_alloc_failure_on_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
