/*
 * gw_map.h — a hash map from byte-string keys to pointers.
 *
 * Open addressing with linear probing (at most 3/4 full) and backward-shift
 * deletion (no tombstones), so lookups stay O(1) however much churn the map
 * sees. Keys are borrowed: the caller keeps each key's bytes alive and
 * unchanged while it is in the map (usually the key lives inside the
 * value). Values are never freed by the map.
 *
 * Keys are often chosen by clients (lobby names, user ids), so the hash is
 * keyed: SipHash-2-4 under a 128-bit key drawn from getrandom() when the
 * first map is created (as Redis seeds its dict). Without the key nobody
 * can precompute names that share a probe run, which would turn every
 * lookup into a walk over all of them (hash flooding). The key is
 * process-wide and never leaves the process; maps are not shared between
 * processes, so nodes need not agree on it.
 */
#ifndef GW_MAP_H
#define GW_MAP_H

#include "gw_common.h"

typedef struct gw_map gw_map_t;

/*
 * Returns NULL on allocation failure, or when the process's hash key cannot
 * be drawn (getrandom() and /dev/urandom both failed): an unkeyed map is
 * refused rather than built.
 */
gw_map_t *gw_map_create(size_t initial);
void gw_map_free(gw_map_t *m);

void *gw_map_get(const gw_map_t *m, const void *key, size_t len);
/* Inserts; GW_EEXIST if the key is present, GW_ENOMEM if it cannot grow. */
int gw_map_put(gw_map_t *m, const void *key, size_t len, void *value);
/* Removes and returns the value, or NULL if absent. */
void *gw_map_del(gw_map_t *m, const void *key, size_t len);
size_t gw_map_count(const gw_map_t *m);

/*
 * Visits every entry; the callback must not change the map. Returns the
 * first non-zero callback result, which also stops the walk.
 */
typedef int (*gw_map_visit_fn)(void *value, void *ud);
int gw_map_each(const gw_map_t *m, gw_map_visit_fn fn, void *ud);

/*
 * The map's hash: SipHash-2-4 of the key under the process's hash key,
 * truncated to 32 bits. Exposed for tests. Before the key is set (by
 * gw_map_create or gw_map_seed) it hashes under an all-zero key.
 */
uint32_t gw_hash(const void *key, size_t len);

/* SipHash-2-4 under an explicit 16-byte key, full 64 bits (for tests). */
uint64_t gw_siphash(const unsigned char key[16], const void *in, size_t len);

/*
 * Sets the process's hash key: the 16 bytes at `key`, or fresh random bytes
 * when `key` is NULL. Tests call it for reproducible hashes; the daemon
 * never needs to (the first gw_map_create draws a random key). Changing the
 * key while any map holds entries corrupts those maps. Returns GW_OK, or
 * GW_ERROR when no random bytes could be read.
 */
int gw_map_seed(const unsigned char *key);

#endif
