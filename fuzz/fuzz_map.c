/*
 * fuzz_map.c — the hash map (common/gw_map), checked against a model.
 *
 * The map holds client-chosen keys (lobby names, user ids), so it sees
 * whatever a client picks. The input is a sequence of operations, each
 * mirrored on a plain array; after every one the map must agree with it:
 *
 *   op % 6 == 0  put a key read from the input (EEXIST iff the model has it)
 *             1  get a key read from the input
 *             2  delete a key read from the input
 *             3  get, then delete, a key the model holds (index from input)
 *             4  put, get or delete the NULL key, which equals the empty key
 *             5  count, and a walk that visits each value once
 *
 * Keys are 0..16 bytes, so collisions of whole keys are frequent and the
 * probing and backward-shift deletion get exercised. The map borrows its
 * keys: each lives in its model slot, unmoved, until deleted. The hash key
 * is fixed (gw_map_seed) so that a crash reproduces.
 */
#include "fuzz.h"
#include "gw_map.h"

#include <string.h>

#define MAX_KEY 16
#define SLOTS 256

typedef struct {
	uint8_t key[MAX_KEY];
	size_t len;
	uintptr_t value; /* 0: free slot */
} entry_t;

static entry_t model[SLOTS];
static uintptr_t next_value;

static entry_t *model_find(const uint8_t *k, size_t len)
{
	for (size_t i = 0; i < SLOTS; i++)
		if (model[i].value && model[i].len == len &&
		    (len == 0 || memcmp(model[i].key, k, len) == 0))
			return &model[i];
	return NULL;
}

static size_t model_count(void)
{
	size_t n = 0;

	for (size_t i = 0; i < SLOTS; i++)
		n += model[i].value != 0;
	return n;
}

static int visit(void *value, void *ud)
{
	uintptr_t *sum = ud;
	entry_t *e = NULL;

	for (size_t i = 0; i < SLOTS && !e; i++)
		if (model[i].value == (uintptr_t)value)
			e = &model[i];
	FUZZ_CHECK(e);
	sum[0]++;
	sum[1] ^= (uintptr_t)value;
	return 0;
}

static void check_del(gw_map_t *m, const void *k, size_t len)
{
	entry_t *e = model_find(k, len);
	void *v = gw_map_del(m, k, len);

	FUZZ_CHECK((uintptr_t)v == (e ? e->value : 0));
	if (e)
		e->value = 0;
}

static void check_get(gw_map_t *m, const void *k, size_t len)
{
	entry_t *e = model_find(k, len);

	FUZZ_CHECK((uintptr_t)gw_map_get(m, k, len) == (e ? e->value : 0));
}

/* With `null`, the key is NULL (len 0), which the map treats as "". */
static void check_put(gw_map_t *m, const uint8_t *k, size_t len, int null)
{
	entry_t *e = model_find(k, len), *slot = NULL;
	int rc;

	if (!e) {
		for (size_t i = 0; i < SLOTS && !slot; i++)
			if (!model[i].value)
				slot = &model[i];
		if (!slot)
			return; /* the model is full */
		if (len)
			memcpy(slot->key, k, len);
		slot->len = len;
	}
	rc = gw_map_put(m, null ? NULL : e ? k : slot->key, len, (void *)++next_value);
	if (e) {
		FUZZ_CHECK(rc == GW_EEXIST);
	} else {
		FUZZ_CHECK(rc == GW_OK);
		slot->value = next_value;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const unsigned char key[16] = "fuzz-map-hashkey";

	(void)argc;
	(void)argv;
	FUZZ_CHECK(gw_map_seed(key) == GW_OK);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in_t in = { data, size };
	gw_map_t *m = gw_map_create(fuzz_u8(&in) % 64);

	FUZZ_CHECK(m);
	memset(model, 0, sizeof(model));
	while (in.left) {
		uint8_t op = fuzz_u8(&in) % 6;
		uint8_t k[MAX_KEY];
		size_t len = 0;

		if (op <= 2) {
			len = fuzz_u8(&in) % (MAX_KEY + 1);
			for (size_t i = 0; i < len; i++)
				k[i] = fuzz_u8(&in);
		}
		switch (op) {
		case 0:
			check_put(m, k, len, 0);
			break;
		case 1:
			check_get(m, k, len);
			break;
		case 2:
			check_del(m, k, len);
			break;
		case 3: {
			size_t n = model_count(), want = n ? fuzz_u8(&in) % n : 0;

			for (size_t i = 0; n && i < SLOTS; i++) {
				if (model[i].value && !want--) {
					check_get(m, model[i].key, model[i].len);
					check_del(m, model[i].key, model[i].len);
					break;
				}
			}
			break;
		}
		case 4:
			switch (fuzz_u8(&in) % 3) {
			case 0:
				check_put(m, NULL, 0, 1);
				break;
			case 1:
				check_get(m, NULL, 0);
				break;
			default:
				check_del(m, NULL, 0);
			}
			break;
		case 5: {
			uintptr_t sum[2] = { 0, 0 }, want = 0;

			FUZZ_CHECK(gw_map_count(m) == model_count());
			FUZZ_CHECK(gw_map_each(m, visit, sum) == 0);
			for (size_t i = 0; i < SLOTS; i++)
				want ^= model[i].value;
			FUZZ_CHECK(sum[0] == model_count() && sum[1] == want);
			break;
		}
		}
	}
	FUZZ_CHECK(gw_map_count(m) == model_count());
	gw_map_free(m);
	return 0;
}
