/*
 * test_map.c — unit tests for common/gw_map.c (open addressing, linear
 * probing, backward-shift deletion).
 *
 * The map is opaque, so its invariants are checked from the outside: after
 * every change, each key that should be present is found with its value and
 * each key that should be absent is not. A backward-shift bug shows up as a
 * present key that lookups can no longer reach (a probe run cut short), so
 * the deletion tests build runs by hand — keys chosen by brute force to share
 * a home slot, including runs that wrap from the last slot to slot 0 — and
 * delete them in every order, against a plain array as the reference model.
 *
 * The hash itself is pinned to SipHash-2-4's published vectors, and names
 * built to collide under the map's old unkeyed FNV-1a must spread out and
 * stay as cheap to look up as any others.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_alloc.h"
#include "gw_map.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* gw_map_create(0) starts with 16 slots and holds up to 8 entries. */
#define SMALL_CAP 16
#define SMALL_MAX 8

/*
 * Under ASan, an impossible allocation size aborts by default; the map is
 * expected to report it as NULL, so let the allocator return NULL instead.
 * (Ignored by the plain build.)
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* --- helpers ------------------------------------------------------------ */

/* A deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 0x9e3779b97f4a7c15ull;
}

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void shuffle(size_t *a, size_t n)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = (size_t)(rng() % i), t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* Keys for the bulk tests: "k<n>" in fixed-size cells; values are &cell. */
#define KEY_CELL 16
typedef struct {
	char s[KEY_CELL];
	size_t len;
} key_t_;

static key_t_ *make_keys(size_t n, const char *prefix)
{
	key_t_ *k = calloc(n, sizeof(*k));
	size_t i;

	assert_non_null(k);
	for (i = 0; i < n; i++) {
		int len = snprintf(k[i].s, sizeof(k[i].s), "%s%zu", prefix, i);

		assert_true(len > 0 && (size_t)len < sizeof(k[i].s));
		k[i].len = (size_t)len;
	}
	return k;
}

/* Every key with present[i] is found (value &k[i]); every other is not. */
static void check_model(const gw_map_t *m, const key_t_ *k, const char *present,
			size_t n)
{
	size_t i, want = 0;

	for (i = 0; i < n; i++) {
		void *v = gw_map_get(m, k[i].s, k[i].len);

		if (present[i]) {
			want++;
			if (v != &k[i])
				fail_msg("key %s: expected to be present", k[i].s);
		} else if (v) {
			fail_msg("key %s: expected to be absent", k[i].s);
		}
	}
	assert_int_equal(gw_map_count(m), want);
}

/*
 * Finds `n` distinct 4-byte keys whose home slot in a 16-slot map is
 * `home`, starting the search at *next (so successive calls never repeat).
 */
static void keys_with_home(uint32_t *out, size_t n, uint32_t home, uint32_t *next)
{
	size_t found = 0;

	while (found < n) {
		uint32_t c = (*next)++;

		if ((gw_hash(&c, sizeof(c)) & (SMALL_CAP - 1)) == home)
			out[found++] = c;
	}
}

/* --- basics --------------------------------------------------------------- */

/* SipHash-2-4 reference values: key 00..0f, message 00..n-1. */
static void test_hash_vectors(void **state)
{
	static const struct {
		size_t n;
		uint64_t want;
	} v[] = {
		{ 0, 0x726fdb47dd0e0e31ull },  { 1, 0x74f839c593dc67fdull },
		{ 7, 0xab0200f58b01d137ull },  { 8, 0x93f5f5799a932462ull },
		{ 15, 0xa129ca6149be45e5ull }, { 16, 0x3f2acc7f57c29bdbull },
	};
	unsigned char key[16], msg[16], other[16];
	size_t i;

	(void)state;
	for (i = 0; i < 16; i++)
		key[i] = msg[i] = (unsigned char)i;
	for (i = 0; i < GW_ARRAY_LEN(v); i++)
		assert_true(gw_siphash(key, msg, v[i].n) == v[i].want);

	/* gw_hash is the low 32 bits under the process key. */
	assert_int_equal(gw_map_seed(key), GW_OK);
	assert_int_equal(gw_hash(msg, 15), 0x49be45e5u);
	assert_int_equal(gw_hash("", 0), 0xdd0e0e31u);
	/* The length is honoured: bytes past it and NULs inside both count. */
	assert_int_equal(gw_hash("foobarX", 6), gw_hash("foobar", 6));
	assert_int_not_equal(gw_hash("a\0", 2), gw_hash("a", 1));

	/* Another key, other hashes. */
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(gw_map_seed(other), GW_OK);
	assert_int_not_equal(gw_hash(msg, 15), 0x49be45e5u);
	assert_int_equal(gw_map_seed(key), GW_OK);
}

