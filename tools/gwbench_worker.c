/*
 * gwbench_worker.c — one load-generating worker process (see
 * gwbench_worker.h for the slots it owns).
 *
 * Everything is driven by one event_base: the parent's command pipe, a 1 ms
 * tick (connect pacing, churn), a precise one-shot publish timer, a stats
 * timer, and one persistent event per connection (gwbench_conn.c).
 *
 * Publishing is open loop: message m of this worker is due at
 * t0 + m * interval and carries that *scheduled* time, so a publisher that
 * falls behind shows up as latency instead of silently slowing down.
 */
#include "gwbench_worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

/* --- messages to the parent -------------------------------------------------- */

void gwb_worker_send_msg(gwb_worker_t *w, uint32_t type, const void *a, size_t alen,
		     const void *b, size_t blen)
{
	gwb_msg_hdr_t hdr = { type, (uint32_t)(alen + blen) };
	struct iovec iov[3] = { { &hdr, sizeof(hdr) }, { (void *)(uintptr_t)a, alen },
				{ (void *)(uintptr_t)b, blen } };
	int i = 0;

	/* The pipe is blocking: a big report may take a few writes. */
	while (i < 3) {
		ssize_t n = writev(w->msg_fd, iov + i, 3 - i);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(3); /* the parent is gone */
		}
		while (i < 3 && (size_t)n >= iov[i].iov_len) {
			n -= (ssize_t)iov[i].iov_len;
			i++;
		}
		if (i < 3) {
			iov[i].iov_base = (char *)iov[i].iov_base + n;
			iov[i].iov_len -= (size_t)n;
		}
	}
}

void gwb_worker_fatal(gwb_worker_t *w, const char *msg)
{
	gwb_worker_send_msg(w, GWB_MSG_FATAL, msg, strlen(msg) + 1, NULL, 0);
	_exit(1);
}

