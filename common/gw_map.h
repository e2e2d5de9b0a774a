/*
 * gw_map.h — a hash map from byte-string keys to pointers.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), so lookups stay O(1) however much churn the map sees. Keys
 * are borrowed: the caller keeps each key's bytes alive and unchanged while
 * it is in the map (usually the key lives inside the value). Values are
 * never freed by the map.
 */
#ifndef GW_MAP_H
#define GW_MAP_H

#include "gw_common.h"

typedef struct gw_map gw_map_t;

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

/* FNV-1a, exposed for tests and for callers hashing their own keys. */
uint32_t gw_hash(const void *key, size_t len);

#endif
