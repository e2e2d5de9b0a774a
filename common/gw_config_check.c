/*
 * gw_config_check.c — the syntax checks of string settings (the `check`
 * column of the table in gw_config.c): listen addresses, node ids, keys,
 * prefixes, Redis URLs, proxy lists, worker counts; and the rules across
 * settings that every load checks last (gw_config__check_whole). Pure
 * functions; each returns GW_OK when the value is valid.
 */
#include "gw_config_int.h"
#include "gw_ipnet.h"
#include "gw_redis_url.h"
#include "gw_shard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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

/* --- across settings, after every source ------------------------------------ */

static void whole_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void whole_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int gw_config__check_whole(const gw_config_t *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < gw_config_nopts; i++) {
		const struct opt *o = &gw_config_opts[i];

		if ((o->flags & F_REQUIRED) && !**(char *const *)(const void *)((const char *)cfg + o->off)) {
			whole_err(err, errlen, "--%s (%s) is required: set it to %s", o->name,
				o->env, o->expect);
			return GW_EINVAL;
		}
	}
	/* The history lives in Redis: a standalone node has none to keep it in. */
	if (cfg->history_size > 0 && !*cfg->redis_url) {
		whole_err(err, errlen,
			"--history-size %ld needs --redis: lobby history is kept in Redis; set GW_REDIS_URL or use --history-size 0",
			cfg->history_size);
		return GW_EINVAL;
	}
	/* Workers are cluster members: without Redis they could not see each other. */
	if (strcmp(cfg->workers, "1") && !*cfg->redis_url) {
		whole_err(err, errlen,
			"--workers %s needs --redis: each worker is its own node, and only the cluster joins their lobbies; set GW_REDIS_URL or use --workers 1",
			cfg->workers);
		return GW_EINVAL;
	}
	if (strcmp(cfg->workers, "1") && strlen(cfg->node_id) > 61) {
		whole_err(err, errlen,
			"--node-id is too long for --workers: workers are NODE-k, at most 64 characters; shorten GW_NODE_ID");
		return GW_EINVAL;
	}
	/*
	 * /dev/token mints a token for any user: on an address other hosts
	 * can reach that is an open door, so it takes a second, explicit flag.
	 */
	if (cfg->dev_tokens && !cfg->dev_tokens_any_address && !gw_config__listen_is_loopback(cfg->listen)) {
		whole_err(err, errlen,
			"--dev-tokens (GW_DEV_TOKENS) lets anyone who reaches --listen %s mint a token for any user, and that is not a loopback address: listen on 127.0.0.1, drop --dev-tokens, or force it with --dev-tokens-any-address (GW_DEV_TOKENS_ANY_ADDRESS=true)",
			cfg->listen);
		return GW_EINVAL;
	}
	/* Half a certificate is a mistake, not a plain listener. */
	if (!*cfg->tls_cert != !*cfg->tls_key || (cfg->admin_tls && !*cfg->tls_cert)) {
		whole_err(err, errlen, "%s: set both GW_TLS_CERT and GW_TLS_KEY, or neither",
			cfg->admin_tls && !*cfg->tls_cert && !*cfg->tls_key
				? "--admin-tls needs --tls-cert and --tls-key"
				: "--tls-cert and --tls-key go together");
		return GW_EINVAL;
	}
	/* A queue that cannot hold one message would drop every large one. */
	if (cfg->send_queue_bytes < cfg->max_message_size) {
		whole_err(err, errlen,
			"--send-queue-bytes (%ld) is smaller than --max-message-size (%ld): raise GW_SEND_QUEUE_BYTES or lower GW_MAX_MESSAGE_SIZE",
			cfg->send_queue_bytes, cfg->max_message_size);
		return GW_EINVAL;
	}
	/* Nor can a byte bucket smaller than one message ever let it pass. */
	if (cfg->rate_bytes_burst < cfg->max_message_size) {
		whole_err(err, errlen,
			"--rate-bytes-burst (%ld) is smaller than --max-message-size (%ld): raise GW_RATE_BYTES_BURST or lower GW_MAX_MESSAGE_SIZE",
			cfg->rate_bytes_burst, cfg->max_message_size);
		return GW_EINVAL;
	}
	return GW_OK;
}
