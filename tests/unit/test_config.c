/*
 * test_config.c — unit tests for common/gw_config.c: defaults, the three
 * sources and their precedence, parsing of every type, the error messages
 * operators see, --help, allocation failure, and that docs/config.md still
 * matches the table (GW_DOCS_DIR, default "docs", relative to the cwd).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_alloc.h"
#include "gw_config.h"
#include "gw_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET "0123456789abcdef0123456789abcdef" /* exactly 32 bytes */
#define SECRET_ENV "GW_JWT_SECRET=" SECRET

static char err[512];
static char *env_secret[] = { SECRET_ENV, NULL };

/* Loads with argv = { "gateway", args..., NULL }. */
static int load_argv(gw_config_t *c, char **envp, const char *const *args)
{
	char *argv[64] = { "gateway" };
	int argc = 1;

	while (args && *args && argc < 63)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	memset(err, 0, sizeof(err));
	return gw_config_load(c, argc, argv, envp, err, sizeof(err));
}

#define LOAD(c, envp, ...) load_argv((c), (envp), (const char *const[]){ __VA_ARGS__, NULL })

/* Loads, expects GW_EINVAL and exactly `want` as the message. */
#define EXPECT_ERR(want, envp, ...)                                   \
	do {                                                          \
		gw_config_t c_;                                       \
		assert_int_equal(LOAD(&c_, (envp), __VA_ARGS__), GW_EINVAL); \
		assert_string_equal(err, (want));                     \
		gw_config_free(&c_);                                  \
	} while (0)

