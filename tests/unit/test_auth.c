/*
 * test_auth.c — unit tests for gw_auth (HS256 JSON Web Tokens).
 *
 * Interoperability is proven against an independent implementation: libjwt
 * mints tokens that gw_auth_verify() must accept, and libjwt's jwt_decode()
 * must accept what gw_auth_sign() produces. Hostile tokens are built here by
 * hand (OpenSSL's base64 rewritten as base64url, OpenSSL's HMAC), so that a
 * refusal is shown to come from the check under test and not from a bad
 * signature: unless a test says otherwise, every token below is correctly
 * signed with SECRET.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gw_alloc.h"
#include "gw_auth.h"

#define SECRET "0123456789abcdef0123456789abcdef"
#define SECRET_LEN (sizeof(SECRET) - 1)
#define OTHER "fedcba9876543210fedcba9876543210"
#define NOW ((int64_t)1700000000)
#define TOK_CAP 16384

/* {"alg":"HS256","typ":"JWT"}, as gw_auth_sign() must spell it. */
#define STD_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define STD_HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

static const char b64url_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* --- helpers ------------------------------------------------------------ */

/* snprintf() that fails the test instead of truncating. */
__attribute__((format(printf, 3, 4)))
static size_t fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, cap, f, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < cap);
	return (size_t)n;
}

/* Standard base64 from OpenSSL, rewritten as unpadded base64url. */
static size_t b64u(const void *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	int i;

	assert_true(len >= 0);
	for (i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	while (len > 0 && out[len - 1] == '=')
		out[--len] = '\0';
	return (size_t)len;
}

/* Writes "h64.p64.sig" where sig is HMAC-SHA256(key, "h64.p64"). */
static char *sign_parts(char *out, const char *h64, const char *p64,
			const void *key, size_t keylen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n;

	n = fmt(out, TOK_CAP, "%s.%s", h64, p64);
	assert_true(n < TOK_CAP - 64);
	assert_non_null(HMAC(EVP_sha256(), key, (int)keylen,
			     (const unsigned char *)out, n, mac, &maclen));
	assert_int_equal(maclen, 32);
	out[n++] = '.';
	b64u(mac, maclen, out + n);
	return out;
}

static char *mint_key(char *out, const char *header, const char *payload,
		      const void *key, size_t keylen)
{
	char h64[TOK_CAP / 2], p64[TOK_CAP / 2];

	assert_true(strlen(header) < TOK_CAP / 3);
	assert_true(strlen(payload) < TOK_CAP / 3);
	b64u(header, strlen(header), h64);
	b64u(payload, strlen(payload), p64);
	return sign_parts(out, h64, p64, key, keylen);
}

static char *mint(char *out, const char *header, const char *payload)
{
	return mint_key(out, header, payload, SECRET, SECRET_LEN);
}

/* Mints STD_HEADER + `payload`. */
static char *mintp(char *out, const char *payload)
{
	return mint(out, STD_HEADER, payload);
}

/* Flips the lowest bit of the last character: an unused bit when the
 * segment's length is 2 or 3 mod 4, so the bytes decode the same. */
static void bump_last(char *s)
{
	size_t n = strlen(s);
	const char *p = strchr(b64url_chars, s[n - 1]);

	assert_non_null(p);
	s[n - 1] = b64url_chars[(p - b64url_chars) ^ 1];
}

static gw_auth_t *new_auth(int leeway)
{
	gw_auth_t *a = gw_auth_create(SECRET, SECRET_LEN, leeway);

	assert_non_null(a);
	return a;
}

static int is_zero(const gw_claims_t *c)
{
	static const gw_claims_t zero;

	return memcmp(c, &zero, sizeof(zero)) == 0;
}

/* Verifies `len` bytes of `tok` and checks the code, the reason and that
 * the claims were cleared on failure. */
static void expect_len(const gw_auth_t *a, const char *tok, size_t len,
		       int64_t now, int want_rc, const char *want_why)
{
	gw_claims_t c;
	const char *why = "unset";
	int rc;

	memset(&c, 0xa5, sizeof(c));
	rc = gw_auth_verify(a, tok, len, now, &c, &why);
	if (rc != want_rc ||
	    (want_why ? !why || strcmp(why, want_why) != 0 : why != NULL))
		fail_msg("verify(%.*s): got %d/%s, want %d/%s",
			 (int)GW_MIN(len, (size_t)300), tok, rc,
			 why ? why : "(null)", want_rc,
			 want_why ? want_why : "(null)");
	if (rc != GW_OK)
		assert_true(is_zero(&c));
}

static void expect(const gw_auth_t *a, const char *tok, int64_t now,
		   int want_rc, const char *want_why)
{
	expect_len(a, tok, strlen(tok), now, want_rc, want_why);
}

static void expect_ok(const gw_auth_t *a, const char *tok, int64_t now)
{
	expect(a, tok, now, GW_OK, NULL);
}

static void expect_malformed(const gw_auth_t *a, const char *tok)
{
	expect(a, tok, NOW, GW_EAUTH, "malformed");
}

/* Any refusal will do (garbage, mutations). */
static void expect_refused(const gw_auth_t *a, const char *tok, size_t len)
{
	gw_claims_t c;
	const char *why = NULL;
	int rc;

	rc = gw_auth_verify(a, tok, len, NOW, &c, &why);
	if (rc == GW_OK)
		fail_msg("accepted: %.*s", (int)GW_MIN(len, (size_t)300), tok);
	assert_true(rc == GW_EAUTH || rc == GW_EEXPIRED);
	assert_non_null(why);
	assert_true(is_zero(&c));
}

/* A token minted by libjwt; free() it. 0 leaves a claim out. */
static char *jwt_mint(const char *sub, long iat, long exp, long nbf,
		      const void *key, size_t keylen)
{
	jwt_t *jwt = NULL;
	char *s;

	assert_int_equal(jwt_new(&jwt), 0);
	assert_int_equal(jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)keylen), 0);
	if (sub)
		assert_int_equal(jwt_add_grant(jwt, "sub", sub), 0);
	if (iat)
		assert_int_equal(jwt_add_grant_int(jwt, "iat", iat), 0);
	if (exp)
		assert_int_equal(jwt_add_grant_int(jwt, "exp", exp), 0);
	if (nbf)
		assert_int_equal(jwt_add_grant_int(jwt, "nbf", nbf), 0);
	s = jwt_encode_str(jwt);
	assert_non_null(s);
	jwt_free(jwt);
	return s;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static int reset(void **state)
{
	(void)state;
	gw_alloc_fail_after(-1);
	json_set_alloc_funcs(malloc, free);
	return 0;
}

