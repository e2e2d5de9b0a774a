/*
 * gw_redis_url.h — the one parser of Redis URLs, shared by the daemon
 * (--redis), gatewayctl and gwbench so that they accept the same grammar:
 *
 *   redis://[[user]:pass@]host[:port][/db]
 *   unix:///path/to/socket[?db=N]
 *   sentinel://[[user]:pass@]host[:port][,host[:port]...]/MASTER[/db]
 *              [?sentinel_user=U&sentinel_password=P]
 *
 * A sentinel URL names the Redis Sentinel group watching the master: the
 * node asks the sentinels where MASTER is (port 26379 by default). Its
 * userinfo and db are the master's; the sentinels' own credentials, if
 * any, are the query's.
 *
 * As with redis-cli, userinfo without a colon is a password. Userinfo ends
 * at the last '@' before the path and the user at its first ':', so a
 * password may hold either. Every field is bounded; anything that does not
 * fit, or a port or db out of range, is an error — never a truncation.
 * Pure: no allocation, no I/O.
 */
#ifndef GW_REDIS_URL_H
#define GW_REDIS_URL_H

#include <stddef.h>

#define GW_SENTINELS_MAX 8

typedef struct {
	char host[256];
	int port;
} gw_redis_addr_t;

typedef struct {
	char host[256];   /* empty for a unix socket or a sentinel group */
	int port;         /* 6379 by default */
	char path[256];   /* unix socket path, or empty */
	char user[128];   /* ACL user, or empty */
	char pass[256];   /* password, or empty */
	int db;           /* 0 by default */
	/* sentinel:// only */
	int sentinel;                              /* 1 for a sentinel URL */
	char master[128];                          /* the master's name */
	gw_redis_addr_t sentinels[GW_SENTINELS_MAX];
	int nsentinels;
	char sentinel_user[128], sentinel_pass[256];
} gw_redis_url_t;

/*
 * Parses `url` into `out`. Returns GW_OK, or GW_EINVAL / GW_ETOOBIG with a
 * message in `err` (which never contains the password).
 */
int gw_redis_url_parse(const char *url, gw_redis_url_t *out, char *err,
		       size_t errlen);

#endif
