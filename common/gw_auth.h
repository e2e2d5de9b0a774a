/*
 * gw_auth.h — HS256 JSON Web Tokens: strict verification (and signing, for
 * the tools and tests).
 *
 * Only HS256 is accepted: "alg":"none", every other algorithm, a missing or
 * non-"JWT" typ (when present), a bad signature, a missing or malformed
 * "sub", an "exp" in the past and an "nbf" in the future (beyond the
 * leeway), and an "exp", "nbf" or "iat" outside ±GW_AUTH_DATE_MAX are all
 * refused. The signature is compared in constant time.
 * Tokens are secrets: nothing here logs them.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include "gw_common.h"

#define GW_AUTH_MIN_SECRET 32  /* bytes; shorter secrets are refused */
#define GW_AUTH_SUB_MAX 128    /* bytes of "sub" */
#define GW_AUTH_TOKEN_MAX 4096 /* longer tokens are refused unread */
/*
 * The largest NumericDate accepted, 9999-12-31T23:59:59Z. A date beyond it
 * (either sign) refuses the token as "malformed" rather than being clamped:
 * a claim we cannot use as written is unreadable, and unreadable means
 * refused. Within it, seconds * 1000 and sums with any leeway or clock
 * reading fit an int64_t with room to spare, so no consumer of the claims
 * can overflow.
 */
#define GW_AUTH_DATE_MAX INT64_C(253402300799)

typedef struct {
	char sub[GW_AUTH_SUB_MAX + 1]; /* the user id, NUL-terminated */
	int64_t exp; /* seconds since the epoch; 0 if absent; |exp| <= DATE_MAX */
	int64_t nbf; /* 0 if absent; likewise bounded */
	int64_t iat; /* 0 if absent; likewise bounded */
} gw_claims_t;

typedef struct gw_auth gw_auth_t;

/*
 * Creates a verifier for `secret` (copied). Returns NULL when the secret is
 * shorter than GW_AUTH_MIN_SECRET or on allocation failure. `leeway_s`
 * forgives clock skew on exp and nbf.
 */
gw_auth_t *gw_auth_create(const char *secret, size_t len, int leeway_s);
void gw_auth_free(gw_auth_t *a);

/*
 * Verifies `token` (`len` bytes, not necessarily NUL-terminated) at time
 * `now_s`. On GW_OK fills `out`. Otherwise returns GW_EEXPIRED for an exp
 * in the past and GW_EAUTH for everything else; `*why` (if not NULL) is set
 * to a short static reason for logs: "malformed", "alg_not_allowed",
 * "bad_signature", "missing_sub", "expired", "not_yet_valid", "too_long".
 */
int gw_auth_verify(const gw_auth_t *a, const char *token, size_t len,
		   int64_t now_s, gw_claims_t *out, const char **why);

/*
 * Signs an HS256 token for `sub` into `out` (NUL-terminated). `exp` 0 means
 * no exp claim. Returns GW_OK or GW_ETOOBIG when `outlen` is too small.
 */
int gw_auth_sign(const gw_auth_t *a, const char *sub, int64_t iat, int64_t exp,
		 char *out, size_t outlen);

#endif
