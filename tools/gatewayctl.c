/*
 * gatewayctl — the operator CLI. It reads the cluster's presence from Redis
 * and publishes JSON envelopes to lobby and node channels, following
 * docs/redis-schema.md (the contract); it never writes presence.
 *
 *   gatewayctl [--redis URL] [--prefix P] [--json] COMMAND ...
 *
 * Each command fills one JSON document, printed as is with --json, else as
 * aligned "key  value" lines and a table: both outputs come from the same
 * data, so they cannot disagree. As the contract says, an entry whose node
 * has no live lease is gone: it is listed with status "gone" (the next sweep
 * removes it) but never counted, and nothing is sent to its node.
 *
 * With several shards (--redis lists them, whitespace-separated, in the
 * nodes' order) each key is read where gw_shard_of() places it: a lobby on
 * the lobby's shard, a user on the user's; totals are summed over every
 * shard; nodes (which lease on every shard) are read from each shard that
 * answers. Messages to a node go out on the user's shard (every node
 * listens on every shard).
 *
 * Exit status: 0 ok, 1 runtime error (Redis, user not connected), 2 usage.
 */
#include "gw_alloc.h"
#include "gw_build.h"
#include "gw_common.h"
#include "gw_redis_url.h"
#include "gw_shard.h"

#include <getopt.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- private types -------------------------------------------------------- */

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

/* --- the option table: getopt, the environment and --help ---------------- */

static const struct ctl_opt ctl_opts[] = {
	{ "redis", O_STR, offsetof(ctl_t, url), 0, "GW_REDIS_URL", "URL",
	  "redis://[user:pass@]host:port[/db], unix:///path[?db=N] or sentinel://...; "
	  "several, whitespace-separated: the shards, as the nodes list them" },
	{ "prefix", O_STR, offsetof(ctl_t, prefix), 0, "GW_REDIS_PREFIX", "P",
	  "key namespace: keys are {P}:... (default gw)" },
	{ "json", O_FLAG, offsetof(ctl_t, json), 0, NULL, NULL,
	  "print one JSON document instead of tables" },
	{ "max-connections", O_LONG, offsetof(ctl_t, max_conns), OPT_MAX,
	  "GW_MAX_CONNECTIONS", "N", "stats: the cluster's cap, for capacity_percent" },
	{ "from", O_STR, offsetof(ctl_t, from), OPT_FROM, NULL, "NAME",
	  "publish, send: the sender in the frame (default gatewayctl)" },
	{ "conn", O_STR, offsetof(ctl_t, conn), OPT_CONN, NULL, "CONNID",
	  "kick: only this connection" },
	{ "help", O_HELP, 0, 0, NULL, NULL, "this help" },
	{ "version", O_VERSION, 0, 0, NULL, NULL,
	  "print the version, the commit and the libwebsockets revision" },
};

/* --- helpers: the Redis link ---------------------------------------------- */

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return GW_EINVAL;
	*out = v;
	return GW_OK;
}

/*
 * Sends one command and checks the reply's type (nil passes for a string).
 * Returns the reply, which the caller frees (freeReplyObject), or NULL
 * after printing why.
 */
static redisReply *ctl_redis(ctl_t *c, int type, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c->redis, fmt, ap);
	va_end(ap);
	if (!r)
		fprintf(stderr, "gatewayctl: lost the Redis connection: %s\n", c->redis->errstr);
	else if (r->type == type || (type == REDIS_REPLY_STRING && r->type == REDIS_REPLY_NIL))
		return r;
	else
		fprintf(stderr, "gatewayctl: Redis error: %s\n",
			r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply type");
	freeReplyObject(r);
	return NULL;
}

/*
 * A sentinel URL: asks each sentinel in turn where the master is and
 * points `a` at it (the daemon does the same, asynchronously, in
 * gw_sentinel). GW_EUNAVAIL, said, when none answers.
 */
