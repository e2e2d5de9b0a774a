/*
 * gw_health.c — heartbeats on a timing wheel (see gw_health.h).
 *
 * One libevent timer ticks every GW_HEALTH_TICK_MS and advances the wheel;
 * only the connections due in that tick are touched.
 */
#include "gw_health.h"
#include "gw_alloc.h"
#include "gw_log.h"
#include "gw_protocol.h"

#include <event2/event.h>
#include <libwebsockets.h>
#include <stdlib.h>

#define GW_HEALTH_TICK_MS 100
#define GW_HEALTH_SLOTS 4096 /* 409.6 s per turn: a heartbeat fits in one */

const uint32_t gw_health_rtt_bounds[11] = { 1, 2, 5, 10, 25, 50, 100, 250,
					    500, 1000, 5000 };

struct gw_health {
	gw_node_t *node;
	gw_wheel_t *wheel;
	struct event *tick;
	gw_buf_t *ping;     /* this tick's health_ping, shared by all due */
};

/*
 * Milliseconds until the session's token expires (exp plus the leeway), by
 * the wall clock; <= 0 once it has. gw_auth bounds exp (GW_AUTH_DATE_MAX),
 * so nothing here can overflow today, but the arithmetic saturates anyway:
 * a token is client input, and a wrapped deadline would either close a
 * valid session or re-arm the timer every tick.
 */
static int64_t token_ms_left(const gw_session_t *s)
{
	int64_t at, left;

	if (__builtin_mul_overflow(s->exp, (int64_t)1000, &at) ||
	    __builtin_add_overflow(at, (int64_t)s->node->cfg->jwt_leeway * 1000,
				   &at))
		return s->exp > 0 ? INT64_MAX : INT64_MIN;
	if (__builtin_sub_overflow(at, (int64_t)gw_wall_ms(), &left))
		return at > 0 ? INT64_MAX : INT64_MIN;
	return left;
}

/* The next ping is due an interval after the last; expiry may come first. */
static uint64_t next_deadline(const gw_session_t *s, uint64_t now)
{
	uint64_t next = s->ping_sent_ms +
			(uint64_t)s->node->cfg->heartbeat_interval * 1000;

	if (s->exp) {
		/* exp is wall-clock time; convert the distance to monotonic. */
		int64_t left_ms = token_ms_left(s);
		uint64_t at = now;

		if (left_ms > 0)
			at = (uint64_t)left_ms > UINT64_MAX - now ?
			     UINT64_MAX : now + (uint64_t)left_ms;
		if (at < next)
			next = at;
	}
	return next;
}

static void fire(gw_timer_t *t, void *ud)
{
	gw_health_t *h = ud;
	gw_session_t *s = GW_CONTAINER_OF(t, gw_session_t, timer);
	const gw_config_t *cfg = h->node->cfg;
	uint64_t now = gw_now_ms();

	if (s->state != GW_SS_OPEN)
		return;
	if (s->exp && token_ms_left(s) <= 0) {
		gw_session_close(s, GW_CLOSE_TOKEN_EXPIRED);
		return;
	}
	if (now < s->ping_sent_ms + (uint64_t)cfg->heartbeat_interval * 1000) {
		/* Woken early for the expiry check; keep the ping cadence. */
		gw_wheel_schedule(h->wheel, t, next_deadline(s, now));
		return;
	}
	if (s->misses >= cfg->heartbeat_misses) {
		gw_session_close(s, GW_CLOSE_STALE);
		return;
	}
	s->misses++;
	s->ping_sent_ms = now;
	if (!s->w->answers_pings) {
		/*
		 * Receive-only (SSE): the transport's keep-alive alone; writing
		 * it is the only sign of life there is (the writer resets
		 * misses), and there is no round trip to time.
		 */
		s->want_ping = 1;
		lws_callback_on_writable(s->wsi);
		gw_wheel_schedule(h->wheel, t, next_deadline(s, now));
		return;
	}
	s->ping_out = 1;
	/* Clients that answer health_ping need no protocol ping as well. */
	s->want_ping = !s->speaks_json;
	if (!h->ping)
		h->ping = gw_proto_health_ping(gw_wall_ms());
	if (!h->ping || gw_session_send(s, h->ping) != GW_OK) {
		if (s->state == GW_SS_CLOSING)
			return;
	}
	if (s->want_ping)
		lws_callback_on_writable(s->wsi);
	gw_wheel_schedule(h->wheel, t, next_deadline(s, now));
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_health_t *h = arg;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	gw_wheel_advance(h->wheel, gw_now_ms(), fire, h);
	gw_buf_unref(h->ping);
	h->ping = NULL;
}

gw_health_t *gw_health_create(gw_node_t *node)
{
	struct timeval tv = { 0, GW_HEALTH_TICK_MS * 1000 };
	gw_health_t *h = gw_calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->node = node;
	h->wheel = gw_wheel_create(GW_HEALTH_TICK_MS, GW_HEALTH_SLOTS, gw_now_ms());
	h->tick = event_new(node->base, -1, EV_PERSIST, tick_cb, h);
	if (!h->wheel || !h->tick || event_add(h->tick, &tv)) {
		gw_health_free(h);
		return NULL;
	}
	return h;
}

void gw_health_free(gw_health_t *h)
{
	if (!h)
		return;
	if (h->tick)
		event_free(h->tick);
	gw_wheel_free(h->wheel);
	gw_free(h);
}

void gw_health_start(gw_health_t *h, gw_session_t *s)
{
	uint64_t now = gw_now_ms();
	uint64_t interval_ms = (uint64_t)h->node->cfg->heartbeat_interval * 1000;

	s->misses = 0;
	s->ping_out = 0;
	/*
	 * The baseline: the first ping comes between half an interval and one
	 * interval on, at random, so connections made together (a reconnect
	 * storm) do not all ping in the same tick forever after.
	 */
	s->ping_sent_ms = now - (uint64_t)(random() % (interval_ms / 2 + 1));
	gw_timer_init(&s->timer);
	gw_wheel_schedule(h->wheel, &s->timer, next_deadline(s, now));
}

void gw_health_stop(gw_health_t *h, gw_session_t *s)
{
	gw_wheel_cancel(h->wheel, &s->timer);
}

void gw_health_on_pong(gw_health_t *h, gw_session_t *s)
{
	gw_stats_t *st = &h->node->stats;
	uint64_t rtt;
	size_t i;

	s->misses = 0;
	st->pongs++;
	if (!s->ping_out)
		return;
	s->ping_out = 0;
	rtt = gw_now_ms() - s->ping_sent_ms;
	s->rtt_ms = (uint32_t)rtt;
	st->rtt_sum_ms += rtt;
	st->rtt_count++;
	for (i = 0; i < GW_ARRAY_LEN(gw_health_rtt_bounds); i++)
		if (rtt <= gw_health_rtt_bounds[i])
			break;
	st->rtt_buckets[i]++;
}