/* --- create / free ------------------------------------------------------ */

static void test_create_refuses_short_secret(void **state)
{
	gw_auth_t *a;

	(void)state;
	assert_null(gw_auth_create(SECRET, GW_AUTH_MIN_SECRET - 1, 0));
	assert_null(gw_auth_create(SECRET, 0, 0));
	assert_null(gw_auth_create("", 0, 0));
	assert_null(gw_auth_create(NULL, 64, 0));
	a = gw_auth_create(SECRET, GW_AUTH_MIN_SECRET, 0);
	assert_non_null(a);
	gw_auth_free(a);
}

static void test_create_refuses_negative_leeway(void **state)
{
	(void)state;
	assert_null(gw_auth_create(SECRET, SECRET_LEN, -1));
}

static void test_free_null(void **state)
{
	(void)state;
	gw_auth_free(NULL);
}

static void test_create_alloc_failure(void **state)
{
	gw_auth_t *a = NULL;
	long n;

	(void)state;
	gw_alloc_fail_after(0);
	assert_null(gw_auth_create(SECRET, SECRET_LEN, 0));
	/* Every failing allocation yields NULL and leaks nothing (ASan). */
	for (n = 0; n < 16 && !a; n++) {
		gw_alloc_fail_after(n);
		a = gw_auth_create(SECRET, SECRET_LEN, 0);
	}
	gw_alloc_fail_after(-1);
	assert_non_null(a);
	gw_auth_free(a);
}

static void test_verify_and_sign_do_not_allocate(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];

	(void)state;
	gw_alloc_fail_after(0);
	assert_int_equal(gw_auth_sign(a, "alice", NOW, NOW + 60, tok,
				      sizeof(tok)), GW_OK);
	expect_ok(a, tok, NOW);
	gw_alloc_fail_after(-1);
	gw_auth_free(a);
}

/* A jansson allocator that always fails. */
static void *no_malloc(size_t n)
{
	(void)n;
	return NULL;
}

static void test_jansson_out_of_memory(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], out[TOK_CAP];

	(void)state;
	mintp(tok, "{\"sub\":\"alice\"}");
	json_set_alloc_funcs(no_malloc, free);
	/* Refused (fail closed), nothing leaked, nothing crashed. */
	expect(a, tok, NOW, GW_EAUTH, "malformed");
	assert_int_equal(gw_auth_sign(a, "alice", NOW, 0, out, sizeof(out)),
			 GW_ENOMEM);
	assert_string_equal(out, "");
	json_set_alloc_funcs(malloc, free);
	expect_ok(a, tok, NOW);
	gw_auth_free(a);
}

/* --- interoperability with libjwt --------------------------------------- */

static void test_libjwt_token_verifies(void **state)
{
	gw_auth_t *a = new_auth(0);
	const char *why = "unset";
	gw_claims_t c;
	char *tok;

	(void)state;
	tok = jwt_mint("user-42", NOW - 10, NOW + 3600, NOW - 5, SECRET,
		       SECRET_LEN);
	assert_int_equal(gw_auth_verify(a, tok, strlen(tok), NOW, &c, &why),
			 GW_OK);
	assert_null(why);
	assert_string_equal(c.sub, "user-42");
	assert_int_equal(c.iat, NOW - 10);
	assert_int_equal(c.exp, NOW + 3600);
	assert_int_equal(c.nbf, NOW - 5);
	free(tok);
	gw_auth_free(a);
}

static void test_libjwt_token_minimal_claims(void **state)
{
	gw_auth_t *a = new_auth(0);
	gw_claims_t c;
	char *tok;

	(void)state;
	tok = jwt_mint("bob", 0, 0, 0, SECRET, SECRET_LEN);
	assert_int_equal(gw_auth_verify(a, tok, strlen(tok), NOW, &c, NULL),
			 GW_OK);
	assert_string_equal(c.sub, "bob");
	assert_int_equal(c.exp, 0);
	assert_int_equal(c.nbf, 0);
	assert_int_equal(c.iat, 0);
	free(tok);
	gw_auth_free(a);
}

static void test_libjwt_token_refusals(void **state)
{
	gw_auth_t *a = new_auth(0);
	char *tok;

	(void)state;
	tok = jwt_mint("carol", NOW, NOW + 60, 0, OTHER, strlen(OTHER));
	expect(a, tok, NOW, GW_EAUTH, "bad_signature");
	free(tok);
	tok = jwt_mint("carol", NOW - 120, NOW - 60, 0, SECRET, SECRET_LEN);
	expect(a, tok, NOW, GW_EEXPIRED, "expired");
	free(tok);
	tok = jwt_mint(NULL, NOW, NOW + 60, 0, SECRET, SECRET_LEN);
	expect(a, tok, NOW, GW_EAUTH, "missing_sub");
	free(tok);
	gw_auth_free(a);
}

static void test_sign_verifies_with_libjwt(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	jwt_t *jwt = NULL;

	(void)state;
	assert_int_equal(gw_auth_sign(a, "dave", NOW, NOW + 900, tok,
				      sizeof(tok)), GW_OK);
	assert_int_equal(jwt_decode(&jwt, tok, (const unsigned char *)SECRET,
				    (int)SECRET_LEN), 0);
	assert_int_equal(jwt_get_alg(jwt), JWT_ALG_HS256);
	assert_string_equal(jwt_get_header(jwt, "typ"), "JWT");
	assert_string_equal(jwt_get_grant(jwt, "sub"), "dave");
	assert_int_equal(jwt_get_grant_int(jwt, "iat"), NOW);
	assert_int_equal(jwt_get_grant_int(jwt, "exp"), NOW + 900);
	jwt_free(jwt);

	/* libjwt really checks: the wrong key is refused. */
	jwt = NULL;
	assert_int_not_equal(jwt_decode(&jwt, tok, (const unsigned char *)OTHER,
					(int)strlen(OTHER)), 0);
	jwt_free(jwt);
	gw_auth_free(a);
}

