/*
 * gw_auth.c — HS256 JSON Web Tokens: strict verification and signing.
 *
 * This file owns the verifier (a private copy of the shared secret and the
 * clock leeway), the strict base64url codec tokens are written in, and the
 * order in which a token is examined. Whatever reads a token from a client
 * calls gw_auth_verify(); the tools and the tests mint tokens with
 * gw_auth_sign(). Nothing here logs: tokens are bearer secrets, so callers
 * log the short static `why` instead.
 *
 * The order of the checks is the point of the module:
 *
 *   1. The size bound, before a byte is read: a megabyte "token" costs one
 *      comparison.
 *   2. Exactly three non-empty segments.
 *   3. The header, decoded and parsed, because "alg" says what the signature
 *      means. Only "HS256" passes, so "none" and algorithm-confusion tokens
 *      are refused before any cryptography is done.
 *   4. The signature, HMAC-SHA256 over the two encoded segments exactly as
 *      received, compared in constant time.
 *   5. Only then the payload JSON: an unauthenticated payload never reaches
 *      the JSON parser.
 *
 * Strictness, and why: base64url is accepted only without padding and only
 * in its canonical spelling (the unused low bits of the last character must
 * be zero), so a token has exactly one spelling and nobody can mint a
 * "different" token from a stolen one. Duplicate JSON keys are refused, so
 * "sub" cannot mean one user to us and another to some other parser.
 *
 * Memory: gw_auth_create() makes one allocation through gw_alloc. Verify and
 * sign work in bounded stack buffers (a token is at most GW_AUTH_TOKEN_MAX
 * bytes), so the only heap they touch is jansson's and OpenSSL's own.
 */
#include "gw_auth.h"
#include "gw_alloc.h"

#include <limits.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIG_LEN 32 /* bytes of an HMAC-SHA256 */

/* The largest decoded segment: a whole maximal token, 3 bytes per 4 chars. */
#define SEG_MAX (GW_AUTH_TOKEN_MAX / 4 * 3 + 2)

/* Compact claims: sub escaped at worst 2x, plus two 20-digit integers. */
#define PAYLOAD_MAX 512

struct gw_auth {
	int leeway_s;
	size_t secret_len;
	unsigned char secret[]; /* secret_len bytes, wiped by gw_auth_free() */
};

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of `c`, or -1 when `c` is not in the base64url alphabet. */
static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

static size_t b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* Writes b64url_encoded_len(n) characters to `out`, no padding, no NUL. */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
	uint32_t v;
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*out++ = b64url_alphabet[v >> 18 & 63];
		*out++ = b64url_alphabet[v >> 12 & 63];
		*out++ = b64url_alphabet[v >> 6 & 63];
		*out++ = b64url_alphabet[v & 63];
	}
	if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = b64url_alphabet[v >> 18 & 63];
		*out++ = b64url_alphabet[v >> 12 & 63];
		*out++ = b64url_alphabet[v >> 6 & 63];
	} else if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		*out++ = b64url_alphabet[v >> 18 & 63];
		*out++ = b64url_alphabet[v >> 12 & 63];
	}
}

/*
 * Decodes `n` base64url characters into `out` (room for `cap` bytes) and
 * sets `*outlen`. Refused with -1: '=' padding and every other character
 * outside the alphabet, a length of 1 mod 4 (no byte count encodes to
 * that), non-zero unused bits in the last character (a second spelling of
 * the same bytes) and output that would not fit.
 */