/*
 * Left alone, a process keys its maps at random: two processes hash the
 * same name differently, and neither under the all-zero key. The children
 * are fresh executions of this binary (see main), so nothing a test set
 * here carries over.
 */
#define HASH_CHILD_ARG "--hash-child"

static int hash_child(void)
{
	gw_map_t *m = gw_map_create(0); /* draws the key */

	if (!m)
		return 1;
	printf("%08x\n", gw_hash("lobby", 5));
	gw_map_free(m);
	return 0;
}

static uint32_t child_hash(void)
{
	char buf[32] = "", self[4096], cmd[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	unsigned h = 0;
	FILE *f;

	assert_true(n > 0);
	self[n] = '\0';
	snprintf(cmd, sizeof(cmd), "'%s' " HASH_CHILD_ARG, self);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	assert_int_equal(pclose(f), 0);
	assert_int_equal(sscanf(buf, "%x", &h), 1);
	return h;
}

static void test_random_key(void **state)
{
	static const unsigned char zero[16];
	uint32_t a, b;

	(void)state;
	a = child_hash();
	b = child_hash();
	assert_int_not_equal(a, b);
	assert_int_not_equal(a, (uint32_t)gw_siphash(zero, "lobby", 5));
	assert_int_not_equal(b, (uint32_t)gw_siphash(zero, "lobby", 5));
}

/* --- hash flooding -------------------------------------------------------- */

/* The map's old hash: unkeyed 32-bit FNV-1a. */
#define FNV_PRIME 16777619u

static uint32_t fnv1a(const void *key, size_t len, uint32_t h)
{
	const unsigned char *p = key;

	while (len--) {
		h ^= *p++;
		h *= FNV_PRIME;
	}
	return h;
}

#define FLOOD_N 16384
#define FLOOD_KEY 6

/*
 * Makes FLOOD_N distinct 5-byte names whose FNV-1a hashes share their low
 * 16 bits: under the old hash they all start probing at the same slot of
 * any table up to 65,536 slots. Multiplication only carries upwards, so
 * the low 16 bits of (s ^ y) * P depend only on the low 16 bits of s ^ y;
 * for a last byte y to reach the target, bits 8..15 of the state before it
 * must already match, which one next-to-last byte in 256 achieves.
 */
static void fnv_colliding_keys(unsigned char (*k)[FLOOD_KEY])
{
	uint32_t pinv = FNV_PRIME, u, target = 0x5a5a;
	size_t found = 0, c, x;
	int i;

	for (i = 0; i < 5; i++) /* Newton: P * pinv == 1 mod 2^32 */
		pinv *= 2u - FNV_PRIME * pinv;
	u = (target * pinv) & 0xffff;
	for (c = 0; found < FLOOD_N; c++) {
		unsigned char pre[3] = { 'L', (unsigned char)(c >> 8),
					 (unsigned char)c };
		uint32_t s = fnv1a(pre, 3, 2166136261u);

		assert_true(c < 0x10000);
		for (x = 0; x < 256 && found < FLOOD_N; x++) {
			uint32_t s1 = (s ^ (uint32_t)x) * FNV_PRIME;

			if (((s1 ^ u) & 0xff00) != 0)
				continue;
			memcpy(k[found], pre, 3);
			k[found][3] = (unsigned char)x;
			k[found][4] = (unsigned char)((s1 ^ u) & 0xff);
			k[found][5] = 0;
			found++;
		}
	}
}

static double now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1e3 + tv.tv_usec / 1e3;
}

/* Puts and gets `n` keys of `len` bytes at stride `stride`; returns ms. */
static double fill_and_find(const unsigned char *keys, size_t stride,
			    size_t len, size_t n)
{
	gw_map_t *m = gw_map_create(0);
	double t0 = now_ms();
	size_t i;

	assert_non_null(m);
	for (i = 0; i < n; i++)
		assert_int_equal(gw_map_put(m, keys + i * stride, len,
					    (void *)(keys + i * stride)), GW_OK);
	for (i = 0; i < n; i++)
		assert_ptr_equal(gw_map_get(m, keys + i * stride, len),
				 keys + i * stride);
	t0 = now_ms() - t0;
	gw_map_free(m);
	return t0;
}

