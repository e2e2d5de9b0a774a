/*
 * gatewayctl — the operator CLI. It reads the cluster's presence from Redis
 * and publishes JSON envelopes to lobby and node channels, exactly as laid
 * out in docs/redis-schema.md (the contract; this file only reads keys and
 * publishes, it never writes presence).
 *
 *   gatewayctl [--redis URL] [--prefix P] [--json] COMMAND ...
 *
 * Layout: private types, the option and command tables, helpers (Redis,
 * formatting), one handler per command, main. Every handler fills one JSON
 * document; main prints it either as JSON (--json) or through the command's
 * human view (a summary line and an aligned table), so the two outputs can
 * never disagree.
 *
 * Liveness follows the contract: a connection whose node is not in
 * {P}:nodes with a future score is gone. Such entries are shown with status
 * "gone" (the next sweep removes them) but are not counted, and nothing is
 * sent to their nodes.
 *
 * Exit codes: 0 success, 1 runtime failure (Redis unreachable or erroring,
 * user not connected), 2 usage error.
 */
#include "gw_alloc.h"
#include "gw_common.h"

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
#define CTL_CELL_MAX 512
#define CTL_COLS_MAX 8

enum { CTL_EXIT_RUNTIME = 1, CTL_EXIT_USAGE = 2 };

/* Options that only some commands take; a command lists the ones it allows. */
enum { OPT_FROM = 1 << 0, OPT_CONN = 1 << 1, OPT_MAX = 1 << 2 };

typedef struct ctl {
	const char *url, *prefix, *from, *conn;
	long max_conns;     /* 0: unknown, capacity is omitted */
	int json;
	int64_t now;        /* wall clock (ms), the nodes' lease clock */
	redisContext *redis;
	json_t *live;       /* set of live node ids (object keys), lazily loaded */
} ctl_t;

struct redis_addr {
	char host[256], path[256], user[128], pass[256];
	int port, db;
};

enum opt_type { O_STR, O_FLAG, O_LONG, O_HELP };

struct ctl_opt {
	const char *name;
	enum opt_type type;
	size_t off;         /* field in ctl_t */
	unsigned only;      /* 0: global; else the OPT_* bit a command must allow */
	long lo, hi;        /* bounds of O_LONG */
	const char *env, *arg, *help;
};

enum fmt { F_STR, F_NUM, F_TIME, F_AGE };

struct column {
	const char *key, *head;
	enum fmt fmt;
};

typedef int (*ctl_handler)(ctl_t *c, char **argv, json_t *doc);

struct ctl_cmd {
	const char *name, *args;
	int nargs;
	unsigned opts;                  /* OPT_* bits this command allows */
	ctl_handler run;
	void (*summary)(const json_t *doc);
	const char *rows;               /* doc key of the table's rows */
	const struct column *cols;
	const char *help;
};

/* --- static prototypes ---------------------------------------------------- */

static int cmd_nodes(ctl_t *c, char **argv, json_t *doc);
static int cmd_stats(ctl_t *c, char **argv, json_t *doc);
static int cmd_lobby(ctl_t *c, char **argv, json_t *doc);
static int cmd_user(ctl_t *c, char **argv, json_t *doc);
static int cmd_publish(ctl_t *c, char **argv, json_t *doc);
static int cmd_send(ctl_t *c, char **argv, json_t *doc);
static int cmd_kick(ctl_t *c, char **argv, json_t *doc);
static void sum_nodes(const json_t *doc);
static void sum_stats(const json_t *doc);
static void sum_lobby(const json_t *doc);
static void sum_user(const json_t *doc);
static void sum_publish(const json_t *doc);
static void sum_deliver(const json_t *doc);

/* --- static tables -------------------------------------------------------- */

static const struct ctl_opt ctl_opts[] = {
	{ "redis", O_STR, offsetof(ctl_t, url), 0, 0, 0, "GW_REDIS_URL", "URL",
	  "redis://[user:pass@]host:port[/db] or unix:///path[?db=N]\n"
	  "\t\t\t(default redis://127.0.0.1:6379)" },
	{ "prefix", O_STR, offsetof(ctl_t, prefix), 0, 0, 0, "GW_REDIS_PREFIX", "P",
	  "key namespace, keys are {P}:... (default gw)" },
	{ "json", O_FLAG, offsetof(ctl_t, json), 0, 0, 0, NULL, NULL,
	  "print one JSON document instead of a table" },
	{ "max-connections", O_LONG, offsetof(ctl_t, max_conns), OPT_MAX, 1, 10000000,
	  "GW_MAX_CONNECTIONS", "N", "stats: the cluster's cap, for capacity_percent" },
	{ "from", O_STR, offsetof(ctl_t, from), OPT_FROM, 0, 0, NULL, "NAME",
	  "publish, send: sender named in the frame (default gatewayctl)" },
	{ "conn", O_STR, offsetof(ctl_t, conn), OPT_CONN, 0, 0, NULL, "CONNID",
	  "kick: only this connection" },
	{ "help", O_HELP, 0, 0, 0, 0, NULL, NULL, "this help" },
};