static void test_sign_exact_encoding(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], want[TOK_CAP];
	jwt_t *jwt = NULL;

	(void)state;
	assert_int_equal(gw_auth_sign(a, "alice", NOW, 0, tok, sizeof(tok)),
			 GW_OK);
	/* exp 0 is left out; the header and payload are byte-exact. */
	mintp(want, "{\"sub\":\"alice\",\"iat\":1700000000}");
	assert_string_equal(tok, want);
	assert_int_equal(strncmp(tok, STD_HEADER_B64 ".",
				 strlen(STD_HEADER_B64) + 1), 0);
	assert_null(strchr(tok, '='));

	assert_int_equal(jwt_decode(&jwt, tok, (const unsigned char *)SECRET,
				    (int)SECRET_LEN), 0);
	/* libjwt's "not there": errno ENOENT (the value returned varies). */
	errno = 0;
	(void)jwt_get_grant_int(jwt, "exp");
	assert_int_equal(errno, ENOENT);
	jwt_free(jwt);

	assert_int_equal(gw_auth_sign(a, "alice", NOW, NOW + 1, tok,
				      sizeof(tok)), GW_OK);
	mintp(want,
	      "{\"sub\":\"alice\",\"iat\":1700000000,\"exp\":1700000001}");
	assert_string_equal(tok, want);
	gw_auth_free(a);
}

static void test_sign_roundtrip_escaped_sub(void **state)
{
	static const char *const subs[] = {
		"quote\"d", "back\\slash", "sl/ash", "jos\xc3\xa9",
		"\xe2\x82\xac\xf0\x9f\x98\x80", "with space", "a",
	};
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	gw_claims_t c;
	jwt_t *jwt;
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(subs); i++) {
		assert_int_equal(gw_auth_sign(a, subs[i], NOW, NOW + 60, tok,
					      sizeof(tok)), GW_OK);
		assert_int_equal(gw_auth_verify(a, tok, strlen(tok), NOW, &c,
						NULL), GW_OK);
		assert_string_equal(c.sub, subs[i]);
		assert_int_equal(c.iat, NOW);
		assert_int_equal(c.exp, NOW + 60);
		jwt = NULL;
		assert_int_equal(jwt_decode(&jwt, tok,
					    (const unsigned char *)SECRET,
					    (int)SECRET_LEN), 0);
		assert_string_equal(jwt_get_grant(jwt, "sub"), subs[i]);
		jwt_free(jwt);
	}
	gw_auth_free(a);
}

static void test_binary_and_long_secrets(void **state)
{
	static const char bin[GW_AUTH_MIN_SECRET] = "abc\0def\0";
	char bin2[sizeof(bin)], big[100];
	char tok[TOK_CAP], *jtok;
	gw_auth_t *a, *b;
	jwt_t *jwt = NULL;

	(void)state;
	/* The length, not strlen(), bounds the secret. */
	memcpy(bin2, bin, sizeof(bin));
	bin2[sizeof(bin2) - 1] = 'x';
	a = gw_auth_create(bin, sizeof(bin), 0);
	b = gw_auth_create(bin2, sizeof(bin2), 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(gw_auth_sign(a, "eve", NOW, 0, tok, sizeof(tok)),
			 GW_OK);
	expect_ok(a, tok, NOW);
	expect(b, tok, NOW, GW_EAUTH, "bad_signature");
	assert_int_equal(jwt_decode(&jwt, tok, (const unsigned char *)bin,
				    (int)sizeof(bin)), 0);
	jwt_free(jwt);
	gw_auth_free(a);
	gw_auth_free(b);

	/* Longer than SHA-256's block: HMAC hashes the key first. */
	memset(big, 'k', sizeof(big));
	a = gw_auth_create(big, sizeof(big), 0);
	assert_non_null(a);
	jtok = jwt_mint("frank", 0, NOW + 60, 0, big, sizeof(big));
	expect_ok(a, jtok, NOW);
	free(jtok);
	gw_auth_free(a);
}

/* --- gw_auth_sign's own refusals ---------------------------------------- */

static void test_sign_refuses_bad_sub(void **state)
{
	static const char *const bad[] = {
		"", "new\nline", "tab\t", "del\x7f", "\x1f",
		"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"trunc\xe2\x82",
	};
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], sub[GW_AUTH_SUB_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(bad); i++) {
		strcpy(tok, "junk");
		assert_int_equal(gw_auth_sign(a, bad[i], NOW, 0, tok,
					      sizeof(tok)), GW_EINVAL);
		assert_string_equal(tok, "");
	}
	memset(sub, 'u', sizeof(sub));
	sub[GW_AUTH_SUB_MAX + 1] = '\0';
	assert_int_equal(gw_auth_sign(a, sub, NOW, 0, tok, sizeof(tok)),
			 GW_EINVAL);
	sub[GW_AUTH_SUB_MAX] = '\0';
	assert_int_equal(gw_auth_sign(a, sub, NOW, 0, tok, sizeof(tok)),
			 GW_OK);
	expect_ok(a, tok, NOW);
	gw_auth_free(a);
}

static void test_sign_buffer_too_small(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], small[TOK_CAP];
	size_t need;

	(void)state;
	assert_int_equal(gw_auth_sign(a, "alice", NOW, NOW + 60, tok,
				      sizeof(tok)), GW_OK);
	need = strlen(tok) + 1;
	memset(small, 'x', sizeof(small));
	assert_int_equal(gw_auth_sign(a, "alice", NOW, NOW + 60, small,
				      need - 1), GW_ETOOBIG);
	assert_string_equal(small, "");
	assert_int_equal(gw_auth_sign(a, "alice", NOW, NOW + 60, small, 0),
			 GW_ETOOBIG);
	assert_int_equal(gw_auth_sign(a, "alice", NOW, NOW + 60, small, need),
			 GW_OK);
	assert_string_equal(small, tok);
	gw_auth_free(a);
}