static void test_fnv_collisions_spread(void **state)
{
	unsigned char (*k)[FLOOD_KEY] = calloc(FLOOD_N, FLOOD_KEY);
	unsigned char (*plain)[FLOOD_KEY] = calloc(FLOOD_N, FLOOD_KEY);
	unsigned char *seen = calloc(1u << 15, 1);
	double t_flood, t_plain;
	size_t i, homes = 0;

	(void)state;
	assert_non_null(k);
	assert_non_null(plain);
	assert_non_null(seen);
	fnv_colliding_keys(k);
	/* The generator is right: one FNV-1a home slot, distinct names. */
	for (i = 0; i < FLOOD_N; i++) {
		assert_int_equal(fnv1a(k[i], 5, 2166136261u) & 0xffff, 0x5a5a);
		if (i)
			assert_memory_not_equal(k[i], k[i - 1], 5);
	}

	/*
	 * Under the keyed hash they land all over a 32,768-slot table (where
	 * 16,384 keys live): random placement fills about 79% of distinct
	 * home slots; the old hash gave them exactly one.
	 */
	assert_int_equal(gw_map_seed(NULL), GW_OK);
	for (i = 0; i < FLOOD_N; i++) {
		uint32_t home = gw_hash(k[i], 5) & ((1u << 15) - 1);

		homes += !seen[home];
		seen[home] = 1;
	}
	assert_true(homes > FLOOD_N / 2);

	/*
	 * And the map stays O(1) on them: as fast as on ordinary names, give
	 * or take scheduling noise (the old hash made this quadratic, a
	 * hundred times slower and more).
	 */
	for (i = 0; i < FLOOD_N; i++)
		snprintf((char *)plain[i], FLOOD_KEY, "%05zu", i);
	t_plain = fill_and_find(plain[0], FLOOD_KEY, 5, FLOOD_N);
	t_flood = fill_and_find(k[0], FLOOD_KEY, 5, FLOOD_N);
	if (t_flood > 10 * t_plain + 50)
		fail_msg("colliding names: %.1f ms, ordinary: %.1f ms", t_flood,
			 t_plain);
	free(seen);
	free(plain);
	free(k);
}

static void test_put_get_del(void **state)
{
	gw_map_t *m = gw_map_create(0);
	int a = 1, b = 2, c = 3;

	(void)state;
	assert_non_null(m);
	assert_int_equal(gw_map_count(m), 0);
	assert_null(gw_map_get(m, "alpha", 5));
	assert_null(gw_map_del(m, "alpha", 5));

	assert_int_equal(gw_map_put(m, "alpha", 5, &a), GW_OK);
	assert_int_equal(gw_map_put(m, "beta", 4, &b), GW_OK);
	assert_int_equal(gw_map_put(m, "gamma", 5, &c), GW_OK);
	assert_int_equal(gw_map_count(m), 3);
	assert_ptr_equal(gw_map_get(m, "alpha", 5), &a);
	assert_ptr_equal(gw_map_get(m, "beta", 4), &b);
	assert_ptr_equal(gw_map_get(m, "gamma", 5), &c);

	/* Prefixes and extensions of a key are different keys. */
	assert_null(gw_map_get(m, "alph", 4));
	assert_null(gw_map_get(m, "alphas", 6));
	assert_null(gw_map_get(m, "Alpha", 5));

	assert_ptr_equal(gw_map_del(m, "beta", 4), &b);
	assert_int_equal(gw_map_count(m), 2);
	assert_null(gw_map_get(m, "beta", 4));
	assert_null(gw_map_del(m, "beta", 4));
	assert_int_equal(gw_map_count(m), 2);
	assert_ptr_equal(gw_map_get(m, "alpha", 5), &a);
	assert_ptr_equal(gw_map_get(m, "gamma", 5), &c);

	/* A deleted key can be put again, with a new value. */
	assert_int_equal(gw_map_put(m, "beta", 4, &c), GW_OK);
	assert_ptr_equal(gw_map_get(m, "beta", 4), &c);
	gw_map_free(m);
	gw_map_free(NULL); /* a no-op */
}

/* Keys are compared by bytes, not by pointer: a copy finds the entry. */
static void test_lookup_by_content(void **state)
{
	gw_map_t *m = gw_map_create(4);
	char stored[] = "lobby-1", probe[] = "lobby-1";
	int v;

	(void)state;
	assert_int_equal(gw_map_put(m, stored, 7, &v), GW_OK);
	assert_ptr_equal(gw_map_get(m, probe, 7), &v);
	assert_ptr_equal(gw_map_del(m, probe, 7), &v);
	assert_int_equal(gw_map_count(m), 0);
	gw_map_free(m);
}

