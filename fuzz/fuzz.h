/*
 * fuzz.h — what every libFuzzer target here shares (fuzz/README.md).
 *
 * Each fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput and is linked by
 * `make fuzz` with its own clang-built objects of common/ (and of the
 * gateway/ files it needs). A target checks properties with FUZZ_CHECK,
 * which aborts — a crash libFuzzer reports and saves — instead of assert,
 * so the checks stay on whatever NDEBUG says.
 */
#ifndef GW_FUZZ_H
#define GW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                          \
			abort();                                           \
		}                                                          \
	} while (0)

/* Reads every byte of [p, p+n) so ASan sees an out-of-bounds range. */
static inline void fuzz_touch(const void *p, size_t n)
{
	const volatile unsigned char *c = p;
	unsigned char x = 0;

	for (size_t i = 0; i < n; i++)
		x ^= c[i];
	(void)x;
}

/*
 * A cursor over the fuzz input, for targets that read a sequence of
 * operations from it. Reading past the end yields zeros.
 */
typedef struct {
	const uint8_t *p;
	size_t left;
} fuzz_in_t;

static inline uint8_t fuzz_u8(fuzz_in_t *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint16_t fuzz_u16(fuzz_in_t *in)
{
	uint16_t hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/*
 * Up to `max` bytes: a 16-bit length, then that many bytes (fewer at the
 * end). The result points into the input, which continues right after it:
 * copy it to a buffer of its own size where an over-read must be seen.
 */
static inline const uint8_t *fuzz_bytes(fuzz_in_t *in, size_t max, size_t *len)
{
	size_t n = fuzz_u16(in) % (max + 1);
	const uint8_t *p;

	if (n > in->left)
		n = in->left;
	p = in->p;
	in->p += n;
	in->left -= n;
	*len = n;
	return p;
}

#endif