static void test_null_arguments(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	const char *why = NULL;

	(void)state;
	assert_int_equal(gw_auth_sign(NULL, "x", NOW, 0, tok, sizeof(tok)),
			 GW_EINVAL);
	assert_int_equal(gw_auth_sign(a, NULL, NOW, 0, tok, sizeof(tok)),
			 GW_EINVAL);
	assert_int_equal(gw_auth_sign(a, "x", NOW, 0, NULL, 10), GW_EINVAL);

	assert_int_equal(gw_auth_sign(a, "x", NOW, 0, tok, sizeof(tok)), GW_OK);
	assert_int_equal(gw_auth_verify(NULL, tok, strlen(tok), NOW, NULL,
					&why), GW_EINVAL);
	assert_string_equal(why, "malformed");
	expect_len(a, NULL, 0, NOW, GW_EAUTH, "malformed");
	expect_len(a, "", 0, NOW, GW_EAUTH, "malformed");
	/* `out` and `why` are optional. */
	assert_int_equal(gw_auth_verify(a, tok, strlen(tok), NOW, NULL, NULL),
			 GW_OK);
	assert_int_equal(gw_auth_verify(a, "x", 1, NOW, NULL, NULL), GW_EAUTH);
	gw_auth_free(a);
}

/* --- structure ---------------------------------------------------------- */

static void test_segment_count(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], t[TOK_CAP];
	char *dot;

	(void)state;
	mintp(tok, "{\"sub\":\"alice\"}");
	expect_ok(a, tok, NOW);

	fmt(t, sizeof(t), "%s.", tok);
	expect_malformed(a, t);
	fmt(t, sizeof(t), "%s.AAAA", tok);
	expect_malformed(a, t);
	fmt(t, sizeof(t), "%s", tok);
	dot = strrchr(t, '.');
	*dot = '\0';
	expect_malformed(a, t); /* two segments */
	dot = strchr(t, '.');
	*dot = '\0';
	expect_malformed(a, t); /* one segment */

	expect_malformed(a, "");
	expect_malformed(a, ".");
	expect_malformed(a, "..");
	expect_malformed(a, "...");
	expect_malformed(a, "e30..e30");
	expect_malformed(a, ".e30.e30");
	expect_malformed(a, "e30.e30.");
	expect_malformed(a, "e30.e30.e30.e30");
	gw_auth_free(a);
}

static void test_empty_segments_when_signed(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];

	(void)state;
	/* Empty header or payload, correctly signed, is still refused. */
	sign_parts(tok, "", "eyJzdWIiOiJhbGljZSJ9", SECRET, SECRET_LEN);
	expect_malformed(a, tok);
	sign_parts(tok, STD_HEADER_B64, "", SECRET, SECRET_LEN);
	expect_malformed(a, tok);
	gw_auth_free(a);
}

static void test_header_not_object(void **state)
{
	static const char *const headers[] = {
		"[]", "[\"HS256\"]", "\"JWT\"", "123", "null", "true", "",
		"{\"alg\":\"HS256\"", "not json", "{\"alg\":\"HS256\"} x",
		"{\"alg\":\"HS256\"}{}", "{'alg':'HS256'}",
		"{\"alg\":\"HS256\",\"x\":\"\\u0000\"}",
		"{\"alg\":\"HS256\",\"x\":\"\xff\"}",
	};
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(headers); i++) {
		mint(tok, headers[i], "{\"sub\":\"alice\"}");
		expect_malformed(a, tok);
	}
	gw_auth_free(a);
}

static void test_alg_not_allowed(void **state)
{
	static const char *const headers[] = {
		"{}",
		"{\"typ\":\"JWT\"}",
		"{\"alg\":\"none\",\"typ\":\"JWT\"}",
		"{\"alg\":\"None\"}",
		"{\"alg\":\"HS384\"}",
		"{\"alg\":\"HS512\"}",
		"{\"alg\":\"RS256\"}",
		"{\"alg\":\"ES256\"}",
		"{\"alg\":\"PS256\"}",
		"{\"alg\":\"hs256\"}",
		"{\"alg\":\"Hs256\"}",
		"{\"alg\":\"HS256 \"}",
		"{\"alg\":\" HS256\"}",
		"{\"alg\":\"HS2560\"}",
		"{\"alg\":\"HS25\"}",
		"{\"alg\":\"\"}",
		"{\"alg\":256}",
		"{\"alg\":null}",
		"{\"alg\":true}",
		"{\"alg\":[\"HS256\"]}",
		"{\"alg\":{\"HS256\":1}}",
		"{\"ALG\":\"HS256\"}",
	};
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	size_t i;

	(void)state;
	/* Signed with HS256 and SECRET all the same: only alg is wrong. */
	for (i = 0; i < GW_ARRAY_LEN(headers); i++) {
		mint(tok, headers[i], "{\"sub\":\"alice\"}");
		expect(a, tok, NOW, GW_EAUTH, "alg_not_allowed");
	}
	gw_auth_free(a);
}

static void test_alg_none_unsigned(void **state)
{
	gw_auth_t *a = new_auth(0);
	char h64[64], p64[64], tok[TOK_CAP];

	(void)state;
	b64u("{\"alg\":\"none\"}", 14, h64);
	b64u("{\"sub\":\"alice\"}", 15, p64);
	/* The classic unsigned token: an empty third segment. */
	fmt(tok, sizeof(tok), "%s.%s.", h64, p64);
	expect_malformed(a, tok);
	fmt(tok, sizeof(tok), "%s.%s.AAAA", h64, p64);
	expect(a, tok, NOW, GW_EAUTH, "alg_not_allowed");
	gw_auth_free(a);
}

static void test_typ(void **state)
{
	static const char *const good[] = {
		"{\"alg\":\"HS256\"}",
		"{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
		"{\"typ\":\"jwt\",\"alg\":\"HS256\"}",
		"{\"alg\":\"HS256\",\"typ\":\"Jwt\"}",
		"{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
	};
	static const char *const bad[] = {
		"{\"alg\":\"HS256\",\"typ\":\"JWS\"}",
		"{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}",
		"{\"alg\":\"HS256\",\"typ\":\"JWT \"}",
		"{\"alg\":\"HS256\",\"typ\":\"\"}",
		"{\"alg\":\"HS256\",\"typ\":1}",
		"{\"alg\":\"HS256\",\"typ\":null}",
		"{\"alg\":\"HS256\",\"typ\":[\"JWT\"]}",
	};
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(good); i++) {
		mint(tok, good[i], "{\"sub\":\"alice\"}");
		expect_ok(a, tok, NOW);
	}
	for (i = 0; i < GW_ARRAY_LEN(bad); i++) {
		mint(tok, bad[i], "{\"sub\":\"alice\"}");
		expect_malformed(a, tok);
	}
	gw_auth_free(a);
}