static int b64url_decode(const char *in, size_t n, unsigned char *out,
			 size_t cap, size_t *outlen)
{
	size_t i, o = 0, rem = n % 4, k;
	uint32_t v;
	int d;

	if (rem == 1 || n / 4 * 3 + (rem ? rem - 1 : 0) > cap)
		return -1;
	for (i = 0; i < n; i += 4) {
		size_t chunk = GW_MIN(n - i, (size_t)4);

		v = 0;
		for (k = 0; k < chunk; k++) {
			d = b64url_value((unsigned char)in[i + k]);
			if (d < 0)
				return -1;
			v = v << 6 | (uint32_t)d;
		}
		switch (chunk) {
		case 4:
			out[o++] = (unsigned char)(v >> 16);
			out[o++] = (unsigned char)(v >> 8);
			out[o++] = (unsigned char)v;
			break;
		case 3: /* 18 bits: two bytes and two unused bits */
			if (v & 0x3)
				return -1;
			out[o++] = (unsigned char)(v >> 10);
			out[o++] = (unsigned char)(v >> 2);
			break;
		case 2: /* 12 bits: one byte and four unused bits */
			if (v & 0xf)
				return -1;
			out[o++] = (unsigned char)(v >> 4);
			break;
		}
	}
	*outlen = o;
	return 0;
}

static int hs256(const gw_auth_t *a, const char *msg, size_t n,
		 unsigned char mac[SIG_LEN])
{
	unsigned int maclen = 0;

	if (!HMAC(EVP_sha256(), a->secret, (int)a->secret_len,
		  (const unsigned char *)msg, n, mac, &maclen) ||
	    maclen != SIG_LEN)
		return GW_ERROR;
	return GW_OK;
}

/* A usable user id: 1..GW_AUTH_SUB_MAX bytes and no control characters. */
static int sub_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > GW_AUTH_SUB_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
 * jansson checks this when it parses, so only gw_auth_sign() needs it: it
 * tells a bad `sub` (GW_EINVAL) from jansson running out of memory, which
 * json_stringn() reports the same way.
 */
static int utf8_ok(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k, more;
	uint32_t cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			more = 1;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			more = 2;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			more = 3;
			min = 0x10000;
		} else {
			return 0;
		}
		cp = s[i] & (0x3f >> more);
		if (more >= n - i)
			return 0;
		for (k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += more + 1;
	}
	return 1;
}

/* x + y, saturating at the int64_t bounds instead of overflowing. */
static int64_t sat_add(int64_t x, int64_t y)
{
	int64_t r;

	if (__builtin_add_overflow(x, y, &r))
		return y > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/*
 * Reads the optional NumericDate claim `name`: returns 1 and sets `*out`
 * when present, 0 (and `*out` = 0) when absent, -1 when it is not a number
 * or lies outside ±GW_AUTH_DATE_MAX (see gw_auth.h: such a token is
 * refused, never clamped). RFC 7519 allows non-integer dates; a real is
 * rounded up, which keeps the exp and nbf tests exact for the whole-second
 * `now` we are given (for an integer t, x <= t and ceil(x) <= t agree, and
 * so do x > t and ceil(x) > t).
 */
static int numeric_date(const json_t *claims, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(claims, name);
	double d;

	*out = 0;
	if (!v)
		return 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < -GW_AUTH_DATE_MAX || i > GW_AUTH_DATE_MAX)
			return -1;
		*out = (int64_t)i;
		return 1;
	}
	if (!json_is_real(v))
		return -1;
	d = ceil(json_real_value(v));
	/* Also false for NaN; the bound is exact in a double (< 2^53). */
	if (!(d >= (double)-GW_AUTH_DATE_MAX && d <= (double)GW_AUTH_DATE_MAX))
		return -1;
	*out = (int64_t)d;
	return 1;
}

gw_auth_t *gw_auth_create(const char *secret, size_t len, int leeway_s)
{
	gw_auth_t *a;

	/* HMAC() takes an int key length; a negative leeway is a config bug. */
	if (!secret || len < GW_AUTH_MIN_SECRET || len > INT_MAX ||
	    leeway_s < 0)
		return NULL;
	a = gw_malloc(sizeof(*a) + len);
	if (!a)
		return NULL;
	a->leeway_s = leeway_s;
	a->secret_len = len;
	memcpy(a->secret, secret, len);
	return a;
}

void gw_auth_free(gw_auth_t *a)
{
	if (!a)
		return;
	OPENSSL_cleanse(a, sizeof(*a) + a->secret_len);
	gw_free(a);
}

/*
 * Parses one decoded segment as a single, duplicate-free JSON object; NULL
 * otherwise. jansson running out of memory also lands here: the token is
 * refused either way, and json_loadb() does not reliably tell us which.
 */