static void test_duplicate_put(void **state)
{
	gw_map_t *m = gw_map_create(0);
	char k2[] = "dup";
	int a, b;

	(void)state;
	assert_int_equal(gw_map_put(m, "dup", 3, &a), GW_OK);
	assert_int_equal(gw_map_put(m, k2, 3, &b), GW_EEXIST);
	assert_int_equal(gw_map_put(m, "dup", 3, &a), GW_EEXIST);
	assert_int_equal(gw_map_count(m), 1);
	/* The first value stays. */
	assert_ptr_equal(gw_map_get(m, "dup", 3), &a);
	gw_map_free(m);
}

/* A duplicate is refused even when the map is at its growth threshold. */
static void test_duplicate_put_at_threshold(void **state)
{
	key_t_ *k = make_keys(SMALL_MAX, "t");
	gw_map_t *m = gw_map_create(0);
	size_t i;

	(void)state;
	for (i = 0; i < SMALL_MAX; i++)
		assert_int_equal(gw_map_put(m, k[i].s, k[i].len, &k[i]), GW_OK);
	for (i = 0; i < SMALL_MAX; i++)
		assert_int_equal(gw_map_put(m, k[i].s, k[i].len, NULL), GW_EEXIST);
	assert_int_equal(gw_map_count(m), SMALL_MAX);
	for (i = 0; i < SMALL_MAX; i++)
		assert_ptr_equal(gw_map_get(m, k[i].s, k[i].len), &k[i]);
	gw_map_free(m);
	free(k);
}

/* Keys are byte strings: NULs inside, and length alone, tell keys apart. */
static void test_binary_keys(void **state)
{
	static const char k1[] = { 'a', '\0', 'b' };
	static const char k2[] = { 'a', '\0', 'c' };
	static const char k3[] = { 'a', '\0' };
	static const char k4[] = { '\0' };
	static const char k5[] = { '\0', '\0' };
	static const unsigned char k6[] = { 0xff, 0x00, 0x80, 0x7f };
	gw_map_t *m = gw_map_create(0);
	int v[7];

	(void)state;
	assert_int_equal(gw_map_put(m, k1, sizeof(k1), &v[1]), GW_OK);
	assert_int_equal(gw_map_put(m, k2, sizeof(k2), &v[2]), GW_OK);
	assert_int_equal(gw_map_put(m, k3, sizeof(k3), &v[3]), GW_OK);
	assert_int_equal(gw_map_put(m, "a", 1, &v[0]), GW_OK);
	assert_int_equal(gw_map_put(m, k4, sizeof(k4), &v[4]), GW_OK);
	assert_int_equal(gw_map_put(m, k5, sizeof(k5), &v[5]), GW_OK);
	assert_int_equal(gw_map_put(m, k6, sizeof(k6), &v[6]), GW_OK);
	assert_int_equal(gw_map_count(m), 7);

	assert_ptr_equal(gw_map_get(m, "a", 1), &v[0]);
	assert_ptr_equal(gw_map_get(m, "a\0b", 3), &v[1]);
	assert_ptr_equal(gw_map_get(m, "a\0c", 3), &v[2]);
	assert_ptr_equal(gw_map_get(m, "a\0", 2), &v[3]);
	assert_ptr_equal(gw_map_get(m, "\0", 1), &v[4]);
	assert_ptr_equal(gw_map_get(m, "\0\0", 2), &v[5]);
	assert_ptr_equal(gw_map_get(m, "\xff\x00\x80\x7f", 4), &v[6]);
	assert_null(gw_map_get(m, "a\0d", 3));
	assert_null(gw_map_get(m, "\0\0\0", 3));

	assert_ptr_equal(gw_map_del(m, "a\0", 2), &v[3]);
	assert_ptr_equal(gw_map_get(m, "a", 1), &v[0]);
	assert_ptr_equal(gw_map_get(m, "a\0b", 3), &v[1]);
	assert_null(gw_map_get(m, "a\0", 2));
	gw_map_free(m);
}

/* Integer keys, as the registry uses for connection ids. */
static void test_integer_keys(void **state)
{
	gw_map_t *m = gw_map_create(0);
	uint64_t ids[] = { 0, 1, 256, UINT64_MAX, 1ull << 63 };
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(ids); i++)
		assert_int_equal(gw_map_put(m, &ids[i], sizeof(ids[i]), &ids[i]), GW_OK);
	for (i = 0; i < GW_ARRAY_LEN(ids); i++) {
		uint64_t probe = ids[i];

		assert_ptr_equal(gw_map_get(m, &probe, sizeof(probe)), &ids[i]);
	}
	gw_map_free(m);
}

