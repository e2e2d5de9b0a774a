/*
 * gw_common.c — error strings and clocks.
 */
#include "gw_common.h"

#include <time.h>

const char *gw_strerror(int code)
{
	switch (code) {
	case GW_OK: return "ok";
	case GW_ERROR: return "error";
	case GW_ENOMEM: return "out of memory";
	case GW_EINVAL: return "invalid argument";
	case GW_ENOENT: return "not found";
	case GW_EEXIST: return "already exists";
	case GW_EFULL: return "full";
	case GW_ETOOBIG: return "too big";
	case GW_EAGAIN: return "try again";
	case GW_EAUTH: return "authentication failed";
	case GW_EEXPIRED: return "expired";
	case GW_EIO: return "i/o error";
	case GW_ETIMEDOUT: return "timed out";
	case GW_EUNAVAIL: return "unavailable";
	}
	return "unknown error";
}

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t gw_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t gw_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}
