/*
 * fuzz_auth.c — the JWT verifier (common/gw_auth): every client's token
 * goes through gw_auth_verify() before anything else looks at it.
 *
 * Random bytes never carry a valid HMAC, so they only reach the checks in
 * front of the signature. The first input byte therefore picks a mode:
 *
 *   even: the rest is the token, verified as is (size bound, segments,
 *         base64url, the header, the signature);
 *   odd:  the rest is [8-byte now][header JSON (16-bit length)][payload
 *         JSON], which the harness encodes and signs with the verifier's
 *         secret, so the claims parser and the exp/nbf arithmetic (any
 *         now, any claim value) are reached.
 *
 * Properties: an accepted token names a non-empty, NUL-terminated sub
 * within GW_AUTH_SUB_MAX, and `why` is NULL exactly on GW_OK; a token
 * gw_auth_sign() makes from an accepted sub verifies to the same sub.
 */
#include "fuzz.h"
#include "gw_auth.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static const char secret[] = "fuzz-secret-fuzz-secret-fuzz-secret!";

static gw_auth_t *verifier(void)
{
	static gw_auth_t *a;

	if (!a)
		a = gw_auth_create(secret, sizeof(secret) - 1, 5);
	FUZZ_CHECK(a);
	return a;
}

static size_t b64url(const uint8_t *in, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		out[o++] = abc[v & 63];
	}
	if (n - i == 1) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = abc[v >> 10];
		out[o++] = abc[(v >> 4) & 63];
		out[o++] = abc[(v & 15) << 2];
	}
	return o;
}

static void check(const char *tok, size_t len, int64_t now)
{
	gw_claims_t c;
	const char *why = "unset";
	char again[GW_AUTH_TOKEN_MAX];
	int rc = gw_auth_verify(verifier(), tok, len, now, &c, &why);

	if (rc != GW_OK) {
		FUZZ_CHECK(rc == GW_EAUTH || rc == GW_EEXPIRED);
		FUZZ_CHECK(why && (rc != GW_EEXPIRED || !strcmp(why, "expired")));
		return;
	}
	FUZZ_CHECK(why == NULL);
	FUZZ_CHECK(memchr(c.sub, '\0', sizeof(c.sub)) && c.sub[0]);
	/* What we accepted, we can mint again, and it verifies to the same user. */
	if (gw_auth_sign(verifier(), c.sub, c.iat, 0, again, sizeof(again)) == GW_OK) {
		gw_claims_t c2;

		FUZZ_CHECK(gw_auth_verify(verifier(), again, strlen(again), now, &c2,
					  NULL) == GW_OK);
		FUZZ_CHECK(!strcmp(c.sub, c2.sub));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in_t in = { data, size };
	const uint8_t *hdr, *pay;
	size_t hlen, plen, n;
	unsigned int maclen = 0;
	unsigned char mac[EVP_MAX_MD_SIZE];
	uint64_t now = 0;
	char *tok;

	if (!(fuzz_u8(&in) & 1)) {
		/* A copy of its own size, so an over-read is an ASan report. */
		tok = malloc(in.left ? in.left : 1);
		FUZZ_CHECK(tok);
		memcpy(tok, in.p, in.left);
		check(tok, in.left, 1700000000);
		free(tok);
		return 0;
	}
	for (int i = 0; i < 8; i++)
		now = now << 8 | fuzz_u8(&in);
	hdr = fuzz_bytes(&in, 1024, &hlen);
	pay = in.p;
	plen = in.left;
	if (plen > 4096)
		return 0;
	tok = malloc((hlen + plen + 64) / 3 * 4 + 64);
	FUZZ_CHECK(tok);
	n = b64url(hdr, hlen, tok);
	tok[n++] = '.';
	n += b64url(pay, plen, tok + n);
	FUZZ_CHECK(HMAC(EVP_sha256(), secret, sizeof(secret) - 1,
			(const unsigned char *)tok, n, mac, &maclen));
	tok[n++] = '.';
	n += b64url(mac, maclen, tok + n);
	check(tok, n, (int64_t)now);
	free(tok);
	return 0;
}