/* Writes `text` to a fresh temporary file; the caller unlinks it. */
static void write_tmp(char *path, size_t n, const char *text)
{
	int fd;

	snprintf(path, n, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Runs a load with stdout sent to a file; returns what it printed. */
#define CAPTURE(rc, envp, ...) \
	capture_stdout((rc), (envp), (const char *const[]){ __VA_ARGS__, NULL })

static char *capture_stdout(int *rc, char **envp, const char *const *args)
{
	char path[64];
	int saved, fd;
	FILE *f;
	char *buf;
	long n;
	gw_config_t c;

	write_tmp(path, sizeof(path), "");
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	*rc = load_argv(&c, envp, args);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	gw_config_free(&c);

	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	return buf;
}

/* --- defaults and names --------------------------------------------------- */

static void test_defaults(void **state)
{
	gw_config_t c;
	char host[256], id[300];

	(void)state;
	assert_int_equal(LOAD(&c, env_secret, NULL), GW_OK);
	assert_string_equal(err, "");
	assert_string_equal(c.listen, "0.0.0.0:8080");
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(id, sizeof(id), "%s-8080", host);
	assert_string_equal(c.node_id, id);
	assert_string_equal(c.jwt_secret, SECRET);
	assert_int_equal(c.jwt_leeway, 5);
	assert_string_equal(c.allowed_origins, "");
	assert_int_equal(c.max_connections, 100000);
	assert_int_equal(c.node_max_connections, 20000);
	assert_int_equal(c.max_per_lobby, 1000);
	assert_int_equal(c.max_per_user, 8);
	assert_int_equal(c.user_policy, GW_POLICY_REPLACE);
	assert_int_equal(c.heartbeat_interval, 20);
	assert_int_equal(c.heartbeat_misses, 2);
	assert_int_equal(c.handshake_timeout, 10);
	assert_int_equal(c.max_message_size, 65536);
	assert_int_equal(c.rate_limit, 50);
	assert_int_equal(c.rate_burst, 100);
	assert_int_equal(c.rate_bytes, 131072);
	assert_int_equal(c.rate_bytes_burst, 262144);
	assert_int_equal(c.rate_violations, 10);
	assert_int_equal(c.abuse_limit, 10);
	assert_int_equal(c.send_queue_max, 1024);
	assert_int_equal(c.send_queue_bytes, 1048576);
	assert_int_equal(c.presence_events, 1);
	assert_int_equal(c.shutdown_timeout, 10);
	assert_int_equal(c.log_level, GW_LOG_INFO);
	assert_int_equal(c.log_format, GW_LOG_LOGFMT);
	assert_string_equal(c.log_file, "");
	assert_string_equal(c.redis_url, "");
	assert_string_equal(c.redis_prefix, "gw");
	assert_int_equal(c.redis_fail_mode, GW_FAIL_OPEN);
	assert_int_equal(c.lease_ttl, 15);
	gw_config_free(&c);
}

/* The names operators rely on, each through its flag and its variable. */
static void test_stable_names(void **state)
{
	static char *env[] = {
		SECRET_ENV,
		"GW_LISTEN=127.0.0.1:9000",
		"GW_MAX_CONNECTIONS=11",
		"GW_MAX_PER_LOBBY=12",
		"GW_NODE_MAX_CONNECTIONS=13",
		"GW_HEARTBEAT_INTERVAL=14",
		"GW_USER_POLICY=multi",
		"GW_NODE_ID=env-node",
		"GW_REDIS_URL=redis://localhost:6379",
		NULL,
	};
	gw_config_t c;

	(void)state;
	assert_int_equal(LOAD(&c, env, NULL), GW_OK);
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_int_equal(c.max_connections, 11);
	assert_int_equal(c.max_per_lobby, 12);
	assert_int_equal(c.node_max_connections, 13);
	assert_int_equal(c.heartbeat_interval, 14);
	assert_int_equal(c.user_policy, GW_POLICY_MULTI);
	assert_string_equal(c.node_id, "env-node");
	assert_string_equal(c.redis_url, "redis://localhost:6379");
	gw_config_free(&c);

	assert_int_equal(LOAD(&c, NULL, "--jwt-secret", SECRET, "--listen", "10.0.0.1:1",
			      "--max-connections", "21", "--max-per-lobby", "22",
			      "--node-max-connections", "23", "--heartbeat-interval", "24",
			      "--user-policy", "reject", "--node-id", "flag-node",
			      "--redis", "unix:///run/redis.sock"),
			 GW_OK);
	assert_string_equal(c.jwt_secret, SECRET);
	assert_string_equal(c.listen, "10.0.0.1:1");
	assert_int_equal(c.max_connections, 21);
	assert_int_equal(c.max_per_lobby, 22);
	assert_int_equal(c.node_max_connections, 23);
	assert_int_equal(c.heartbeat_interval, 24);
	assert_int_equal(c.user_policy, GW_POLICY_REJECT);
	assert_string_equal(c.node_id, "flag-node");
	assert_string_equal(c.redis_url, "unix:///run/redis.sock");
	gw_config_free(&c);

	/* The flag is --redis; --redis-url is not a flag. */
	EXPECT_ERR("unknown option --redis-url; see --help", env_secret, "--redis-url=redis://h:1");
}

static void test_node_id_from_listen_port(void **state)
{
	gw_config_t c;
	char host[256], id[300];

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(id, sizeof(id), "%s-4321", host);
	assert_int_equal(LOAD(&c, env_secret, "--listen", "[::1]:4321"), GW_OK);
	assert_string_equal(c.node_id, id);
	gw_config_free(&c);
}

/* --- sources and precedence ----------------------------------------------- */

static void test_precedence(void **state)
{
	char path[64], cfgenv[96];
	gw_config_t c;

	(void)state;
	write_tmp(path, sizeof(path),
		  "max-connections = 10\n"
		  "rate_limit = 7\n"
		  "heartbeat-misses = 3\n");
	snprintf(cfgenv, sizeof(cfgenv), "GW_CONFIG=%s", path);
	{
		char *env[] = { SECRET_ENV, cfgenv, "GW_MAX_CONNECTIONS=20", "GW_RATE_LIMIT=8", NULL };

		/* file < env < flag */
		assert_int_equal(LOAD(&c, env, "--max-connections", "30"), GW_OK);
		assert_int_equal(c.max_connections, 30);
		assert_int_equal(c.rate_limit, 8);
		assert_int_equal(c.heartbeat_misses, 3);
		assert_int_equal(c.lease_ttl, 15);
		gw_config_free(&c);

		assert_int_equal(LOAD(&c, env, NULL), GW_OK);
		assert_int_equal(c.max_connections, 20);
		gw_config_free(&c);

		/* --config "" turns off the file GW_CONFIG names. */
		assert_int_equal(LOAD(&c, env, "--config="), GW_OK);
		assert_int_equal(c.heartbeat_misses, 2);
		gw_config_free(&c);
	}
	{
		char *env[] = { SECRET_ENV, NULL };

		assert_int_equal(LOAD(&c, env, "--config", path), GW_OK);
		assert_int_equal(c.max_connections, 10);
		assert_int_equal(c.rate_limit, 7);
		gw_config_free(&c);
	}
	unlink(path);
}

/* Environment comes from envp only, never from the process. */
static void test_env_from_envp_only(void **state)
{
	gw_config_t c;

	(void)state;
	setenv("GW_MAX_CONNECTIONS", "5", 1);
	assert_int_equal(LOAD(&c, env_secret, NULL), GW_OK);
	assert_int_equal(c.max_connections, 100000);
	gw_config_free(&c);
	unsetenv("GW_MAX_CONNECTIONS");
}

static void test_flag_forms(void **state)
{
	gw_config_t c;

	(void)state;
	assert_int_equal(LOAD(&c, env_secret, "--rate-limit", "5", "--rate-burst=6",
			      "--log-file=", "--allowed-origins", "https://a.example,https://b.example",
			      "--rate-limit=9"),
			 GW_OK);
	assert_int_equal(c.rate_limit, 9); /* the last one wins */
	assert_int_equal(c.rate_burst, 6);
	assert_string_equal(c.log_file, "");
	assert_string_equal(c.allowed_origins, "https://a.example,https://b.example");
	gw_config_free(&c);

	/* A value may start with a dash. */
	assert_int_equal(LOAD(&c, env_secret, "--log-file", "-"), GW_OK);
	assert_string_equal(c.log_file, "-");
	gw_config_free(&c);
}

/* --- types ---------------------------------------------------------------- */

static void test_integers(void **state)
{
	static const char *const bad[] = { "abc", "12abc", " 12", "12 ", "", "1.5", "0x10",
					   "99999999999999999999999", "-99999999999999999999999" };
	gw_config_t c;
	char want[256];

	(void)state;
	assert_int_equal(LOAD(&c, env_secret, "--max-connections", "1", "--jwt-leeway", "0",
			      "--max-per-user", "1000", "--lease-ttl=+300"),
			 GW_OK);
	assert_int_equal(c.max_connections, 1);
	assert_int_equal(c.jwt_leeway, 0);
	assert_int_equal(c.max_per_user, 1000);
	assert_int_equal(c.lease_ttl, 300);
	gw_config_free(&c);
	assert_int_equal(LOAD(&c, env_secret, "--max-connections=10000000"), GW_OK);
	assert_int_equal(c.max_connections, 10000000);
	gw_config_free(&c);

	EXPECT_ERR("invalid value \"abc\" for --max-connections (GW_MAX_CONNECTIONS): "
		   "expected an integer from 1 to 10000000",
		   env_secret, "--max-connections", "abc");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want),
			 "invalid value \"%s\" for --max-connections (GW_MAX_CONNECTIONS): "
			 "expected an integer from 1 to 10000000",
			 bad[i]);
		EXPECT_ERR(want, env_secret, "--max-connections", bad[i]);
	}
	EXPECT_ERR("invalid value \"0\" for --max-connections (GW_MAX_CONNECTIONS): "
		   "expected an integer from 1 to 10000000",
		   env_secret, "--max-connections=0");
	EXPECT_ERR("invalid value \"10000001\" for --max-connections (GW_MAX_CONNECTIONS): "
		   "expected an integer from 1 to 10000000",
		   env_secret, "--max-connections=10000001");
	EXPECT_ERR("invalid value \"-1\" for --jwt-leeway (GW_JWT_LEEWAY): "
		   "expected an integer from 0 to 300",
		   env_secret, "--jwt-leeway", "-1");
	EXPECT_ERR("invalid value \"63\" for --max-message-size (GW_MAX_MESSAGE_SIZE): "
		   "expected an integer from 64 to 16777216",
		   env_secret, "--max-message-size", "63");
	EXPECT_ERR("invalid value \"1\" for --lease-ttl (GW_LEASE_TTL): "
		   "expected an integer from 2 to 300",
		   env_secret, "--lease-ttl", "1");
	{
		char *env[] = { SECRET_ENV, "GW_HEARTBEAT_MISSES=11", NULL };

		EXPECT_ERR("invalid value \"11\" for --heartbeat-misses (GW_HEARTBEAT_MISSES): "
			   "expected an integer from 1 to 10",
			   env, NULL);
	}
	{
		char *env[] = { SECRET_ENV, "GW_RATE_LIMIT=", NULL };

		EXPECT_ERR("invalid value \"\" for --rate-limit (GW_RATE_LIMIT): "
			   "expected an integer from 1 to 1000000",
			   env, NULL);
	}
}