static const struct column node_cols[] = {
	{ "id", "NODE", F_STR }, { "addr", "ADDR", F_STR },
	{ "conns", "CONNS", F_NUM }, { "load", "LOAD", F_NUM },
	{ "started", "STARTED", F_TIME }, { "heartbeat_age_ms", "HEARTBEAT AGE", F_AGE },
	{ "status", "STATUS", F_STR }, { NULL, NULL, 0 },
};
static const struct column stat_cols[] = {
	{ "id", "NODE", F_STR }, { "conns", "CONNS", F_NUM },
	{ "status", "STATUS", F_STR }, { NULL, NULL, 0 },
};
static const struct column lobby_cols[] = {
	{ "user", "USER", F_STR }, { "conn", "CONN", F_STR },
	{ "node", "NODE", F_STR }, { "status", "STATUS", F_STR }, { NULL, NULL, 0 },
};
static const struct column user_cols[] = {
	{ "conn", "CONN", F_STR }, { "node", "NODE", F_STR },
	{ "lobby", "LOBBY", F_STR }, { "since", "SINCE", F_TIME },
	{ "age_ms", "AGE", F_AGE }, { "status", "STATUS", F_STR }, { NULL, NULL, 0 },
};
static const struct column deliver_cols[] = {
	{ "node", "NODE", F_STR }, { "channel", "CHANNEL", F_STR },
	{ "receivers", "RECEIVERS", F_NUM }, { NULL, NULL, 0 },
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "nodes", "", 0, 0, cmd_nodes, sum_nodes, "nodes", node_cols,
	  "nodes with their lease; expired ones are removed by the next sweep" },
	{ "stats", "", 0, OPT_MAX, cmd_stats, sum_stats, "nodes", stat_cols,
	  "cluster totals: connections, lobbies, nodes, capacity" },
	{ "lobby", "LOBBY", 1, 0, cmd_lobby, sum_lobby, "connections", lobby_cols,
	  "users in a lobby, with their connections and nodes" },
	{ "user", "USER", 1, 0, cmd_user, sum_user, "connections", user_cols,
	  "where a user is connected (exit 1 if nowhere)" },
	{ "publish", "LOBBY JSON", 2, OPT_FROM, cmd_publish, sum_publish, NULL, NULL,
	  "publish JSON as a message frame to a lobby" },
	{ "send", "USER JSON", 2, OPT_FROM, cmd_send, sum_deliver, "nodes", deliver_cols,
	  "send JSON as a direct frame to a user, on every node holding them" },
	{ "kick", "USER", 1, OPT_CONN, cmd_kick, sum_deliver, "nodes", deliver_cols,
	  "close a user's connections (or one, with --conn)" },
};

/* --- helpers: arguments and the Redis link -------------------------------- */

static int prefix_ok(const char *p)
{
	size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789_.:-");

	return n >= 1 && n <= 64 && !p[n];
}