static void test_crit_and_duplicate_keys(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];

	(void)state;
	mint(tok, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{\"sub\":\"a\"}");
	expect_malformed(a, tok);
	mint(tok, "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}",
	     "{\"sub\":\"a\"}");
	expect_malformed(a, tok);
	/* A second alg must not be able to override the first, or vice
	 * versa; nor a second sub. */
	mint(tok, "{\"alg\":\"HS256\",\"alg\":\"none\"}", "{\"sub\":\"a\"}");
	expect_malformed(a, tok);
	mint(tok, "{\"alg\":\"none\",\"alg\":\"HS256\"}", "{\"sub\":\"a\"}");
	expect_malformed(a, tok);
	mintp(tok, "{\"sub\":\"alice\",\"sub\":\"admin\"}");
	expect_malformed(a, tok);
	mintp(tok, "{\"sub\":\"alice\",\"exp\":1,\"exp\":9999999999}");
	expect_malformed(a, tok);
	gw_auth_free(a);
}

/* --- signature ---------------------------------------------------------- */

static void test_bad_signature(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], t[TOK_CAP], sig[128];
	unsigned char raw[33] = { 0 };
	char *s;

	(void)state;
	mint_key(tok, STD_HEADER, "{\"sub\":\"alice\"}", OTHER, strlen(OTHER));
	expect(a, tok, NOW, GW_EAUTH, "bad_signature");

	mintp(tok, "{\"sub\":\"alice\"}");
	s = strrchr(tok, '.') + 1;
	assert_int_equal(strlen(s), 43);

	/* A changed first character changes significant bits. */
	strcpy(t, tok);
	t[s - tok] = t[s - tok] == 'A' ? 'B' : 'A';
	expect(a, t, NOW, GW_EAUTH, "bad_signature");

	/* Decodable signatures of the wrong length. */
	strcpy(t, tok);
	b64u(raw, 31, sig);
	strcpy(t + (s - tok), sig);
	expect(a, t, NOW, GW_EAUTH, "bad_signature");
	b64u(raw, 33, sig);
	strcpy(t + (s - tok), sig);
	expect(a, t, NOW, GW_EAUTH, "bad_signature");
	strcpy(t + (s - tok), "AAAA");
	expect(a, t, NOW, GW_EAUTH, "bad_signature");

	/* Not base64url at all. */
	strcpy(t, tok);
	t[s - tok + 5] = '+';
	expect_malformed(a, t);
	strcpy(t, tok);
	t[s - tok + 5] = '/';
	expect_malformed(a, t);
	fmt(t, sizeof(t), "%s=", tok);
	expect_malformed(a, t);
	strcpy(t, tok);
	t[strlen(t) - 1] = '\0'; /* 42 characters: 1 mod 4 is never valid */
	expect_malformed(a, t);
	gw_auth_free(a);
}

static void test_signature_must_be_canonical(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];

	(void)state;
	/*
	 * The last of 43 characters carries two unused bits. A lax decoder
	 * ignores them and accepts this second spelling of the same MAC.
	 */
	mintp(tok, "{\"sub\":\"alice\"}");
	expect_ok(a, tok, NOW);
	bump_last(tok);
	expect_malformed(a, tok);
	gw_auth_free(a);
}

static void test_signature_checked_before_payload(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], p64[64];

	(void)state;
	/* A payload that is not JSON: malformed only once it is authentic. */
	mintp(tok, "{not json");
	expect_malformed(a, tok);
	mint_key(tok, STD_HEADER, "{not json", OTHER, strlen(OTHER));
	expect(a, tok, NOW, GW_EAUTH, "bad_signature");

	/* A payload that is not base64url: likewise. */
	strcpy(p64, "eyJzdWIiOiJhbGljZSJ9=");
	sign_parts(tok, STD_HEADER_B64, p64, SECRET, SECRET_LEN);
	expect_malformed(a, tok);
	sign_parts(tok, STD_HEADER_B64, p64, OTHER, strlen(OTHER));
	expect(a, tok, NOW, GW_EAUTH, "bad_signature");

	/* An expired, sub-less payload under a bad signature is just that. */
	mint_key(tok, STD_HEADER, "{\"exp\":1}", OTHER, strlen(OTHER));
	expect(a, tok, NOW, GW_EAUTH, "bad_signature");
	gw_auth_free(a);
}

/* --- base64url ---------------------------------------------------------- */

static void test_bad_base64(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], h64[128], p64[128], pb[256];

	(void)state;
	/* Padding is refused even when correctly signed. */
	b64u("{\"alg\":\"HS256\"}", 15, h64); /* 15 bytes: no padding */
	b64u("{\"sub\":\"alic\"}", 14, p64);  /* 14 bytes: one '=' due */
	fmt(pb, sizeof(pb), "%s=", p64);
	sign_parts(tok, h64, pb, SECRET, SECRET_LEN);
	expect_malformed(a, tok);
	sign_parts(tok, h64, p64, SECRET, SECRET_LEN);
	expect_ok(a, tok, NOW);

	/* Non-canonical unused bits in the header or payload, signed. */
	strcpy(pb, p64);
	bump_last(pb);
	sign_parts(tok, h64, pb, SECRET, SECRET_LEN);
	expect_malformed(a, tok);
	b64u("{\"alg\":\"HS256\"} ", 16, h64);
	bump_last(h64);
	sign_parts(tok, h64, p64, SECRET, SECRET_LEN);
	expect_malformed(a, tok);

	/* Standard base64's '+' and '/', a space, a length of 1 mod 4. */
	sign_parts(tok, "eyJ+bGciOiJIUzI1NiJ9", p64, SECRET, SECRET_LEN);
	expect_malformed(a, tok);
	sign_parts(tok, "eyJ/bGciOiJIUzI1NiJ9", p64, SECRET, SECRET_LEN);
	expect_malformed(a, tok);
	sign_parts(tok, "eyJ bGciOiJIUzI1NiJ9", p64, SECRET, SECRET_LEN);
	expect_malformed(a, tok);
	sign_parts(tok, STD_HEADER_B64 "A", p64, SECRET, SECRET_LEN);
	expect_malformed(a, tok);
	sign_parts(tok, STD_HEADER_B64, "eyJzdWIiOiJh\xc3\xa9", SECRET,
		   SECRET_LEN);
	expect_malformed(a, tok);
	gw_auth_free(a);
}

