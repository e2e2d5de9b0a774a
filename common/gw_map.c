/*
 * gw_map.c — open-addressing hash map (see gw_map.h).
 *
 * The hash is SipHash-2-4 (Aumasson & Bernstein) under a process-wide
 * random key. It used to be unkeyed FNV-1a, whose low bits are easy to
 * steer: an attacker who picks names with equal low bits puts them all in
 * one probe run, and each lookup then walks all of them (tests/unit/
 * test_map.c builds 16,384 such names in a few milliseconds). With a
 * secret key, which names collide is unknowable from outside. SipHash-2-4 rather than the faster 1-3 that Redis uses: the
 * keys here are short names, where the two differ by a few nanoseconds,
 * and 2-4 has published test vectors the unit tests pin.
 */
#include "gw_map.h"
#include "gw_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

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

/* The process's hash key; `seeded` once it holds real key material. */
static unsigned char hash_key[16];
static int seeded;

/* --- SipHash-2-4 ---------------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

#define SIPROUND                                                              \
	do {                                                                  \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);     \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                        \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                        \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);     \
	} while (0)

uint64_t gw_siphash(const unsigned char key[16], const void *in, size_t len)
{
	const unsigned char *p = in;
	uint64_t k0 = le64(key), k1 = le64(key + 8), m, b;
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	b = (uint64_t)len << 56;
	while (left--)
		b |= (uint64_t)p[i + left] << (8 * left);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint32_t gw_hash(const void *key, size_t len)
{
	return (uint32_t)gw_siphash(hash_key, key, len);
}

/* getrandom() first; /dev/urandom where the syscall is missing. */
static int random_bytes(unsigned char *out, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int fd;

	while (got < n) {
		r = getrandom(out + got, n - got, 0);
		if (r > 0)
			got += (size_t)r;
		else if (r < 0 && errno != EINTR)
			break;
	}
	if (got == n)
		return GW_OK;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return GW_ERROR;
	for (got = 0; got < n;) {
		r = read(fd, out + got, n - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || errno != EINTR)
			break;
	}
	close(fd);
	return got == n ? GW_OK : GW_ERROR;
}

int gw_map_seed(const unsigned char *key)
{
	unsigned char k[16];

	if (key)
		memcpy(k, key, sizeof(k));
	else if (random_bytes(k, sizeof(k)))
		return GW_ERROR;
	memcpy(hash_key, k, sizeof(hash_key));
	seeded = 1;
	return GW_OK;
}

gw_map_t *gw_map_create(size_t initial)
{
	gw_map_t *m;
	size_t cap = 16;

	/* Unreadable means refused: no key, no map (never an unkeyed one). */
	if (!seeded && gw_map_seed(NULL))
		return NULL;
	m = gw_calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (initial > ((size_t)1 << 40)) {
		gw_free(m);
		return NULL;
	}
	while (cap * 3 < initial * 4) /* `initial` entries at most 3/4 full */
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
	/*
	 * Keep the load factor at or below 3/4: with a keyed hash, linear
	 * probing averages ~2.5 probes per hit and ~8.5 per miss there (24-byte
	 * slots: a few cache lines), and a node's two per-connection maps
	 * (connection ids, users) take half the memory they did at 1/2 -- about
	 * 80 bytes per connection at 10k.
	 */
	if ((m->count + 1) * 4 > (m->mask + 1) * 3 && grow(m))
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
