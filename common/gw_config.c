/*
 * gw_config.c — owns the settings table and everything derived from it:
 * parsing of flags, environment and config file into gw_config_t,
 * validation, `--help` and the Markdown reference (docs/config.md).
 *
 * Called once by main at start-up (and by tools/gwconfig-doc). Not
 * thread-safe; nothing here logs, since the log is not open yet: every
 * problem comes back as text in the caller's `err` buffer.
 *
 * Adding a setting means adding a field to gw_config_t and one row to
 * `opts` below, in struct order; table_covers_struct() refuses a table
 * that skips a field, and the unit test refuses a docs/config.md that no
 * longer matches the table.
 */
#include "gw_config.h"
#include "gw_config_int.h"
#include "gw_redis_url.h"
#include "gw_shard.h"
#include "gw_alloc.h"
#include "gw_auth.h"
#include "gw_ipnet.h"
#include "gw_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* --- private types: the row type is in gw_config_int.h ------------------- */

/* Where a value came from, so an error can point at it. */
struct origin {
	const char *file; /* NULL unless from the config file */
	int line;
};

/* --- static prototypes ---------------------------------------------------- */


/* --- the table ------------------------------------------------------------ */

static const char *const user_policy_names[] = { "replace", "reject", "multi", NULL };
static const char *const log_level_names[] = { "debug", "info", "warn", "error", NULL };
static const char *const log_format_names[] = { "logfmt", "json", NULL };
static const char *const fail_mode_names[] = { "open", "closed", NULL };

/* An enum's value is its name's index, so the names must follow the C enums. */
_Static_assert(GW_POLICY_REPLACE == 0 && GW_POLICY_REJECT == 1 && GW_POLICY_MULTI == 2,
	       "user_policy_names follows gw_user_policy_t");
_Static_assert(GW_LOG_DEBUG == 0 && GW_LOG_INFO == 1 && GW_LOG_WARN == 2 && GW_LOG_ERROR == 3,
	       "log_level_names follows gw_log_level_t");
_Static_assert(GW_LOG_LOGFMT == 0 && GW_LOG_JSON == 1, "log_format_names follows gw_log_format_t");
_Static_assert(GW_FAIL_OPEN == 0 && GW_FAIL_CLOSED == 1, "fail_mode_names follows gw_fail_mode_t");

/*
 * FIELD(f, type) is the field's offset and size, and fails to compile when
 * the field's C type is not the one the row's parser writes.
 */
#define FIELD(f, ctype)                                                       \
	offsetof(gw_config_t, f) +                                            \
		0 * sizeof(char[__builtin_types_compatible_p(                 \
				    __typeof__(((gw_config_t *)0)->f), ctype) \
					? 1                                   \
					: -1]),                               \
		sizeof(((gw_config_t *)0)->f)

#define XSTR(x) STR_(x)
#define STR_(x) #x
#define STR(f) T_STRING, FIELD(f, char *)
#define INT(f) T_INT, FIELD(f, long)
#define BOOL(f) T_BOOL, FIELD(f, int)
#define ENUM(f) T_ENUM, FIELD(f, int)