static void test_bools(void **state)
{
	static const char *const t[] = { "true", "1", "yes", "on", "TRUE", "On" };
	static const char *const f[] = { "false", "0", "no", "off", "False", "NO" };
	gw_config_t c;
	char arg[64], envv[64];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *env[] = { SECRET_ENV, envv, NULL };

		snprintf(arg, sizeof(arg), "--presence-events=%s", f[i]);
		assert_int_equal(LOAD(&c, env_secret, arg), GW_OK);
		assert_int_equal(c.presence_events, 0);
		gw_config_free(&c);
		assert_int_equal(LOAD(&c, env_secret, "--presence-events", f[i]), GW_OK);
		assert_int_equal(c.presence_events, 0);
		gw_config_free(&c);
		snprintf(envv, sizeof(envv), "GW_PRESENCE_EVENTS=%s", f[i]);
		assert_int_equal(LOAD(&c, env, "--presence-events", t[i]), GW_OK);
		assert_int_equal(c.presence_events, 1);
		gw_config_free(&c);
		assert_int_equal(LOAD(&c, env, NULL), GW_OK);
		assert_int_equal(c.presence_events, 0);
		gw_config_free(&c);
	}

	/* Bare means true, --no- means false, and a bare flag before another. */
	{
		char *env[] = { SECRET_ENV, "GW_PRESENCE_EVENTS=off", NULL };

		assert_int_equal(LOAD(&c, env, "--presence-events", "--rate-limit", "3"), GW_OK);
		assert_int_equal(c.presence_events, 1);
		assert_int_equal(c.rate_limit, 3);
		gw_config_free(&c);
		assert_int_equal(LOAD(&c, env, "--presence-events"), GW_OK);
		assert_int_equal(c.presence_events, 1);
		gw_config_free(&c);
	}
	assert_int_equal(LOAD(&c, env_secret, "--no-presence-events"), GW_OK);
	assert_int_equal(c.presence_events, 0);
	gw_config_free(&c);

	EXPECT_ERR("invalid value \"maybe\" for --presence-events (GW_PRESENCE_EVENTS): "
		   "expected true or false (or 1/0, yes/no, on/off)",
		   env_secret, "--presence-events", "maybe");
	EXPECT_ERR("invalid value \"\" for --presence-events (GW_PRESENCE_EVENTS): "
		   "expected true or false (or 1/0, yes/no, on/off)",
		   env_secret, "--presence-events=");
	EXPECT_ERR("--no-presence-events takes no value", env_secret, "--no-presence-events=true");
	/* --no- only exists for booleans. */
	EXPECT_ERR("unknown option --no-listen; see --help", env_secret, "--no-listen");
}

