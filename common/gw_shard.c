/*
 * gw_shard.c — the shard list and the placement function (see gw_shard.h).
 */
#include "gw_shard.h"
#include "gw_common.h"
#include "gw_redis_url.h"

#include <stdio.h>
#include <string.h>

uint64_t gw_shard_hash(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ULL;
	}
	/* MurmurHash3 fmix64. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint32_t gw_shard_jump(uint64_t key, uint32_t n)
{
	int64_t b = -1, j = 0;

	while (j < (int64_t)n) {
		b = j;
		key = key * 2862933555777941757ULL + 1;
		j = (int64_t)((double)(b + 1) *
			      ((double)(1LL << 31) / (double)((key >> 33) + 1)));
	}
	return (uint32_t)(b < 0 ? 0 : b);
}

uint32_t gw_shard_of(const char *name, size_t len, uint32_t n)
{
	return n <= 1 ? 0 : gw_shard_jump(gw_shard_hash(name, len), n);
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int gw_shard_list_parse(const char *spec, gw_shard_list_t *out, char *err,
			size_t errlen)
{
	const char *s = spec ? spec : "";
	gw_redis_url_t u;
	char why[256];
	int rc;

	out->n = 0;
	for (;;) {
		size_t len;

		while (is_space(*s))
			s++;
		if (!*s)
			break;
		for (len = 0; s[len] && !is_space(s[len]); len++)
			;
		if (out->n == GW_SHARDS_MAX) {
			if (err && errlen)
				snprintf(err, errlen, "more than %d Redis shards", GW_SHARDS_MAX);
			return GW_ETOOBIG;
		}
		if (len >= GW_SHARD_URL_MAX) {
			if (err && errlen)
				snprintf(err, errlen, "Redis shard %zu: URL too long", out->n);
			return GW_ETOOBIG;
		}
		memcpy(out->url[out->n], s, len);
		out->url[out->n][len] = '\0';
		if ((rc = gw_redis_url_parse(out->url[out->n], &u, why, sizeof(why)))) {
			if (err && errlen)
				snprintf(err, errlen, "Redis shard %zu: %s", out->n, why);
			return rc;
		}
		out->n++;
		s += len;
	}
	if (out->n == 0) {
		if (err && errlen)
			snprintf(err, errlen, "no Redis URL");
		return GW_EINVAL;
	}
	return GW_OK;
}