const struct opt gw_config_opts[] = {
	{ "config", "GW_CONFIG", T_STRING, 0, 0, 0, 0, "", NULL, NULL,
	  "a readable file", "FILE", F_META,
	  "Read settings from FILE (`name = value` lines); empty: no file." },

	/* node */
	{ "listen", "GW_LISTEN", STR(listen), 1, 0, "0.0.0.0:8080", NULL, gw_config__check_listen,
	  "HOST:PORT, port 1..65535, HOST an IPv4 address, a name or [IPv6]",
	  "HOST:PORT", 0, "Address the WebSocket and HTTP server listens on." },
	{ "node-id", "GW_NODE_ID", STR(node_id), 0, 64, "", NULL, gw_config__check_node_id,
	  "empty, or 1..64 characters from [A-Za-z0-9_.-]",
	  "ID", 0, "This node's name in the cluster; empty: HOSTNAME-PORT." },
	{ "admin-listen", "GW_ADMIN_LISTEN", STR(admin_listen), 0, 0, "", NULL,
	  gw_config__check_listen_or_empty, "empty, or HOST:PORT as for --listen", "HOST:PORT", 0,
	  "Address of the admin HTTP listener (/ready, /metrics, /api); empty: none." },
	{ "api-key", "GW_API_KEY", STR(api_key), 0, 0, "", NULL, gw_config__check_api_key,
	  "empty, or a key of at least 16 bytes", "KEY", F_SECRET,
	  "Key the server API (/api/*) requires; empty: the API is disabled." },
	{ "dev-tokens", "GW_DEV_TOKENS", BOOL(dev_tokens), 0, 1, "false", NULL, NULL, NULL,
	  "BOOL", 0,
	  "Serve GET /dev/token?user=U (tokens signed with jwt-secret) for the dashboard demo. Development only; refused with a --listen that is not a loopback address unless dev-tokens-any-address is set." },
	{ "dev-tokens-any-address", "GW_DEV_TOKENS_ANY_ADDRESS", BOOL(dev_tokens_any_address), 0, 1,
	  "false", NULL, NULL, NULL, "BOOL", 0,
	  "Allow dev-tokens although --listen is not a loopback address (a container, say): anyone who reaches the port can then mint a token for any user." },
	{ "public-cluster-info", "GW_PUBLIC_CLUSTER_INFO", BOOL(public_cluster_info), 0, 1,
	  "false", NULL, NULL, NULL, "BOOL", 0,
	  "Serve GET /cluster (every node's address and admin address) on the public port, for the dashboard; off: 404 there, and the same data is GET /api/stats on the admin listener." },
	{ "workers", "GW_WORKERS", STR(workers), 1, 4, "1", NULL, gw_config__check_workers,
	  "auto, or 1..64", "N", 0,
	  "Node processes sharing the listen port (SO_REUSEPORT), each a cluster member "
	  "NODE-k with admin port + k - 1; auto: one per CPU. Above 1 needs --redis." },

	/* tls */
	{ "tls-cert", "GW_TLS_CERT", STR(tls_cert), 0, 0, "", NULL, NULL,
	  "empty, or a path to a PEM file", "FILE", 0,
	  "Serve wss:// (and https://) with this PEM certificate, its chain after it; re-read on SIGHUP. Empty: plain ws://." },
	{ "tls-key", "GW_TLS_KEY", STR(tls_key), 0, 0, "", NULL, NULL,
	  "empty, or a path to an unencrypted PEM key", "FILE", 0,
	  "Private key of --tls-cert; re-read on SIGHUP. Required with --tls-cert." },
	{ "admin-tls", "GW_ADMIN_TLS", BOOL(admin_tls), 0, 1, "false", NULL, NULL, NULL,
	  "BOOL", 0, "The admin listener speaks https:// too, with --tls-cert and --tls-key." },

	/* auth */
	{ "jwt-secret", "GW_JWT_SECRET", STR(jwt_secret), GW_AUTH_MIN_SECRET, 0, "", NULL,
	  NULL, "a secret of at least " XSTR(GW_AUTH_MIN_SECRET) " bytes", "SECRET",
	  F_REQUIRED | F_SECRET,
	  "HS256 key that verifies client tokens." },
	{ "jwt-leeway", "GW_JWT_LEEWAY", INT(jwt_leeway), 0, 300, "5", NULL, NULL, NULL,
	  "SECONDS", 0, "Clock skew forgiven when checking a token's exp and nbf." },
	{ "allowed-origins", "GW_ALLOWED_ORIGINS", STR(allowed_origins), 0, 0, "", NULL, NULL,
	  "comma-separated origins", "LIST", 0,
	  "Origin header values accepted on upgrade; empty: any." },

	/* capacity */
	{ "max-connections", "GW_MAX_CONNECTIONS", INT(max_connections), 1, 10000000,
	  "100000", NULL, NULL, NULL, "N", 0, "Open connections allowed across the cluster." },
	{ "node-max-connections", "GW_NODE_MAX_CONNECTIONS", INT(node_max_connections), 1,
	  10000000, "20000", NULL, NULL, NULL, "N", 0, "Open connections allowed on this node." },
	{ "max-per-lobby", "GW_MAX_PER_LOBBY", INT(max_per_lobby), 1, 10000000, "1000", NULL,
	  NULL, NULL, "N", 0, "Members allowed in one lobby." },
	{ "max-per-user", "GW_MAX_PER_USER", INT(max_per_user), 1, 1000, "8", NULL, NULL, NULL,
	  "N", 0, "Connections one user may hold when user-policy is multi." },
	{ "user-policy", "GW_USER_POLICY", ENUM(user_policy), 0, 0, "replace",
	  user_policy_names, NULL, NULL, NULL, 0,
	  "A user's new connection closes the old one, is refused, or adds one." },

	/* health */
	{ "heartbeat-interval", "GW_HEARTBEAT_INTERVAL", INT(heartbeat_interval), 1, 3600,
	  "20", NULL, NULL, NULL, "SECONDS", 0, "Seconds between health pings to a client." },
	{ "heartbeat-misses", "GW_HEARTBEAT_MISSES", INT(heartbeat_misses), 1, 10, "2", NULL,
	  NULL, NULL, "N", 0, "Unanswered pings before a connection is closed as stale." },
	{ "handshake-timeout", "GW_HANDSHAKE_TIMEOUT", INT(handshake_timeout), 1, 300, "10",
	  NULL, NULL, NULL, "SECONDS", 0, "Seconds a client has to complete the handshake." },

	/* connections */
	{ "max-conns-per-ip", "GW_MAX_CONNS_PER_IP", INT(max_conns_per_ip), 0, 10000000, "0",
	  NULL, NULL, NULL, "N", 0,
	  "Connections one client address may hold on this node (HTTP 429 beyond); 0: no limit. Behind a load balancer set trusted-proxies too, or every client is the balancer." },
	{ "max-handshakes", "GW_MAX_HANDSHAKES", INT(max_handshakes), 0, 10000000, "1000",
	  NULL, NULL, NULL, "N", 0,
	  "Connections accepted whose request headers have not arrived yet (HTTP 503 beyond); 0: no limit." },
	{ "trusted-proxies", "GW_TRUSTED_PROXIES", STR(trusted_proxies), 0, 0, "", NULL,
	  gw_config__check_trusted_proxies,
	  "empty, or up to " XSTR(GW_IPNET_MAX) " comma-separated addresses or CIDRs (10.0.0.0/8, fd00::/8)",
	  "LIST", 0,
	  "Load balancers whose X-Forwarded-For names the client (the right-most address that is not one of them); empty: the TCP peer is the client." },

	/* bounds */
	{ "max-message-size", "GW_MAX_MESSAGE_SIZE", INT(max_message_size), 64, 16777216,
	  "65536", NULL, NULL, NULL, "BYTES", 0, "Largest message accepted from a client." },
	{ "rate-limit", "GW_RATE_LIMIT", INT(rate_limit), 1, 1000000, "50", NULL, NULL, NULL,
	  "N", 0, "Messages per second a client may send, sustained." },
	{ "rate-burst", "GW_RATE_BURST", INT(rate_burst), 1, 1000000, "100", NULL, NULL, NULL,
	  "N", 0, "Messages a client may send at once (the rate bucket's size)." },
	{ "rate-bytes", "GW_RATE_BYTES", INT(rate_bytes), 64, 1073741824, "131072", NULL,
	  NULL, NULL, "BYTES", 0,
	  "Bytes per second a client may send, sustained: a second bucket beside rate-limit's, same errors and 1008." },
	{ "rate-bytes-burst", "GW_RATE_BYTES_BURST", INT(rate_bytes_burst), 64, 1073741824,
	  "262144", NULL, NULL, NULL, "BYTES", 0,
	  "Bytes a client may send at once; at least max-message-size." },
	{ "rate-violations", "GW_RATE_VIOLATIONS", INT(rate_violations), 1, GW_CONFIG_STRIKES_MAX, "10", NULL,
	  NULL, NULL, "N", 0, "Rate-limited messages before the connection is closed (1008)." },
	{ "abuse-limit", "GW_ABUSE_LIMIT", INT(abuse_limit), 1, GW_CONFIG_STRIKES_MAX, "10", NULL, NULL, NULL,
	  "N", 0, "Malformed frames before the connection is closed (4008)." },
	{ "send-queue-max", "GW_SEND_QUEUE_MAX", INT(send_queue_max), 1, 1000000, "1024", NULL,
	  NULL, NULL, "N", 0, "Messages that may wait to be sent to one connection." },
	{ "send-queue-bytes", "GW_SEND_QUEUE_BYTES", INT(send_queue_bytes), 1024, 1073741824,
	  "1048576", NULL, NULL, NULL, "BYTES", 0,
	  "Bytes that may wait to be sent to one connection; at least max-message-size." },
	{ "write-delay-ms", "GW_WRITE_DELAY_MS", INT(write_delay_ms), 0, 1000, "0", NULL, NULL,
	  NULL, "MS", 0,
	  "Coalescing window: frames for a connection wait up to this long and go out "
	  "together (fewer, larger writes at saturation, for that much latency); 0: no "
	  "delay, the frames one event-loop turn makes for a connection go out in one write "
	  "at the end of that turn." },

	/* behaviour */
	{ "presence-events", "GW_PRESENCE_EVENTS", BOOL(presence_events), 0, 1, "true", NULL,
	  NULL, NULL, "BOOL", 0, "Send presence_join and presence_leave to lobby members." },
	{ "leave-grace-ms", "GW_LEAVE_GRACE_MS", INT(leave_grace_ms), 0, 60000, "0", NULL,
	  NULL, NULL, "MS", 0,
	  "Hold a presence_leave this long when a reconnect may follow (lost connection, close 1001, stale); a rejoin in time announces neither. 0: off; 3000-5000 recommended. Cluster-wide with --redis: the rejoin may be on any node." },
	{ "shutdown-timeout", "GW_SHUTDOWN_TIMEOUT", INT(shutdown_timeout), 1, 600, "10", NULL,
	  NULL, NULL, "SECONDS", 0, "Seconds to drain connections after SIGTERM." },

	/* logging */
	{ "log-level", "GW_LOG_LEVEL", ENUM(log_level), 0, 0, "info", log_level_names, NULL,
	  NULL, NULL, 0, "Least severe level written to the log." },
	{ "log-format", "GW_LOG_FORMAT", ENUM(log_format), 0, 0, "logfmt", log_format_names,
	  NULL, NULL, NULL, 0, "Log line format." },
	{ "log-file", "GW_LOG_FILE", STR(log_file), 0, 0, "", NULL, NULL, "a path", "PATH", 0,
	  "File the log is appended to (reopened on SIGHUP); empty: stderr." },

	/* cluster */
	{ "redis", "GW_REDIS_URL", STR(redis_url), 0, 0, "", NULL, gw_config__check_redis_url,
	  "empty, or one or more (whitespace-separated, one per shard) of "
	  "redis://[user:pass@]host:port[/db], unix:///path or "
	  "sentinel://[user:pass@]host:port,host:port/MASTER[/db]", "URL...", F_SECRET,
	  "Redis shared by the cluster; empty: standalone node. A sentinel:// URL "
	  "follows the master through failovers (docs/redis-schema.md, Sentinel). "
	  "Several URLs shard the cluster's state by lobby and user; every node "
	  "and gatewayctl must list the same shards in the same order "
	  "(docs/redis-schema.md, Shards)." },
	{ "redis-prefix", "GW_REDIS_PREFIX", STR(redis_prefix), 1, 64, "gw", NULL,
	  gw_config__check_redis_prefix, "1..64 characters from [A-Za-z0-9_.:-]", "PREFIX", 0,
	  "Namespace in front of every Redis key." },
	{ "redis-fail-mode", "GW_REDIS_FAIL_MODE", ENUM(redis_fail_mode), 0, 0, "open",
	  fail_mode_names, NULL, NULL, NULL, 0,
	  "While Redis is unreachable: keep accepting connections (open) or refuse them (closed)." },
	{ "lease-ttl", "GW_LEASE_TTL", INT(lease_ttl), 2, 300, "15", NULL, NULL, NULL,
	  "SECONDS", 0, "Seconds this node's Redis lease outlives its last renewal." },
	{ "inbound-maxlen", "GW_INBOUND_MAXLEN", INT(inbound_maxlen), 0, 100000000, "10000",
	  NULL, NULL, NULL, "N", 0,
	  "Cap of the inbound Redis Stream for unhandled client message types; 0: refuse them." },
	{ "inbound-max-message", "GW_INBOUND_MAX_MESSAGE", INT(inbound_max_message), 64, 1048576,
	  "4096", NULL, NULL, NULL, "BYTES", 0,
	  "Largest client message appended to the inbound stream; larger ones are refused." },
	{ "inbound-rate", "GW_INBOUND_RATE", INT(inbound_rate), 1, 100000, "10", NULL, NULL,
	  NULL, "N", 0,
	  "Messages per second each user may append to the inbound stream via this node (burst as many)." },
	{ "history-size", "GW_HISTORY_SIZE", INT(history_size), 0, 1000000, "0", NULL, NULL,
	  NULL, "N", 0,
	  "Lobby broadcasts kept per lobby in Redis for resume (docs/protocol.md, Resume); 0: no history, no offsets. Needs --redis." },
	{ "history-ttl", "GW_HISTORY_TTL", INT(history_ttl), 1, 2592000, "300", NULL, NULL,
	  NULL, "SECONDS", 0,
	  "Seconds a lobby's history outlives its last broadcast; after that its offsets restart under a new epoch." },
};