/* --- payload and claims ------------------------------------------------- */

static void test_payload_not_object(void **state)
{
	static const char *const payloads[] = {
		"[]", "[{\"sub\":\"alice\"}]", "\"alice\"", "1", "null",
		"true", "{", "{\"sub\":\"alice\"} {}", "{\"sub\":\"alice\",}",
		"{\"sub\":\"al\xffice\"}",
	};
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(payloads); i++) {
		mintp(tok, payloads[i]);
		expect_malformed(a, tok);
	}
	gw_auth_free(a);
}

static void test_sub(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"exp\":9999999999}",
		"{\"Sub\":\"alice\"}",
		"{\"sub\":1}",
		"{\"sub\":null}",
		"{\"sub\":true}",
		"{\"sub\":[\"alice\"]}",
		"{\"sub\":{\"id\":\"alice\"}}",
		"{\"sub\":\"\"}",
		"{\"sub\":\"a\\nb\"}",
		"{\"sub\":\"a\\rb\"}",
		"{\"sub\":\"\\t\"}",
		"{\"sub\":\"a\\u001fb\"}",
		"{\"sub\":\"a\\u007fb\"}",
		"{\"sub\":\"\x7f\"}",
	};
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], payload[512], name[GW_AUTH_SUB_MAX + 2];
	gw_claims_t c;
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(bad); i++) {
		mintp(tok, bad[i]);
		expect(a, tok, NOW, GW_EAUTH, "missing_sub");
	}
	/* A NUL is already refused by the JSON parser. */
	mintp(tok, "{\"sub\":\"a\\u0000b\"}");
	expect_malformed(a, tok);

	/* GW_AUTH_SUB_MAX bytes pass; one more does not. */
	memset(name, 'n', sizeof(name));
	name[GW_AUTH_SUB_MAX + 1] = '\0';
	fmt(payload, sizeof(payload), "{\"sub\":\"%s\"}", name);
	mintp(tok, payload);
	expect(a, tok, NOW, GW_EAUTH, "missing_sub");
	name[GW_AUTH_SUB_MAX] = '\0';
	fmt(payload, sizeof(payload), "{\"sub\":\"%s\"}", name);
	mintp(tok, payload);
	assert_int_equal(gw_auth_verify(a, tok, strlen(tok), NOW, &c, NULL),
			 GW_OK);
	assert_string_equal(c.sub, name);

	/* Escapes are decoded; non-ASCII is fine. */
	mintp(tok, "{\"sub\":\"a\\\"b\\u00e9\\/\"}");
	assert_int_equal(gw_auth_verify(a, tok, strlen(tok), NOW, &c, NULL),
			 GW_OK);
	assert_string_equal(c.sub, "a\"b\xc3\xa9/");
	gw_auth_free(a);
}

static void test_date_types(void **state)
{
	static const char *const bad[] = {
		"{\"sub\":\"a\",\"exp\":\"9999999999\"}",
		"{\"sub\":\"a\",\"exp\":true}",
		"{\"sub\":\"a\",\"exp\":null}",
		"{\"sub\":\"a\",\"exp\":[9999999999]}",
		"{\"sub\":\"a\",\"exp\":{}}",
		"{\"sub\":\"a\",\"exp\":1e300}",
		"{\"sub\":\"a\",\"exp\":-1e300}",
		"{\"sub\":\"a\",\"exp\":9.3e18}",
		"{\"sub\":\"a\",\"exp\":9223372036854775808}",
		"{\"sub\":\"a\",\"exp\":9223372036854775807}",
		"{\"sub\":\"a\",\"exp\":1e16}",
		"{\"sub\":\"a\",\"exp\":10000000000000000}",
		"{\"sub\":\"a\",\"exp\":1e400}",
		"{\"sub\":\"a\",\"nbf\":\"0\"}",
		"{\"sub\":\"a\",\"nbf\":false}",
		"{\"sub\":\"a\",\"iat\":\"now\"}",
		"{\"sub\":\"a\",\"iat\":null}",
	};
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(bad); i++) {
		mintp(tok, bad[i]);
		expect_malformed(a, tok);
	}
	mintp(tok, "{\"sub\":\"a\",\"exp\":9999999999,\"nbf\":1,\"iat\":1}");
	expect_ok(a, tok, NOW);
	mintp(tok, "{\"sub\":\"a\",\"exp\":9999999999.0,\"nbf\":1.5e9}");
	expect_ok(a, tok, NOW);
	gw_auth_free(a);
}

static char *mint_dates(char *tok, const char *exp, const char *nbf)
{
	char payload[256];

	fmt(payload, sizeof(payload), "{\"sub\":\"alice\"%s%s%s%s}",
		 exp ? ",\"exp\":" : "", exp ? exp : "",
		 nbf ? ",\"nbf\":" : "", nbf ? nbf : "");
	return mintp(tok, payload);
}

static void test_exp_boundaries(void **state)
{
	gw_auth_t *a0 = new_auth(0), *a30 = new_auth(30);
	char tok[TOK_CAP];

	(void)state;
	mint_dates(tok, "1700000000", NULL);
	expect(a0, tok, NOW, GW_EEXPIRED, "expired"); /* exp == now */
	expect_ok(a0, tok, NOW - 1);
	expect_ok(a30, tok, NOW);
	expect_ok(a30, tok, NOW + 29);
	expect(a30, tok, NOW + 30, GW_EEXPIRED, "expired");
	expect(a30, tok, NOW + 31, GW_EEXPIRED, "expired");

	/* exp 0 is present, hence long expired, though out->exp reads 0. */
	mint_dates(tok, "0", NULL);
	expect(a30, tok, NOW, GW_EEXPIRED, "expired");
	mint_dates(tok, "-1", NULL);
	expect(a30, tok, NOW, GW_EEXPIRED, "expired");
	gw_auth_free(a0);
	gw_auth_free(a30);
}

