/*
 * gw_shard.h — lobby-sharded Redis: the shard list and the placement
 * function, shared by the daemon (gateway/cluster), gatewayctl and gwbench
 * so that every process finds a key on the same shard.
 *
 * The shard list is --redis: one or more Redis URLs (gw_redis_url.h:
 * redis://, unix:// or sentinel://) separated by whitespace (spaces, tabs
 * or newlines). Whitespace is the separator because no URL part may hold
 * it: a part containing whitespace cannot be written, so a password with
 * a space cannot be used in --redis. One URL is one shard, today's layout.
 *
 * Placement (docs/redis-schema.md, "Shards"): a name goes to
 *
 *     jump(fmix64(fnv1a64(name)), N)
 *
 * where fnv1a64 is 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime
 * 0x100000001b3) over the name's bytes, fmix64 is MurmurHash3's 64-bit
 * finaliser (mixes FNV's weak high bits), and jump is Lamping and Veach's
 * jump consistent hash ("A Fast, Minimal Memory, Consistent Hash
 * Algorithm", 2014). Going from N to N+1 shards moves about 1/(N+1) of
 * the names, all of them to the new shard. The function is fixed: it is
 * part of the on-disk contract, like a key name. Lobbies are placed by
 * lobby name, users by user id. Pure functions; any thread.
 */
#ifndef GW_SHARD_H
#define GW_SHARD_H

#include <stddef.h>
#include <stdint.h>

#define GW_SHARDS_MAX 16
#define GW_SHARD_URL_MAX 2048

typedef struct {
	size_t n;                               /* 1..GW_SHARDS_MAX */
	char url[GW_SHARDS_MAX][GW_SHARD_URL_MAX];
} gw_shard_list_t;

/* fmix64(fnv1a64(name)): the placement key of a name. */
uint64_t gw_shard_hash(const char *name, size_t len);
/* Jump consistent hash of `key` over `n` buckets (n ≥ 1): 0..n-1. */
uint32_t gw_shard_jump(uint64_t key, uint32_t n);
/* The shard (0..n-1) of a lobby name or user id among `n` shards. */
uint32_t gw_shard_of(const char *name, size_t len, uint32_t n);

/*
 * Splits `spec` into its whitespace-separated URLs and checks each with
 * gw_redis_url_parse. GW_OK, or GW_EINVAL / GW_ETOOBIG with a message in
 * `err` (shard numbers from 0, never a password). Empty spec: GW_EINVAL.
 */
int gw_shard_list_parse(const char *spec, gw_shard_list_t *out, char *err,
			size_t errlen);

#endif