#undef STR
#undef STR_
#undef XSTR
#undef INT
#undef BOOL
#undef ENUM
#undef FIELD

const size_t gw_config_nopts = GW_ARRAY_LEN(gw_config_opts);
#define opts gw_config_opts
#define N_OPTS GW_ARRAY_LEN(gw_config_opts)
#define LINE_MAX_LEN 4096 /* config file lines, including the newline */
#define ECHO_MAX 64       /* bytes of a bad value quoted back in an error */


/* --- table lookups and its self-check ------------------------------------- */

/* Finds a row by flag name (`len` bytes). With `snake`, '_' matches '-'. */
static const struct opt *find_opt(const char *name, size_t len, int snake)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		const char *n = opts[i].name;
		size_t j;

		if (strlen(n) != len)
			continue;
		for (j = 0; j < len; j++) {
			char c = name[j];

			if (snake && c == '_')
				c = '-';
			if (c != n[j])
				break;
		}
		if (j == len)
			return &opts[i];
	}
	return NULL;
}

static const struct opt *meta_opt(const char *name)
{
	return find_opt(name, strlen(name), 0);
}

/*
 * C cannot list a struct's members, so this checks the next best thing:
 * walking the rows in order, each field starts where the previous one ended
 * (plus alignment padding) and the last one ends the struct. A field added
 * to gw_config_t without a row shifts something and fails here. (A field
 * small enough to hide in existing padding would slip through; keep the
 * struct's ints in pairs or follow them with a row.)
 */