static void test_nbf_boundaries(void **state)
{
	gw_auth_t *a0 = new_auth(0), *a30 = new_auth(30);
	char tok[TOK_CAP];
	gw_claims_t c;

	(void)state;
	mint_dates(tok, NULL, "1700000000");
	expect_ok(a0, tok, NOW); /* nbf == now */
	expect(a0, tok, NOW - 1, GW_EAUTH, "not_yet_valid");
	expect_ok(a30, tok, NOW - 30);
	expect(a30, tok, NOW - 31, GW_EAUTH, "not_yet_valid");

	/* Both at once: a token valid for exactly one second. */
	mint_dates(tok, "1700000001", "1700000000");
	expect(a0, tok, NOW - 1, GW_EAUTH, "not_yet_valid");
	assert_int_equal(gw_auth_verify(a0, tok, strlen(tok), NOW, &c, NULL),
			 GW_OK);
	assert_int_equal(c.exp, NOW + 1);
	assert_int_equal(c.nbf, NOW);
	expect(a0, tok, NOW + 1, GW_EEXPIRED, "expired");
	gw_auth_free(a0);
	gw_auth_free(a30);
}

static void test_real_dates(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	gw_claims_t c;

	(void)state;
	/* Valid until 1700000000.5: still valid during second ...000. */
	mint_dates(tok, "1700000000.5", NULL);
	assert_int_equal(gw_auth_verify(a, tok, strlen(tok), NOW, &c, NULL),
			 GW_OK);
	assert_int_equal(c.exp, NOW + 1);
	expect(a, tok, NOW + 1, GW_EEXPIRED, "expired");

	/* Valid from 1700000000.5: not during second ...000. */
	mint_dates(tok, NULL, "1700000000.5");
	expect(a, tok, NOW, GW_EAUTH, "not_yet_valid");
	expect_ok(a, tok, NOW + 1);

	mint_dates(tok, "1.7e9", NULL);
	expect(a, tok, NOW, GW_EEXPIRED, "expired");
	expect_ok(a, tok, NOW - 1);
	gw_auth_free(a);
}

/*
 * Dates past ±GW_AUTH_DATE_MAX (year 9999) refuse the token: a node that
 * kept exp = 1e16 overflowed exp * 1000 in its heartbeat arithmetic.
 */
static void test_date_range(void **state)
{
	static const char *const names[] = { "exp", "nbf", "iat" };
	gw_auth_t *a = new_auth(5);
	char tok[TOK_CAP], payload[128];
	gw_claims_t c;
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(names); i++) {
		fmt(payload, sizeof(payload), "{\"sub\":\"a\",\"%s\":%s}",
		    names[i], "253402300800");
		mintp(tok, payload);
		expect_malformed(a, tok);
		fmt(payload, sizeof(payload), "{\"sub\":\"a\",\"%s\":%s}",
		    names[i], "-253402300800");
		mintp(tok, payload);
		expect_malformed(a, tok);
		fmt(payload, sizeof(payload), "{\"sub\":\"a\",\"%s\":%s}",
		    names[i], "253402300799.5");
		mintp(tok, payload);
		expect_malformed(a, tok);
		fmt(payload, sizeof(payload), "{\"sub\":\"a\",\"%s\":%s}",
		    names[i], "1e16");
		mintp(tok, payload);
		expect_malformed(a, tok);
	}
	/* The bound itself is a date like any other. */
	mint_dates(tok, "253402300799", NULL);
	assert_int_equal(gw_auth_verify(a, tok, strlen(tok), NOW, &c, NULL),
			 GW_OK);
	assert_true(c.exp == GW_AUTH_DATE_MAX);
	mint_dates(tok, "253402300798.5", NULL);
	expect_ok(a, tok, NOW);
	mint_dates(tok, "-253402300799", NULL);
	expect(a, tok, NOW, GW_EEXPIRED, "expired");
	mint_dates(tok, NULL, "253402300799");
	expect(a, tok, NOW, GW_EAUTH, "not_yet_valid");
	gw_auth_free(a);
}

static void test_extreme_times(void **state)
{
	gw_auth_t *a = gw_auth_create(SECRET, SECRET_LEN, 1 << 30);
	char tok[TOK_CAP];

	(void)state;
	assert_non_null(a);
	/* now ± leeway must saturate, not overflow (UBSan watches). */
	mint_dates(tok, "253402300799", "253402300799");
	expect(a, tok, INT64_MAX, GW_EEXPIRED, "expired");
	expect(a, tok, INT64_MIN, GW_EAUTH, "not_yet_valid");
	expect_ok(a, tok, GW_AUTH_DATE_MAX);
	mint_dates(tok, "-253402300799", "-253402300799");
	expect(a, tok, INT64_MIN, GW_EAUTH, "not_yet_valid");
	expect(a, tok, INT64_MAX, GW_EEXPIRED, "expired");
	mint_dates(tok, "-253402300799", NULL);
	expect_ok(a, tok, INT64_MIN);
	gw_auth_free(a);
}

/* --- size --------------------------------------------------------------- */

/* Mints a valid token of exactly `len` bytes by padding a claim. */
static void mint_exact(char *tok, size_t len)
{
	char payload[TOK_CAP];
	size_t pad;

	for (pad = 0; pad < GW_AUTH_TOKEN_MAX; pad++) {
		fmt(payload, sizeof(payload), "{\"sub\":\"a\",\"p\":\"%*s\"}",
			 (int)pad, "");
		mintp(tok, payload);
		if (strlen(tok) >= len)
			break;
	}
	assert_int_equal(strlen(tok), len);
}

static void test_too_long(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	char *huge;
	size_t n = 1 << 20;

	(void)state;
	mint_exact(tok, GW_AUTH_TOKEN_MAX);
	expect_ok(a, tok, NOW);
	mint_exact(tok, GW_AUTH_TOKEN_MAX + 1);
	expect(a, tok, NOW, GW_EAUTH, "too_long");

	huge = malloc(n);
	assert_non_null(huge);
	memset(huge, 'A', n);
	huge[100] = '.';
	huge[200] = '.';
	expect_len(a, huge, n, NOW, GW_EAUTH, "too_long");
	expect_len(a, huge, SIZE_MAX, NOW, GW_EAUTH, "too_long");
	free(huge);
	gw_auth_free(a);
}