static void test_zero_length_key(void **state)
{
	gw_map_t *m = gw_map_create(0);
	const char *empty = "";
	int a, b;

	(void)state;
	assert_int_equal(gw_map_put(m, empty, 0, &a), GW_OK);
	assert_int_equal(gw_map_count(m), 1);
	/* Any pointer with length 0 names the same (empty) key. */
	assert_ptr_equal(gw_map_get(m, "xyz", 0), &a);
	assert_int_equal(gw_map_put(m, "q", 0, &b), GW_EEXIST);
	/* The empty key and the one-NUL key are different. */
	assert_null(gw_map_get(m, "\0", 1));
	assert_int_equal(gw_map_put(m, "\0", 1, &b), GW_OK);
	assert_ptr_equal(gw_map_get(m, "", 0), &a);
	assert_ptr_equal(gw_map_del(m, "", 0), &a);
	assert_null(gw_map_get(m, "", 0));
	assert_ptr_equal(gw_map_get(m, "\0", 1), &b);
	assert_int_equal(gw_map_count(m), 1);
	gw_map_free(m);
}

/*
 * The map marks empty slots with a NULL key pointer, so an empty key given
 * as (NULL, 0) — what many APIs hand back for an empty string — must not
 * be stored as an entry nobody can see: it is either refused or found.
 */
static void test_null_empty_key(void **state)
{
	gw_map_t *m = gw_map_create(0);
	int a;
	int rc;

	(void)state;
	rc = gw_map_put(m, NULL, 0, &a);
	if (rc == GW_OK) {
		assert_int_equal(gw_map_count(m), 1);
		assert_ptr_equal(gw_map_get(m, NULL, 0), &a);
		assert_ptr_equal(gw_map_get(m, "", 0), &a);
	} else {
		assert_int_equal(rc, GW_EINVAL);
		assert_int_equal(gw_map_count(m), 0);
	}
	gw_map_free(m);
}

static void test_null_values(void **state)
{
	gw_map_t *m = gw_map_create(0);

	(void)state;
	/* A NULL value is stored (and counted), though get cannot tell it. */
	assert_int_equal(gw_map_put(m, "n", 1, NULL), GW_OK);
	assert_int_equal(gw_map_count(m), 1);
	assert_int_equal(gw_map_put(m, "n", 1, NULL), GW_EEXIST);
	assert_null(gw_map_del(m, "n", 1));
	assert_int_equal(gw_map_count(m), 0);
	gw_map_free(m);
}

/* --- growth --------------------------------------------------------------- */

static void test_growth_100k(void **state)
{
	const size_t n = 100000;
	key_t_ *k = make_keys(n, "key-");
	gw_map_t *m = gw_map_create(0);
	size_t i;

	(void)state;
	for (i = 0; i < n; i++) {
		assert_int_equal(gw_map_put(m, k[i].s, k[i].len, &k[i]), GW_OK);
		/* Entries put earlier survive each rehash. */
		if ((i & (i + 1)) == 0) { /* i = 2^j - 1: just after a growth step */
			size_t j;

			for (j = 0; j <= i; j++)
				assert_ptr_equal(gw_map_get(m, k[j].s, k[j].len), &k[j]);
		}
	}
	assert_int_equal(gw_map_count(m), n);
	for (i = 0; i < n; i++)
		assert_ptr_equal(gw_map_get(m, k[i].s, k[i].len), &k[i]);
	assert_null(gw_map_get(m, "key-100000", 10));
	assert_null(gw_map_get(m, "key-", 4));
	for (i = 0; i < n; i++)
		assert_int_equal(gw_map_put(m, k[i].s, k[i].len, NULL), GW_EEXIST);
	gw_map_free(m);
	free(k);
}

/* gw_map_create(n) holds n entries without allocating again. */
static void test_create_presizes(void **state)
{
	const size_t n = 1000;
	key_t_ *k = make_keys(n, "p");
	gw_map_t *m = gw_map_create(n);
	size_t i;

	(void)state;
	assert_non_null(m);
	gw_alloc_fail_after(0);
	for (i = 0; i < n; i++)
		assert_int_equal(gw_map_put(m, k[i].s, k[i].len, &k[i]), GW_OK);
	gw_alloc_fail_after(-1);
	assert_int_equal(gw_map_count(m), n);
	gw_map_free(m);
	free(k);
}