static int hex(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
	       ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* Copies [s, s+n) into dst, decoding %XX escapes (as redis-cli does). */
static int url_decode(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (o + 1 >= cap)
			return GW_ETOOBIG;
		if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
			dst[o++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else {
			dst[o++] = s[i];
		}
	}
	dst[o] = '\0';
	return GW_OK;
}

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
 * redis://[user:pass@]host[:port][/db] or unix:///path[?db=N]. As in
 * redis-cli, userinfo without a colon is a password alone.
 */
static int parse_url(const char *url, struct redis_addr *a)
{
	const char *s, *at, *col, *end;
	long v = 0;

	memset(a, 0, sizeof(*a));
	a->port = 6379;
	if (!strncmp(url, "unix://", 7)) {
		s = url + 7;
		end = strchr(s, '?');
		if (*s != '/' || (end && strncmp(end, "?db=", 4)) ||
		    (end && parse_int(end + 4, 0, 1 << 20, &v)))
			return GW_EINVAL;
		a->db = (int)v;
		return url_decode(a->path, sizeof(a->path), s, end ? (size_t)(end - s) : strlen(s));
	}
	if (strncmp(url, "redis://", 8))
		return GW_EINVAL;
	s = url + 8;
	end = s + strcspn(s, "/");
	if ((at = memrchr(s, '@', (size_t)(end - s)))) {
		col = memchr(s, ':', (size_t)(at - s));
		if (col && url_decode(a->user, sizeof(a->user), s, (size_t)(col - s)))
			return GW_EINVAL;
		col = col ? col + 1 : s;
		if (url_decode(a->pass, sizeof(a->pass), col, (size_t)(at - col)))
			return GW_EINVAL;
		s = at + 1;
	}
	if (*s == '[') {        /* [v6]:port */
		col = memchr(s, ']', (size_t)(end - s));
		if (!col || (col[1] != ':' && col + 1 != end))
			return GW_EINVAL;
		snprintf(a->host, sizeof(a->host), "%.*s", (int)(col - s - 1), s + 1);
		col = col[1] == ':' ? col + 1 : NULL;
	} else {
		col = memchr(s, ':', (size_t)(end - s));
		snprintf(a->host, sizeof(a->host), "%.*s", (int)((col ? col : end) - s), s);
	}
	if (!a->host[0])
		return GW_EINVAL;
	if (col) {
		char port[8];

		if (end - col - 1 >= (ptrdiff_t)sizeof(port))
			return GW_EINVAL;
		snprintf(port, sizeof(port), "%.*s", (int)(end - col - 1), col + 1);
		if (parse_int(port, 1, 65535, &v))
			return GW_EINVAL;
		a->port = (int)v;
	}
	if (*end && end[1] && parse_int(end + 1, 0, 1 << 20, &v))
		return GW_EINVAL;
	a->db = *end && end[1] ? (int)v : 0;
	return GW_OK;
}

/*
 * Sends one command and checks the reply's type (a nil is accepted where a
 * string is wanted). Returns the reply, owned by the caller
 * (freeReplyObject), or NULL after printing why.
 */
static redisReply *ctl_redis(ctl_t *c, int type, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c->redis, fmt, ap);
	va_end(ap);
	if (!r) {
		fprintf(stderr, "gatewayctl: lost the Redis connection: %s\n", c->redis->errstr);
		return NULL;
	}
	if (r->type == type || (type == REDIS_REPLY_STRING && r->type == REDIS_REPLY_NIL))
		return r;
	if (r->type == REDIS_REPLY_ERROR)
		fprintf(stderr, "gatewayctl: Redis error: %s\n", r->str);
	else
		fprintf(stderr, "gatewayctl: unexpected Redis reply type %d\n", r->type);
	freeReplyObject(r);
	return NULL;
}

static int ctl_connect(ctl_t *c, const struct redis_addr *a)
{
	struct timeval tv = { 2, 0 }, cmd_tv = { 10, 0 };
	char where[300];
	redisReply *r = NULL;

	if (a->path[0])
		snprintf(where, sizeof(where), "%s", a->path);
	else
		snprintf(where, sizeof(where), "%s:%d", a->host, a->port);
	c->redis = a->path[0] ? redisConnectUnixWithTimeout(a->path, tv)
			      : redisConnectWithTimeout(a->host, a->port, tv);
	if (!c->redis || c->redis->err) {
		fprintf(stderr, "gatewayctl: cannot connect to Redis at %s: %s\n", where,
			c->redis ? c->redis->errstr : "out of memory");
		return GW_EUNAVAIL;
	}
	redisSetTimeout(c->redis, cmd_tv);
	if (a->pass[0] || a->user[0])
		r = a->user[0] ? redisCommand(c->redis, "AUTH %s %s", a->user, a->pass)
			       : redisCommand(c->redis, "AUTH %s", a->pass);
	if (r && r->type != REDIS_REPLY_ERROR && a->db) {
		freeReplyObject(r);
		r = redisCommand(c->redis, "SELECT %d", a->db);
	}
	if ((a->pass[0] || a->user[0] || a->db) && (!r || r->type == REDIS_REPLY_ERROR)) {
		fprintf(stderr, "gatewayctl: cannot connect to Redis at %s: %s\n", where,
			r ? r->str : c->redis->errstr);
		freeReplyObject(r);
		return GW_EUNAVAIL;
	}
	freeReplyObject(r);
	return GW_OK;
}

/* The node of a connection id: the part before the last dot. */
static json_t *conn_node(const char *conn)
{
	const char *dot = strrchr(conn, '.');

	return dot ? json_stringn(conn, (size_t)(dot - conn)) : json_string(conn);
}

/*
 * Every node in {P}:nodes as rows {id, lease_expires, status}, sorted by
 * id; also fills c->live. Returns the rows (owned by the caller) or NULL.
 */
static json_t *load_nodes(ctl_t *c)
{
	redisReply *r = ctl_redis(c, REDIS_REPLY_ARRAY, "ZRANGE {%s}:nodes 0 -1 WITHSCORES",
				  c->prefix);
	json_t *rows;

	if (!r)
		return NULL;
	rows = json_array();
	json_decref(c->live);
	c->live = json_object();
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *id = r->element[i]->str;
		int64_t exp = (int64_t)strtod(r->element[i + 1]->str, NULL);
		int live = exp > c->now;

		json_array_append_new(rows, json_pack("{s:s,s:I,s:s}", "id", id,
			"lease_expires", (json_int_t)exp, "status", live ? "live" : "expired"));
		if (live)
			json_object_set_new(c->live, id, json_true());
	}
	freeReplyObject(r);
	return rows;
}