static int ctl_resolve(gw_redis_url_t *a)
{
	struct timeval tv = { 1, 0 };

	for (int i = 0; i < a->nsentinels; i++) {
		redisContext *s = redisConnectWithTimeout(a->sentinels[i].host,
							  a->sentinels[i].port, tv);
		redisReply *r = NULL;

		if (s && !s->err) {
			redisSetTimeout(s, tv);
			if (a->sentinel_pass[0])
				freeReplyObject(a->sentinel_user[0]
					? redisCommand(s, "AUTH %s %s", a->sentinel_user, a->sentinel_pass)
					: redisCommand(s, "AUTH %s", a->sentinel_pass));
			r = redisCommand(s, "SENTINEL get-master-addr-by-name %s", a->master);
		}
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING &&
		    r->element[0]->len < sizeof(a->host)) {
			snprintf(a->host, sizeof(a->host), "%s", r->element[0]->str);
			a->port = atoi(r->element[1]->str);
			freeReplyObject(r);
			redisFree(s);
			return GW_OK;
		}
		freeReplyObject(r);
		if (s)
			redisFree(s);
	}
	fprintf(stderr, "gatewayctl: no sentinel knows where master '%s' is\n", a->master);
	return GW_EUNAVAIL;
}

/* Connects, then sends AUTH and SELECT if the URL asks; one failure path. */
static int ctl_connect(ctl_t *c, const gw_redis_url_t *a)
{
	struct timeval tv = { 2, 0 }, cmd_tv = { 10, 0 };
	int auth = a->user[0] || a->pass[0];
	const char *why = NULL;
	redisReply *r = NULL;

	c->redis = a->path[0] ? redisConnectUnixWithTimeout(a->path, tv)
			      : redisConnectWithTimeout(a->host, a->port, tv);
	if (!c->redis || c->redis->err) {
		why = c->redis ? c->redis->errstr : "out of memory";
	} else {
		redisSetTimeout(c->redis, cmd_tv);
		if (auth)
			r = a->user[0] ? redisCommand(c->redis, "AUTH %s %s", a->user, a->pass)
				       : redisCommand(c->redis, "AUTH %s", a->pass);
		if (a->db && (!auth || (r && r->type != REDIS_REPLY_ERROR))) {
			freeReplyObject(r);
			r = redisCommand(c->redis, "SELECT %d", a->db);
		}
		if ((auth || a->db) && (!r || r->type == REDIS_REPLY_ERROR))
			why = r ? r->str : c->redis->errstr;
	}
	if (why && a->path[0])
		fprintf(stderr, "gatewayctl: cannot connect to Redis at %s: %s\n", a->path, why);
	else if (why)
		fprintf(stderr, "gatewayctl: cannot connect to Redis at %s:%d: %s\n",
			a->host, a->port, why);
	freeReplyObject(r);
	return why ? GW_EUNAVAIL : GW_OK;
}

/* Makes shard `idx` the one in use, connecting on first use. GW_EUNAVAIL,
 * said, when it cannot be reached. */
static int ctl_use(ctl_t *c, uint32_t idx)
{
	gw_redis_url_t addr;
	char why[300];
	int rc = GW_OK;

	if (!c->link[idx] && !c->failed[idx]) {
		if (gw_redis_url_parse(c->shards->url[idx], &addr, why, sizeof(why))) {
			fprintf(stderr, "gatewayctl: %s\n", why);
			rc = GW_EINVAL;
		}
		if (!rc && addr.sentinel)
			rc = ctl_resolve(&addr);
		if (!rc)
			rc = ctl_connect(c, &addr);
		if (rc) {
			if (c->redis)
				redisFree(c->redis);
			c->failed[idx] = 1;
		} else {
			c->link[idx] = c->redis;
		}
		c->redis = NULL;
	}
	c->redis = c->link[idx];
	return c->redis ? GW_OK : GW_EUNAVAIL;
}

/* The shard of a lobby name or user id. */
static int ctl_use_name(ctl_t *c, const char *name)
{
	return ctl_use(c, gw_shard_of(name, strlen(name), (uint32_t)c->shards->n));
}

/* --- helpers: presence ---------------------------------------------------- */

static int cmp_field(const void *a, const void *b)
{
	return strcmp((*(redisReply *const *)a)->str, (*(redisReply *const *)b)->str);
}

/* A reply of (field, value) pairs (HGETALL, WITHSCORES) sorted by field. */
static redisReply *pairs(ctl_t *c, const char *fmt, const char *a1, const char *a2)
{
	redisReply *r = ctl_redis(c, REDIS_REPLY_ARRAY, fmt, a1, a2);

	if (r && r->elements)   /* an empty array's element is NULL */
		qsort(r->element, r->elements / 2, 2 * sizeof(*r->element), cmp_field);
	return r;
}