/*
 * A size the capacity computation cannot represent must fail (NULL), not
 * spin: doubling a power-of-two capacity past SIZE_MAX wraps it to 0. Run
 * in a child with a 0.3 s alarm so a hang is a failure, not a stuck test run.
 */
static void test_create_huge_initial(void **state)
{
	static const size_t sizes[] = { SIZE_MAX / 2 - 10, SIZE_MAX / 3, SIZE_MAX / 4 + 1 };
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(sizes); i++) {
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct itimerval it = { { 0, 0 }, { 0, 300000 } };
			gw_map_t *m;

			setitimer(ITIMER_REAL, &it, NULL);
			m = gw_map_create(sizes[i]);
			_exit(m == NULL ? 0 : 3);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFSIGNALED(status))
			fail_msg("gw_map_create(%zu) hung or crashed (signal %d)", sizes[i],
				 WTERMSIG(status));
		if (WEXITSTATUS(status) != 0)
			fail_msg("gw_map_create(%zu) returned a map", sizes[i]);
	}
}

/* --- deletion (backward shift) -------------------------------------------- */

/*
 * Puts `n` keys (4-byte integers with chosen home slots) in the given order
 * into a fresh 16-slot map, then deletes them in `order`, checking every key
 * after each step. Returns normally only if all checks pass.
 */
static void run_deletion(const uint32_t *keys, size_t n, const size_t *ins,
			 const size_t *del)
{
	gw_map_t *m = gw_map_create(0);
	char present[SMALL_MAX] = { 0 };
	size_t i, j;

	assert_true(n <= SMALL_MAX);
	for (i = 0; i < n; i++) {
		assert_int_equal(gw_map_put(m, &keys[ins[i]], 4, (void *)&keys[ins[i]]), GW_OK);
		present[ins[i]] = 1;
	}
	for (i = 0; i < n; i++) {
		assert_ptr_equal(gw_map_del(m, &keys[del[i]], 4), &keys[del[i]]);
		present[del[i]] = 0;
		for (j = 0; j < n; j++) {
			void *v = gw_map_get(m, &keys[j], 4);

			if (present[j] && v != &keys[j])
				fail_msg("after deleting #%zu, key #%zu is lost", del[i], j);
			if (!present[j] && v)
				fail_msg("after deleting #%zu, key #%zu is still found", del[i], j);
		}
		assert_int_equal(gw_map_count(m), n - i - 1);
	}
	gw_map_free(m);
}

/* Next lexicographic permutation; 0 when `a` was the last one. */
static int next_perm(size_t *a, size_t n)
{
	size_t i, j, t;

	if (n < 2)
		return 0;
	i = n - 1;
	while (i > 0 && a[i - 1] >= a[i])
		i--;
	if (i == 0)
		return 0;
	j = n - 1;
	while (a[j] <= a[i - 1])
		j--;
	t = a[i - 1], a[i - 1] = a[j], a[j] = t;
	for (j = n - 1; i < j; i++, j--)
		t = a[i], a[i] = a[j], a[j] = t;
	return 1;
}

/*
 * Every deletion order of seven keys whose probe runs collide and wrap
 * around the end of the table (homes 13, 14, 14, 15, 15, 0, 1 in a 16-slot
 * map), for a few insertion orders.
 */
static void test_delete_all_orders_wrapping(void **state)
{
	static const uint32_t homes[] = { 14, 14, 15, 13, 0, 15, 1 };
	enum { N = GW_ARRAY_LEN(homes) };
	uint32_t keys[N], next = 1;
	size_t ins[N], del[N], i, round, perms = 0;

	(void)state;
	for (i = 0; i < N; i++)
		keys_with_home(&keys[i], 1, homes[i], &next);
	rng_seed(7);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < N; i++)
			ins[i] = del[i] = i;
		if (round)
			shuffle(ins, N);
		do {
			run_deletion(keys, N, ins, del);
			perms++;
		} while (next_perm(del, N));
	}
	assert_int_equal(perms, 4 * 5040);
}

/* Eight keys (the most a 16-slot map holds) all with the same home slot. */
static void test_delete_one_long_run(void **state)
{
	uint32_t keys[SMALL_MAX], next = 1000, home;
	size_t ins[SMALL_MAX], del[SMALL_MAX], i, round;

	(void)state;
	rng_seed(11);
	for (home = 0; home < SMALL_CAP; home += 5) { /* 0, 5, 10, 15 */
		keys_with_home(keys, SMALL_MAX, home, &next);
		for (round = 0; round < 200; round++) {
			for (i = 0; i < SMALL_MAX; i++)
				ins[i] = del[i] = i;
			shuffle(ins, SMALL_MAX);
			shuffle(del, SMALL_MAX);
			run_deletion(keys, SMALL_MAX, ins, del);
		}
	}
}