static int table_covers_struct(void)
{
	size_t end = 0;

	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt *o = &opts[i];

		if (o->flags & F_META)
			continue;
		if (o->off < end || o->off - end >= o->size)
			return 0;
		end = o->off + o->size;
	}
	return sizeof(gw_config_t) - end < _Alignof(gw_config_t);
}

/* --- errors ---------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const struct origin *from,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_err(char *err, size_t errlen, const struct origin *from,
		    const char *fmt, ...)
{
	va_list ap;
	size_t n = 0;
	int w;

	if (!err || !errlen)
		return;
	err[0] = '\0';
	if (from && from->file) {
		w = snprintf(err, errlen, "%s:%d: ", from->file, from->line);
		n = w < 0 ? 0 : GW_MIN((size_t)w, errlen - 1);
	}
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

/* "--name (GW_NAME)": how every message names a setting. */
static void bad_value(const struct opt *o, const char *v, const struct origin *from,
		      char *err, size_t errlen)
{
	char expect[256];
	const char *ell = strlen(v) > ECHO_MAX ? "..." : "";

	switch (o->type) {
	case T_INT:
		snprintf(expect, sizeof(expect), "an integer from %ld to %ld", o->min, o->max);
		break;
	case T_BOOL:
		snprintf(expect, sizeof(expect), "true or false (or 1/0, yes/no, on/off)");
		break;
	case T_ENUM: {
		size_t n = 0;

		n += (size_t)snprintf(expect, sizeof(expect), "one of");
		for (size_t i = 0; o->choices[i] && n < sizeof(expect); i++)
			n += (size_t)snprintf(expect + n, sizeof(expect) - n, "%s %s",
					      i ? "," : "", o->choices[i]);
		break;
	}
	case T_STRING:
		snprintf(expect, sizeof(expect), "%s", o->expect);
		break;
	}
	if (o->flags & F_SECRET)
		set_err(err, errlen, from, "invalid value for --%s (%s): expected %s",
			o->name, o->env, expect);
	else
		set_err(err, errlen, from, "invalid value \"%.*s%s\" for --%s (%s): expected %s",
			ECHO_MAX, v, ell, o->name, o->env, expect);
}