static int is_live(ctl_t *c, const json_t *node)
{
	return json_object_get(c->live, json_string_value(node)) != NULL;
}

static const char *sort_keys[2];   /* qsort has no context argument */

static int cmp_rows(const void *a, const void *b)
{
	for (int i = 0; i < 2 && sort_keys[i]; i++) {
		const char *k = sort_keys[i];
		const char *x = json_string_value(json_object_get(*(json_t *const *)a, k));
		const char *y = json_string_value(json_object_get(*(json_t *const *)b, k));
		int d = strcmp(x ? x : "", y ? y : "");

		if (d)
			return d;
	}
	return 0;
}

/* Sorts an array of objects by string fields k1 then k2 (may be NULL). */
static void sort_rows(json_t *rows, const char *k1, const char *k2)
{
	size_t n = json_array_size(rows);
	json_t **v = gw_calloc(n ? n : 1, sizeof(*v));

	if (!v)
		return;         /* unsorted is still correct output */
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(rows, i));
	sort_keys[0] = k1;
	sort_keys[1] = k2;
	qsort(v, n, sizeof(*v), cmp_rows);
	json_array_clear(rows);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(rows, v[i]);
	gw_free(v);
}

/* --- helpers: formatting -------------------------------------------------- */

static void fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&s, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ", (int)(ms % 1000));
}