static uint64_t rng_next(gwb_worker_t *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

/* --- pacing: the ramp and churn ------------------------------------------------------ */

static void ramp_pump(gwb_worker_t *w, uint64_t now)
{
	const gwb_opts_t *o = w->o;

	if (w->conn_rate > 0) {
		double burst = w->conn_rate / 100.0; /* 10 ms worth */

		w->tokens += (double)(now - w->tok_last) * 1e-9 * w->conn_rate;
		if (w->tokens > (burst < 1 ? 1 : burst))
			w->tokens = burst < 1 ? 1 : burst;
	} else {
		w->tokens = 1e18;
	}
	w->tok_last = now;
	while (w->next_ramp < w->n && w->tokens >= 1 &&
	       (long)w->c.inflight_now < o->max_inflight) {
		gwb_conn_start(w, &w->conns[w->next_ramp++]);
		w->tokens -= 1;
	}
}

static void leave(gwb_worker_t *w, gwb_conn_t *c, uint64_t now)
{
	static const uint8_t bye[2] = { 1000 >> 8, 1000 & 0xff };

	c->state = CS_CLOSING;
	c->t0 = now;
	w->c.open_now--;
	if (w->c.open_now < w->c.min_open_churn)
		w->c.min_open_churn = w->c.open_now;
	if (gwb_conn_send_frame(w, c, GWB_WS_CLOSE, bye, 2) < 0) {
		gwb_conn_end(w, c, END_LEFT);
		return;
	}
	gwb_conn_watch(w, c, gwb_conn_base_watch(c));
}

static void churn_pump(gwb_worker_t *w, uint64_t now)
{
	while (w->churning) {
		uint64_t t = w->churn_t0 + (uint64_t)((double)w->churn_m * w->churn_interval);
		int tries;

		if (t >= w->churn_end) {
			w->churning = 0;
			break;
		}
		if (t > now)
			break;
		w->churn_m++;
		for (tries = 0; tries < 64; tries++) {
			gwb_conn_t *c = &w->conns[rng_next(w) % (uint64_t)w->n];

			if (c->state == CS_OPEN && !(c->flags & CF_PUB)) {
				leave(w, c, now);
				break;
			}
		}
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	gwb_worker_t *w = arg;
	uint64_t now = gwb_now_ns();

	(void)fd;
	(void)what;
	if (w->ramping)
		ramp_pump(w, now);
	if (w->churning)
		churn_pump(w, now);
	if (w->ramping && w->next_ramp >= w->n && w->c.inflight_now == 0) {
		w->ramping = 0;
		gwb_worker_send_msg(w, GWB_MSG_READY, &w->c, sizeof(w->c), NULL, 0);
	}
	if (!w->ramping && !w->churning)
		event_del(w->tick_ev);
}

static void tick_on(gwb_worker_t *w)
{
	struct timeval tv = { 0, 1000 };

	event_add(w->tick_ev, &tv);
}

/* --- publishing ---------------------------------------------------------------------- */

static void publish_one(gwb_worker_t *w, uint32_t slot, uint64_t ts, uint64_t seq)
{
	gwb_conn_t *c = &w->conns[slot];
	int n;

	if (c->state != CS_OPEN || c->wlen > 65536) {
		w->c.pub_skipped++;
		return;
	}
	n = snprintf(w->msg, sizeof(w->msg),
		     "{\"type\":\"broadcast\",\"data\":{\"ts\":%llu,\"seq\":%llu,"
		     "\"src\":%u,\"pad\":\"%.*s\"}}",
		     (unsigned long long)ts, (unsigned long long)seq, c->target,
		     (int)w->pad_len, w->pad);
	if (gwb_conn_send_frame(w, c, GWB_WS_TEXT, w->msg, (size_t)n) < 0) {
		w->c.pub_skipped++;
		gwb_conn_end(w, c, END_EOF);
		return;
	}
	w->c.published++;
	w->lobby_pub[c->lobby]++;
}

static void arm_ns(struct event *ev, uint64_t ns)
{
	struct timeval tv = { (time_t)(ns / 1000000000ull),
			      (suseconds_t)(ns % 1000000000ull / 1000) };

	event_add(ev, &tv);
}

static void on_publish(evutil_socket_t fd, short what, void *arg)
{
	gwb_worker_t *w = arg;
	uint64_t now = gwb_now_ns();
	int sent = 0;

	(void)fd;
	(void)what;
	while (w->publishing) {
		uint64_t t = w->pub_t0 + (uint64_t)((double)w->pub_m * w->pub_interval);

		if (t >= w->pub_end) {
			w->publishing = 0;
			break;
		}
		if (t > now) {
			arm_ns(w->pub_ev, t - now);
			return;
		}
		publish_one(w, w->pubs[w->pub_m % (uint64_t)w->npubs], t,
			    w->pub_m / (uint64_t)w->npubs + 1);
		w->pub_m++;
		if (++sent >= PUB_BATCH) {
			arm_ns(w->pub_ev, 0); /* let reads in, then go on */
			return;
		}
	}
}

/* The slow phase begins: slow readers stop reading (and answering). */
static void on_slow(evutil_socket_t fd, short what, void *arg)
{
	gwb_worker_t *w = arg;
	long i;

	(void)fd;
	(void)what;
	for (i = 0; i < w->n; i++) {
		gwb_conn_t *c = &w->conns[i];

		if ((c->flags & CF_SLOW) && c->state == CS_OPEN) {
			c->flags |= CF_PAUSED;
			gwb_conn_watch(w, c, gwb_conn_base_watch(c));
			w->c.slow_paused++;
		}
	}
}

static void start_publish(gwb_worker_t *w, const gwb_cmd_t *cmd)
{
	const gwb_opts_t *o = w->o;
	uint64_t now = gwb_now_ns();
	long i;

	memset(w->lobby_healthy, 0, (size_t)w->nlobbies * sizeof(uint32_t));
	for (i = 0; i < w->n; i++) {
		const gwb_conn_t *c = &w->conns[i];

		if (c->state == CS_OPEN && !(c->flags & (CF_PUB | CF_SLOW)))
			w->lobby_healthy[c->lobby]++;
	}
	w->pub_measure = cmd->t[1];
	w->pub_phase1 = cmd->t[2];
	w->pub_end = cmd->t[3];
	if (w->npubs && o->rate > 0) {
		double per_pub = o->rate / (double)o->publishers;

		w->pub_interval = 1e9 / (per_pub * (double)w->npubs);
		/* Workers interleave instead of publishing at the same instants. */
		w->pub_t0 = cmd->t[0] + (uint64_t)(w->pub_interval * w->id / o->workers);
		w->pub_m = 0;
		w->publishing = 1;
		arm_ns(w->pub_ev, w->pub_t0 > now ? w->pub_t0 - now : 0);
	}
	if (cmd->t[2])
		arm_ns(w->slow_ev, cmd->t[2] > now ? cmd->t[2] - now : 0);
}

/* --- control ---------------------------------------------------------------------------- */

static void send_report(gwb_worker_t *w)
{
	size_t nl = (size_t)w->nlobbies, i;
	gwb_report_t *r = calloc(1, sizeof(*r));
	uint32_t *arr = calloc(3 * nl + 1, sizeof(uint32_t));

	if (!r || !arr)
		gwb_worker_fatal(w, "out of memory for the report");
	r->c = w->c;
	memcpy(r->h, w->h, sizeof(w->h));
	r->nlobbies = (uint32_t)nl;
	for (i = 0; i < (size_t)w->n; i++)
		if (w->conns[i].state == CS_OPEN)
			arr[w->conns[i].lobby]++;
	memcpy(arr + nl, w->lobby_healthy, nl * sizeof(uint32_t));
	memcpy(arr + 2 * nl, w->lobby_pub, nl * sizeof(uint32_t));
	gwb_worker_send_msg(w, GWB_MSG_REPORT, r, sizeof(*r), arr, 3 * nl * sizeof(uint32_t));
	free(r);
	free(arr);
}

static void quit(gwb_worker_t *w)
{
	long i;

	w->quit = 1;
	w->publishing = w->churning = w->ramping = 0;
	for (i = 0; i < w->n; i++)
		gwb_conn_end(w, &w->conns[i], END_QUIT);
	event_base_loopbreak(w->base);
}

static void on_cmd(evutil_socket_t fd, short what, void *arg)
{
	gwb_worker_t *w = arg;
	gwb_cmd_t cmd;
	ssize_t n = read(fd, &cmd, sizeof(cmd));
	long i;

	(void)what;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != (ssize_t)sizeof(cmd)) {
		quit(w); /* the parent went away */
		return;
	}
	switch (cmd.op) {
	case GWB_CMD_RAMP:
		w->ramping = 1;
		w->tok_last = gwb_now_ns();
		w->tokens = 1;
		tick_on(w);
		break;
	case GWB_CMD_PUBLISH:
		start_publish(w, &cmd);
		break;
	case GWB_CMD_CHURN:
		w->churn_t0 = cmd.t[0];
		w->churn_end = cmd.t[3];
		w->churn_m = 0;
		w->churn_interval = 1e9 * w->o->workers / w->o->churn_rate;
		w->churn_t0 += (uint64_t)(w->churn_interval * w->id / w->o->workers);
		w->churning = w->rejoin = 1;
		w->c.min_open_churn = w->c.open_now;
		tick_on(w);
		break;
	case GWB_CMD_RESUME:
		for (i = 0; i < w->n; i++) {
			gwb_conn_t *c = &w->conns[i];

			if (c->flags & CF_PAUSED) {
				c->flags &= (uint8_t)~CF_PAUSED;
				if (c->state != CS_DONE)
					gwb_conn_watch(w, c, gwb_conn_base_watch(c));
			}
		}
		break;
	case GWB_CMD_REPORT:
		send_report(w);
		break;
	case GWB_CMD_QUIT:
		quit(w);
		break;
	}
}

static void on_stats(evutil_socket_t fd, short what, void *arg)
{
	gwb_worker_t *w = arg;

	(void)fd;
	(void)what;
	gwb_worker_send_msg(w, GWB_MSG_STATS, &w->c, sizeof(w->c), NULL, 0);
}

/* --- set-up ------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void setup_slots(gwb_worker_t *w)
{
	const gwb_opts_t *o = w->o;
	int pubs = o->scenario == GWB_SC_FANOUT || o->scenario == GWB_SC_SLOW;
	long i;

	for (i = 0; i < w->n; i++) {
		gwb_conn_t *c = &w->conns[i];
		long gi = i * o->workers + w->id;

		c->fd = -1;
		c->lobby = (uint32_t)gwb_lobby_of(o, gi);
		c->target = (uint8_t)(gi % o->ntargets);
		c->source = o->nsources ? (uint8_t)((gi / o->ntargets) % o->nsources) : 0;
		if (pubs && gwb_rank_in_lobby(o, gi) < o->publishers) {
			c->flags |= CF_PUB;
			w->pubs[w->npubs++] = (uint32_t)i;
		} else if (o->scenario == GWB_SC_SLOW &&
			   (double)(mix64((uint64_t)gi ^ o->seed) % 1000000) <
				   o->slow_fraction * 1e6) {
			c->flags |= CF_SLOW;
		}
	}
}

static void setup_pad(gwb_worker_t *w)
{
	char probe[256];
	int fixed = snprintf(probe, sizeof(probe),
			     "{\"ts\":%llu,\"seq\":%d,\"src\":0,\"pad\":\"\"}",
			     (unsigned long long)gwb_now_ns(), 1000);

	w->pad_len = w->o->payload > fixed ? w->o->payload - fixed : 0;
	w->pad = malloc((size_t)w->pad_len + 1);
	if (!w->pad)
		gwb_worker_fatal(w, "out of memory");
	memset(w->pad, 'x', (size_t)w->pad_len);
	w->pad[w->pad_len] = '\0';
}

int gwb_worker_main(const gwb_opts_t *o, int id, int cmd_fd, int msg_fd)
{
	gwb_worker_t *w = calloc(1, sizeof(*w));
	struct event_config *cfg;
	struct rlimit rl;
	struct timeval hs, cl = { CLOSE_TIMEOUT_S, 0 }, half = { 0, 500000 };
	long need, i;

	if (!w)
		return 1;
	gwb_the_worker = w;
	w->o = o;
	w->id = id;
	w->cmd_fd = cmd_fd;
	w->msg_fd = msg_fd;
	signal(SIGPIPE, SIG_IGN);
	w->n = (o->conns - id + o->workers - 1) / o->workers;
	need = w->n + 32;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)need) {
			char m[160];

			snprintf(m, sizeof(m), "worker %d needs %ld fds, the limit is %llu",
				 id, need, (unsigned long long)rl.rlim_cur);
			gwb_worker_fatal(w, m);
		}
	}
	w->nlobbies = gwb_nlobbies(o);
	w->conns = calloc((size_t)w->n + 1, sizeof(gwb_conn_t));
	w->pubs = calloc((size_t)w->n + 1, sizeof(uint32_t));
	w->lobby_pub = calloc((size_t)w->nlobbies + 1, sizeof(uint32_t));
	w->lobby_healthy = calloc((size_t)w->nlobbies + 1, sizeof(uint32_t));
	w->rx = malloc(RX_SHARED);
	w->auth = gw_auth_create(o->secret, strlen(o->secret), 0);
	if (!w->conns || !w->pubs || !w->lobby_pub || !w->lobby_healthy || !w->rx)
		gwb_worker_fatal(w, "out of memory");
	if (!w->auth)
		gwb_worker_fatal(w, "the JWT secret is refused (at least 32 bytes)");
	for (i = 0; i < GWB_H__COUNT; i++)
		gwb_hist_init(&w->h[i]);
	gwb_ws_accept_for(GWB_WS_KEY, w->accept);
	w->rng = mix64(o->seed ^ (uint64_t)(id + 1));
	w->mask_state = (uint32_t)w->rng | 1;
	w->conn_rate = o->connect_rate / o->workers;
	setup_slots(w);
	setup_pad(w);

	cfg = event_config_new();
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!w->base)
		gwb_worker_fatal(w, "cannot create an event base");
	hs.tv_sec = (time_t)o->handshake_timeout;
	hs.tv_usec = (suseconds_t)((o->handshake_timeout - (double)hs.tv_sec) * 1e6);
	w->hs_tv = event_base_init_common_timeout(w->base, &hs);
	w->close_tv = event_base_init_common_timeout(w->base, &cl);
	w->cmd_ev = event_new(w->base, cmd_fd, EV_READ | EV_PERSIST, on_cmd, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, on_tick, w);
	w->stats_ev = event_new(w->base, -1, EV_PERSIST, on_stats, w);
	w->pub_ev = event_new(w->base, -1, 0, on_publish, w);
	w->slow_ev = event_new(w->base, -1, 0, on_slow, w);
	if (!w->cmd_ev || !w->tick_ev || !w->stats_ev || !w->pub_ev || !w->slow_ev)
		gwb_worker_fatal(w, "cannot create events");
	event_add(w->cmd_ev, NULL);
	event_add(w->stats_ev, &half);

	event_base_dispatch(w->base);

	on_stats(-1, 0, w);
	event_free(w->cmd_ev);
	event_free(w->tick_ev);
	event_free(w->stats_ev);
	event_free(w->pub_ev);
	event_free(w->slow_ev);
	event_base_free(w->base);
	gw_auth_free(w->auth);
	free(w->conns);
	free(w->pubs);
	free(w->lobby_pub);
	free(w->lobby_healthy);
	free(w->rx);
	free(w->pad);
	free(w);
	return 0;
}