/* --- value parsing -------------------------------------------------------- */


static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };

	for (size_t i = 0; i < GW_ARRAY_LEN(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return GW_OK;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return GW_OK;
		}
	}
	return GW_EINVAL;
}

/*
 * Sets one field from text. Every source (defaults included) comes through
 * here, so the table's defaults are held to the same rules as the operator.
 */
static int set_value(gw_config_t *cfg, const struct opt *o, const char *v,
		     const struct origin *from, char *err, size_t errlen)
{
	char *base = (char *)cfg + o->off;
	size_t len = strlen(v);

	switch (o->type) {
	case T_INT: {
		long n;

		if (gw_config__parse_long(v, &n) || n < o->min || n > o->max)
			goto bad;
		*(long *)(void *)base = n;
		return GW_OK;
	}
	case T_BOOL: {
		int b;

		if (parse_bool(v, &b))
			goto bad;
		*(int *)(void *)base = b;
		return GW_OK;
	}
	case T_ENUM:
		for (int i = 0; o->choices[i]; i++) {
			if (!strcasecmp(v, o->choices[i])) {
				*(int *)(void *)base = i;
				return GW_OK;
			}
		}
		goto bad;
	case T_STRING: {
		char **field = (char **)(void *)base;
		char *copy;

		/*
		 * Length bounds apply to what an operator sets; an empty
		 * required value is reported once, at the end, as missing.
		 */
		if (len && ((long)len < o->min || (o->max && (long)len > o->max)))
			goto bad;
		if (o->check && o->check(v))
			goto bad;
		if (!(copy = gw_strdup(v))) {
			set_err(err, errlen, NULL, "out of memory while reading --%s", o->name);
			return GW_ENOMEM;
		}
		gw_free(*field);
		*field = copy;
		return GW_OK;
	}
	}
bad:
	if (o->type == T_STRING && (o->flags & F_REQUIRED) && (long)len < o->min)
		set_err(err, errlen, from,
			"--%s (%s) is too short (%zu bytes): it must be at least %ld bytes",
			o->name, o->env, len, o->min);
	else
		bad_value(o, v, from, err, errlen);
	return GW_EINVAL;
}