static void fmt_age(int64_t ms, char *buf, size_t len)
{
	const char *sign = ms < 0 ? "-" : "";
	int64_t a = ms < 0 ? -ms : ms, s = a / 1000;

	if (a < 60000)
		snprintf(buf, len, "%s%.1fs", sign, (double)a / 1000);
	else if (s < 3600)
		snprintf(buf, len, "%s%dm%02ds", sign, (int)(s / 60), (int)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%s%dh%02dm", sign, (int)(s / 3600), (int)(s / 60 % 60));
	else
		snprintf(buf, len, "%s%dd%02dh", sign, (int)(s / 86400), (int)(s / 3600 % 24));
}

static void fmt_cell(const json_t *v, enum fmt f, char *buf, size_t len)
{
	if (!v || json_is_null(v))
		snprintf(buf, len, "-");
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (f == F_TIME || f == F_AGE)
		(f == F_TIME ? fmt_time : fmt_age)((int64_t)json_number_value(v), buf, len);
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.2f", json_real_value(v));
	else
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
}

/* Prints rows as columns padded to their widest cell; no trailing blanks. */
static void print_table(const json_t *rows, const struct column *cols)
{
	size_t w[CTL_COLS_MAX] = { 0 }, n = 0, i;
	char cell[CTL_CELL_MAX];
	const json_t *row;

	for (n = 0; n < CTL_COLS_MAX && cols[n].key; n++)
		w[n] = strlen(cols[n].head);
	json_array_foreach(rows, i, row)
		for (size_t k = 0; k < n; k++) {
			fmt_cell(json_object_get(row, cols[k].key), cols[k].fmt, cell, sizeof(cell));
			w[k] = GW_MAX(w[k], strlen(cell));
		}
	for (size_t k = 0; k < n; k++)
		printf("%-*s%s", k + 1 < n ? (int)w[k] : 0, cols[k].head, k + 1 < n ? "  " : "\n");
	json_array_foreach(rows, i, row)
		for (size_t k = 0; k < n; k++) {
			fmt_cell(json_object_get(row, cols[k].key), cols[k].fmt, cell, sizeof(cell));
			printf("%-*s%s", k + 1 < n ? (int)w[k] : 0, cell, k + 1 < n ? "  " : "\n");
		}
}

static json_int_t get_int(const json_t *doc, const char *key)
{
	return json_integer_value(json_object_get(doc, key));
}

static const char *get_str(const json_t *doc, const char *key)
{
	return json_string_value(json_object_get(doc, key));
}

/* --- commands: reading presence ------------------------------------------- */

/* Node hash fields and how they become JSON (the hash holds strings). */
static const struct { const char *name; char type; } node_fields[] = {
	{ "addr", 's' }, { "version", 's' }, { "conns", 'i' }, { "load", 'r' },
	{ "started", 'i' }, { "heartbeat", 'i' },
};

static int node_details(ctl_t *c, json_t *row)
{
	const char *id = get_str(row, "id");
	redisReply *r = ctl_redis(c, REDIS_REPLY_ARRAY, "HGETALL {%s}:node:%s", c->prefix, id);
	json_t *hb;

	if (!r)
		return GW_EIO;
	for (size_t f = 0; f < GW_ARRAY_LEN(node_fields); f++)
		json_object_set_new(row, node_fields[f].name, json_null());
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		for (size_t f = 0; f < GW_ARRAY_LEN(node_fields); f++) {
			const char *v = r->element[i + 1]->str;

			if (strcmp(r->element[i]->str, node_fields[f].name))
				continue;
			json_object_set_new(row, node_fields[f].name,
				node_fields[f].type == 's' ? json_string(v) :
				node_fields[f].type == 'i' ? json_integer(strtoll(v, NULL, 10)) :
				json_real(strtod(v, NULL)));
		}
	freeReplyObject(r);
	hb = json_object_get(row, "heartbeat");
	json_object_set_new(row, "heartbeat_age_ms", json_is_integer(hb) ?
		json_integer(c->now - json_integer_value(hb)) : json_null());
	return GW_OK;
}

static int count_status(const json_t *rows, const char *status)
{
	const json_t *row;
	size_t i;
	int n = 0;

	json_array_foreach(rows, i, row)
		n += !strcmp(get_str(row, "status"), status);
	return n;
}

static int cmd_nodes(ctl_t *c, char **argv, json_t *doc)
{
	json_t *rows = load_nodes(c), *row;
	size_t i;

	GW_UNUSED(argv);
	if (!rows)
		return GW_EIO;
	json_object_set_new(doc, "nodes", rows);
	json_array_foreach(rows, i, row)
		if (node_details(c, row))
			return GW_EIO;
	sort_rows(rows, "id", NULL);
	json_object_set_new(doc, "live", json_integer(count_status(rows, "live")));
	json_object_set_new(doc, "expired", json_integer(count_status(rows, "expired")));
	json_object_set_new(doc, "now", json_integer(c->now));
	return GW_OK;
}

static int cmd_stats(ctl_t *c, char **argv, json_t *doc)
{
	redisReply *total, *lobbies, *r;
	json_t *rows, *row;
	size_t i;

	GW_UNUSED(argv);
	if (!(total = ctl_redis(c, REDIS_REPLY_STRING, "GET {%s}:total", c->prefix)))
		return GW_EIO;
	json_object_set_new(doc, "total", json_integer(total->str ? strtoll(total->str, NULL, 10) : 0));
	freeReplyObject(total);
	if (!(lobbies = ctl_redis(c, REDIS_REPLY_INTEGER, "HLEN {%s}:lobbies", c->prefix)))
		return GW_EIO;
	json_object_set_new(doc, "lobbies", json_integer(lobbies->integer));
	freeReplyObject(lobbies);
	if (!(rows = load_nodes(c)))
		return GW_EIO;
	json_object_set_new(doc, "nodes", rows);
	/* The index is exact; the hash's `conns` is as of the last lease. */
	json_array_foreach(rows, i, row) {
		r = ctl_redis(c, REDIS_REPLY_INTEGER, "HLEN {%s}:node:%s:conns", c->prefix,
			      get_str(row, "id"));
		if (!r)
			return GW_EIO;
		json_object_set_new(row, "conns", json_integer(r->integer));
		freeReplyObject(r);
	}
	sort_rows(rows, "id", NULL);
	json_object_set_new(doc, "live_nodes", json_integer(count_status(rows, "live")));
	json_object_set_new(doc, "expired_nodes", json_integer(count_status(rows, "expired")));
	if (c->max_conns > 0) {
		json_object_set_new(doc, "max_connections", json_integer(c->max_conns));
		json_object_set_new(doc, "capacity_percent",
			json_real(100.0 * (double)get_int(doc, "total") / (double)c->max_conns));
	}
	return GW_OK;
}

static int cmd_lobby(ctl_t *c, char **argv, json_t *doc)
{
	redisReply *r;
	json_t *rows = load_nodes(c), *users;
	int live = 0;

	if (!rows)
		return GW_EIO;
	json_decref(rows);
	if (!(r = ctl_redis(c, REDIS_REPLY_ARRAY, "HGETALL {%s}:lobby:%s", c->prefix, argv[0])))
		return GW_EIO;
	rows = json_array();
	users = json_object();
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		json_t *node = conn_node(r->element[i]->str);
		int up = is_live(c, node);

		json_array_append_new(rows, json_pack("{s:s,s:s,s:o,s:s}",
			"user", r->element[i + 1]->str, "conn", r->element[i]->str,
			"node", node, "status", up ? "live" : "gone"));
		live += up;
		if (up)
			json_object_set_new(users, r->element[i + 1]->str, json_true());
	}
	freeReplyObject(r);
	sort_rows(rows, "user", "conn");
	json_object_set_new(doc, "lobby", json_string(argv[0]));
	json_object_set_new(doc, "count", json_integer(live));
	json_object_set_new(doc, "users", json_integer((json_int_t)json_object_size(users)));
	json_object_set_new(doc, "gone", json_integer((json_int_t)json_array_size(rows) - live));
	json_object_set_new(doc, "connections", rows);
	json_decref(users);
	return GW_OK;
}

