/*
 * gw_common.h — the project's error convention and a few small helpers.
 *
 * Every function that can fail returns 0 (GW_OK) or a negative GW_E* code;
 * gw_strerror() turns a code into text for logs and error messages.
 */
#ifndef GW_COMMON_H
#define GW_COMMON_H

#include <stddef.h>
#include <stdint.h>

enum {
	GW_OK = 0,
	GW_ERROR = -1,      /* generic failure */
	GW_ENOMEM = -2,     /* allocation failed */
	GW_EINVAL = -3,     /* bad argument or malformed input */
	GW_ENOENT = -4,     /* not found */
	GW_EEXIST = -5,     /* already exists */
	GW_EFULL = -6,      /* a bound was reached */
	GW_ETOOBIG = -7,    /* input larger than allowed */
	GW_EAGAIN = -8,     /* try again later */
	GW_EAUTH = -9,      /* authentication failed */
	GW_EEXPIRED = -10,  /* token expired */
	GW_EIO = -11,       /* I/O or remote failure */
	GW_ETIMEDOUT = -12, /* a deadline passed */
	GW_EUNAVAIL = -13,  /* a dependency (Redis) is unavailable */
};

const char *gw_strerror(int code);

#define GW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define GW_UNUSED(x) ((void)(x))
#define GW_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GW_MAX(a, b) ((a) > (b) ? (a) : (b))

#define GW_LIKELY(x) __builtin_expect(!!(x), 1)
#define GW_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Monotonic and wall clocks in milliseconds. */
uint64_t gw_now_ms(void);
uint64_t gw_wall_ms(void);

#endif
