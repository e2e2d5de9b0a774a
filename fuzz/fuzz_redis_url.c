/*
 * fuzz_redis_url.c — the one Redis URL parser (common/gw_redis_url) and
 * the shard list built on it (common/gw_shard, gw_shard_list_parse): an
 * operator's (or an environment's) --redis text, read by the daemon,
 * gatewayctl and gwbench before anything connects.
 *
 * The first input byte picks what is parsed; the rest, up to its first
 * NUL, is the text:
 *
 *   even: one URL. Accepted means exactly one of a non-empty host (with a
 *         port in 1..65535), a socket path or a sentinel group (1..8
 *         sentinels with a host and a port each, a master name); a db in
 *         0..2^20; every field NUL-terminated within its array. A redis://
 *         or unix:// URL written back from the fields parses to the same
 *         fields. A refusal says why.
 *   odd:  a shard list. Accepted means 1..GW_SHARDS_MAX URLs, each
 *         non-empty, free of whitespace, and accepted alone.
 */
#include "fuzz.h"
#include "gw_common.h"
#include "gw_redis_url.h"
#include "gw_shard.h"

#include <string.h>

#define TERMINATED(a) FUZZ_CHECK(memchr((a), '\0', sizeof(a)))

static void check_url(const char *url)
{
	static gw_redis_url_t u, back;
	char err[256], again[1200];
	int kinds;

	err[0] = '\0';
	if (gw_redis_url_parse(url, &u, err, sizeof(err)) != GW_OK) {
		FUZZ_CHECK(!strncmp(err, "bad Redis URL", 13));
		return;
	}
	TERMINATED(u.host);
	TERMINATED(u.path);
	TERMINATED(u.user);
	TERMINATED(u.pass);
	TERMINATED(u.master);
	TERMINATED(u.sentinel_user);
	TERMINATED(u.sentinel_pass);
	kinds = !!u.host[0] + !!u.path[0] + !!u.sentinel;
	FUZZ_CHECK(kinds == 1);
	FUZZ_CHECK(u.db >= 0 && u.db <= 1 << 20);
	if (u.host[0])
		FUZZ_CHECK(u.port >= 1 && u.port <= 65535);
	if (u.sentinel) {
		FUZZ_CHECK(u.nsentinels >= 1 && u.nsentinels <= GW_SENTINELS_MAX);
		FUZZ_CHECK(u.master[0]);
		for (int i = 0; i < u.nsentinels; i++) {
			TERMINATED(u.sentinels[i].host);
			FUZZ_CHECK(u.sentinels[i].host[0]);
			FUZZ_CHECK(u.sentinels[i].port >= 1 && u.sentinels[i].port <= 65535);
		}
		return;
	}
	/* Written back, it reads the same. */
	if (u.path[0])
		snprintf(again, sizeof(again), "unix://%s?db=%d", u.path, u.db);
	else
		snprintf(again, sizeof(again), "redis://%s%s%s%s%s:%d/%d", u.user,
			 u.user[0] || u.pass[0] ? ":" : "", u.pass,
			 u.user[0] || u.pass[0] ? "@" : "", u.host, u.port, u.db);
	FUZZ_CHECK(gw_redis_url_parse(again, &back, err, sizeof(err)) == GW_OK);
	FUZZ_CHECK(memcmp(&u, &back, sizeof(u)) == 0);
}

static void check_list(const char *spec)
{
	static gw_shard_list_t list;
	static gw_redis_url_t u;
	char err[512];

	err[0] = '\0';
	if (gw_shard_list_parse(spec, &list, err, sizeof(err)) != GW_OK) {
		FUZZ_CHECK(err[0]);
		return;
	}
	FUZZ_CHECK(list.n >= 1 && list.n <= GW_SHARDS_MAX);
	for (size_t i = 0; i < list.n; i++) {
		TERMINATED(list.url[i]);
		FUZZ_CHECK(list.url[i][0]);
		FUZZ_CHECK(!strpbrk(list.url[i], " \t\r\n"));
		FUZZ_CHECK(gw_redis_url_parse(list.url[i], &u, err, sizeof(err)) == GW_OK);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in_t in = { data, size };
	int list = fuzz_u8(&in) & 1;
	/* A copy of its own size, so an over-read is an ASan report. */
	char *text = malloc(in.left + 1);

	FUZZ_CHECK(text);
	memcpy(text, in.p, in.left);
	text[in.left] = '\0';
	if (list)
		check_list(text);
	else
		check_url(text);
	free(text);
	return 0;
}