/*
 * The user's connections from {P}:user:USER as rows sorted by conn id, into
 * doc["connections"]; returns how many are live, or a negative GW_E*.
 */
static int user_conns(ctl_t *c, const char *user, json_t *doc)
{
	redisReply *r;
	json_t *rows = load_nodes(c);
	int live = 0;

	if (!rows)
		return GW_EIO;
	json_decref(rows);
	if (!(r = ctl_redis(c, REDIS_REPLY_ARRAY, "HGETALL {%s}:user:%s", c->prefix, user)))
		return GW_EIO;
	rows = json_array();
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *conn = r->element[i]->str;
		json_t *v = json_loads(r->element[i + 1]->str, 0, NULL);
		json_t *node = json_incref(json_object_get(v, "node"));
		json_t *since = json_object_get(v, "since");
		int64_t ms = json_is_number(since) ? (int64_t)json_number_value(since) : 0;
		char iso[40];
		int up;

		if (!json_is_string(node)) {    /* malformed entry: trust the id */
			json_decref(node);
			node = conn_node(conn);
		}
		up = is_live(c, node);
		live += up;
		fmt_time(ms, iso, sizeof(iso));
		json_array_append_new(rows, json_pack("{s:s,s:o,s:O?,s:I,s:s?,s:I,s:s}",
			"conn", conn, "node", node, "lobby", json_object_get(v, "lobby"),
			"since", (json_int_t)ms, "since_iso", ms > 0 ? iso : NULL,
			"age_ms", (json_int_t)(c->now - ms), "status", up ? "live" : "gone"));
		json_decref(v);
	}
	freeReplyObject(r);
	sort_rows(rows, "conn", NULL);
	json_object_set_new(doc, "user", json_string(user));
	json_object_set_new(doc, "connected", json_boolean(live > 0));
	json_object_set_new(doc, "count", json_integer(live));
	json_object_set_new(doc, "connections", rows);
	return live;
}

static int not_connected(const char *user)
{
	fprintf(stderr, "%s is not connected\n", user);
	return GW_ENOENT;
}

static int cmd_user(ctl_t *c, char **argv, json_t *doc)
{
	int live = user_conns(c, argv[0], doc);

	if (live < 0)
		return live;
	return live ? GW_OK : not_connected(argv[0]);
}

/* --- commands: publishing ------------------------------------------------- */

/* Publishes env (borrowed) on channel; returns the receiver count or < 0. */
static long long publish(ctl_t *c, const char *channel, const json_t *env)
{
	char *s = json_dumps(env, JSON_COMPACT);
	redisReply *r;
	long long n;

	if (!s)
		return GW_ENOMEM;
	if (strlen(s) > CTL_PAYLOAD_MAX) {
		fprintf(stderr, "gatewayctl: envelope is %zu bytes, the limit is %d\n",
			strlen(s), CTL_PAYLOAD_MAX);
		gw_free(s);
		return GW_ETOOBIG;
	}
	r = ctl_redis(c, REDIS_REPLY_INTEGER, "PUBLISH %s %s", channel, s);
	gw_free(s);
	if (!r)
		return GW_EIO;
	n = r->integer;
	freeReplyObject(r);
	return n;
}

static json_t *parse_data(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

	if (!v)
		fprintf(stderr, "gatewayctl: invalid JSON: %s (at column %d)\n", err.text,
			err.column);
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
	n = env ? publish(c, channel, env) : GW_ENOMEM;
	json_decref(env);
	if (n < 0)
		return (int)n;
	json_object_set_new(doc, "lobby", json_string(argv[0]));
	json_object_set_new(doc, "channel", json_string(channel));
	json_object_set_new(doc, "receivers", json_integer(n));
	return GW_OK;
}

/*
 * Publishes env (borrowed) on the channel of every live node holding user
 * (only the node of `conn` when given), recording each in doc["nodes"].
 */