static void test_enums(void **state)
{
	static const struct {
		const char *flag, *value;
		size_t off;
		int want;
	} cases[] = {
		{ "--user-policy", "replace", offsetof(gw_config_t, user_policy), GW_POLICY_REPLACE },
		{ "--user-policy", "reject", offsetof(gw_config_t, user_policy), GW_POLICY_REJECT },
		{ "--user-policy", "multi", offsetof(gw_config_t, user_policy), GW_POLICY_MULTI },
		{ "--log-level", "debug", offsetof(gw_config_t, log_level), GW_LOG_DEBUG },
		{ "--log-level", "info", offsetof(gw_config_t, log_level), GW_LOG_INFO },
		{ "--log-level", "warn", offsetof(gw_config_t, log_level), GW_LOG_WARN },
		{ "--log-level", "error", offsetof(gw_config_t, log_level), GW_LOG_ERROR },
		{ "--log-level", "ERROR", offsetof(gw_config_t, log_level), GW_LOG_ERROR },
		{ "--log-format", "logfmt", offsetof(gw_config_t, log_format), GW_LOG_LOGFMT },
		{ "--log-format", "json", offsetof(gw_config_t, log_format), GW_LOG_JSON },
		{ "--redis-fail-mode", "open", offsetof(gw_config_t, redis_fail_mode), GW_FAIL_OPEN },
		{ "--redis-fail-mode", "closed", offsetof(gw_config_t, redis_fail_mode), GW_FAIL_CLOSED },
	};
	gw_config_t c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(LOAD(&c, env_secret, cases[i].flag, cases[i].value), GW_OK);
		assert_int_equal(*(int *)(void *)((char *)&c + cases[i].off), cases[i].want);
		gw_config_free(&c);
	}
	EXPECT_ERR("invalid value \"sometimes\" for --user-policy (GW_USER_POLICY): "
		   "expected one of replace, reject, multi",
		   env_secret, "--user-policy", "sometimes");
	EXPECT_ERR("invalid value \"trace\" for --log-level (GW_LOG_LEVEL): "
		   "expected one of debug, info, warn, error",
		   env_secret, "--log-level=trace");
	EXPECT_ERR("invalid value \"xml\" for --log-format (GW_LOG_FORMAT): "
		   "expected one of logfmt, json",
		   env_secret, "--log-format=xml");
	EXPECT_ERR("invalid value \"half\" for --redis-fail-mode (GW_REDIS_FAIL_MODE): "
		   "expected one of open, closed",
		   env_secret, "--redis-fail-mode=half");

	assert_string_equal(gw_user_policy_name(GW_POLICY_REPLACE), "replace");
	assert_string_equal(gw_user_policy_name(GW_POLICY_REJECT), "reject");
	assert_string_equal(gw_user_policy_name(GW_POLICY_MULTI), "multi");
	assert_string_equal(gw_user_policy_name(3), "unknown");
	assert_string_equal(gw_user_policy_name(-1), "unknown");
}

static void test_listen(void **state)
{
	static const char *const good[] = { "0.0.0.0:8080", "127.0.0.1:1", "localhost:65535",
					    "gw-1.example.com:443", "[::]:8080", "[::1]:80",
					    "[2001:db8::1]:9000", "a:1" };
	static const char *const bad[] = { "", "8080", ":8080", "0.0.0.0:", "0.0.0.0:0",
					   "0.0.0.0:65536", "0.0.0.0:80x", "0.0.0.0:+80",
					   "256.0.0.1:80", "1.2.3:80", "::1:80", "[::1]", "[]:80",
					   "[zz::1]:80", "bad_host:80", "-host:80", "host-:80",
					   "a..b:80", "host name:80", "host:-1" };
	gw_config_t c;
	char want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(LOAD(&c, env_secret, "--node-id", "n", "--listen", good[i]), GW_OK);
		assert_string_equal(c.listen, good[i]);
		gw_config_free(&c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want),
			 "invalid value \"%s\" for --listen (GW_LISTEN): expected HOST:PORT, "
			 "port 1..65535, HOST an IPv4 address, a name or [IPv6]",
			 bad[i]);
		EXPECT_ERR(want, env_secret, "--listen", bad[i]);
	}
}

static void test_string_checks(void **state)
{
	gw_config_t c;
	char long_id[80];

	(void)state;
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	assert_int_equal(LOAD(&c, env_secret, "--node-id", "Node_1.eu-west", "--redis-prefix",
			      "app:gw_1.x-y", "--redis", "redis://:pw@h:6379/2"),
			 GW_OK);
	assert_string_equal(c.node_id, "Node_1.eu-west");
	assert_string_equal(c.redis_prefix, "app:gw_1.x-y");
	gw_config_free(&c);

	EXPECT_ERR("invalid value \"node/1\" for --node-id (GW_NODE_ID): expected empty, "
		   "or 1..64 characters from [A-Za-z0-9_.-]",
		   env_secret, "--node-id", "node/1");
	{
		char want[256];

		/* Long values are cut to 64 bytes when quoted back. */
		snprintf(want, sizeof(want),
			 "invalid value \"%.64s...\" for --node-id (GW_NODE_ID): expected empty, "
			 "or 1..64 characters from [A-Za-z0-9_.-]",
			 long_id);
		EXPECT_ERR(want, env_secret, "--node-id", long_id);
	}
	long_id[64] = '\0';
	assert_int_equal(LOAD(&c, env_secret, "--node-id", long_id), GW_OK);
	gw_config_free(&c);

	EXPECT_ERR("invalid value \"\" for --redis-prefix (GW_REDIS_PREFIX): expected 1..64 "
		   "characters from [A-Za-z0-9_.:-]",
		   env_secret, "--redis-prefix=");
	EXPECT_ERR("invalid value \"a b\" for --redis-prefix (GW_REDIS_PREFIX): expected 1..64 "
		   "characters from [A-Za-z0-9_.:-]",
		   env_secret, "--redis-prefix", "a b");

	/* A Redis URL may hold a password: never echoed. */
	EXPECT_ERR("invalid value for --redis (GW_REDIS_URL): expected empty, or one or "
		   "more (whitespace-separated, one per shard) of "
		   "redis://[user:pass@]host:port[/db], unix:///path or "
		   "sentinel://[user:pass@]host:port,host:port/MASTER[/db]",
		   env_secret, "--redis", "http://user:hunter2@h");
	EXPECT_ERR("invalid value for --redis (GW_REDIS_URL): expected empty, or one or "
		   "more (whitespace-separated, one per shard) of "
		   "redis://[user:pass@]host:port[/db], unix:///path or "
		   "sentinel://[user:pass@]host:port,host:port/MASTER[/db]",
		   env_secret, "--redis", "redis://");
	EXPECT_ERR("invalid value for --redis (GW_REDIS_URL): expected empty, or one or "
		   "more (whitespace-separated, one per shard) of "
		   "redis://[user:pass@]host:port[/db], unix:///path or "
		   "sentinel://[user:pass@]host:port,host:port/MASTER[/db]",
		   env_secret, "--redis", "unix://relative");
	EXPECT_ERR("invalid value for --redis (GW_REDIS_URL): expected empty, or one or "
		   "more (whitespace-separated, one per shard) of "
		   "redis://[user:pass@]host:port[/db], unix:///path or "
		   "sentinel://[user:pass@]host:port,host:port/MASTER[/db]",
		   env_secret, "--redis", "sentinel://h:1,h:2");
	/* The link's own grammar (gw_redis_url) decides, so a port out of
	 * range fails at start-up, not at the first connect. */
	EXPECT_ERR("invalid value for --redis (GW_REDIS_URL): expected empty, or one or "
		   "more (whitespace-separated, one per shard) of "
		   "redis://[user:pass@]host:port[/db], unix:///path or "
		   "sentinel://[user:pass@]host:port,host:port/MASTER[/db]",
		   env_secret, "--redis", "redis://h:70000");
}

