/*
 * gw_config_check.c — the syntax checks of string settings (the `check`
 * column of the table in gw_config.c): listen addresses, node ids, keys,
 * prefixes, Redis URLs, proxy lists, worker counts. Pure functions; each
 * returns GW_OK when the value is valid.
 */
#include "gw_config_int.h"
#include "gw_ipnet.h"
#include "gw_redis_url.h"
#include "gw_shard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Strict base-10: no blanks, no trailing junk, no overflow. */
int gw_config__parse_long(const char *s, long *out)
{
	char *end;
	long v;

	if (!*s || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return GW_EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return GW_EINVAL;
	*out = v;
	return GW_OK;
}

static int charset_ok(const char *v, const char *extra, size_t maxlen)
{
	size_t n = strlen(v);

	if (n < 1 || n > maxlen)
		return 0;
	for (const char *p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c && strchr(extra, c))))
			return 0;
	}
	return 1;
}

/* A DNS-style name: dot-separated labels of letters, digits and '-'. */
static int host_name_ok(const char *h, size_t n)
{
	size_t label = 0;

	if (n < 1 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-') {
			if ((label == 0 && c == '-') || ++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && h[n - 1] != '-';
}

/* Returns the port of a valid HOST:PORT, or 0. */
static long listen_port(const char *v)
{
	const char *colon = strrchr(v, ':');
	char host[256];
	size_t hn;
	long port;

	if (!colon || gw_config__parse_long(colon + 1, &port) || port < 1 || port > 65535 ||
	    colon[1] == '+' || colon[1] == '-')
		return 0;
	hn = (size_t)(colon - v);
	if (hn == 0 || hn >= sizeof(host))
		return 0;
	memcpy(host, v, hn);
	host[hn] = '\0';
	if (host[0] == '[') {
		struct in6_addr a6;

		if (hn < 3 || host[hn - 1] != ']')
			return 0;
		host[hn - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, &a6) == 1 ? port : 0;
	}
	/* All digits and dots must be an IPv4 address, not a name. */
	if (strspn(host, "0123456789.") == hn) {
		struct in_addr a4;

		return inet_pton(AF_INET, host, &a4) == 1 ? port : 0;
	}
	return host_name_ok(host, hn) ? port : 0;
}

int gw_config__check_listen(const char *v)
{
	return listen_port(v) ? GW_OK : GW_EINVAL;
}

int gw_config__check_listen_or_empty(const char *v)
{
	return !*v || listen_port(v) ? GW_OK : GW_EINVAL;
}

int gw_config__check_node_id(const char *v)
{
	return !*v || charset_ok(v, "_.-", 64) ? GW_OK : GW_EINVAL;
}

int gw_config__check_api_key(const char *v)
{
	return !*v || strlen(v) >= 16 ? GW_OK : GW_EINVAL;
}

int gw_config__check_trusted_proxies(const char *v)
{
	return gw_ipnet_parse_list(v, NULL, 0, NULL) == GW_OK ? GW_OK : GW_EINVAL;
}

/* 1 when --listen names a loopback address (127.0.0.0/8, [::1], localhost). */
int gw_config__listen_is_loopback(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	gw_ip_t ip;

	if (!colon)
		return 0;
	if ((size_t)(colon - listen) == 9 && !strncasecmp(listen, "localhost", 9))
		return 1;
	return gw_ip_parse(listen, (size_t)(colon - listen), &ip) == GW_OK &&
	       gw_ip_is_loopback(&ip);
}

int gw_config__check_redis_prefix(const char *v)
{
	return charset_ok(v, "_.:-", 64) ? GW_OK : GW_EINVAL;
}

/* The one URL grammar (gw_redis_url) per shard (gw_shard), so that
 * start-up refuses what the links could not use. */
int gw_config__check_redis_url(const char *v)
{
	static gw_shard_list_t l; /* 32 KiB: off the stack; start-up only */

	return *v ? gw_shard_list_parse(v, &l, NULL, 0) : GW_OK;
}


int gw_config__check_workers(const char *v)
{
	char *end;
	long n;

	if (!strcmp(v, "auto"))
		return GW_OK;
	n = strtol(v, &end, 10);
	return *v && !*end && n >= 1 && n <= 64 ? GW_OK : GW_EINVAL;
}