/* The node of a connection id: the part before the last dot. */
static json_t *conn_node(const char *conn)
{
	const char *dot = strrchr(conn, '.');

	return dot ? json_stringn(conn, (size_t)(dot - conn)) : json_string(conn);
}

static const char *status(const ctl_t *c, const json_t *node)
{
	return json_object_get(c->live, json_string_value(node)) ? "live" : "gone";
}

/*
 * Reads {P}:nodes: a node is live while its lease expiry is in the future.
 * Nodes lease on every shard; each shard that answers is read and a node
 * counts with its latest expiry. The first shard that answered stays in
 * use (for the node hashes).
 */
static int load_nodes(ctl_t *c)
{
	json_t *seen = json_object();
	int first = -1;

	c->nodes = json_array();
	c->live = json_object();
	for (uint32_t k = 0; k < c->shards->n; k++) {
		redisReply *r;

		if (ctl_use(c, k) || !(r = pairs(c, "ZRANGE {%s}:nodes 0 -1 WITHSCORES",
						 c->prefix, NULL)))
			continue;
		first = first < 0 ? (int)k : first;
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			int64_t exp = (int64_t)strtod(r->element[i + 1]->str, NULL);
			json_t *row = json_object_get(seen, r->element[i]->str);

			if (!row) {
				row = json_object();
				json_object_set_new(seen, r->element[i]->str, row);
				json_array_append(c->nodes, row);
				json_object_set_new(row, "id", json_string(r->element[i]->str));
			} else if (json_integer_value(json_object_get(row, "lease_expires")) >= exp) {
				continue;
			}
			json_object_set_new(row, "lease_expires", json_integer((json_int_t)exp));
			json_object_set_new(row, "status", json_string(exp > c->now ? "live" : "expired"));
			if (exp > c->now)
				json_object_set_new(c->live, r->element[i]->str, json_true());
		}
		freeReplyObject(r);
	}
	json_decref(seen);
	if (first < 0)
		return GW_EIO;
	return ctl_use(c, (uint32_t)first);
}

/* A hash value as JSON: an integer, else a number, else a string. */
static json_t *scalar(const char *v)
{
	char *end;
	long long i = strtoll(v, &end, 10);
	double d;

	if (*v && !*end)
		return json_integer(i);
	d = strtod(v, &end);
	return *v && !*end ? json_real(d) : json_string(v);
}

/* Sets doc[live_key] to the rows whose status is "live", doc[other] to the rest. */
static void count(json_t *doc, const char *live_key, const char *other, const json_t *rows)
{
	json_int_t n = 0;
	const json_t *row;
	size_t i;

	json_array_foreach(rows, i, row)
		n += !strcmp(json_string_value(json_object_get(row, "status")), "live");
	json_object_set_new(doc, live_key, json_integer(n));
	json_object_set_new(doc, other, json_integer((json_int_t)json_array_size(rows) - n));
}

/* --- helpers: human output ------------------------------------------------ */

static void fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&s, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(buf, len, "-");
	else
		snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ", (int)(ms % 1000));
}

static void fmt_age(int64_t ms, char *buf, size_t len)
{
	int64_t s = (ms < 0 ? -ms : ms) / 1000;
	const char *sign = ms < 0 ? "-" : "";

	if (s < 60)
		snprintf(buf, len, "%s%.1fs", sign, (double)(ms < 0 ? -ms : ms) / 1000);
	else if (s < 3600)
		snprintf(buf, len, "%s%dm%02ds", sign, (int)(s / 60), (int)(s % 60));
	else
		snprintf(buf, len, "%s%lldh%02dm", sign, (long long)(s / 3600), (int)(s / 60 % 60));
}

/* One value as text; "-" when missing. */
static void fmt_cell(const json_t *v, enum fmt f, char *buf, size_t len)
{
	if (!v || json_is_null(v))
		snprintf(buf, len, "-");
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (f != F_STR && json_is_number(v))
		(f == F_TIME ? fmt_time : fmt_age)((int64_t)json_number_value(v), buf, len);
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.2f", json_real_value(v));
	else
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
}