/* --- the secret ------------------------------------------------------------ */

static void test_secret(void **state)
{
	gw_config_t c;
	char *env_short[] = { "GW_JWT_SECRET=tooshort-but-private", NULL };
	char *env_empty[] = { "GW_JWT_SECRET=", NULL };

	(void)state;
	EXPECT_ERR("--jwt-secret (GW_JWT_SECRET) is required: set it to a secret of at least 32 bytes",
		   NULL, NULL);
	EXPECT_ERR("--jwt-secret (GW_JWT_SECRET) is required: set it to a secret of at least 32 bytes",
		   env_empty, NULL);
	EXPECT_ERR("--jwt-secret (GW_JWT_SECRET) is too short (20 bytes): it must be at least 32 bytes",
		   env_short, NULL);
	EXPECT_ERR("--jwt-secret (GW_JWT_SECRET) is too short (31 bytes): it must be at least 32 bytes",
		   NULL, "--jwt-secret", SECRET + 1);
	assert_null(strstr(err, SECRET + 1));

	/* A bad value is an error even where a higher source overrides it. */
	assert_int_equal(LOAD(&c, env_short, "--jwt-secret=" SECRET), GW_EINVAL);
	gw_config_free(&c);

	/* A typo next to a secret names the option, not the secret. */
	EXPECT_ERR("unknown option --jwt-secrett; see --help", NULL, "--jwt-secrett=" SECRET);
	EXPECT_ERR("unexpected argument \"-jwt-secret\"; options start with -- (see --help)",
		   NULL, "-jwt-secret=" SECRET);
}

/* --- command-line errors ---------------------------------------------------- */

static void test_argv_errors(void **state)
{
	(void)state;
	EXPECT_ERR("unknown option --foo; see --help", env_secret, "--foo");
	EXPECT_ERR("unknown option --foo; see --help", env_secret, "--foo=bar");
	EXPECT_ERR("unknown option --max_connections; see --help", env_secret,
		   "--max_connections=3");
	EXPECT_ERR("option --max-connections needs a value (N)", env_secret, "--max-connections");
	EXPECT_ERR("unexpected argument \"stray\"; options start with -- (see --help)", env_secret,
		   "stray");
	EXPECT_ERR("unexpected argument \"--\"; options start with -- (see --help)", env_secret,
		   "--");
	EXPECT_ERR("unexpected argument \"-x\"; options start with -- (see --help)", env_secret,
		   "-x");
}

static void test_cross_field(void **state)
{
	gw_config_t c;

	(void)state;
	EXPECT_ERR("--send-queue-bytes (1024) is smaller than --max-message-size (65536): "
		   "raise GW_SEND_QUEUE_BYTES or lower GW_MAX_MESSAGE_SIZE",
		   env_secret, "--send-queue-bytes", "1024");
	assert_int_equal(LOAD(&c, env_secret, "--send-queue-bytes", "1024", "--max-message-size",
			      "1024"),
			 GW_OK);
	gw_config_free(&c);
	/* A byte bucket smaller than one message would never let it pass. */
	EXPECT_ERR("--rate-bytes-burst (65535) is smaller than --max-message-size (65536): "
		   "raise GW_RATE_BYTES_BURST or lower GW_MAX_MESSAGE_SIZE",
		   env_secret, "--rate-bytes-burst", "65535");
	assert_int_equal(LOAD(&c, env_secret, "--rate-bytes-burst", "65536"), GW_OK);
	gw_config_free(&c);
	EXPECT_ERR("--rate-bytes-burst (262144) is smaller than --max-message-size (300000): "
		   "raise GW_RATE_BYTES_BURST or lower GW_MAX_MESSAGE_SIZE",
		   env_secret, "--max-message-size", "300000", "--send-queue-bytes", "1048576");
	/* Allowed on purpose: a node's own cap above the cluster's. */
	assert_int_equal(LOAD(&c, env_secret, "--max-connections", "10", "--node-max-connections",
			      "20"),
			 GW_OK);
	gw_config_free(&c);
}

