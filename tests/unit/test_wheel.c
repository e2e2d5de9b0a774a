/*
 * test_wheel.c — unit tests for common/gw_wheel.c (hashed timing wheel).
 *
 * The wheel promises two things about time: a timer never fires before its
 * deadline, and, at `tick_ms` resolution, it fires no later than the first
 * advance that reaches the tick boundary at or after its deadline
 * (ceil(deadline / tick) * tick). Every test checks both, together with
 * gw_wheel_count(), across small wheels (8 slots) where wrap-around, whole
 * turns and stalls are easy to reach.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_alloc.h"
#include "gw_wheel.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define TICK 10u
#define SLOTS 8u
#define TURN ((uint64_t)TICK * SLOTS) /* 80 ms */
#define T0 1000u

/* --- helpers ------------------------------------------------------------ */

typedef struct tmr tmr_t;
typedef void (*action_fn)(tmr_t *t, void *ctx);

struct tmr {
	gw_timer_t t;
	uint64_t deadline;  /* the deadline last scheduled */
	int fired;          /* times fired */
	uint64_t fired_at;  /* `now` of the advance that last fired it */
	action_fn action;   /* run from the callback, if set */
	tmr_t *other;       /* for actions on another timer */
};

typedef struct {
	gw_wheel_t *w;
	uint64_t now; /* the `now` passed to the current advance */
	size_t calls;
} ctx_t;

static void on_fire(gw_timer_t *gt, void *ud)
{
	tmr_t *t = GW_CONTAINER_OF(gt, tmr_t, t);
	ctx_t *c = ud;

	if (c->now < t->deadline)
		fail_msg("timer with deadline %llu fired early at %llu",
			 (unsigned long long)t->deadline, (unsigned long long)c->now);
	assert_false(gw_timer_pending(gt)); /* unlinked before the callback */
	t->fired++;
	t->fired_at = c->now;
	c->calls++;
	if (t->action)
		t->action(t, c);
}

static size_t advance(ctx_t *c, uint64_t now)
{
	size_t before = c->calls, n;

	c->now = now;
	n = gw_wheel_advance(c->w, now, on_fire, c);
	assert_int_equal(n, c->calls - before); /* the return value counts */
	return n;
}

static void sched(ctx_t *c, tmr_t *t, uint64_t deadline)
{
	t->deadline = deadline;
	gw_wheel_schedule(c->w, &t->t, deadline);
	assert_true(gw_timer_pending(&t->t));
}

static void tmr_init(tmr_t *t)
{
	memset(t, 0, sizeof(*t));
	gw_timer_init(&t->t);
}

/* The latest `now` by which a timer must have fired (tick resolution). */
static uint64_t due_by(uint64_t deadline)
{
	return (deadline + TICK - 1) / TICK * TICK;
}

/*
 * After an advance to `now`: every timer due by `now` fired exactly once,
 * every other one has not fired and is still pending.
 */
static void check_all(tmr_t *ts, size_t n, uint64_t now)
{
	size_t i;

	for (i = 0; i < n; i++) {
		tmr_t *t = &ts[i];

		if (due_by(t->deadline) <= now) {
			if (t->fired != 1)
				fail_msg("timer %zu (deadline %llu) fired %d times by %llu", i,
					 (unsigned long long)t->deadline, t->fired,
					 (unsigned long long)now);
			assert_false(gw_timer_pending(&t->t));
		} else if (t->fired == 0) {
			assert_true(gw_timer_pending(&t->t));
		} else {
			/* Fired before its tick boundary: allowed, never early. */
			assert_int_equal(t->fired, 1);
			assert_true(t->fired_at >= t->deadline);
		}
	}
}