/* The document's scalar fields as aligned "key  value" lines. */
static void print_fields(json_t *doc)
{
	char cell[CTL_CELL_MAX];
	const char *key;
	json_t *v;
	int w = 0;

	json_object_foreach(doc, key, v)
		if (!json_is_array(v) && !json_is_object(v))
			w = GW_MAX(w, (int)strlen(key));
	json_object_foreach(doc, key, v)
		if (!json_is_array(v) && !json_is_object(v)) {
			fmt_cell(v, F_STR, cell, sizeof(cell));
			printf("%-*s  %s\n", w, key, cell);
		}
}

/* Display width of UTF-8 text: its code points (continuations do not count). */
static size_t width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void print_cell(const char *s, size_t w, int last)
{
	printf("%s%*s", s, last ? 0 : (int)(w - width(s) + 2), last ? "\n" : "");
}

/* Rows as columns padded to their widest cell, without trailing blanks. */
static void print_table(const json_t *rows, const struct column *cols)
{
	size_t w[8] = { 0 }, n, i;
	char cell[CTL_CELL_MAX];
	const json_t *row;

	for (n = 0; n < GW_ARRAY_LEN(w) && cols[n].key; n++)
		w[n] = width(cols[n].head);
	json_array_foreach(rows, i, row)
		for (size_t k = 0; k < n; k++) {
			fmt_cell(json_object_get(row, cols[k].key), cols[k].fmt, cell, sizeof(cell));
			w[k] = GW_MAX(w[k], width(cell));
		}
	for (size_t k = 0; k < n; k++)
		print_cell(cols[k].head, w[k], k + 1 == n);
	json_array_foreach(rows, i, row)
		for (size_t k = 0; k < n; k++) {
			fmt_cell(json_object_get(row, cols[k].key), cols[k].fmt, cell, sizeof(cell));
			print_cell(cell, w[k], k + 1 == n);
		}
}

/* --- commands: reading presence ------------------------------------------- */

/* Every node with its hash (which lapses with the lease, so may be gone). */
static int cmd_nodes(ctl_t *c, char **argv, json_t *doc)
{
	json_t *row, *hb;
	redisReply *r;
	size_t i;

	GW_UNUSED(argv);
	json_array_foreach(c->nodes, i, row) {
		r = ctl_redis(c, REDIS_REPLY_ARRAY, "HGETALL {%s}:node:%s", c->prefix,
			      json_string_value(json_object_get(row, "id")));
		if (!r)
			return GW_EIO;
		for (size_t k = 0; k + 1 < r->elements; k += 2)
			if (strcmp(r->element[k]->str, "id"))
				json_object_set_new(row, r->element[k]->str,
						    scalar(r->element[k + 1]->str));
		freeReplyObject(r);
		hb = json_object_get(row, "heartbeat");
		if (json_is_integer(hb))
			json_object_set_new(row, "heartbeat_age_ms",
					    json_integer(c->now - json_integer_value(hb)));
	}
	count(doc, "live_nodes", "expired_nodes", c->nodes);
	json_object_set(doc, "nodes", c->nodes);
	return GW_OK;
}

/* The cluster's totals, then the nodes. */
static int cmd_stats(ctl_t *c, char **argv, json_t *doc)
{
	redisReply *total, *r;
	long long sum = 0, lobbies = 0;
	int rc;

	/* Each shard counts the connections and lobbies placed on it. */
	for (uint32_t k = 0; k < c->shards->n; k++) {
		if ((rc = ctl_use(c, k)))
			return rc;
		if (!(total = ctl_redis(c, REDIS_REPLY_STRING, "GET {%s}:total", c->prefix)))
			return GW_EIO;
		sum += total->str ? strtoll(total->str, NULL, 10) : 0;
		freeReplyObject(total);
		if (!(r = ctl_redis(c, REDIS_REPLY_INTEGER, "HLEN {%s}:lobbies", c->prefix)))
			return GW_EIO;
		lobbies += r->integer;
		freeReplyObject(r);
	}
	json_object_set_new(doc, "total", json_integer(sum));
	if (c->max_conns > 0) {
		json_object_set_new(doc, "max_connections", json_integer(c->max_conns));
		json_object_set_new(doc, "capacity_percent", json_real(100.0 *
			(double)json_integer_value(json_object_get(doc, "total")) / (double)c->max_conns));
	}
	json_object_set_new(doc, "lobbies", json_integer(lobbies));
	return cmd_nodes(c, argv, doc);
}

