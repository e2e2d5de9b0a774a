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
#include "gatewayctl.h"

#include <getopt.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	char key[GW_KEY_MAX];
	int first = -1;

	gw_key_nodes(&c->keys, key);
	c->nodes = json_array();
	c->live = json_object();
	for (uint32_t k = 0; k < c->shards->n; k++) {
		redisReply *r;

		if (ctl_use(c, k) || !(r = pairs(c, "ZRANGE %s 0 -1 WITHSCORES", key, NULL)))
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

/* --- commands: reading presence ------------------------------------------- */

/* Every node with its hash (which lapses with the lease, so may be gone). */
static int cmd_nodes(ctl_t *c, char **argv, json_t *doc)
{
	json_t *row, *hb;
	redisReply *r;
	size_t i;

	GW_UNUSED(argv);
	json_array_foreach(c->nodes, i, row) {
		const char *id = json_string_value(json_object_get(row, "id"));
		char key[GW_KEY_MAX];

		r = gw_key_node(&c->keys, id, strlen(id), key) < 0 ? NULL
			: ctl_redis(c, REDIS_REPLY_ARRAY, "HGETALL %s", key);
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
	char tkey[GW_KEY_MAX], lkey[GW_KEY_MAX];
	int rc;

	gw_key_total(&c->keys, tkey);
	gw_key_lobbies(&c->keys, lkey);
	/* Each shard counts the connections and lobbies placed on it. */
	for (uint32_t k = 0; k < c->shards->n; k++) {
		if ((rc = ctl_use(c, k)))
			return rc;
		if (!(total = ctl_redis(c, REDIS_REPLY_STRING, "GET %s", tkey)))
			return GW_EIO;
		sum += total->str ? strtoll(total->str, NULL, 10) : 0;
		freeReplyObject(total);
		if (!(r = ctl_redis(c, REDIS_REPLY_INTEGER, "HLEN %s", lkey)))
			return GW_EIO;
		lobbies += r->integer;
		freeReplyObject(r);
	}
	json_object_set_new(doc, "total", json_integer(sum));
	if (c->max_conns > 0) {
		json_object_set_new(doc, "max_connections", json_integer(c->max_conns));
		json_object_set_new(doc, "capacity_percent", json_real(100.0 *
			(double)sum / (double)c->max_conns));
	}
	json_object_set_new(doc, "lobbies", json_integer(lobbies));
	return cmd_nodes(c, argv, doc);
}

static int cmd_lobby(ctl_t *c, char **argv, json_t *doc)
{
	char key[GW_KEY_MAX];
	redisReply *r = gw_key_lobby(&c->keys, argv[0], strlen(argv[0]), key) < 0 ||
			ctl_use_name(c, argv[0]) ? NULL : pairs(c, "HGETALL %s", key, NULL);
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
	char key[GW_KEY_MAX];
	redisReply *r, *lr = NULL;
	gw_user_conn_t *e = NULL;
	json_t *rows = json_array();
	size_t n = 0;

	json_object_set_new(doc, "user", json_string(user));
	json_object_set_new(doc, "connections", rows);
	if (gw_key_user(&c->keys, user, strlen(user), key) < 0)
		return GW_EINVAL;
	if (ctl_use_name(c, user))
		return GW_EUNAVAIL;
	/* Live or gone: the nodes' own answer (the one user lookup). */
	if (ctl_user_conns(c, user, NULL, &lr, &e, &n) != GW_OK)
		return GW_EIO;
	r = pairs(c, "HGETALL %s", key, NULL);
	for (size_t i = 0; r && i + 1 < r->elements; i += 2) {
		const char *conn = r->element[i]->str;
		json_t *v = json_loads(r->element[i + 1]->str, 0, NULL);
		json_t *node = json_object_get(v, "node");
		int64_t ms = (int64_t)json_number_value(json_object_get(v, "since"));
		const char *st = "gone";
		char iso[40];

		for (size_t k = 0; k < n; k++)
			if (e[k].conn.len == r->element[i]->len &&
			    !memcmp(e[k].conn.str, conn, e[k].conn.len))
				st = e[k].live ? "live" : "gone";
		/* A malformed entry still names its node in its id. */
		node = json_is_string(node) ? json_incref(node) : conn_node(conn);
		ctl_fmt_time(ms, iso, sizeof(iso));
		json_array_append_new(rows, json_pack("{s:s,s:O,s:O?,s:I,s:s?,s:I,s:s}",
			"conn", conn, "node", node, "lobby", json_object_get(v, "lobby"),
			"since", (json_int_t)ms, "since_iso", ms > 0 ? iso : NULL,
			"age_ms", (json_int_t)(c->now - ms), "status", st));
		json_decref(node);
		json_decref(v);
	}
	gw_free(e);
	freeReplyObject(lr);
	if (!r)
		return GW_EIO;
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
	char channel[GW_KEY_MAX];
	long long n;

	if (!data)
		return GW_EINVAL;
	if (gw_ch_lobby(&c->keys, argv[0], strlen(argv[0]), channel) < 0) {
		json_decref(data);
		return GW_EINVAL;
	}
	env = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:o}}", "t", "msg", "l", argv[0], "p",
			"type", "message", "lobby", argv[0], "from", c->from, "data", data);
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
	json_t *nodes = json_array();
	char channel[GW_KEY_MAX];
	int rc = cmd_user(c, argv, doc);
	redisReply *lr = NULL;
	gw_user_conn_t *e = NULL;
	size_t n = 0, i;
	long long got;

	json_object_set_new(doc, "nodes", nodes);
	if (!rc)
		rc = ctl_user_conns(c, argv[0], conn, &lr, &e, &n);
	/* Once per live node holding the user (or connection `conn`). */
	for (i = 0; !rc && i < n; i++) {
		if (!e[i].first)
			continue;
		if (gw_ch_node(&c->keys, e[i].node.str, e[i].node.len, channel) < 0)
			continue;
		if ((got = publish(c, channel, env)) < 0) {
			rc = (int)got;
			break;
		}
		json_array_append_new(nodes, json_pack("{s:s%,s:s,s:I}", "node", e[i].node.str,
			e[i].node.len, "channel", channel, "receivers", (json_int_t)got));
	}
	gw_free(e);
	freeReplyObject(lr);
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
	gw_keys_init(&c->keys, c->prefix);
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
		ctl_print_fields(doc);
		if (cmd->cols && putchar('\n'))
			ctl_print_table(json_object_get(doc, cmd->rows), cmd->cols);
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
