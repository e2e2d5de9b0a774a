/*
 * gw_wheel.c — hashed timing wheel (see gw_wheel.h).
 */
#include "gw_wheel.h"
#include "gw_alloc.h"

struct gw_wheel {
	uint32_t tick_ms;
	uint32_t mask;
	uint64_t cur;   /* last tick processed */
	size_t count;
	gw_list_t *slots;
};

gw_wheel_t *gw_wheel_create(uint32_t tick_ms, uint32_t slots, uint64_t now)
{
	gw_wheel_t *w;
	uint32_t n = 1, i;

	if (tick_ms == 0 || slots == 0 || slots > (1u << 24))
		return NULL;
	while (n < slots)
		n <<= 1;
	w = gw_calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->slots = gw_malloc(n * sizeof(gw_list_t));
	if (!w->slots) {
		gw_free(w);
		return NULL;
	}
	for (i = 0; i < n; i++)
		gw_list_init(&w->slots[i]);
	w->tick_ms = tick_ms;
	w->mask = n - 1;
	w->cur = now / tick_ms;
	return w;
}

void gw_wheel_free(gw_wheel_t *w)
{
	if (!w)
		return;
	gw_free(w->slots);
	gw_free(w);
}

size_t gw_wheel_count(const gw_wheel_t *w)
{
	return w->count;
}

void gw_wheel_cancel(gw_wheel_t *w, gw_timer_t *t)
{
	if (gw_list_linked(&t->link)) {
		gw_list_del(&t->link);
		w->count--;
	}
}

void gw_wheel_schedule(gw_wheel_t *w, gw_timer_t *t, uint64_t deadline)
{
	uint64_t tick = (deadline + w->tick_ms - 1) / w->tick_ms;

	if (gw_list_linked(&t->link))
		gw_list_del(&t->link);
	else
		w->count++;
	if (tick <= w->cur)
		tick = w->cur + 1;
	t->deadline = deadline;
	gw_list_add_tail(&w->slots[tick & w->mask], &t->link);
}

size_t gw_wheel_advance(gw_wheel_t *w, uint64_t now, gw_timer_fn fn, void *ud)
{
	uint64_t target = now / w->tick_ms, tick;
	gw_list_t due, *pos, *tmp;
	size_t fired = 0;

	/* After a long stall, one full turn visits every slot. */
	if (target > w->cur + w->mask + 1)
		w->cur = target - w->mask - 1;
	gw_list_init(&due);
	for (tick = w->cur + 1; tick <= target; tick++) {
		gw_list_t *slot = &w->slots[tick & w->mask];

		gw_list_each_safe(pos, tmp, slot) {
			gw_timer_t *t = GW_CONTAINER_OF(pos, gw_timer_t, link);

			if (t->deadline <= now) {
				gw_list_del(pos);
				gw_list_add_tail(&due, pos);
			}
		}
	}
	if (target > w->cur)
		w->cur = target;
	/*
	 * Fire from a private list so a callback that reschedules into a slot
	 * we already visited is not fired twice in one advance. A timer the
	 * callback leaves unscheduled is no longer counted.
	 */
	while (!gw_list_empty(&due)) {
		gw_timer_t *t = GW_CONTAINER_OF(due.next, gw_timer_t, link);

		gw_list_del(&t->link);
		w->count--;
		fired++;
		fn(t, ud);
	}
	return fired;
}