static int cmd_lobby(ctl_t *c, char **argv, json_t *doc)
{
	redisReply *r = ctl_use_name(c, argv[0]) ? NULL :
		pairs(c, "HGETALL {%s}:lobby:%s", c->prefix, argv[0]);
	json_t *rows, *users;

	if (!r)
		return GW_EIO;
	rows = json_array();
	users = json_object();
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		json_t *node = conn_node(r->element[i]->str);
		const char *st = status(c, node);

		if (!strcmp(st, "live"))
			json_object_set_new(users, r->element[i + 1]->str, json_true());
		json_array_append_new(rows, json_pack("{s:s,s:s,s:o,s:s}", "user",
			r->element[i + 1]->str, "conn", r->element[i]->str, "node", node,
			"status", st));
	}
	freeReplyObject(r);
	json_object_set_new(doc, "lobby", json_string(argv[0]));
	count(doc, "count", "gone", rows);
	json_object_set_new(doc, "users", json_integer((json_int_t)json_object_size(users)));
	json_object_set_new(doc, "connections", rows);
	json_decref(users);
	return GW_OK;
}

/*
 * The user's connections, from {P}:user:USER (conn id -> JSON
 * {"node","lobby","since"}), into doc. GW_ENOENT, said, if none is live.
 */
static int cmd_user(ctl_t *c, char **argv, json_t *doc)
{
	const char *user = argv[0];
	redisReply *r = ctl_use_name(c, user) ? NULL :
		pairs(c, "HGETALL {%s}:user:%s", c->prefix, user);
	json_t *rows = json_array();

	json_object_set_new(doc, "user", json_string(user));
	json_object_set_new(doc, "connections", rows);
	if (!r)
		return GW_EIO;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *conn = r->element[i]->str;
		json_t *v = json_loads(r->element[i + 1]->str, 0, NULL);
		json_t *node = json_object_get(v, "node");
		int64_t ms = (int64_t)json_number_value(json_object_get(v, "since"));
		char iso[40];

		/* A malformed entry still names its node in its id. */
		node = json_is_string(node) ? json_incref(node) : conn_node(conn);
		fmt_time(ms, iso, sizeof(iso));
		json_array_append_new(rows, json_pack("{s:s,s:O,s:O?,s:I,s:s?,s:I,s:s}",
			"conn", conn, "node", node, "lobby", json_object_get(v, "lobby"),
			"since", (json_int_t)ms, "since_iso", ms > 0 ? iso : NULL,
			"age_ms", (json_int_t)(c->now - ms), "status", status(c, node)));
		json_decref(node);
		json_decref(v);
	}
	freeReplyObject(r);
	count(doc, "count", "gone", rows);
	if (json_integer_value(json_object_get(doc, "count")))
		return GW_OK;
	fprintf(stderr, "%s is not connected\n", user);
	return GW_ENOENT;
}

/* --- commands: publishing ------------------------------------------------- */

/* Publishes env (borrowed) on channel: the receiver count, or a GW_E*. */
static long long publish(ctl_t *c, const char *channel, const json_t *env)
{
	char *s = json_dumps(env, JSON_COMPACT);
	redisReply *r = NULL;
	long long n = GW_ENOMEM;

	if (s && strlen(s) > CTL_PAYLOAD_MAX) {
		fprintf(stderr, "gatewayctl: the envelope is %zu bytes, over %d\n", strlen(s),
			CTL_PAYLOAD_MAX);
		n = GW_ETOOBIG;
	} else if (s) {
		r = ctl_redis(c, REDIS_REPLY_INTEGER, "PUBLISH %s %s", channel, s);
		n = r ? r->integer : GW_EIO;
	}
	freeReplyObject(r);
	gw_free(s);
	return n;
}

/* The JSON argument (any JSON value), or NULL after saying why. */
static json_t *parse_data(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

	if (!v)
		fprintf(stderr, "gatewayctl: invalid JSON argument: %s (line %d, column %d)\n",
			err.text, err.line, err.column);
	return v;
}