/*
 * Random puts, deletes and gets over a universe of keys, compared with a
 * reference model, with a full check at intervals and at the end.
 */
static void test_random_ops_vs_model(void **state)
{
	const size_t n = 4000, ops = 200000;
	key_t_ *k = make_keys(n, "r");
	char *present = calloc(n, 1);
	gw_map_t *m = gw_map_create(0);
	size_t op;

	(void)state;
	assert_non_null(present);
	rng_seed(42);
	for (op = 0; op < ops; op++) {
		size_t i = (size_t)(rng() % n);
		unsigned what = (unsigned)(rng() % 3);

		if (what == 0) {
			int rc = gw_map_put(m, k[i].s, k[i].len, &k[i]);

			assert_int_equal(rc, present[i] ? GW_EEXIST : GW_OK);
			present[i] = 1;
		} else if (what == 1) {
			void *v = gw_map_del(m, k[i].s, k[i].len);

			assert_ptr_equal(v, present[i] ? &k[i] : NULL);
			present[i] = 0;
		} else {
			assert_ptr_equal(gw_map_get(m, k[i].s, k[i].len),
					 present[i] ? &k[i] : NULL);
		}
		if (op % 10000 == 0)
			check_model(m, k, present, n);
	}
	check_model(m, k, present, n);
	gw_map_free(m);
	free(present);
	free(k);
}

/* 100k keys deleted in a random order, checked against the model. */
static void test_delete_100k_random_order(void **state)
{
	const size_t n = 100000;
	key_t_ *k = make_keys(n, "d");
	char *present = malloc(n);
	size_t *order = malloc(n * sizeof(*order));
	gw_map_t *m = gw_map_create(0);
	size_t i;

	(void)state;
	assert_non_null(present);
	assert_non_null(order);
	for (i = 0; i < n; i++) {
		assert_int_equal(gw_map_put(m, k[i].s, k[i].len, &k[i]), GW_OK);
		present[i] = 1;
		order[i] = i;
	}
	rng_seed(1234);
	shuffle(order, n);
	for (i = 0; i < n; i++) {
		assert_ptr_equal(gw_map_del(m, k[order[i]].s, k[order[i]].len), &k[order[i]]);
		present[order[i]] = 0;
		if (i % 20000 == 0 || i == n / 2 + 1 || i == n - 2)
			check_model(m, k, present, n);
	}
	assert_int_equal(gw_map_count(m), 0);
	check_model(m, k, present, n);
	/* The emptied map is still usable. */
	assert_int_equal(gw_map_put(m, k[5].s, k[5].len, &k[5]), GW_OK);
	assert_ptr_equal(gw_map_get(m, k[5].s, k[5].len), &k[5]);
	gw_map_free(m);
	free(order);
	free(present);
	free(k);
}

/* --- gw_map_each ---------------------------------------------------------- */

typedef struct {
	size_t visits;
	size_t stop_after; /* 0: never stop */
	int stop_rc;
} walk_t;

static int count_visit(void *value, void *ud)
{
	walk_t *w = ud;

	(*(int *)value)++;
	w->visits++;
	if (w->stop_after && w->visits == w->stop_after)
		return w->stop_rc;
	return 0;
}

static void test_each_visits_once(void **state)
{
	const size_t n = 3000;
	key_t_ *k = make_keys(n, "e");
	int *hits = calloc(n, sizeof(*hits));
	gw_map_t *m = gw_map_create(0);
	walk_t w = { 0, 0, 0 };
	size_t i;

	(void)state;
	assert_non_null(hits);
	assert_int_equal(gw_map_each(m, count_visit, &w), 0); /* empty */
	assert_int_equal(w.visits, 0);
	for (i = 0; i < n; i++)
		assert_int_equal(gw_map_put(m, k[i].s, k[i].len, &hits[i]), GW_OK);
	/* Delete every third, so the walk also sees shifted entries. */
	for (i = 0; i < n; i += 3)
		assert_ptr_equal(gw_map_del(m, k[i].s, k[i].len), &hits[i]);
	assert_int_equal(gw_map_each(m, count_visit, &w), 0);
	assert_int_equal(w.visits, n - (n + 2) / 3);
	for (i = 0; i < n; i++)
		assert_int_equal(hits[i], i % 3 == 0 ? 0 : 1);
	gw_map_free(m);
	free(hits);
	free(k);
}