static int deliver(ctl_t *c, const char *user, const char *conn, const json_t *env, json_t *doc)
{
	json_t *rows, *row, *done = json_object(), *nodes = json_array();
	char channel[CTL_NAME_MAX * 2];
	int live = user_conns(c, user, doc), rc = GW_OK;
	size_t i;

	json_object_set_new(doc, "nodes", nodes);
	rows = json_object_get(doc, "connections");
	json_array_foreach(rows, i, row) {
		const char *node = get_str(row, "node");
		long long n;

		if (strcmp(get_str(row, "status"), "live") || json_object_get(done, node) ||
		    (conn && strcmp(conn, get_str(row, "conn"))))
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
	if (live < 0 || rc)
		return live < 0 ? live : rc;
	if (!live)
		return not_connected(user);
	if (!json_array_size(nodes)) {
		fprintf(stderr, "%s has no live connection %s\n", user, conn);
		return GW_ENOENT;
	}
	return GW_OK;
}

static int cmd_send(ctl_t *c, char **argv, json_t *doc)
{
	json_t *data = parse_data(argv[1]), *env;
	int rc;

	if (!data)
		return GW_EINVAL;
	env = json_pack("{s:s,s:s,s:{s:s,s:s,s:o}}", "t", "msg", "u", argv[0], "p",
			"type", "direct", "from", c->from, "data", data);
	rc = env ? deliver(c, argv[0], NULL, env, doc) : GW_ENOMEM;
	json_decref(env);
	return rc;
}

static int cmd_kick(ctl_t *c, char **argv, json_t *doc)
{
	json_t *env = json_pack("{s:s,s:s,s:s}", "t", "kick", "u", argv[0], "r", "kicked");
	int rc;

	if (env && c->conn)
		json_object_set_new(env, "c", json_string(c->conn));
	rc = env ? deliver(c, argv[0], c->conn, env, doc) : GW_ENOMEM;
	json_decref(env);
	return rc;
}

/* --- human views (summary lines above the tables) -------------------------- */

static void sum_nodes(const json_t *doc)
{
	printf("%lld live node(s), %lld expired (removed by the next sweep)\n",
	       (long long)get_int(doc, "live"), (long long)get_int(doc, "expired"));
}

static void sum_stats(const json_t *doc)
{
	printf("connections  %lld", (long long)get_int(doc, "total"));
	if (json_object_get(doc, "capacity_percent"))
		printf(" of %lld (%.1f%%)", (long long)get_int(doc, "max_connections"),
		       json_real_value(json_object_get(doc, "capacity_percent")));
	printf("\nlobbies      %lld\nnodes        %lld live, %lld expired\n\n",
	       (long long)get_int(doc, "lobbies"), (long long)get_int(doc, "live_nodes"),
	       (long long)get_int(doc, "expired_nodes"));
}

static void sum_lobby(const json_t *doc)
{
	printf("lobby %s: %lld connection(s), %lld user(s)\n", get_str(doc, "lobby"),
	       (long long)get_int(doc, "count"), (long long)get_int(doc, "users"));
}

static void sum_user(const json_t *doc)
{
	printf("user %s: %lld connection(s)\n", get_str(doc, "user"),
	       (long long)get_int(doc, "count"));
}

static void sum_publish(const json_t *doc)
{
	printf("published to %s: received by %lld node(s)\n", get_str(doc, "channel"),
	       (long long)get_int(doc, "receivers"));
}

static void sum_deliver(const json_t *doc)
{
	printf("user %s: published to %zu node(s)\n", get_str(doc, "user"),
	       json_array_size(json_object_get(doc, "nodes")));
}

/* --- main ------------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out, "usage: gatewayctl [OPTIONS] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < GW_ARRAY_LEN(ctl_cmds); i++)
		fprintf(out, "  %-7s %-11s %s\n", ctl_cmds[i].name, ctl_cmds[i].args,
			ctl_cmds[i].help);
	fprintf(out, "\noptions:\n");
	for (size_t i = 0; i < GW_ARRAY_LEN(ctl_opts); i++) {
		const struct ctl_opt *o = &ctl_opts[i];
		char left[40];

		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(out, "  %-22s %s%s%s%s\n", left, o->help, o->env ? " [env " : "",
			o->env ? o->env : "", o->env ? "]" : "");
	}
	fprintf(out, "\nExit status: 0 ok, 1 runtime error (or user not connected), "
		"2 usage error.\n");
}

/* Stores one option's value; `from` names its source for error messages. */
static int set_opt(ctl_t *c, const struct ctl_opt *o, const char *v, const char *from)
{
	char *field = (char *)c + o->off;

	switch (o->type) {
	case O_STR:
		*(const char **)field = v;
		return GW_OK;
	case O_FLAG:
		*(int *)field = 1;
		return GW_OK;
	case O_LONG:
		if (!parse_int(v, o->lo, o->hi, (long *)field))
			return GW_OK;
		fprintf(stderr, "gatewayctl: %s: want an integer %ld..%ld, got '%s'\n", from,
			o->lo, o->hi, v);
		return GW_EINVAL;
	case O_HELP:
		break;
	}
	return GW_EINVAL;
}

/* Environment first, then flags; returns the index of the command word. */
static int parse_opts(ctl_t *c, int argc, char **argv, unsigned *seen)
{
	struct option lo[GW_ARRAY_LEN(ctl_opts) + 1] = { { 0 } };
	char from[40];
	int i;

	for (i = 0; i < (int)GW_ARRAY_LEN(ctl_opts); i++) {
		const char *env = ctl_opts[i].env ? getenv(ctl_opts[i].env) : NULL;

		lo[i] = (struct option){ ctl_opts[i].name,
			ctl_opts[i].arg ? required_argument : no_argument, NULL, i };
		if (env && *env && set_opt(c, &ctl_opts[i], env, ctl_opts[i].env))
			return GW_EINVAL;
	}
	while ((i = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (i == 'h' || (i >= 0 && i < (int)GW_ARRAY_LEN(ctl_opts) &&
				 ctl_opts[i].type == O_HELP)) {
			usage(stdout);
			exit(0);
		}
		if (i < 0 || i >= (int)GW_ARRAY_LEN(ctl_opts))
			return GW_EINVAL;       /* getopt said why */
		snprintf(from, sizeof(from), "--%s", ctl_opts[i].name);
		if (set_opt(c, &ctl_opts[i], optarg, from))
			return GW_EINVAL;
		*seen |= ctl_opts[i].only;
	}
	return optind;
}

/*
 * Names end up in envelopes, whose strings the nodes bound, and in JSON
 * output, so they must be non-empty UTF-8 of at most CTL_NAME_MAX bytes.
 */
static int name_ok(const char *s, const char *what)
{
	json_t *t = json_string(s);     /* NULL unless valid UTF-8 */

	json_decref(t);
	if (t && *s && strlen(s) <= CTL_NAME_MAX)
		return 1;
	fprintf(stderr, "gatewayctl: %s: want 1..%d bytes of UTF-8, got '%s'\n", what,
		CTL_NAME_MAX, s);
	return 0;
}

/* Checks everything that needs no Redis; prints why on failure. */
static const struct ctl_cmd *check_args(ctl_t *c, int argc, char **argv, unsigned seen)
{
	const struct ctl_cmd *cmd = NULL;

	if (argc < 1) {
		fprintf(stderr, "gatewayctl: no command (see --help)\n");
		return NULL;
	}
	for (size_t i = 0; i < GW_ARRAY_LEN(ctl_cmds); i++)
		if (!strcmp(argv[0], ctl_cmds[i].name))
			cmd = &ctl_cmds[i];
	if (!cmd) {
		fprintf(stderr, "gatewayctl: unknown command '%s' (see --help)\n", argv[0]);
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
	if (!prefix_ok(c->prefix)) {
		fprintf(stderr, "gatewayctl: prefix must be 1..64 characters from "
			"[A-Za-z0-9_.:-], got '%s'\n", c->prefix);
		return NULL;
	}
	/* The first argument of every command is a name, as are --from and --conn. */
	if ((cmd->nargs && !name_ok(argv[1], cmd->args)) || !name_ok(c->from, "--from") ||
	    (c->conn && !name_ok(c->conn, "--conn")))
		return NULL;
	return cmd;
}

int main(int argc, char **argv)
{
	ctl_t c = { .url = "redis://127.0.0.1:6379", .prefix = "gw", .from = "gatewayctl" };
	const struct ctl_cmd *cmd;
	struct redis_addr addr;
	unsigned seen = 0;
	json_t *doc;
	int first, rc;

	json_set_alloc_funcs(gw_malloc, gw_free);
	if ((first = parse_opts(&c, argc, argv, &seen)) < 0 ||
	    !(cmd = check_args(&c, argc - first, argv + first, seen)))
		return CTL_EXIT_USAGE;
	if (parse_url(c.url, &addr)) {
		fprintf(stderr, "gatewayctl: bad Redis URL '%s': want "
			"redis://[user:pass@]host:port[/db] or unix:///path[?db=N]\n", c.url);
		return CTL_EXIT_USAGE;
	}
	c.now = (int64_t)gw_wall_ms();
	doc = json_object();
	rc = doc ? ctl_connect(&c, &addr) : GW_ENOMEM;
	if (!rc)
		rc = cmd->run(&c, argv + first + 1, doc);
	if (c.json && (!rc || rc == GW_ENOENT)) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (!rc) {
		cmd->summary(doc);
		if (cmd->cols)
			print_table(json_object_get(doc, cmd->rows), cmd->cols);
	}
	if (rc == GW_ENOMEM)
		fprintf(stderr, "gatewayctl: %s\n", gw_strerror(rc));
	json_decref(doc);
	json_decref(c.live);
	if (c.redis)
		redisFree(c.redis);
	return !rc ? 0 : rc == GW_EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_RUNTIME;
}