static size_t pending_count(tmr_t *ts, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += gw_timer_pending(&ts[i].t) ? 1 : 0;
	return k;
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int setup(void **state)
{
	ctx_t *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->w = gw_wheel_create(TICK, SLOTS, T0);
	if (!c->w) {
		free(c);
		return -1;
	}
	c->now = T0;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	ctx_t *c = *state;

	gw_wheel_free(c->w);
	free(c);
	return 0;
}

/* --- create / free -------------------------------------------------------- */

static void test_create_args(void **state)
{
	gw_wheel_t *w;

	(void)state;
	assert_null(gw_wheel_create(0, 8, 0));
	assert_null(gw_wheel_create(10, 0, 0));
	assert_null(gw_wheel_create(10, (1u << 24) + 1, 0));
	w = gw_wheel_create(1, 1, 0); /* a one-slot wheel is still a wheel */
	assert_non_null(w);
	assert_int_equal(gw_wheel_count(w), 0);
	gw_wheel_free(w);
	w = gw_wheel_create(10, 5, 0); /* rounded up to 8 */
	assert_non_null(w);
	gw_wheel_free(w);
	gw_wheel_free(NULL);
}

static void test_create_alloc_failure(void **state)
{
	long n;

	(void)state;
	for (n = 0; n < 2; n++) {
		gw_alloc_fail_after(n);
		assert_null(gw_wheel_create(TICK, 64, 0));
		gw_alloc_fail_after(-1);
	}
}

static void test_timer_init(void **state)
{
	gw_timer_t t;

	(void)state;
	memset(&t, 0xa5, sizeof(t));
	gw_timer_init(&t);
	assert_false(gw_timer_pending(&t));
	/* A zeroed timer (calloc'd session) also reads as not pending. */
	memset(&t, 0, sizeof(t));
	assert_false(gw_timer_pending(&t));
}

/* --- firing time ---------------------------------------------------------- */

/*
 * One timer per deadline offset (on and off tick boundaries), advanced one
 * millisecond at a time: never before the deadline, and by its boundary.
 */
static void test_fires_at_deadline_not_before(void **state)
{
	ctx_t *c = *state;
	static const uint64_t offs[] = { 1, 9, 10, 11, 19, 20, 25, 79, 80, 81 };
	tmr_t ts[GW_ARRAY_LEN(offs)];
	size_t i;
	uint64_t now;

	for (i = 0; i < GW_ARRAY_LEN(offs); i++) {
		tmr_init(&ts[i]);
		sched(c, &ts[i], T0 + offs[i]);
	}
	assert_int_equal(gw_wheel_count(c->w), GW_ARRAY_LEN(offs));
	for (now = T0; now <= T0 + 100; now++) {
		advance(c, now);
		check_all(ts, GW_ARRAY_LEN(offs), now);
		assert_int_equal(gw_wheel_count(c->w), pending_count(ts, GW_ARRAY_LEN(offs)));
	}
	for (i = 0; i < GW_ARRAY_LEN(offs); i++) {
		assert_int_equal(ts[i].fired, 1);
		assert_true(ts[i].fired_at >= ts[i].deadline);
		assert_true(ts[i].fired_at <= due_by(ts[i].deadline));
	}
	assert_int_equal(gw_wheel_count(c->w), 0);
}

/* A deadline on a tick boundary fires in the advance that reaches it. */
static void test_fires_exactly_on_boundary(void **state)
{
	ctx_t *c = *state;
	tmr_t t;

	tmr_init(&t);
	sched(c, &t, T0 + 30);
	assert_int_equal(advance(c, T0 + 29), 0);
	assert_int_equal(advance(c, T0 + 30), 1);
	assert_int_equal(t.fired_at, T0 + 30);
	assert_int_equal(advance(c, T0 + 1000), 0); /* once only */
	assert_int_equal(t.fired, 1);
}

/* Deadlines at or before the current tick fire on the next tick, once. */
static void test_past_deadline_fires_next_tick(void **state)
{
	ctx_t *c = *state;
	tmr_t a, b, z;

	tmr_init(&a);
	tmr_init(&b);
	tmr_init(&z);
	sched(c, &a, T0 - 500);  /* long past */
	sched(c, &b, T0);        /* the current instant */
	sched(c, &z, 0);         /* the epoch */
	assert_int_equal(gw_wheel_count(c->w), 3);
	assert_int_equal(advance(c, T0 + TICK), 3);
	assert_int_equal(a.fired + b.fired + z.fired, 3);
	assert_int_equal(gw_wheel_count(c->w), 0);
	assert_int_equal(advance(c, T0 + 5 * TURN), 0);
}

/* A far-future deadline (no overflow in the tick arithmetic) never fires. */
static void test_far_future_never_fires(void **state)
{
	ctx_t *c = *state;
	tmr_t t, u;

	tmr_init(&t);
	tmr_init(&u);
	sched(c, &t, UINT64_MAX);
	sched(c, &u, UINT64_MAX - TICK);
	assert_int_equal(advance(c, T0 + TICK), 0);
	assert_int_equal(advance(c, T0 + 3 * TURN + 5), 0);
	assert_int_equal(advance(c, (uint64_t)1 << 40), 0);
	assert_int_equal(t.fired + u.fired, 0);
	assert_int_equal(gw_wheel_count(c->w), 2);
	gw_wheel_cancel(c->w, &t.t);
	gw_wheel_cancel(c->w, &u.t);
	assert_int_equal(gw_wheel_count(c->w), 0);
}

/* Deadlines several turns ahead are not fired when their slot comes round. */
static void test_beyond_full_turn(void **state)
{
	ctx_t *c = *state;
	static const uint64_t offs[] = { TURN - 1, TURN, TURN + 1, TURN + TICK,
					 2 * TURN + 5, 3 * TURN, 7 * TURN + 33, 20 * TURN };
	tmr_t ts[GW_ARRAY_LEN(offs)];
	size_t i;
	uint64_t now;

	for (i = 0; i < GW_ARRAY_LEN(offs); i++) {
		tmr_init(&ts[i]);
		sched(c, &ts[i], T0 + offs[i]);
	}
	/* Step by one tick, then by exact turns, then by odd amounts. */
	for (now = T0; now <= T0 + 4 * TURN; now += TICK) {
		advance(c, now);
		check_all(ts, GW_ARRAY_LEN(offs), now);
	}
	for (; now <= T0 + 12 * TURN; now += TURN) {
		advance(c, now);
		check_all(ts, GW_ARRAY_LEN(offs), now);
	}
	for (; now <= T0 + 21 * TURN; now += 37) {
		advance(c, now);
		check_all(ts, GW_ARRAY_LEN(offs), now);
	}
	for (i = 0; i < GW_ARRAY_LEN(offs); i++)
		assert_int_equal(ts[i].fired, 1);
	assert_int_equal(gw_wheel_count(c->w), 0);
}

/* Advancing by exactly one turn reaches a timer one turn ahead only then. */
static void test_whole_turn_steps(void **state)
{
	ctx_t *c = *state;
	tmr_t t;

	tmr_init(&t);
	sched(c, &t, T0 + 3 * TURN);
	assert_int_equal(advance(c, T0 + TURN), 0);
	assert_int_equal(advance(c, T0 + 2 * TURN), 0);
	assert_int_equal(advance(c, T0 + 3 * TURN - 1), 0);
	assert_int_equal(advance(c, T0 + 3 * TURN), 1);
}

/*
 * A stall: one advance far past everything. Due timers all fire, in one
 * call, once; timers still in the future stay, and fire later on time.
 */
static void test_long_stall(void **state)
{
	ctx_t *c = *state;
	enum { N = 500 };
	tmr_t *ts = calloc(N, sizeof(*ts));
	uint64_t stall = T0 + 50 * TURN + 3;
	size_t i, due = 0;

	assert_non_null(ts);
	for (i = 0; i < N; i++) {
		tmr_init(&ts[i]);
		sched(c, &ts[i], T0 + rng() % (100 * TURN));
		due += due_by(ts[i].deadline) <= stall;
	}
	assert_true(due > 100 && due < N - 100);
	assert_true(advance(c, stall) >= due);
	check_all(ts, N, stall);
	assert_int_equal(gw_wheel_count(c->w), pending_count(ts, N));
	/* Another stall to the end fires the rest. */
	advance(c, T0 + 1000 * TURN);
	check_all(ts, N, T0 + 1000 * TURN);
	for (i = 0; i < N; i++)
		assert_int_equal(ts[i].fired, 1);
	assert_int_equal(gw_wheel_count(c->w), 0);
	free(ts);
}

/*
 * A stall of years (a suspended VM, a clock jump) costs one turn of the
 * wheel, not one step per elapsed tick: with 1 ms ticks, 2^52 ms must not
 * take 2^52 iterations. Run in a child with a 0.5 s alarm so a slow wheel
 * fails the test instead of hanging the run.
 */
static void test_huge_stall_is_cheap(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct itimerval it = { { 0, 0 }, { 0, 500000 } };
		ctx_t c = { 0 };
		tmr_t a, b;

		setitimer(ITIMER_REAL, &it, NULL);
		c.w = gw_wheel_create(1, 1024, T0);
		tmr_init(&a);
		tmr_init(&b);
		sched(&c, &a, T0 + 5);
		sched(&c, &b, ((uint64_t)1 << 52) + 1);
		if (advance(&c, (uint64_t)1 << 52) != 1 || a.fired != 1 || b.fired)
			_exit(3);
		if (advance(&c, ((uint64_t)1 << 52) + 1) != 1 || b.fired != 1)
			_exit(4);
		gw_wheel_free(c.w);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("advance over a huge stall hung or crashed (signal %d)",
			 WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A stall of exactly one turn, and of one turn plus one tick. */
static void test_stall_turn_edges(void **state)
{
	ctx_t *c = *state;
	tmr_t ts[SLOTS * 2 + 2];
	size_t i;

	for (i = 0; i < GW_ARRAY_LEN(ts); i++) {
		tmr_init(&ts[i]);
		sched(c, &ts[i], T0 + (i + 1) * TICK);
	}
	advance(c, T0 + TURN);
	check_all(ts, GW_ARRAY_LEN(ts), T0 + TURN);
	advance(c, T0 + 2 * TURN + TICK);
	check_all(ts, GW_ARRAY_LEN(ts), T0 + 2 * TURN + TICK);
	assert_int_equal(gw_wheel_count(c->w), pending_count(ts, GW_ARRAY_LEN(ts)));
	advance(c, T0 + 2 * TURN + 2 * TICK);
	check_all(ts, GW_ARRAY_LEN(ts), T0 + 2 * TURN + 2 * TICK);
	assert_int_equal(gw_wheel_count(c->w), 0);
}

/* Many timers, random deadlines, random advance steps. */
static void test_many_timers(void **state)
{
	ctx_t *c = *state;
	enum { N = 20000 };
	tmr_t *ts = calloc(N, sizeof(*ts));
	uint64_t now = T0, end = T0 + 30 * TURN;
	size_t i;

	assert_non_null(ts);
	for (i = 0; i < N; i++) {
		tmr_init(&ts[i]);
		sched(c, &ts[i], T0 + rng() % (30 * TURN));
	}
	assert_int_equal(gw_wheel_count(c->w), N);
	while (now < end) {
		now += rng() % (TURN + TURN / 2);
		advance(c, now);
		check_all(ts, N, now);
		assert_int_equal(gw_wheel_count(c->w), pending_count(ts, N));
	}
	advance(c, end + TICK);
	for (i = 0; i < N; i++)
		assert_int_equal(ts[i].fired, 1);
	assert_int_equal(c->calls, N);
	free(ts);
}

/* Time that goes backwards (or stands still) fires nothing and breaks nothing. */
static void test_now_backwards(void **state)
{
	ctx_t *c = *state;
	tmr_t t;

	tmr_init(&t);
	sched(c, &t, T0 + 50);
	assert_int_equal(advance(c, T0 + 40), 0);
	assert_int_equal(advance(c, T0 + 10), 0);
	assert_int_equal(advance(c, 0), 0);
	assert_int_equal(advance(c, T0 + 40), 0);
	assert_int_equal(advance(c, T0 + 50), 1);
}

/* The wheel's start time need not be on a tick boundary. */
static void test_unaligned_start(void **state)
{
	ctx_t c = { 0 };
	tmr_t t;

	(void)state;
	c.w = gw_wheel_create(TICK, SLOTS, 1234567);
	tmr_init(&t);
	sched(&c, &t, 1234567 + 3);
	assert_int_equal(advance(&c, 1234569), 0);
	assert_int_equal(advance(&c, due_by(1234570)), 1);
	gw_wheel_free(c.w);
}

/* --- reschedule / cancel -------------------------------------------------- */

static void test_reschedule(void **state)
{
	ctx_t *c = *state;
	tmr_t a, b;

	tmr_init(&a);
	tmr_init(&b);
	sched(c, &a, T0 + 20);
	sched(c, &b, T0 + 200);
	/* Later: not at the old deadline. Earlier: at the new one. */
	sched(c, &a, T0 + 150);
	sched(c, &b, T0 + 30);
	assert_int_equal(gw_wheel_count(c->w), 2); /* rescheduling does not add */
	assert_int_equal(advance(c, T0 + 29), 0);
	assert_int_equal(advance(c, T0 + 30), 1);
	assert_int_equal(b.fired, 1);
	assert_int_equal(advance(c, T0 + 149), 0);
	assert_int_equal(advance(c, T0 + 150), 1);
	assert_int_equal(a.fired, 1);
	assert_int_equal(gw_wheel_count(c->w), 0);
	/* A fired timer can be scheduled again. */
	sched(c, &a, T0 + 160);
	assert_int_equal(gw_wheel_count(c->w), 1);
	assert_int_equal(advance(c, T0 + 160), 1);
	assert_int_equal(a.fired, 2);
	/* Rescheduling into the same slot, many times, keeps one entry. */
	sched(c, &a, T0 + 500);
	sched(c, &a, T0 + 500);
	sched(c, &a, T0 + 500 + TURN);
	sched(c, &a, T0 + 500);
	assert_int_equal(gw_wheel_count(c->w), 1);
	assert_int_equal(advance(c, T0 + 600), 1);
	assert_int_equal(a.fired, 3);
}

static void test_cancel(void **state)
{
	ctx_t *c = *state;
	tmr_t a, b, idle;

	tmr_init(&a);
	tmr_init(&b);
	tmr_init(&idle);
	sched(c, &a, T0 + 20);
	sched(c, &b, T0 + 20);
	gw_wheel_cancel(c->w, &a.t);
	assert_false(gw_timer_pending(&a.t));
	assert_int_equal(gw_wheel_count(c->w), 1);
	gw_wheel_cancel(c->w, &a.t); /* twice: a no-op */
	gw_wheel_cancel(c->w, &idle.t); /* never scheduled: a no-op */
	assert_int_equal(gw_wheel_count(c->w), 1);
	assert_int_equal(advance(c, T0 + 100), 1);
	assert_int_equal(a.fired, 0);
	assert_int_equal(b.fired, 1);
	gw_wheel_cancel(c->w, &b.t); /* after firing: a no-op */
	assert_int_equal(gw_wheel_count(c->w), 0);
}

/* --- callbacks that change the wheel -------------------------------------- */

static void act_cancel_other(tmr_t *t, void *ctx)
{
	ctx_t *c = ctx;

	gw_wheel_cancel(c->w, &t->other->t);
}

/*
 * Two timers due in the same advance, each cancelling the other: whichever
 * fires first wins and the other must not fire. Also across ticks, and a
 * cancel of a timer in a later slot.
 */
static void test_cancel_inside_callback(void **state)
{
	ctx_t *c = *state;
	tmr_t a, b, x, y, late;

	tmr_init(&a);
	tmr_init(&b);
	a.action = b.action = act_cancel_other;
	a.other = &b;
	b.other = &a;
	sched(c, &a, T0 + 20);
	sched(c, &b, T0 + 20);
	assert_int_equal(advance(c, T0 + 20), 1);
	assert_int_equal(a.fired + b.fired, 1);
	assert_int_equal(gw_wheel_count(c->w), 0);

	/* Different ticks, one advance: the first (by tick) cancels the second. */
	tmr_init(&x);
	tmr_init(&y);
	tmr_init(&late);
	x.action = y.action = act_cancel_other;
	x.other = &y;
	y.other = &late;
	sched(c, &x, T0 + 30);
	sched(c, &y, T0 + 50);
	sched(c, &late, T0 + 5 * TURN);
	assert_int_equal(advance(c, T0 + 60), 1);
	assert_int_equal(x.fired + y.fired, 1);
	assert_int_equal(gw_wheel_count(c->w), x.fired ? 1 : 0);
	/* `late` was cancelled only if y ran. */
	assert_int_equal(advance(c, T0 + 10 * TURN), y.fired ? 0 : 1);
	assert_int_equal(late.fired, y.fired ? 0 : 1);
	assert_int_equal(gw_wheel_count(c->w), 0);
}

static void act_resched_self_now(tmr_t *t, void *ctx)
{
	ctx_t *c = ctx;

	t->deadline = c->now;
	gw_wheel_schedule(c->w, &t->t, c->now); /* already due */
}

/*
 * A callback that reschedules its own timer for "now" fires once per
 * advance, however many ticks that advance covers.
 */
static void test_self_reschedule_once_per_advance(void **state)
{
	ctx_t *c = *state;
	tmr_t t;
	int i;

	tmr_init(&t);
	t.action = act_resched_self_now;
	sched(c, &t, T0 + TICK);
	for (i = 1; i <= 20; i++) {
		/* Steps of one tick, of several turns, of a few ms. */
		uint64_t step = i % 3 == 0 ? 3 * TURN : i % 3 == 1 ? TICK : 3;

		assert_true(advance(c, c->now + step) <= 1);
		assert_int_equal(gw_wheel_count(c->w), 1);
	}
	assert_true(t.fired >= 13); /* every advance that crossed a tick */
	assert_true(t.fired <= 20);
	gw_wheel_cancel(c->w, &t.t);
	assert_int_equal(gw_wheel_count(c->w), 0);
}

static void act_resched_other_later(tmr_t *t, void *ctx)
{
	ctx_t *c = ctx;

	t->other->deadline = c->now + 2 * TURN;
	gw_wheel_schedule(c->w, &t->other->t, t->other->deadline);
}

/* A callback pushing back another timer due in the same advance saves it. */
static void test_reschedule_other_inside_callback(void **state)
{
	ctx_t *c = *state;
	tmr_t a, b;

	tmr_init(&a);
	tmr_init(&b);
	a.action = b.action = act_resched_other_later;
	a.other = &b;
	b.other = &a;
	sched(c, &a, T0 + 20);
	sched(c, &b, T0 + 20);
	assert_int_equal(advance(c, T0 + 20), 1);
	assert_int_equal(gw_wheel_count(c->w), 1);
	{
		tmr_t *saved = a.fired ? &b : &a;

		assert_int_equal(saved->fired, 0);
		assert_int_equal(advance(c, T0 + 20 + 2 * TURN - 1), 0);
		assert_int_equal(advance(c, T0 + 20 + 2 * TURN), 1);
		assert_int_equal(saved->fired, 1);
	}
}

static void act_free_self(tmr_t *t, void *ctx)
{
	(void)ctx;
	free(t);
}

/* A callback may free the fired timer (ASan would catch a later touch). */
static void test_free_inside_callback(void **state)
{
	ctx_t *c = *state;
	int i;

	for (i = 0; i < 10; i++) {
		tmr_t *t = malloc(sizeof(*t));

		assert_non_null(t);
		tmr_init(t);
		t->action = act_free_self;
		sched(c, t, T0 + 20 + (uint64_t)(i % 3));
	}
	assert_int_equal(advance(c, T0 + 30), 10);
	assert_int_equal(gw_wheel_count(c->w), 0);
}

static void act_schedule_new(tmr_t *t, void *ctx)
{
	ctx_t *c = ctx;

	t->other->deadline = c->now - 5;
	gw_wheel_schedule(c->w, &t->other->t, t->other->deadline);
}

/* A timer scheduled from a callback with a past deadline fires next tick. */
static void test_schedule_past_inside_callback(void **state)
{
	ctx_t *c = *state;
	tmr_t a, b;

	tmr_init(&a);
	tmr_init(&b);
	a.action = act_schedule_new;
	a.other = &b;
	sched(c, &a, T0 + 20);
	assert_int_equal(advance(c, T0 + 20), 1);
	assert_int_equal(b.fired, 0);
	assert_int_equal(gw_wheel_count(c->w), 1);
	assert_int_equal(advance(c, T0 + 30), 1);
	assert_int_equal(b.fired, 1);
	assert_int_equal(gw_wheel_count(c->w), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_args),
		cmocka_unit_test(test_create_alloc_failure),
		cmocka_unit_test(test_timer_init),
		cmocka_unit_test_setup_teardown(test_fires_at_deadline_not_before, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fires_exactly_on_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_past_deadline_fires_next_tick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_far_future_never_fires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_beyond_full_turn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole_turn_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_stall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stall_turn_edges, setup, teardown),
		cmocka_unit_test(test_huge_stall_is_cheap),
		cmocka_unit_test_setup_teardown(test_many_timers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_now_backwards, setup, teardown),
		cmocka_unit_test(test_unaligned_start),
		cmocka_unit_test_setup_teardown(test_reschedule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_inside_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_reschedule_once_per_advance, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reschedule_other_inside_callback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_free_inside_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schedule_past_inside_callback, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
