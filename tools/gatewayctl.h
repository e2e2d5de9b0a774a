/*
 * gatewayctl.h — what gatewayctl's files share: gatewayctl.c (options,
 * commands, main), gatewayctl_redis.c (the Redis link, Sentinel
 * resolution, the one user lookup) and gatewayctl_out.c (human output).
 */
#ifndef GATEWAYCTL_H
#define GATEWAYCTL_H

#include "gw_common.h"
#include "gw_keys.h"
#include "gw_redis_url.h"
#include "gw_shard.h"
#include "gw_userconns.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdint.h>

#define CTL_NAME_MAX 256          /* envelope strings are at most 256 bytes */
#define CTL_PAYLOAD_MAX (1 << 20) /* and a payload at most 1 MiB */
#define CTL_CONNS_MAX 10000000    /* the gateway's bound on --max-connections */
#define CTL_CELL_MAX 512

enum { CTL_EXIT_RUNTIME = 1, CTL_EXIT_USAGE = 2 };
enum { OPT_FROM = 1 << 0, OPT_CONN = 1 << 1, OPT_MAX = 1 << 2 }; /* per command */

typedef struct ctl {
	const char *url, *prefix, *from, *conn;
	long max_conns;     /* 0: unknown, so no capacity */
	int json;
	int64_t now;        /* wall clock in ms, the clock of the leases */
	redisContext *redis;  /* the shard in use (ctl_use) */
	gw_shard_list_t *shards;
	redisContext *link[GW_SHARDS_MAX]; /* connected lazily */
	int failed[GW_SHARDS_MAX];
	json_t *nodes;      /* {P}:nodes as rows {id, lease_expires, status} */
	json_t *live;       /* the live node ids, as an object's keys */
	gw_keys_t keys;     /* every key and channel name (common/gw_keys) */
} ctl_t;

enum opt_type { O_STR, O_FLAG, O_LONG, O_HELP, O_VERSION };

struct ctl_opt {
	const char *name;
	enum opt_type type;
	size_t off;         /* the field in ctl_t */
	unsigned only;      /* 0: every command takes it; else an OPT_* bit */
	const char *env, *arg, *help;
};

enum fmt { F_STR, F_TIME, F_AGE };

struct column {
	const char *key, *head;
	enum fmt fmt;
};

struct ctl_cmd {
	const char *name, *args;
	int nargs;
	unsigned opts;      /* the OPT_* bits it takes */
	int (*run)(ctl_t *c, char **argv, json_t *doc);
	const char *rows;   /* the doc's array shown as a table of `cols` */
	const struct column *cols;
	const char *help;
};

/* --- gatewayctl_redis.c ---------------------------------------------------- */

/*
 * Sends one command and checks the reply's type (nil passes for a string).
 * Returns the reply, which the caller frees (freeReplyObject), or NULL
 * after printing why.
 */
redisReply *ctl_redis(ctl_t *c, int type, const char *fmt, ...);
/* Points a sentinel URL at its master; GW_EUNAVAIL, said, when none answers. */
int ctl_resolve(gw_redis_url_t *a);
/* Connects, then AUTH and SELECT as the URL asks; GW_EUNAVAIL, said. */
int ctl_connect(ctl_t *c, const gw_redis_url_t *a);
/* Makes shard `idx` the one in use (c->redis), connecting on first use;
 * GW_EUNAVAIL, said, when it cannot be reached. */
int ctl_use(ctl_t *c, uint32_t idx);
/* The same for the shard a lobby name or user id is placed on. */
int ctl_use_name(ctl_t *c, const char *name);

/*
 * The one user lookup, as the nodes do it (common/gw_userconns.h):
 * user_conns.lua, then gw_user_conns(). On GW_OK, *out (n entries, live
 * or gone) borrows from *reply; the caller frees both (gw_free,
 * freeReplyObject). `only`: one connection id, or NULL.
 */
int ctl_user_conns(ctl_t *c, const char *user, const char *only, redisReply **reply,
		   gw_user_conn_t **out, size_t *n);

/* --- gatewayctl_out.c ------------------------------------------------------ */

void ctl_fmt_time(int64_t ms, char *buf, size_t len);
/* The document's scalar fields as aligned "key  value" lines. */
void ctl_print_fields(json_t *doc);
/* Rows as columns padded to their widest cell. */
void ctl_print_table(const json_t *rows, const struct column *cols);

#endif
