/*
 * gw_config_int.h — what the config module's files share (gw_config.c:
 * the table and loading; gw_config_check.c: the value checks and the
 * rules across settings;
 * gw_config_doc.c: --help and docs/config.md). Private to common/gw_config*.
 */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include "gw_config.h"

#include <stddef.h>

enum opt_type { T_STRING, T_INT, T_BOOL, T_ENUM };

enum {
	F_REQUIRED = 1 << 0, /* must be set (non-empty) somewhere */
	F_SECRET = 1 << 1,   /* never echoed in errors or help */
	F_META = 1 << 2,     /* no field: steers loading (--config) */
};

struct opt {
	const char *name;            /* flag without "--", kebab-case */
	const char *env;             /* environment variable */
	enum opt_type type;
	size_t off;                  /* into gw_config_t (unused with F_META) */
	size_t size;                 /* of that field, for the coverage check */
	long min, max;               /* T_INT: bounds; T_STRING: length (max 0: any) */
	const char *def;             /* default, spelled as on the command line */
	const char *const *choices;  /* T_ENUM: NULL-terminated; index = value */
	int (*check)(const char *v); /* T_STRING: extra syntax; 0 when valid */
	const char *expect;          /* T_STRING: what is allowed, for errors and docs */
	const char *meta;            /* value placeholder in --help */
	unsigned flags;
	const char *help;            /* one line */
};

/* The table: one row per setting, in gw_config_t's field order. */
extern const struct opt gw_config_opts[];
extern const size_t gw_config_nopts;

/* String checks for the table's `check` column (gw_config_check.c). */
int gw_config__check_listen_or_empty(const char *v);
int gw_config__check_listen(const char *v);
int gw_config__check_node_id(const char *v);
int gw_config__check_api_key(const char *v);
int gw_config__check_trusted_proxies(const char *v);
int gw_config__check_redis_prefix(const char *v);
int gw_config__check_redis_url(const char *v);
int gw_config__check_workers(const char *v);
/* A whole decimal long (sign allowed), GW_EINVAL otherwise. */
int gw_config__parse_long(const char *s, long *out);
/* Whether a --listen value's host is a loopback address. */
int gw_config__listen_is_loopback(const char *listen);
/* The rules across settings, once every source is applied: GW_OK, or
 * GW_EINVAL with the message in `err`. */
int gw_config__check_whole(const gw_config_t *cfg, char *err, size_t errlen);

#endif