/* --dev-tokens needs a loopback --listen unless forced. */
static void test_dev_tokens_guard(void **state)
{
	static const char *const loopback[] = { "127.0.0.1:8080", "127.1.2.3:1", "[::1]:80",
						"localhost:8080" };
	static const char *const open_[] = { "0.0.0.0:8080", "10.0.0.1:8080", "[::]:80",
					     "gw.example.com:8080" };
	gw_config_t c;
	char want[512];

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(loopback); i++) {
		assert_int_equal(LOAD(&c, env_secret, "--dev-tokens", "--listen", loopback[i]), GW_OK);
		gw_config_free(&c);
	}
	for (size_t i = 0; i < GW_ARRAY_LEN(open_); i++) {
		snprintf(want, sizeof(want),
			 "--dev-tokens (GW_DEV_TOKENS) lets anyone who reaches --listen %s mint a "
			 "token for any user, and that is not a loopback address: listen on "
			 "127.0.0.1, drop --dev-tokens, or force it with --dev-tokens-any-address "
			 "(GW_DEV_TOKENS_ANY_ADDRESS=true)",
			 open_[i]);
		EXPECT_ERR(want, env_secret, "--dev-tokens", "--listen", open_[i]);
		assert_int_equal(LOAD(&c, env_secret, "--dev-tokens", "--dev-tokens-any-address",
				      "--listen", open_[i]),
				 GW_OK);
		gw_config_free(&c);
		/* Without dev tokens any address is fine. */
		assert_int_equal(LOAD(&c, env_secret, "--listen", open_[i]), GW_OK);
		gw_config_free(&c);
	}
}

/* TLS settings come as a pair; --admin-tls needs them. Files are checked later. */
static void test_tls_settings(void **state)
{
	gw_config_t c;

	(void)state;
	assert_int_equal(LOAD(&c, env_secret, NULL), GW_OK);
	assert_string_equal(c.tls_cert, "");
	assert_string_equal(c.tls_key, "");
	assert_int_equal(c.admin_tls, 0);
	gw_config_free(&c);
	EXPECT_ERR("--tls-cert and --tls-key go together: set both GW_TLS_CERT and GW_TLS_KEY, or neither",
		   env_secret, "--tls-cert", "/x.pem");
	EXPECT_ERR("--tls-cert and --tls-key go together: set both GW_TLS_CERT and GW_TLS_KEY, or neither",
		   env_secret, "--tls-key", "/x.key");
	EXPECT_ERR("--admin-tls needs --tls-cert and --tls-key: set both GW_TLS_CERT and GW_TLS_KEY, or neither",
		   env_secret, "--admin-tls");
	{
		char *env[] = { SECRET_ENV, "GW_TLS_CERT=/c.pem", "GW_TLS_KEY=/k.pem",
				"GW_ADMIN_TLS=yes", NULL };

		assert_int_equal(LOAD(&c, env, NULL), GW_OK);
		assert_string_equal(c.tls_cert, "/c.pem");
		assert_string_equal(c.tls_key, "/k.pem");
		assert_int_equal(c.admin_tls, 1);
		gw_config_free(&c);
	}
}

static void test_trusted_proxies(void **state)
{
	static const char *const good[] = { "", "10.0.0.0/8", "10.0.0.1", "10.0.0.0/8, 192.168.1.0/24",
					     "fd00::/8 127.0.0.1/32", "::1" };
	static const char *const bad[] = { "10.0.0.1/8", "10.0.0.0/33", "gw.example", "10.0.0.0/",
					   "1.2.3.4:80", "[::1]" };
	gw_config_t c;

	(void)state;
	for (size_t i = 0; i < GW_ARRAY_LEN(good); i++) {
		assert_int_equal(LOAD(&c, env_secret, "--trusted-proxies", good[i]), GW_OK);
		assert_string_equal(c.trusted_proxies, good[i]);
		gw_config_free(&c);
	}
	for (size_t i = 0; i < GW_ARRAY_LEN(bad); i++) {
		assert_int_equal(LOAD(&c, env_secret, "--trusted-proxies", bad[i]), GW_EINVAL);
		assert_non_null(strstr(err, "--trusted-proxies (GW_TRUSTED_PROXIES)"));
		gw_config_free(&c);
	}
}

/* --version is answered before anything is validated, and prints nothing. */
static void test_version_flag(void **state)
{
	int rc;
	char *out;

	(void)state;
	out = CAPTURE(&rc, NULL, "--max-connections", "x", "--version");
	assert_int_equal(rc, GW_CONFIG_VERSION);
	assert_string_equal(out, "");
	free(out);
}

/* --- the file --------------------------------------------------------------- */

static void expect_file_err(const char *text, int line, const char *msg)
{
	char path[64], arg[96], want[512];

	write_tmp(path, sizeof(path), text);
	snprintf(arg, sizeof(arg), "--config=%s", path);
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, msg);
	EXPECT_ERR(want, env_secret, arg);
	unlink(path);
}