static int cmd_publish(ctl_t *c, char **argv, json_t *doc)
{
	json_t *data = parse_data(argv[1]), *env;
	char channel[CTL_NAME_MAX * 2];
	long long n;

	if (!data)
		return GW_EINVAL;
	env = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:o}}", "t", "msg", "l", argv[0], "p",
			"type", "message", "lobby", argv[0], "from", c->from, "data", data);
	snprintf(channel, sizeof(channel), "{%s}:ch:lobby:%s", c->prefix, argv[0]);
	n = !env ? GW_ENOMEM : ctl_use_name(c, argv[0]) ? GW_EUNAVAIL : publish(c, channel, env);
	json_decref(env);
	if (n < 0)
		return (int)n;
	json_object_set_new(doc, "lobby", json_string(argv[0]));
	json_object_set_new(doc, "channel", json_string(channel));
	json_object_set_new(doc, "receivers", json_integer(n));
	return GW_OK;
}

/*
 * Publishes env (borrowed) once on the channel of each live node holding
 * the user (or only connection `conn`), listing them in doc["nodes"].
 */
static int deliver(ctl_t *c, char **argv, const char *conn, const json_t *env, json_t *doc)
{
	json_t *rows, *row, *nodes = json_array(), *done = json_object();
	char channel[CTL_NAME_MAX * 2];
	int rc = cmd_user(c, argv, doc);
	long long n;
	size_t i;

	json_object_set_new(doc, "nodes", nodes);
	rows = rc ? NULL : json_object_get(doc, "connections");
	json_array_foreach(rows, i, row) {
		const char *node = json_string_value(json_object_get(row, "node"));

		if (strcmp(json_string_value(json_object_get(row, "status")), "live") ||
		    json_object_get(done, node) ||
		    (conn && strcmp(conn, json_string_value(json_object_get(row, "conn")))))
			continue;
		json_object_set_new(done, node, json_true());
		snprintf(channel, sizeof(channel), "{%s}:ch:node:%s", c->prefix, node);
		if ((n = publish(c, channel, env)) < 0) {
			rc = (int)n;
			break;
		}
		json_array_append_new(nodes, json_pack("{s:s,s:s,s:I}", "node", node,
			"channel", channel, "receivers", (json_int_t)n));
	}
	json_decref(done);
	json_object_set_new(doc, "published", json_integer((json_int_t)json_array_size(nodes)));
	if (!rc && !json_array_size(nodes)) {
		fprintf(stderr, "%s has no live connection %s\n", argv[0], conn ? conn : "");
		rc = GW_ENOENT;
	}
	return rc;
}

static int cmd_send(ctl_t *c, char **argv, json_t *doc)
{
	json_t *data = parse_data(argv[1]), *env;
	int rc;

	if (!data)
		return GW_EINVAL;
	env = json_pack("{s:s,s:s,s:{s:s,s:s,s:o}}", "t", "msg", "u", argv[0], "p",
			"type", "direct", "from", c->from, "data", data);
	rc = env ? deliver(c, argv, NULL, env, doc) : GW_ENOMEM;
	json_decref(env);
	return rc;
}

static int cmd_kick(ctl_t *c, char **argv, json_t *doc)
{
	json_t *env = json_pack("{s:s,s:s,s:s}", "t", "kick", "u", argv[0], "r", "kicked");
	int rc;

	if (env && c->conn)
		json_object_set_new(env, "c", json_string(c->conn));
	rc = env ? deliver(c, argv, c->conn, env, doc) : GW_ENOMEM;
	json_decref(env);
	return rc;
}

/* --- the command table and its tables' columns ----------------------------- */