static json_t *parse_object(const unsigned char *buf, size_t n)
{
	json_t *j;

	j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Checks the header's alg, typ and crit; sets `*why` on refusal. */
static int check_header(const json_t *h, const char **why)
{
	const json_t *v;

	v = json_object_get(h, "alg");
	if (!json_is_string(v) || json_string_length(v) != 5 ||
	    memcmp(json_string_value(v), "HS256", 5) != 0) {
		*why = "alg_not_allowed";
		return GW_EAUTH;
	}
	v = json_object_get(h, "typ");
	if (v && (!json_is_string(v) ||
		  strcasecmp(json_string_value(v), "JWT") != 0)) {
		*why = "malformed";
		return GW_EAUTH;
	}
	/*
	 * "crit" lists extensions the verifier must understand or refuse the
	 * token (RFC 7515 4.1.11). We understand none.
	 */
	if (json_object_get(h, "crit")) {
		*why = "malformed";
		return GW_EAUTH;
	}
	return GW_OK;
}

/*
 * Fills `c` from the authenticated claims. Every problem with "sub" (absent,
 * not a string, empty, too long, control characters) is "missing_sub": the
 * token names no user we could accept.
 */
static int read_claims(const json_t *claims, gw_claims_t *c, int *has_exp,
		       int *has_nbf, const char **why)
{
	const json_t *v;
	int iat;

	v = json_object_get(claims, "sub");
	if (!json_is_string(v) ||
	    !sub_ok(json_string_value(v), json_string_length(v))) {
		*why = "missing_sub";
		return GW_EAUTH;
	}
	memcpy(c->sub, json_string_value(v), json_string_length(v));
	c->sub[json_string_length(v)] = '\0';

	*has_exp = numeric_date(claims, "exp", &c->exp);
	*has_nbf = numeric_date(claims, "nbf", &c->nbf);
	iat = numeric_date(claims, "iat", &c->iat);
	if (*has_exp < 0 || *has_nbf < 0 || iat < 0) {
		*why = "malformed";
		return GW_EAUTH;
	}
	return GW_OK;
}

/*
 * Beyond the header's contract: a NULL verifier is a caller bug and gets
 * GW_EINVAL ("malformed"); `out` and `why` may be NULL; `*out` is zeroed on
 * failure and `*why` is NULL on GW_OK. Should OpenSSL itself fail, the
 * signature cannot be checked and the token is refused as "bad_signature".
 */
int gw_auth_verify(const gw_auth_t *a, const char *token, size_t len,
		   int64_t now_s, gw_claims_t *out, const char **why)
{
	unsigned char seg[SEG_MAX];
	unsigned char mac[SIG_LEN];
	const char *end, *dot1, *dot2, *reason = "malformed";
	json_t *header = NULL, *claims = NULL;
	int has_exp, has_nbf, rc = GW_EAUTH;
	gw_claims_t c;
	size_t n;

	memset(&c, 0, sizeof(c));
	if (out)
		memset(out, 0, sizeof(*out));
	if (!a) {
		rc = GW_EINVAL;
		goto done;
	}
	if (len > GW_AUTH_TOKEN_MAX) {
		reason = "too_long";
		goto done;
	}
	if (!token || len == 0)
		goto done;

	end = token + len;
	dot1 = memchr(token, '.', len);
	if (!dot1 || dot1 == token)
		goto done;
	dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
	if (!dot2 || dot2 == dot1 + 1 || dot2 + 1 == end ||
	    memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
		goto done;

	/* The header first: alg decides what the signature means. */
	if (b64url_decode(token, (size_t)(dot1 - token), seg, sizeof(seg), &n))
		goto done;
	header = parse_object(seg, n);
	if (!header)
		goto done;
	rc = check_header(header, &reason);
	if (rc)
		goto done;

	/*
	 * Then the signature over "header.payload", as received. It is
	 * decoded into `seg` (the header is done with it) so that a decodable
	 * signature of the wrong length reads as what it is, a bad one.
	 */
	rc = GW_EAUTH;
	if (b64url_decode(dot2 + 1, (size_t)(end - dot2 - 1), seg, sizeof(seg),
			  &n))
		goto done;
	reason = "bad_signature";
	if (n != SIG_LEN || hs256(a, token, (size_t)(dot2 - token), mac) ||
	    CRYPTO_memcmp(mac, seg, SIG_LEN) != 0)
		goto done;

	/* Only an authenticated payload reaches the JSON parser. */
	reason = "malformed";
	if (b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), seg, sizeof(seg),
			  &n))
		goto done;
	claims = parse_object(seg, n);
	if (!claims)
		goto done;
	rc = read_claims(claims, &c, &has_exp, &has_nbf, &reason);
	if (rc)
		goto done;

	if (has_exp && c.exp <= sat_add(now_s, -(int64_t)a->leeway_s)) {
		rc = GW_EEXPIRED;
		reason = "expired";
		goto done;
	}
	if (has_nbf && c.nbf > sat_add(now_s, a->leeway_s)) {
		rc = GW_EAUTH;
		reason = "not_yet_valid";
		goto done;
	}

	if (out)
		*out = c;
	rc = GW_OK;
	reason = NULL;
done:
	/* The MAC of an attacker's header.payload is a forgery; wipe it. */
	OPENSSL_cleanse(mac, sizeof(mac));
	json_decref(header);
	json_decref(claims);
	if (why)
		*why = reason;
	return rc;
}