static void test_file(void **state)
{
	char path[64];
	gw_config_t c;

	(void)state;
	write_tmp(path, sizeof(path),
		  "# comment\n"
		  "\n"
		  "   \t\n"
		  "  # indented comment\n"
		  "max-connections = 10\n"
		  "max_per_lobby=11\r\n"
		  "\tlog-level\t=\tdebug  \n"
		  "presence_events = off\n"
		  "jwt-secret = " SECRET "#not-a-comment\n"
		  "allowed-origins = https://a.example, https://b.example\n"
		  "log-file =\n"
		  "redis = redis://h:1\n"
		  "redis = \n"
		  "user-policy = multi"); /* no final newline */
	assert_int_equal(LOAD(&c, NULL, "--config", path), GW_OK);
	assert_int_equal(c.max_connections, 10);
	assert_int_equal(c.max_per_lobby, 11);
	assert_int_equal(c.log_level, GW_LOG_DEBUG);
	assert_int_equal(c.presence_events, 0);
	assert_string_equal(c.jwt_secret, SECRET "#not-a-comment");
	assert_string_equal(c.allowed_origins, "https://a.example, https://b.example");
	assert_string_equal(c.log_file, "");
	assert_string_equal(c.redis_url, "");
	assert_int_equal(c.user_policy, GW_POLICY_MULTI);
	gw_config_free(&c);
	unlink(path);

	expect_file_err("max-connections = 1\nfoo = 1\n", 2, "unknown setting \"foo\"; see --help");
	expect_file_err("\n\n# x\nmax-connections 10\n", 4, "expected `name = value`");
	expect_file_err("= 10\n", 1, "unknown setting \"\"; see --help");
	expect_file_err("a\n\nmax-connections = abc\n", 1, "expected `name = value`");
	expect_file_err("# ok\nmax-connections = abc\n", 2,
			"invalid value \"abc\" for --max-connections (GW_MAX_CONNECTIONS): "
			"expected an integer from 1 to 10000000");
	expect_file_err("log-level = loud\n", 1,
			"invalid value \"loud\" for --log-level (GW_LOG_LEVEL): "
			"expected one of debug, info, warn, error");
	expect_file_err("\nconfig = /etc/other.conf\n", 2, "config cannot be set in a config file");
	expect_file_err("jwt-secret = short\n", 1,
			"--jwt-secret (GW_JWT_SECRET) is too short (5 bytes): it must be at least 32 bytes");
	{
		char text[5000];

		memset(text, 'x', sizeof(text));
		memcpy(text, "log-file = ", 11);
		text[sizeof(text) - 1] = '\0';
		expect_file_err(text, 1, "line too long (the limit is 4095 bytes)");
	}
	{
		char *env[] = { SECRET_ENV, "GW_CONFIG=/nonexistent/gw.conf", NULL };

		EXPECT_ERR("cannot open config file \"/nonexistent/gw.conf\": No such file or "
			   "directory (set by --config or GW_CONFIG)",
			   env, NULL);
	}
}

/* --- help ------------------------------------------------------------------- */

static void test_help(void **state)
{
	static const char *const names[] = {
		"--listen HOST:PORT", "GW_LISTEN", "--jwt-secret", "GW_JWT_SECRET",
		"--max-connections", "GW_MAX_CONNECTIONS", "--redis URL", "GW_REDIS_URL",
		"--[no-]presence-events", "--config FILE", "GW_CONFIG", "--help-markdown",
		"default 0.0.0.0:8080", "default replace; allowed: replace|reject|multi",
		"default 100000; allowed: 1..10000000",
	};
	char *out;
	int rc;

	(void)state;
	out = CAPTURE(&rc, env_secret, "--help");
	assert_int_equal(rc, 1);
	assert_string_equal(err, "");
	assert_true(strncmp(out, "Usage: gateway [OPTION]...", 26) == 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strstr(out, names[i]))
			fail_msg("--help lacks \"%s\"", names[i]);
	}
	free(out);

	out = CAPTURE(&rc, env_secret, "-h");
	assert_int_equal(rc, 1);
	free(out);

	out = CAPTURE(&rc, env_secret, "--help-markdown");
	assert_int_equal(rc, 1);
	assert_true(strncmp(out, "# Gateway configuration\n", 24) == 0);
	assert_non_null(strstr(out, "| Flag | Environment | Type | Default | Allowed | Description |"));
	assert_non_null(strstr(out, "| `--redis` | `GW_REDIS_URL` | string | *empty* |"));
	assert_non_null(strstr(out, "| `--user-policy` | `GW_USER_POLICY` | enum | `replace` | "
				    "`replace`, `reject`, `multi` |"));
	free(out);

	/* Help wins over values that would not parse, and needs no secret. */
	{
		char *env[] = { "GW_MAX_CONNECTIONS=abc", NULL };

		out = CAPTURE(&rc, env, "--max-connections", "x", "--help-markdown");
		assert_int_equal(rc, 1);
		free(out);
	}
	/* gw_config_help with no program name. */
	{
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);

		assert_non_null(f);
		gw_config_help(f, NULL);
		fclose(f);
		assert_true(strncmp(buf, "Usage: gateway ", 15) == 0);
		free(buf);
	}
}

/* Every row shows up once in the doc: 50 fields plus --config. */
static void test_markdown_rows(void **state)
{
	char *buf = NULL, *p;
	size_t n = 0;
	int rows = 0;
	FILE *f = open_memstream(&buf, &n);

	(void)state;
	assert_non_null(f);
	gw_config_markdown(f);
	fclose(f);
	for (p = buf; (p = strstr(p, "\n| `--")); p++)
		rows++;
	assert_int_equal(rows, 51);
	free(buf);
}