/* --- sources -------------------------------------------------------------- */

static const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++) {
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	}
	return NULL;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Reads `name = value` lines from `f`; `path` names it in messages. Only
 * whole-line '#' comments are recognised, so a value (a secret, say) may
 * contain '#'. Values are taken verbatim after trimming blanks; there is
 * no quoting.
 */
static int load_stream(gw_config_t *cfg, FILE *f, const char *path, char *err,
		       size_t errlen)
{
	char line[LINE_MAX_LEN];
	struct origin from = { path, 0 };
	int rc = GW_OK;

	while (fgets(line, sizeof(line), f)) {
		const struct opt *o;
		char *s, *eq, *name;

		from.line++;
		if (!strchr(line, '\n') && !feof(f)) {
			set_err(err, errlen, &from, "line too long (the limit is %d bytes)",
				LINE_MAX_LEN - 1);
			rc = GW_EINVAL;
			break;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		if (!(eq = strchr(s, '='))) {
			set_err(err, errlen, &from, "expected `name = value`");
			rc = GW_EINVAL;
			break;
		}
		*eq = '\0';
		name = trim(s);
		o = find_opt(name, strlen(name), 1);
		if (!o || (o->flags & F_META)) {
			set_err(err, errlen, &from, o ? "%s cannot be set in a config file"
						       : "unknown setting \"%s\"; see --help",
				name);
			rc = GW_EINVAL;
			break;
		}
		if ((rc = set_value(cfg, o, trim(eq + 1), &from, err, errlen)))
			break;
	}
	if (!rc && ferror(f)) {
		set_err(err, errlen, NULL, "cannot read config file \"%s\": %s", path,
			strerror(errno));
		rc = GW_EINVAL;
	}
	return rc;
}

static int load_file(gw_config_t *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f) {
		set_err(err, errlen, NULL, "cannot open config file \"%s\": %s (set by --config or GW_CONFIG)",
			path, strerror(errno));
		return GW_EINVAL;
	}
	rc = load_stream(cfg, f, path, err, errlen);
	fclose(f);
	return rc;
}