/* --- malformed input ---------------------------------------------------- */

static void test_length_is_respected(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], *exact;
	size_t n;

	(void)state;
	mintp(tok, "{\"sub\":\"alice\"}");
	n = strlen(tok);
	/* Not NUL-terminated: ASan catches any read past `len`. */
	exact = malloc(n);
	assert_non_null(exact);
	memcpy(exact, tok, n);
	expect_len(a, exact, n, NOW, GW_OK, NULL);
	free(exact);

	/* Bytes after `len` are not part of the token... */
	strcat(tok, ".garbage");
	expect_len(a, tok, n, NOW, GW_OK, NULL);
	tok[n] = '\0';
	/* ...but a NUL inside it is. */
	expect_len(a, tok, n + 1, NOW, GW_EAUTH, "malformed");
	tok[10] = '\0';
	expect_len(a, tok, n, NOW, GW_EAUTH, "malformed");
	gw_auth_free(a);
}

static void test_truncated(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], *p;
	size_t n, i;

	(void)state;
	assert_int_equal(gw_auth_sign(a, "alice", NOW, NOW + 60, tok,
				      sizeof(tok)), GW_OK);
	n = strlen(tok);
	for (i = 0; i < n; i++) {
		p = malloc(i ? i : 1);
		assert_non_null(p);
		memcpy(p, tok, i);
		expect_refused(a, p, i);
		free(p);
	}
	/* Every suffix too. */
	for (i = 1; i < n; i++)
		expect_refused(a, tok + i, n - i);
	gw_auth_free(a);
}

static void test_every_single_byte_mutation(void **state)
{
	static const char extra[] = "=.+/ \n\"{}";
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP], t[TOK_CAP];
	size_t n, i, k, cands = sizeof(b64url_chars) - 1 + sizeof(extra);
	char ch;

	(void)state;
	assert_int_equal(gw_auth_sign(a, "alice", NOW, NOW + 60, tok,
				      sizeof(tok)), GW_OK);
	n = strlen(tok);
	for (i = 0; i < n; i++) {
		for (k = 0; k < cands; k++) {
			ch = k < sizeof(b64url_chars) - 1 ?
				b64url_chars[k] :
				extra[k - (sizeof(b64url_chars) - 1)];
			if (ch == tok[i])
				continue;
			memcpy(t, tok, n);
			t[i] = ch;
			expect_refused(a, t, n);
		}
		/* And the byte deleted. */
		memcpy(t, tok, i);
		memcpy(t + i, tok + i + 1, n - i - 1);
		expect_refused(a, t, n - 1);
	}
	expect_ok(a, tok, NOW);
	gw_auth_free(a);
}

static void test_random_garbage(void **state)
{
	gw_auth_t *a = new_auth(0);
	char buf[1024];
	size_t len, i;
	int round;

	(void)state;
	for (round = 0; round < 3000; round++) {
		len = rng() % sizeof(buf);
		for (i = 0; i < len; i++)
			buf[i] = (char)rng();
		expect_refused(a, buf, len);
	}
	/* Garbage that has the right shape: alphabet and two dots. */
	for (round = 0; round < 3000; round++) {
		len = 6 + rng() % 300;
		for (i = 0; i < len; i++)
			buf[i] = b64url_chars[rng() % 64];
		buf[1 + rng() % (len / 2)] = '.';
		buf[len / 2 + 1 + rng() % (len / 2 - 1)] = '.';
		expect_refused(a, buf, len);
	}
	/* A real header and signature around a random payload. */
	for (round = 0; round < 500; round++) {
		char p64[512], tok[TOK_CAP];

		len = 2 + rng() % 200;
		for (i = 0; i < len; i++)
			p64[i] = b64url_chars[rng() % 64];
		p64[len] = '\0';
		sign_parts(tok, STD_HEADER_B64, p64, SECRET, SECRET_LEN);
		expect_refused(a, tok, strlen(tok));
	}
	gw_auth_free(a);
}

static void test_non_json_header_with_good_signature(void **state)
{
	gw_auth_t *a = new_auth(0);
	char tok[TOK_CAP];
	unsigned char bin[48];
	char h64[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 37 + 11);
	b64u(bin, sizeof(bin), h64);
	sign_parts(tok, h64, "eyJzdWIiOiJhbGljZSJ9", SECRET, SECRET_LEN);
	expect_malformed(a, tok);
	gw_auth_free(a);
}

#define T(f) cmocka_unit_test_teardown(f, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_refuses_short_secret),
		T(test_create_refuses_negative_leeway),
		T(test_free_null),
		T(test_create_alloc_failure),
		T(test_verify_and_sign_do_not_allocate),
		T(test_jansson_out_of_memory),
		T(test_libjwt_token_verifies),
		T(test_libjwt_token_minimal_claims),
		T(test_libjwt_token_refusals),
		T(test_sign_verifies_with_libjwt),
		T(test_sign_exact_encoding),
		T(test_sign_roundtrip_escaped_sub),
		T(test_binary_and_long_secrets),
		T(test_sign_refuses_bad_sub),
		T(test_sign_buffer_too_small),
		T(test_null_arguments),
		T(test_segment_count),
		T(test_empty_segments_when_signed),
		T(test_header_not_object),
		T(test_alg_not_allowed),
		T(test_alg_none_unsigned),
		T(test_typ),
		T(test_crit_and_duplicate_keys),
		T(test_bad_signature),
		T(test_signature_must_be_canonical),
		T(test_signature_checked_before_payload),
		T(test_bad_base64),
		T(test_payload_not_object),
		T(test_sub),
		T(test_date_types),
		T(test_exp_boundaries),
		T(test_nbf_boundaries),
		T(test_real_dates),
		T(test_date_range),
		T(test_extreme_times),
		T(test_too_long),
		T(test_length_is_respected),
		T(test_truncated),
		T(test_every_single_byte_mutation),
		T(test_random_garbage),
		T(test_non_json_header_with_good_signature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