/* docs/config.md is generated; fail when it no longer matches the table. */
static void test_docs_match(void **state)
{
	const char *dir = getenv("GW_DOCS_DIR");
	char path[512], *want = NULL, *have;
	size_t wn = 0;
	long hn;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/config.md", dir && *dir ? dir : "docs");
	f = open_memstream(&want, &wn);
	assert_non_null(f);
	gw_config_markdown(f);
	fclose(f);

	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (run from the repository root or set GW_DOCS_DIR)", path);
	fseek(f, 0, SEEK_END);
	hn = ftell(f);
	rewind(f);
	have = calloc(1, (size_t)hn + 1);
	assert_non_null(have);
	assert_int_equal(fread(have, 1, (size_t)hn, f), (size_t)hn);
	fclose(f);
	if (strcmp(have, want))
		fail_msg("%s is stale: regenerate it with `make build/bin/gwconfig-doc && "
			 "build/bin/gwconfig-doc > docs/config.md`",
			 path);
	free(have);
	free(want);
}

/* --- memory ----------------------------------------------------------------- */

static void test_config_free(void **state)
{
	gw_config_t c;

	(void)state;
	gw_config_free(NULL);
	memset(&c, 0, sizeof(c));
	gw_config_free(&c);
	assert_int_equal(LOAD(&c, env_secret, NULL), GW_OK);
	gw_config_free(&c);
	assert_null(c.listen);
	assert_null(c.node_id);
	assert_int_equal(c.max_connections, 0);
	gw_config_free(&c); /* twice is harmless: free zeroes */

	/* A load that fails half-way leaves something gw_config_free can release. */
	assert_int_equal(LOAD(&c, env_secret, "--log-file", "/tmp/x.log", "--rate-limit", "0"),
			 GW_EINVAL);
	gw_config_free(&c);
}

/*
 * Fails each allocation in turn, through every source. Leaks would be
 * reported by the ASan build when the process exits.
 */
static void test_alloc_failure(void **state)
{
	char path[64], arg[96];
	char *env[] = { SECRET_ENV, "GW_LOG_FILE=/tmp/gw.log", "GW_REDIS_PREFIX=p", NULL };
	gw_config_t c;
	int rc = GW_ENOMEM, fails = 0;

	(void)state;
	write_tmp(path, sizeof(path), "allowed-origins = https://a.example\nnode-id = \n");
	snprintf(arg, sizeof(arg), "--config=%s", path);
	for (long n = 0; n < 1000; n++) {
		gw_alloc_fail_after(n);
		rc = LOAD(&c, env, arg, "--redis=redis://h:1", "--listen", "[::1]:7000");
		gw_alloc_fail_after(-1);
		if (rc == GW_OK)
			break;
		assert_int_equal(rc, GW_ENOMEM);
		assert_non_null(strstr(err, "out of memory"));
		gw_config_free(&c);
		fails++;
	}
	assert_int_equal(rc, GW_OK);
	assert_true(fails >= 10); /* 7 defaults, file, env, flags, node id */
	assert_string_equal(c.redis_url, "redis://h:1");
	assert_string_equal(c.allowed_origins, "https://a.example");
	gw_config_free(&c);
	unlink(path);
}

/* The buffer entry point (fuzz/fuzz_config.c) reads exactly as a file does. */
static void test_load_text(void **state)
{
	static const char good[] = "# node\njwt_secret = " SECRET "\nnode_id = n1\n"
				   "max_connections = 7";
	static const char bad[] = "jwt_secret = " SECRET "\n\nrate_limit = 12x\n";
	gw_config_t c;

	(void)state;
	/* Not NUL-terminated: the length is the end, not a NUL. */
	assert_int_equal(gw_config_load_text(&c, good, sizeof(good) - 1, "t.conf", err,
					     sizeof(err)), GW_OK);
	assert_string_equal(c.node_id, "n1");
	assert_int_equal(c.max_connections, 7);
	gw_config_free(&c);
	assert_int_equal(gw_config_load_text(&c, good, 20, "t.conf", err, sizeof(err)),
			 GW_EINVAL); /* cut inside the secret: too short */
	gw_config_free(&c);
	assert_int_equal(gw_config_load_text(&c, bad, sizeof(bad) - 1, "t.conf", err,
					     sizeof(err)), GW_EINVAL);
	assert_string_equal(err, "t.conf:3: invalid value \"12x\" for --rate-limit "
				 "(GW_RATE_LIMIT): expected an integer from 1 to 1000000");
	gw_config_free(&c);
	assert_int_equal(gw_config_load_text(&c, "", 0, "t.conf", err, sizeof(err)),
			 GW_EINVAL); /* the secret is required */
	assert_non_null(strstr(err, "--jwt-secret"));
	gw_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_stable_names),
		cmocka_unit_test(test_node_id_from_listen_port),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_env_from_envp_only),
		cmocka_unit_test(test_flag_forms),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_string_checks),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_argv_errors),
		cmocka_unit_test(test_cross_field),
		cmocka_unit_test(test_dev_tokens_guard),
		cmocka_unit_test(test_trusted_proxies),
		cmocka_unit_test(test_tls_settings),
		cmocka_unit_test(test_version_flag),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_load_text),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_markdown_rows),
		cmocka_unit_test(test_docs_match),
		cmocka_unit_test(test_config_free),
		cmocka_unit_test(test_alloc_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