/*
 * One pass over argv that only records, per row, the last value given
 * (pointers into argv), so flags can be applied after the file and the
 * environment whatever their position. Returns 1 when help was printed.
 */
static int scan_argv(int argc, char **argv, const char **vals, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *v;
		const struct opt *o;
		size_t len;
		int neg = 0;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			gw_config_help(stdout, argv[0]);
			return 1;
		}
		if (!strcmp(a, "--help-markdown")) {
			gw_config_markdown(stdout);
			return 1;
		}
		if (!strcmp(a, "--version"))
			return GW_CONFIG_VERSION;
		if (strncmp(a, "--", 2) || !a[2]) {
			/* Only the flag part: the argument may be a secret. */
			set_err(err, errlen, NULL, "unexpected argument \"%.*s\"; options start with -- (see --help)",
				a[0] == '-' ? (int)strcspn(a, "=") : ECHO_MAX, a);
			return GW_EINVAL;
		}
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = find_opt(name, len, 0);
		if (!o && len > 3 && !strncmp(name, "no-", 3)) {
			o = find_opt(name + 3, len - 3, 0);
			if (o && o->type == T_BOOL)
				neg = 1;
			else
				o = NULL;
		}
		if (!o) {
			set_err(err, errlen, NULL, "unknown option --%.*s; see --help", (int)len, name);
			return GW_EINVAL;
		}
		if (neg) {
			if (eq) {
				set_err(err, errlen, NULL, "--no-%s takes no value", o->name);
				return GW_EINVAL;
			}
			v = "false";
		} else if (eq) {
			v = eq + 1;
		} else if (o->type == T_BOOL) {
			/* Bare means true; a following non-option is the value. */
			v = (i + 1 < argc && argv[i + 1][0] != '-') ? argv[++i] : "true";
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			set_err(err, errlen, NULL, "option --%s needs a value (%s)", o->name,
				o->meta ? o->meta : "see --help");
			return GW_EINVAL;
		}
		vals[o - opts] = v;
	}
	return GW_OK;
}

/* --- after all sources ---------------------------------------------------- */

