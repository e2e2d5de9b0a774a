/*
 * gw_map.c — open-addressing hash map (see gw_map.h).
 */
#include "gw_map.h"
#include "gw_alloc.h"

#include <string.h>

/* A NULL key (allowed with length 0) is stored as this, so NULL can mark
 * empty slots. */
static const char empty_key[1];

typedef struct {
	const void *key; /* NULL marks an empty slot */
	void *value;
	uint32_t len;
	uint32_t hash;
} slot_t;

struct gw_map {
	slot_t *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
	size_t count;
};

uint32_t gw_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t h = 2166136261u;

	while (len--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

gw_map_t *gw_map_create(size_t initial)
{
	gw_map_t *m = gw_calloc(1, sizeof(*m));
	size_t cap = 16;

	if (!m)
		return NULL;
	if (initial > ((size_t)1 << 40)) {
		gw_free(m);
		return NULL;
	}
	while (cap < initial * 2)
		cap <<= 1;
	m->slots = gw_calloc(cap, sizeof(slot_t));
	if (!m->slots) {
		gw_free(m);
		return NULL;
	}
	m->mask = cap - 1;
	return m;
}

void gw_map_free(gw_map_t *m)
{
	if (!m)
		return;
	gw_free(m->slots);
	gw_free(m);
}

size_t gw_map_count(const gw_map_t *m)
{
	return m->count;
}

static size_t find(const gw_map_t *m, const void *key, size_t len, uint32_t h)
{
	size_t i = h & m->mask;

	for (;; i = (i + 1) & m->mask) {
		const slot_t *s = &m->slots[i];

		if (!s->key)
			return i;
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
			return i;
	}
}

void *gw_map_get(const gw_map_t *m, const void *key, size_t len)
{
	size_t i;

	if (!key)
		key = empty_key;
	i = find(m, key, len, gw_hash(key, len));

	return m->slots[i].key ? m->slots[i].value : NULL;
}

static int grow(gw_map_t *m)
{
	size_t cap = (m->mask + 1) * 2, i;
	slot_t *old = m->slots, *ns;
	size_t oldcap = m->mask + 1;

	ns = gw_calloc(cap, sizeof(slot_t));
	if (!ns)
		return GW_ENOMEM;
	m->slots = ns;
	m->mask = cap - 1;
	for (i = 0; i < oldcap; i++) {
		if (old[i].key) {
			size_t j = old[i].hash & m->mask;

			while (ns[j].key)
				j = (j + 1) & m->mask;
			ns[j] = old[i];
		}
	}
	gw_free(old);
	return GW_OK;
}

int gw_map_put(gw_map_t *m, const void *key, size_t len, void *value)
{
	uint32_t h = gw_hash(key, len);
	size_t i;

	if (len > UINT32_MAX)
		return GW_EINVAL;
	if (!key)
		key = empty_key;
	/* Keep the load factor at or below 1/2. */
	if ((m->count + 1) * 2 > m->mask + 1 && grow(m))
		return GW_ENOMEM;
	i = find(m, key, len, h);
	if (m->slots[i].key)
		return GW_EEXIST;
	m->slots[i] = (slot_t){ key, value, (uint32_t)len, h };
	m->count++;
	return GW_OK;
}

void *gw_map_del(gw_map_t *m, const void *key, size_t len)
{
	size_t i, j;
	void *value;

	if (!key)
		key = empty_key;
	i = find(m, key, len, gw_hash(key, len));
	if (!m->slots[i].key)
		return NULL;
	value = m->slots[i].value;
	/*
	 * Backward-shift deletion: pull later entries of the probe run into
	 * the hole when their home slot is at or before it, so no lookup ever
	 * stops early at a false empty slot.
	 */
	j = i;
	for (;;) {
		size_t home;

		j = (j + 1) & m->mask;
		if (!m->slots[j].key)
			break;
		home = m->slots[j].hash & m->mask;
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = NULL;
	m->count--;
	return value;
}

int gw_map_each(const gw_map_t *m, gw_map_visit_fn fn, void *ud)
{
	size_t i;
	int rc;

	for (i = 0; i <= m->mask; i++)
		if (m->slots[i].key && (rc = fn(m->slots[i].value, ud)) != 0)
			return rc;
	return 0;
}
