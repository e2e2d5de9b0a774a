/*
 * gw_redis_url.c — Redis URL grammar (see gw_redis_url.h).
 */
#include "gw_redis_url.h"
#include "gw_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAMMAR "redis://[user:pass@]host[:port][/db], unix:///path[?db=N] or " \
	"sentinel://[user:pass@]host[:port][,host[:port]...]/MASTER[/db]"

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

/* userinfo "[user:]pass@" at s (ending before `end`); moves *s past it. */
static int userinfo(const char **s, const char *end, char *user, size_t ucap,
		    char *pass, size_t pcap, char *err, size_t errlen)
{
	const char *at = memrchr(*s, '@', (size_t)(end - *s)), *col;
	int rc;

	if (!at)
		return GW_OK;
	col = memchr(*s, ':', (size_t)(at - *s));
	if (col && (rc = cut(user, ucap, *s, (size_t)(col - *s))))
		return fail(err, errlen, "user too long", rc);
	*s = col ? col + 1 : *s;
	if ((rc = cut(pass, pcap, *s, (size_t)(at - *s))))
		return fail(err, errlen, "password too long", rc);
	*s = at + 1;
	return GW_OK;
}

/* "host[:port]" spanning [s, end), port `def` when absent. */
static int hostport(const char *s, const char *end, char *host, size_t cap,
		    int *port, int def, char *err, size_t errlen)
{
	const char *col = memchr(s, ':', (size_t)(end - s));
	int rc;

	if ((rc = cut(host, cap, s, (size_t)((col ? col : end) - s))))
		return fail(err, errlen, "host too long", rc);
	if (!host[0])
		return fail(err, errlen, "missing host", GW_EINVAL);
	*port = def;
	if (col && number(col + 1, (size_t)(end - col - 1), 1, 65535, port))
		return fail(err, errlen, "port", GW_EINVAL);
	return GW_OK;
}

/* "key=value" pairs of a sentinel URL's query, each bounded. */
static int sentinel_query(const char *q, gw_redis_url_t *a, char *err, size_t errlen)
{
	while (*q) {
		size_t n = strcspn(q, "&"), k = strcspn(q, "=");
		const char *v = q + k + 1;
		int rc = GW_OK;

		if (k >= n)
			return fail(err, errlen, "query", GW_EINVAL);
		if (k == 13 && !strncmp(q, "sentinel_user", 13))
			rc = cut(a->sentinel_user, sizeof(a->sentinel_user), v, n - k - 1);
		else if (k == 17 && !strncmp(q, "sentinel_password", 17))
			rc = cut(a->sentinel_pass, sizeof(a->sentinel_pass), v, n - k - 1);
		else
			return fail(err, errlen, "unknown query option", GW_EINVAL);
		if (rc)
			return fail(err, errlen, "sentinel credential too long", rc);
		q += n + (q[n] == '&');
	}
	return GW_OK;
}

static int parse_sentinel(const char *s, gw_redis_url_t *a, char *err, size_t errlen)
{
	const char *end = s + strcspn(s, "/?"), *h, *name, *nend, *q;
	int rc;

	a->sentinel = 1;
	if ((rc = userinfo(&s, end, a->user, sizeof(a->user), a->pass,
			   sizeof(a->pass), err, errlen)))
		return rc;
	for (h = s; h < end; ) {
		const char *comma = memchr(h, ',', (size_t)(end - h));
		const char *hend = comma ? comma : end;
		gw_redis_addr_t *ad;

		if (a->nsentinels == GW_SENTINELS_MAX)
			return fail(err, errlen, "more than 8 sentinels", GW_ETOOBIG);
		ad = &a->sentinels[a->nsentinels++];
		if ((rc = hostport(h, hend, ad->host, sizeof(ad->host), &ad->port,
				   26379, err, errlen)))
			return rc;
		h = comma ? comma + 1 : end;
		if (comma && h == end)
			return fail(err, errlen, "missing host", GW_EINVAL);
	}
	if (a->nsentinels == 0 || *end != '/')
		return fail(err, errlen, "sentinel://HOSTS/MASTER", GW_EINVAL);
	name = end + 1;
	nend = name + strcspn(name, "/?");
	if (nend == name)
		return fail(err, errlen, "missing master name", GW_EINVAL);
	if ((rc = cut(a->master, sizeof(a->master), name, (size_t)(nend - name))))
		return fail(err, errlen, "master name too long", rc);
	q = nend;
	if (*q == '/') {
		q = nend + 1 + strcspn(nend + 1, "?");
		if (q > nend + 1 && number(nend + 1, (size_t)(q - nend - 1), 0, 1 << 20, &a->db))
			return fail(err, errlen, "db", GW_EINVAL);
	}
	return *q == '?' ? sentinel_query(q + 1, a, err, errlen) : GW_OK;
}

int gw_redis_url_parse(const char *url, gw_redis_url_t *a, char *err,
		       size_t errlen)
{
	const char *s, *end;
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
	if (!strncmp(url, "sentinel://", 11))
		return parse_sentinel(url + 11, a, err, errlen);
	if (strncmp(url, "redis://", 8))
		return fail(err, errlen, "scheme", GW_EINVAL);
	s = url + 8;
	end = s + strcspn(s, "/");
	if ((rc = userinfo(&s, end, a->user, sizeof(a->user), a->pass,
			   sizeof(a->pass), err, errlen)))
		return rc;
	if ((rc = hostport(s, end, a->host, sizeof(a->host), &a->port, 6379, err, errlen)))
		return rc;
	if (*end && end[1] && number(end + 1, strlen(end + 1), 0, 1 << 20, &a->db))
		return fail(err, errlen, "db", GW_EINVAL);
	return GW_OK;
}