static void test_each_stops(void **state)
{
	const size_t n = 50;
	key_t_ *k = make_keys(n, "s");
	int hits[50] = { 0 };
	gw_map_t *m = gw_map_create(0);
	walk_t w = { 0, 7, -42 };
	size_t i;
	int total = 0;

	(void)state;
	for (i = 0; i < n; i++)
		assert_int_equal(gw_map_put(m, k[i].s, k[i].len, &hits[i]), GW_OK);
	assert_int_equal(gw_map_each(m, count_visit, &w), -42);
	assert_int_equal(w.visits, 7);
	for (i = 0; i < n; i++) {
		assert_true(hits[i] == 0 || hits[i] == 1);
		total += hits[i];
	}
	assert_int_equal(total, 7);

	/* Stopping on the very first entry, with a positive code. */
	w = (walk_t){ 0, 1, 5 };
	assert_int_equal(gw_map_each(m, count_visit, &w), 5);
	assert_int_equal(w.visits, 1);
	gw_map_free(m);
	free(k);
}

/* --- allocation failure --------------------------------------------------- */

static void test_create_alloc_failure(void **state)
{
	long n;

	(void)state;
	/* Fail the map struct, then the slot array: NULL, nothing leaked. */
	for (n = 0; n < 2; n++) {
		gw_alloc_fail_after(n);
		assert_null(gw_map_create(100));
		gw_alloc_fail_after(-1);
	}
	gw_alloc_fail_after(2);
	{
		gw_map_t *m = gw_map_create(100);

		gw_alloc_fail_after(-1);
		assert_non_null(m);
		gw_map_free(m);
	}
}

/*
 * A put that needs to grow the table and cannot leaves the map exactly as
 * it was: every entry still found, the count unchanged, later puts working.
 */
static void test_grow_alloc_failure(void **state)
{
	const size_t n = 2000;
	key_t_ *k = make_keys(n, "g");
	char *present = calloc(n, 1);
	gw_map_t *m = gw_map_create(0);
	size_t i, failures = 0;

	(void)state;
	assert_non_null(present);
	for (i = 0; i < n; i++) {
		int rc;

		/* Every put may allocate only by failing. */
		gw_alloc_fail_after(0);
		rc = gw_map_put(m, k[i].s, k[i].len, &k[i]);
		gw_alloc_fail_after(-1);
		if (rc == GW_ENOMEM) {
			failures++;
			assert_null(gw_map_get(m, k[i].s, k[i].len));
			check_model(m, k, present, i + 1);
			/* Deletes and lookups still work on the old table. */
			if (i > 0) {
				assert_ptr_equal(gw_map_del(m, k[i - 1].s, k[i - 1].len),
						 &k[i - 1]);
				present[i - 1] = 0;
				check_model(m, k, present, i + 1);
				assert_int_equal(gw_map_put(m, k[i - 1].s, k[i - 1].len,
							    &k[i - 1]), GW_OK);
				present[i - 1] = 1;
			}
			/* Now with memory: the same put grows and succeeds. */
			rc = gw_map_put(m, k[i].s, k[i].len, &k[i]);
		}
		assert_int_equal(rc, GW_OK);
		present[i] = 1;
	}
	/* 16 → 4096 slots: 8 growth steps, each failed once first. */
	assert_int_equal(failures, 8);
	check_model(m, k, present, n);
	gw_map_free(m);
	free(present);
	free(k);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_random_key),
		cmocka_unit_test(test_fnv_collisions_spread),
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_lookup_by_content),
		cmocka_unit_test(test_duplicate_put),
		cmocka_unit_test(test_duplicate_put_at_threshold),
		cmocka_unit_test(test_binary_keys),
		cmocka_unit_test(test_integer_keys),
		cmocka_unit_test(test_zero_length_key),
		cmocka_unit_test(test_null_empty_key),
		cmocka_unit_test(test_null_values),
		cmocka_unit_test(test_growth_100k),
		cmocka_unit_test(test_create_presizes),
		cmocka_unit_test(test_create_huge_initial),
		cmocka_unit_test(test_delete_all_orders_wrapping),
		cmocka_unit_test(test_delete_one_long_run),
		cmocka_unit_test(test_random_ops_vs_model),
		cmocka_unit_test(test_delete_100k_random_order),
		cmocka_unit_test(test_each_visits_once),
		cmocka_unit_test(test_each_stops),
		cmocka_unit_test(test_create_alloc_failure),
		cmocka_unit_test(test_grow_alloc_failure),
	};

	if (argc == 2 && strcmp(argv[1], HASH_CHILD_ARG) == 0)
		return hash_child();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