static const struct column node_cols[] = {
	{ "id", "NODE", F_STR }, { "addr", "ADDR", F_STR }, { "conns", "CONNS", F_STR },
	{ "load", "LOAD", F_STR }, { "started", "STARTED", F_TIME },
	{ "heartbeat_age_ms", "HEARTBEAT AGE", F_AGE }, { "status", "STATUS", F_STR }, { 0 },
};
static const struct column lobby_cols[] = {
	{ "user", "USER", F_STR }, { "conn", "CONN", F_STR }, { "node", "NODE", F_STR },
	{ "status", "STATUS", F_STR }, { 0 },
};
static const struct column user_cols[] = {
	{ "conn", "CONN", F_STR }, { "node", "NODE", F_STR }, { "lobby", "LOBBY", F_STR },
	{ "since", "SINCE", F_TIME }, { "age_ms", "AGE", F_AGE },
	{ "status", "STATUS", F_STR }, { 0 },
};
static const struct column deliver_cols[] = {
	{ "node", "NODE", F_STR }, { "channel", "CHANNEL", F_STR },
	{ "receivers", "RECEIVERS", F_STR }, { 0 },
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "nodes", "", 0, 0, cmd_nodes, "nodes", node_cols,
	  "nodes and their leases; the next sweep removes expired ones" },
	{ "stats", "", 0, OPT_MAX, cmd_stats, "nodes", node_cols,
	  "cluster totals: connections, capacity, lobbies, nodes" },
	{ "lobby", "LOBBY", 1, 0, cmd_lobby, "connections", lobby_cols,
	  "users in a lobby, with their connections and nodes" },
	{ "user", "USER", 1, 0, cmd_user, "connections", user_cols,
	  "where a user is connected (exit 1 if nowhere)" },
	{ "publish", "LOBBY JSON", 2, OPT_FROM, cmd_publish, NULL, NULL,
	  "publish JSON as a message frame to a lobby" },
	{ "send", "USER JSON", 2, OPT_FROM, cmd_send, "nodes", deliver_cols,
	  "send JSON as a direct frame to a user, wherever connected" },
	{ "kick", "USER", 1, OPT_CONN, cmd_kick, "nodes", deliver_cols,
	  "close a user's connections (or one, with --conn)" },
};

/* --- main ------------------------------------------------------------------ */