static int derive_node_id(gw_config_t *cfg, char *err, size_t errlen)
{
	char host[256];
	const char *port;
	char *id;
	size_t n;

	if (*cfg->node_id)
		return GW_OK;
	if (gethostname(host, sizeof(host)) || !memchr(host, '\0', sizeof(host))) {
		set_err(err, errlen, NULL, "cannot read the host name to derive --node-id; set --node-id (GW_NODE_ID)");
		return GW_EINVAL;
	}
	port = strrchr(cfg->listen, ':') + 1; /* listen is valid by now */
	n = strlen(host) + 1 + strlen(port) + 1;
	if (!(id = gw_malloc(n))) {
		set_err(err, errlen, NULL, "out of memory while deriving --node-id");
		return GW_ENOMEM;
	}
	snprintf(id, n, "%s-%s", host, port);
	/*
	 * Fail rather than mangle: two hosts whose truncated or rewritten
	 * names collide would share one node's keys in Redis.
	 */
	if (gw_config__check_node_id(id)) {
		set_err(err, errlen, NULL,
			"cannot use \"%.*s\" (host name and port) as --node-id: it must be 1..64 characters from [A-Za-z0-9_.-]; set --node-id (GW_NODE_ID)",
			ECHO_MAX, id);
		gw_free(id);
		return GW_EINVAL;
	}
	gw_free(cfg->node_id);
	cfg->node_id = id;
	return GW_OK;
}

/* --- public --------------------------------------------------------------- */

/* Every setting at its default: the first step of every load. */
static int load_defaults(gw_config_t *cfg, char *err, size_t errlen)
{
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (err && errlen)
		err[0] = '\0';
	if (!table_covers_struct()) {
		set_err(err, errlen, NULL, "internal error: the settings table does not cover gw_config_t");
		return GW_ERROR;
	}
	for (size_t i = 0; i < N_OPTS; i++) {
		if (opts[i].flags & F_META)
			continue;
		if ((rc = set_value(cfg, &opts[i], opts[i].def, NULL, err, errlen)))
			return rc;
	}
	return GW_OK;
}

int gw_config_load(gw_config_t *cfg, int argc, char **argv, char **envp,
		   char *err, size_t errlen)
{
	const char *vals[N_OPTS] = { 0 };
	const struct opt *conf = meta_opt("config");
	const char *path;
	int rc;

	if ((rc = load_defaults(cfg, err, errlen)))
		return rc;
	if ((rc = scan_argv(argc, argv, vals, err, errlen)))
		return rc;

	path = vals[conf - opts] ? vals[conf - opts] : env_get(envp, conf->env);
	if (path && *path && (rc = load_file(cfg, path, err, errlen)))
		return rc;
	for (size_t i = 0; i < N_OPTS; i++) {
		const char *v = env_get(envp, opts[i].env);

		if (v && !(opts[i].flags & F_META) &&
		    (rc = set_value(cfg, &opts[i], v, NULL, err, errlen)))
			return rc;
	}
	for (size_t i = 0; i < N_OPTS; i++) {
		if (vals[i] && !(opts[i].flags & F_META) &&
		    (rc = set_value(cfg, &opts[i], vals[i], NULL, err, errlen)))
			return rc;
	}
	if ((rc = derive_node_id(cfg, err, errlen)))
		return rc;
	return gw_config__check_whole(cfg, err, errlen);
}

int gw_config_load_text(gw_config_t *cfg, const char *text, size_t len,
			const char *name, char *err, size_t errlen)
{
	FILE *f;
	int rc;

	if ((rc = load_defaults(cfg, err, errlen)))
		return rc;
	/* "r" never writes to the buffer: the cast is only fmemopen's prototype.
	 * An empty buffer is an empty file (fmemopen refuses a size of 0). */
	f = fmemopen((void *)(uintptr_t)(len ? text : "\n"), len ? len : 1, "r");
	if (!f) {
		set_err(err, errlen, NULL, "cannot read the settings of %s: %s", name,
			strerror(errno));
		return GW_ENOMEM;
	}
	rc = load_stream(cfg, f, name, err, errlen);
	fclose(f);
	if (rc || (rc = derive_node_id(cfg, err, errlen)))
		return rc;
	return gw_config__check_whole(cfg, err, errlen);
}

void gw_config_free(gw_config_t *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < N_OPTS; i++) {
		if (opts[i].type == T_STRING && !(opts[i].flags & F_META))
			gw_free(*(char **)(void *)((char *)cfg + opts[i].off));
	}
	memset(cfg, 0, sizeof(*cfg));
}

const char *gw_user_policy_name(int policy)
{
	return policy >= 0 && policy < (int)GW_ARRAY_LEN(user_policy_names) - 1
		       ? user_policy_names[policy]
		       : "unknown";
}
