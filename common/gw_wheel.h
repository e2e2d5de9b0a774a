/*
 * gw_wheel.h — a hashed timing wheel for per-connection deadlines.
 *
 * Heartbeats and token expiry are per connection; arming a libevent timer
 * for each would cost a heap operation per reschedule. The wheel files each
 * timer under the slot of its deadline's tick; advancing visits only the
 * slots whose ticks passed, so a tick's cost is the number of timers due in
 * it (plus timers a whole wheel-turn or more away, revisited once a turn).
 * Scheduling and cancelling are O(1).
 */
#ifndef GW_WHEEL_H
#define GW_WHEEL_H

#include "gw_list.h"
#include "gw_common.h"

typedef struct gw_timer {
	gw_list_t link;
	uint64_t deadline; /* ms, same clock as gw_wheel_advance's `now` */
} gw_timer_t;

typedef struct gw_wheel gw_wheel_t;
typedef void (*gw_timer_fn)(gw_timer_t *t, void *ud);

/* `tick_ms` resolution, `slots` rounded up to a power of two. */
gw_wheel_t *gw_wheel_create(uint32_t tick_ms, uint32_t slots, uint64_t now);
/* Frees the wheel; timers still scheduled are simply forgotten. */
void gw_wheel_free(gw_wheel_t *w);

static inline void gw_timer_init(gw_timer_t *t)
{
	gw_list_init(&t->link);
	t->deadline = 0;
}

static inline int gw_timer_pending(const gw_timer_t *t)
{
	return gw_list_linked(&t->link);
}

/* (Re)schedules `t`; a deadline already past fires on the next tick. */
void gw_wheel_schedule(gw_wheel_t *w, gw_timer_t *t, uint64_t deadline);
void gw_wheel_cancel(gw_wheel_t *w, gw_timer_t *t);

/*
 * Fires every timer whose deadline's tick has passed, each once, in no
 * particular order: never early, at most one tick late. The callback may reschedule or cancel any timer, and free the
 * fired one. Returns the number fired.
 */
size_t gw_wheel_advance(gw_wheel_t *w, uint64_t now, gw_timer_fn fn, void *ud);
size_t gw_wheel_count(const gw_wheel_t *w);

#endif
