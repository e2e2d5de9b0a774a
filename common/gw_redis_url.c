/*
 * gw_redis_url.c — Redis URL grammar (see gw_redis_url.h).
 */
#include "gw_redis_url.h"
#include "gw_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAMMAR "redis://[user:pass@]host[:port][/db] or unix:///path[?db=N]"

static int cut(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return GW_ETOOBIG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return GW_OK;
}

/* A decimal in [lo, hi] spanning exactly s[0..n). */
static int number(const char *s, size_t n, long lo, long hi, int *out)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return GW_EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return GW_EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return GW_EINVAL;
	*out = (int)v;
	return GW_OK;
}

static int fail(char *err, size_t errlen, const char *what, int code)
{
	if (err && errlen)
		snprintf(err, errlen, "bad Redis URL (%s): want " GRAMMAR, what);
	return code;
}

int gw_redis_url_parse(const char *url, gw_redis_url_t *a, char *err,
		       size_t errlen)
{
	const char *s, *end, *at, *col;
	int rc;

	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (!url)
		return fail(err, errlen, "empty", GW_EINVAL);
	if (!strncmp(url, "unix://", 7)) {
		s = url + 7;
		end = s + strcspn(s, "?");
		if (*s != '/' || end == s + 1)
			return fail(err, errlen, "missing socket path", GW_EINVAL);
		if (*end && (strncmp(end, "?db=", 4) ||
			     number(end + 4, strlen(end + 4), 0, 1 << 20, &a->db)))
			return fail(err, errlen, "db", GW_EINVAL);
		if ((rc = cut(a->path, sizeof(a->path), s, (size_t)(end - s))))
			return fail(err, errlen, "socket path too long", rc);
		return GW_OK;
	}
	if (strncmp(url, "redis://", 8))
		return fail(err, errlen, "scheme", GW_EINVAL);
	s = url + 8;
	end = s + strcspn(s, "/");
	if ((at = memrchr(s, '@', (size_t)(end - s)))) {
		col = memchr(s, ':', (size_t)(at - s));
		if (col && (rc = cut(a->user, sizeof(a->user), s, (size_t)(col - s))))
			return fail(err, errlen, "user too long", rc);
		s = col ? col + 1 : s;
		if ((rc = cut(a->pass, sizeof(a->pass), s, (size_t)(at - s))))
			return fail(err, errlen, "password too long", rc);
		s = at + 1;
	}
	col = memchr(s, ':', (size_t)(end - s));
	if ((rc = cut(a->host, sizeof(a->host), s, (size_t)((col ? col : end) - s))))
		return fail(err, errlen, "host too long", rc);
	if (!a->host[0])
		return fail(err, errlen, "missing host", GW_EINVAL);
	if (col && number(col + 1, (size_t)(end - col - 1), 1, 65535, &a->port))
		return fail(err, errlen, "port", GW_EINVAL);
	if (*end && end[1] && number(end + 1, strlen(end + 1), 0, 1 << 20, &a->db))
		return fail(err, errlen, "db", GW_EINVAL);
	return GW_OK;
}
