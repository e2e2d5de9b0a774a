/*
 * gw_keys.h — every Redis key and channel name, in one place.
 *
 * The layout is a public contract (docs/redis-schema.md): operators,
 * gatewayctl, gwbench and backends read the same keys the daemon writes, so
 * all of them format names here and nowhere else. Every name starts with the
 * namespace's hash tag, "{P}" (braces included), built once by
 * gw_keys_init() from --redis-prefix.
 *
 * Each gw_key_*() / gw_ch_*() writes a NUL-terminated name into `out`
 * (GW_KEY_MAX bytes) and returns its length, or GW_ETOOBIG when the name
 * would not fit: a caller never publishes to a truncated name. Pure
 * functions; no allocation; any thread.
 */
#ifndef GW_KEYS_H
#define GW_KEYS_H

#include <stddef.h>

/* Longest name: the tag (≤ 66) plus a 256-byte lobby or user and a suffix. */
#define GW_KEY_MAX 400

typedef struct {
	char tag[72];     /* "{P}" */
	size_t tag_len;
} gw_keys_t;

/* Builds "{prefix}". GW_EINVAL when prefix is empty or over 64 bytes. */
int gw_keys_init(gw_keys_t *k, const char *prefix);

/* Keys. */
int gw_key_total(const gw_keys_t *k, char *out);                 /* {P}:total */
int gw_key_nodes(const gw_keys_t *k, char *out);                 /* {P}:nodes */
int gw_key_lobbies(const gw_keys_t *k, char *out);               /* {P}:lobbies */
int gw_key_inbound(const gw_keys_t *k, char *out);               /* {P}:inbound */
int gw_key_node(const gw_keys_t *k, const char *node, size_t len, char *out);
int gw_key_node_conns(const gw_keys_t *k, const char *node, size_t len, char *out);
/* {P}:node:NODE:users — with several shards, a node's user entries whose
 * lobby lives on another shard (docs/redis-schema.md, Shards). */
int gw_key_node_users(const gw_keys_t *k, const char *node, size_t len, char *out);
int gw_key_lobby(const gw_keys_t *k, const char *lobby, size_t len, char *out);
int gw_key_user(const gw_keys_t *k, const char *user, size_t len, char *out);
/* A lobby's history (--history-size): the Stream of its broadcasts
 * ({P}:hist:L, entry id 0-OFFSET) and its hash {offset, epoch}
 * ({P}:hmeta:L). Two prefixes, not one with a suffix: lobby names may
 * contain ':'. */
int gw_key_history(const gw_keys_t *k, const char *lobby, size_t len, char *out);
int gw_key_history_meta(const gw_keys_t *k, const char *lobby, size_t len, char *out);
/* {P}:held:LOBBY — the lobby's held leaves (--leave-grace-ms). */
int gw_key_held(const gw_keys_t *k, const char *lobby, size_t len, char *out);

/* Channels. */
int gw_ch_lobby(const gw_keys_t *k, const char *lobby, size_t len, char *out);
int gw_ch_node(const gw_keys_t *k, const char *node, size_t len, char *out);
int gw_ch_cluster(const gw_keys_t *k, char *out);
int gw_ch_probe(const gw_keys_t *k, const char *node, size_t len, char *out);

/*
 * The lobby of a lobby channel name, or NULL when `ch` is not one; *len
 * receives its length. Borrowed from `ch`.
 */
const char *gw_ch_lobby_name(const gw_keys_t *k, const char *ch, size_t chlen,
			     size_t *len);

#endif