static void usage(FILE *out)
{
	char left[40];

	fprintf(out, "usage: gatewayctl [OPTIONS] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < GW_ARRAY_LEN(ctl_cmds); i++)
		fprintf(out, "  %-7s %-11s %s\n", ctl_cmds[i].name, ctl_cmds[i].args,
			ctl_cmds[i].help);
	fprintf(out, "\noptions:\n");
	for (size_t i = 0; i < GW_ARRAY_LEN(ctl_opts); i++) {
		const struct ctl_opt *o = &ctl_opts[i];

		snprintf(left, sizeof(left), "--%s %s", o->name, o->arg ? o->arg : "");
		fprintf(out, "  %-22s %s%s%s%s\n", left, o->help, o->env ? " [env " : "",
			o->env ? o->env : "", o->env ? "]" : "");
	}
	fprintf(out, "\nexit status: 0 ok, 1 runtime error or user not connected, 2 usage\n");
}

/* Stores one option's value; `from` names its source in messages. */
static int set_opt(ctl_t *c, const struct ctl_opt *o, const char *v, const char *from)
{
	char *field = (char *)c + o->off;

	if (o->type == O_STR)
		*(const char **)field = v;
	else if (o->type == O_FLAG)
		*(int *)field = 1;
	else if (o->type == O_LONG && parse_int(v, 1, CTL_CONNS_MAX, (long *)field)) {
		fprintf(stderr, "gatewayctl: %s: want an integer 1..%d, got '%s'\n", from,
			CTL_CONNS_MAX, v);
		return GW_EINVAL;
	}
	return GW_OK;
}

/* The environment, then the flags: the index of the command, or < 0. */
static int parse_opts(ctl_t *c, int argc, char **argv, unsigned *seen)
{
	struct option lo[GW_ARRAY_LEN(ctl_opts) + 1] = { { 0 } };
	int i, n = (int)GW_ARRAY_LEN(ctl_opts);
	char from[40];

	for (i = 0; i < n; i++) {
		const char *env = ctl_opts[i].env ? getenv(ctl_opts[i].env) : NULL;

		lo[i] = (struct option){ ctl_opts[i].name,
			ctl_opts[i].arg ? required_argument : no_argument, NULL, i };
		if (env && *env && set_opt(c, &ctl_opts[i], env, ctl_opts[i].env))
			return GW_EINVAL;
	}
	opterr = 0;
	while ((i = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (i == 'h' || (i < n && ctl_opts[i].type == O_HELP)) {
			usage(stdout);
			exit(0);
		}
		if (i < n && ctl_opts[i].type == O_VERSION) {
			gw_build_print(stdout, "gatewayctl");
			exit(0);
		}
		if (i >= n) {
			fprintf(stderr, "gatewayctl: unknown option or missing value: %s "
				"(see --help)\n", argv[optind - 1]);
			return GW_EINVAL;
		}
		snprintf(from, sizeof(from), "--%s", ctl_opts[i].name);
		if (set_opt(c, &ctl_opts[i], optarg, from))
			return GW_EINVAL;
		*seen |= ctl_opts[i].only;
	}
	return optind;
}

/* Checks what needs no Redis: the command, or NULL after saying why. */
static const struct ctl_cmd *check_args(ctl_t *c, int argc, char **argv, unsigned seen)
{
	const struct ctl_cmd *cmd = NULL;
	const char *bad = NULL;

	for (size_t i = 0; argc > 0 && i < GW_ARRAY_LEN(ctl_cmds); i++)
		if (!strcmp(argv[0], ctl_cmds[i].name))
			cmd = &ctl_cmds[i];
	if (!cmd) {
		fprintf(stderr, "gatewayctl: %s%s%s (see --help)\n", argc ? "unknown command '" :
			"no command", argc ? argv[0] : "", argc ? "'" : "");
		return NULL;
	}
	if (argc - 1 != cmd->nargs) {
		fprintf(stderr, "usage: gatewayctl [OPTIONS] %s %s\n", cmd->name, cmd->args);
		return NULL;
	}
	for (size_t i = 0; i < GW_ARRAY_LEN(ctl_opts); i++)
		if (ctl_opts[i].only & seen & ~cmd->opts) {
			fprintf(stderr, "gatewayctl: %s takes no --%s\n", cmd->name, ctl_opts[i].name);
			return NULL;
		}
	if (!c->prefix[0] || strlen(c->prefix) > 64 || c->prefix[strspn(c->prefix,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-")]) {
		fprintf(stderr, "gatewayctl: the prefix must be 1..64 characters from "
			"[A-Za-z0-9_.:-], got '%s'\n", c->prefix);
		return NULL;
	}
	/* Names go into envelopes, whose strings the nodes bound to 256 bytes. */
	if (cmd->nargs && (!*argv[1] || strlen(argv[1]) > CTL_NAME_MAX))
		bad = cmd->args;
	else if (strlen(c->from) > CTL_NAME_MAX || (c->conn && strlen(c->conn) > CTL_NAME_MAX))
		bad = "--from, --conn";
	if (bad)
		fprintf(stderr, "gatewayctl: %s: want 1..%d bytes\n", bad, CTL_NAME_MAX);
	return bad ? NULL : cmd;
}

int main(int argc, char **argv)
{
	ctl_t c = { .url = "redis://127.0.0.1:6379", .prefix = "gw", .from = "gatewayctl" };
	const struct ctl_cmd *cmd;
	char why[300];
	unsigned seen = 0;
	json_t *doc;
	int first, rc;

	json_set_alloc_funcs(gw_malloc, gw_free);
	if ((first = parse_opts(&c, argc, argv, &seen)) < 0 ||
	    !(cmd = check_args(&c, argc - first, argv + first, seen)))
		return CTL_EXIT_USAGE;
	c.shards = gw_calloc(1, sizeof(*c.shards));
	if (!c.shards || gw_shard_list_parse(c.url, c.shards, why, sizeof(why))) {
		fprintf(stderr, "gatewayctl: %s\n", c.shards ? why : "out of memory");
		gw_free(c.shards);
		return CTL_EXIT_USAGE;
	}
	c.now = (int64_t)gw_wall_ms();
	rc = (doc = json_object()) ? GW_OK : GW_ENOMEM;
	if (!rc)
		rc = load_nodes(&c);
	if (!rc)
		rc = cmd->run(&c, argv + first + 1, doc);
	if (c.json && (!rc || rc == GW_ENOENT)) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (!rc) {
		print_fields(doc);
		if (cmd->cols && putchar('\n'))
			print_table(json_object_get(doc, cmd->rows), cmd->cols);
	} else if (rc == GW_ENOMEM) {
		fprintf(stderr, "gatewayctl: %s\n", gw_strerror(rc));
	}
	json_decref(doc);
	json_decref(c.nodes);
	json_decref(c.live);
	for (size_t k = 0; k < GW_SHARDS_MAX; k++)
		if (c.link[k])
			redisFree(c.link[k]);
	gw_free(c.shards);
	return !rc ? 0 : rc == GW_EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_RUNTIME;
}
