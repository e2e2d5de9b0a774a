/*
 * gw_config.h — the node's configuration, from one table.
 *
 * One table (gw_config.c) gives every setting its flag, environment
 * variable, type, bounds, default and help. The same table drives the CLI,
 * the environment, the optional file, `gateway --help` and docs/config.md.
 * Precedence: defaults < file (--config / GW_CONFIG) < environment < flags.
 * Bad values stop start-up with a message naming the setting and the fix.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include "gw_common.h"

#include <stdio.h>

typedef enum {
	GW_POLICY_REPLACE = 0, /* a new connection closes the user's old one */
	GW_POLICY_REJECT,      /* a second connection is refused */
	GW_POLICY_MULTI,       /* up to max_per_user connections */
} gw_user_policy_t;

typedef enum { GW_FAIL_OPEN = 0, GW_FAIL_CLOSED } gw_fail_mode_t;

/*
 * The largest --rate-violations and --abuse-limit. The counters they bound
 * (gw_ratelimit_t.violations, gw_session_t.abuse) are 32-bit and checked
 * against this at compile time.
 */
#define GW_CONFIG_STRIKES_MAX 100000

typedef struct gw_config {
	/* node */
	char *listen;      /* HOST:PORT for WebSocket and HTTP */
	char *node_id;     /* defaults to HOSTNAME-PORT */
	char *admin_listen; /* HOST:PORT of the admin HTTP listener; empty: none */
	char *api_key;     /* required by the /api endpoints; empty: off */
	int dev_tokens;    /* bool: GET /dev/token for the dashboard demo */
	int dev_tokens_any_address; /* bool: allow dev_tokens on a non-loopback listen */
	int public_cluster_info;    /* bool: GET /cluster on the public port */
	char *workers;     /* "auto" or 1..64 node processes (gw_workers) */
	/* tls (empty tls_cert: plain ws://, e.g. behind a TLS-terminating LB) */
	char *tls_cert;    /* PEM certificate, then its chain; re-read on SIGHUP */
	char *tls_key;     /* PEM private key of that certificate */
	int admin_tls;     /* bool: the admin listener speaks TLS too */
	/* auth */
	char *jwt_secret;  /* required, >= 32 bytes */
	long jwt_leeway;   /* seconds */
	char *allowed_origins; /* comma-separated; empty allows any */
	/* capacity */
	long max_connections;      /* cluster-wide */
	long node_max_connections; /* this node */
	long max_per_lobby;
	long max_per_user;         /* with user_policy=multi */
	int user_policy;           /* gw_user_policy_t */
	/* health */
	long heartbeat_interval; /* seconds between health pings */
	long heartbeat_misses;   /* unanswered pings before a stale close */
	long handshake_timeout;  /* seconds */
	/* connections (gw_peers) */
	long max_conns_per_ip;   /* per client address on this node; 0: off */
	long max_handshakes;     /* accepted, request headers not yet read; 0: off */
	char *trusted_proxies;   /* CIDR list whose X-Forwarded-For is believed */
	/* bounds */
	long max_message_size;   /* bytes */
	long rate_limit;         /* messages per second, sustained */
	long rate_burst;         /* bucket size */
	long rate_bytes;         /* bytes per second, sustained */
	long rate_bytes_burst;   /* byte bucket size; >= max_message_size */
	long rate_violations;    /* rate-limited messages before close 1008 */
	long abuse_limit;        /* bad frames before close 4008 */
	long send_queue_max;     /* queued messages per connection */
	long send_queue_bytes;   /* queued bytes per connection */
	long write_delay_ms;     /* coalescing window for writes; 0: write at once */
	/* behaviour */
	int presence_events;     /* bool: presence_join/leave to lobby members */
	long leave_grace_ms;     /* hold a reconnectable presence_leave this long */
	long shutdown_timeout;   /* seconds to drain on SIGTERM */
	/* logging */
	int log_level;           /* gw_log_level_t */
	int log_format;          /* gw_log_format_t */
	char *log_file;          /* empty: stderr */
	/* cluster (empty redis_url: standalone) */
	char *redis_url;         /* redis://[user:pass@]host:port[/db] or unix:///path */
	char *redis_prefix;      /* key namespace */
	int redis_fail_mode;     /* gw_fail_mode_t */
	long lease_ttl;          /* seconds */
	long inbound_maxlen;     /* inbound stream cap; 0: refuse unknown types */
	long inbound_max_message; /* bytes per inbound stream entry's payload */
	long inbound_rate;       /* inbound entries per second per user (and burst) */
	long history_size;       /* messages kept per lobby; 0: no history, no offsets */
	long history_ttl;        /* seconds a quiet lobby's history is kept */
} gw_config_t;

/* gw_config_load's answer to --version: the caller prints it and exits 0. */
#define GW_CONFIG_VERSION 2

/*
 * Fills `cfg` from defaults, the optional file, `envp` (NULL-terminated,
 * as environ) and argv. Returns GW_OK; 1 if --help or --help-markdown was
 * handled (the caller exits 0); GW_CONFIG_VERSION if --version was given
 * (nothing printed: the caller knows what it is); or GW_EINVAL with a message in `err`
 * naming the setting, the bad value and what is allowed. `cfg` must be
 * released with gw_config_free() whatever the result.
 */
int gw_config_load(gw_config_t *cfg, int argc, char **argv, char **envp,
		   char *err, size_t errlen);
void gw_config_free(gw_config_t *cfg);

/*
 * As gw_config_load with no flags, no environment and a config file whose
 * contents are `text` (`len` bytes, not NUL-terminated; `name` stands for
 * the file's path in messages). Same results and the same contract for
 * `cfg`. For tests and the fuzzer (fuzz/fuzz_config.c).
 */
int gw_config_load_text(gw_config_t *cfg, const char *text, size_t len,
			const char *name, char *err, size_t errlen);

/* `gateway --help` text and docs/config.md (Markdown), from the table. */
void gw_config_help(FILE *out, const char *prog);
void gw_config_markdown(FILE *out);

const char *gw_user_policy_name(int policy);

#endif
