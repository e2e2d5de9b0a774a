/*
 * gwtoken — mints an HS256 token for a user with the secret in
 * GW_JWT_SECRET, for development and tests:  gwtoken USER [TTL_SECONDS]
 */
#include "gw_auth.h"
#include "gw_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *secret = getenv("GW_JWT_SECRET");
	char tok[GW_AUTH_TOKEN_MAX + 1];
	int64_t now = (int64_t)(gw_wall_ms() / 1000), ttl = 3600;
	gw_auth_t *a;
	int rc;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: GW_JWT_SECRET=... %s USER [TTL_SECONDS]\n", argv[0]);
		return 2;
	}
	if (argc == 3)
		ttl = strtoll(argv[2], NULL, 10);
	if (!secret || !(a = gw_auth_create(secret, strlen(secret), 0))) {
		fprintf(stderr, "%s: GW_JWT_SECRET must be set, at least %d bytes\n",
			argv[0], GW_AUTH_MIN_SECRET);
		return 2;
	}
	rc = gw_auth_sign(a, argv[1], now, ttl > 0 ? now + ttl : 0, tok, sizeof(tok));
	gw_auth_free(a);
	if (rc) {
		fprintf(stderr, "%s: %s\n", argv[0], gw_strerror(rc));
		return 1;
	}
	puts(tok);
	return 0;
}