/*
 * Beyond GW_OK and GW_ETOOBIG: GW_EINVAL for NULL arguments or a `sub` that
 * gw_auth_verify() would refuse (or that is not UTF-8), GW_ENOMEM when
 * jansson runs out of memory, GW_ERROR should OpenSSL fail. On any error
 * `out` holds the empty string (when `outlen` allows).
 */
int gw_auth_sign(const gw_auth_t *a, const char *sub, int64_t iat, int64_t exp,
		 char *out, size_t outlen)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char payload[PAYLOAD_MAX];
	unsigned char mac[SIG_LEN];
	size_t sublen, plen, hlen_b64, plen_b64, need;
	json_t *claims;
	char *p;

	if (out && outlen)
		out[0] = '\0';
	if (!a || !sub || !out)
		return GW_EINVAL;
	/* We do not sign what gw_auth_verify() would refuse. */
	sublen = strnlen(sub, GW_AUTH_SUB_MAX + 1);
	if (!sub_ok(sub, sublen) || !utf8_ok(sub, sublen))
		return GW_EINVAL;

	/* jansson escapes the sub; it keeps keys in insertion order. */
	claims = json_pack("{s:s%,s:I}", "sub", sub, sublen, "iat",
			   (json_int_t)iat);
	if (!claims)
		return GW_ENOMEM;
	if (exp && json_object_set_new(claims, "exp", json_integer(exp))) {
		json_decref(claims);
		return GW_ENOMEM;
	}
	plen = json_dumpb(claims, payload, sizeof(payload), JSON_COMPACT);
	json_decref(claims);
	if (plen == 0)
		return GW_ENOMEM;
	if (plen > sizeof(payload))
		return GW_ETOOBIG; /* cannot happen with the bounds above */

	hlen_b64 = b64url_encoded_len(sizeof(header) - 1);
	plen_b64 = b64url_encoded_len(plen);
	need = hlen_b64 + 1 + plen_b64 + 1 + b64url_encoded_len(SIG_LEN) + 1;
	if (need > outlen)
		return GW_ETOOBIG;

	p = out;
	b64url_encode((const unsigned char *)header, sizeof(header) - 1, p);
	p += hlen_b64;
	*p++ = '.';
	b64url_encode((const unsigned char *)payload, plen, p);
	p += plen_b64;
	if (hs256(a, out, (size_t)(p - out), mac)) {
		out[0] = '\0';
		return GW_ERROR;
	}
	*p++ = '.';
	b64url_encode(mac, SIG_LEN, p);
	p += b64url_encoded_len(SIG_LEN);
	*p = '\0';
	return GW_OK;
}
