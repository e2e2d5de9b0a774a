/*
 * gwbench_ctl.c — the parent's side of the workers: fork them with a
 * command pipe and a message pipe each, send phase commands, read their
 * counters and reports, sample CPU and RSS, and print a progress line to
 * stderr every 2 s while any phase waits. Everything here runs in the
 * parent; a worker that dies or reports a fatal error ends the run.
 */
#include "gwbench.h"
#include "gw_common.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROGRESS_NS 2000000000ull

/* --- the run ------------------------------------------------------------------------- */

void gwb_cpu_snap(gwb_bench_t *b, gwb_cpu_snap_t *s)
{
	int i;

	s->t = gwb_now_ns();
	s->gw_sum = 0;
	for (i = 0; i < b->o.npids; i++) {
		s->gw[i] = gwb_cpu_ticks(b->o.pids[i]);
		if (s->gw[i] > 0)
			s->gw_sum += s->gw[i];
	}
	gwb_machine_snap(s);
	s->client = 0;
	for (i = 0; i < b->o.workers; i++) {
		long long t = gwb_cpu_ticks(b->w[i].pid);

		if (t > 0)
			s->client += t;
	}
}

/* CPU % (100 = one core) between two snapshots; pid < 0: all gateways. */
double gwb_cpu_pct(const gwb_cpu_snap_t *a, const gwb_cpu_snap_t *z, int pid, int client)
{
	double secs = (double)(z->t - a->t) / 1e9, ticks;

	if (secs <= 0)
		return 0;
	ticks = client ? (double)(z->client - a->client)
		       : pid < 0 ? (double)(z->gw_sum - a->gw_sum)
				 : (double)(z->gw[pid] - a->gw[pid]);
	return 100.0 * ticks / (double)sysconf(_SC_CLK_TCK) / secs;
}

long gwb_rss_sum(const gwb_bench_t *b)
{
	long s = 0, v;
	int i;

	for (i = 0; i < b->o.npids; i++)
		if ((v = gwb_rss_kib(b->o.pids[i])) > 0)
			s += v;
	return s;
}

void gwb_sum_counters(gwb_bench_t *b)
{
	uint64_t *dst = (uint64_t *)&b->sum;
	size_t n = sizeof(gwb_counters_t) / sizeof(uint64_t), k;
	int i;

	memset(&b->sum, 0, sizeof(b->sum));
	for (i = 0; i < b->o.workers; i++) {
		const uint64_t *src = (const uint64_t *)&b->w[i].c;

		for (k = 0; k < n; k++)
			dst[k] += src[k];
	}
	b->sum.t_first_ns = UINT64_MAX;
	b->sum.t_last_welcome_ns = 0;
	for (i = 0; i < b->o.workers; i++) {
		const gwb_counters_t *c = &b->w[i].c;

		if (c->t_first_ns && c->t_first_ns < b->sum.t_first_ns)
			b->sum.t_first_ns = c->t_first_ns;
		if (c->t_last_welcome_ns > b->sum.t_last_welcome_ns)
			b->sum.t_last_welcome_ns = c->t_last_welcome_ns;
	}
	if (b->sum.t_first_ns == UINT64_MAX)
		b->sum.t_first_ns = 0;
}

uint64_t gwb_failed(const gwb_counters_t *c)
{
	return c->fail_connect + c->fail_upgrade + c->fail_timeout + c->fail_closed;
}

static void kill_workers(gwb_bench_t *b)
{
	int i;

	for (i = 0; i < b->o.workers; i++)
		if (b->w[i].pid > 0 && !b->w[i].dead)
			kill(b->w[i].pid, SIGKILL);
}

void gwb_fail(gwb_bench_t *b, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gwbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	kill_workers(b);
	exit(1);
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void on_worker_msg(gwb_bench_t *b, int i)
{
	gwb_wk_t *w = &b->w[i];
	gwb_msg_hdr_t h;
	char *body = NULL;

	if (read_full(w->msg_fd, &h, sizeof(h)) != 0) {
		w->dead = 1;
		if (!b->quitting)
			gwb_fail(b, "worker %d exited unexpectedly", i);
		return;
	}
	if (h.len) {
		body = malloc(h.len);
		if (!body || read_full(w->msg_fd, body, h.len) != 0)
			gwb_fail(b, "worker %d: short message", i);
	}
	switch (h.type) {
	case GWB_MSG_STATS:
	case GWB_MSG_READY:
		if (h.len == sizeof(gwb_counters_t))
			memcpy(&w->c, body, sizeof(w->c));
		if (h.type == GWB_MSG_READY)
			w->ready = 1;
		break;
	case GWB_MSG_REPORT:
		if (h.len < sizeof(gwb_report_t))
			gwb_fail(b, "worker %d: short report", i);
		w->rep = malloc(sizeof(gwb_report_t));
		w->lobbies = malloc(h.len - sizeof(gwb_report_t) + 4);
		if (!w->rep || !w->lobbies)
			gwb_fail(b, "out of memory");
		memcpy(w->rep, body, sizeof(gwb_report_t));
		memcpy(w->lobbies, body + sizeof(gwb_report_t), h.len - sizeof(gwb_report_t));
		w->c = w->rep->c;
		break;
	case GWB_MSG_FATAL:
		gwb_fail(b, "worker %d: %s", i, body ? body : "failed");
		break;
	}
	free(body);
}

static void progress(gwb_bench_t *b, uint64_t now)
{
	const gwb_counters_t *s = &b->sum, *l = &b->last_sum;
	double dt = (double)(now - b->last_progress) / 1e9;
	gwb_cpu_snap_t cs;
	char gw[96] = "";

	if (dt <= 0)
		return;
	gwb_cpu_snap(b, &cs);
	if (b->o.npids)
		snprintf(gw, sizeof(gw), " | gw rss %.1f MiB cpu %.0f%%",
			 (double)gwb_rss_sum(b) / 1024.0, gwb_cpu_pct(&b->last_cpu, &cs, -1, 0));
	if (!b->o.quiet)
		fprintf(stderr,
			"[%6.1fs] open %llu connecting %llu failed %llu | conn/s %.0f | "
			"pub/s %.0f deliv/s %.0f%s | client cpu %.0f%%\n",
			(double)(now - b->t_start) / 1e9, (unsigned long long)s->open_now,
			(unsigned long long)s->inflight_now, (unsigned long long)gwb_failed(s),
			(double)(s->opened - l->opened) / dt,
			(double)(s->published - l->published) / dt,
			(double)(s->delivered - l->delivered) / dt, gw,
			gwb_cpu_pct(&b->last_cpu, &cs, -1, 1));
	b->last_sum = *s;
	b->last_cpu = cs;
	b->last_progress = now;
}

/* Handles worker messages for up to `ms_` milliseconds. */
static void pump(gwb_bench_t *b, int ms_)
{
	struct pollfd p[GWB_MAX_WORKERS];
	int i, n = 0, map[GWB_MAX_WORKERS];
	uint64_t now;

	for (i = 0; i < b->o.workers; i++) {
		if (b->w[i].dead)
			continue;
		p[n].fd = b->w[i].msg_fd;
		p[n].events = POLLIN;
		map[n++] = i;
	}
	if (poll(p, (nfds_t)n, ms_) > 0)
		for (i = 0; i < n; i++)
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				on_worker_msg(b, map[i]);
	gwb_sum_counters(b);
	now = gwb_now_ns();
	if (b->ns < GWB_MAX_SAMPLES &&
	    (!b->ns || now - b->s_t[b->ns - 1] >= 500000000ull)) {
		b->s_t[b->ns] = now;
		b->s_opened[b->ns] = b->sum.opened;
		b->s_open[b->ns] = b->sum.open_now;
		b->s_rss[b->ns] = b->o.npids ? gwb_rss_sum(b) : 0;
		b->ns++;
	}
	if (now - b->last_progress >= PROGRESS_NS)
		progress(b, now);
}

/* Pumps until `pred` holds (NULL: never) or `deadline` passes; 1 if it held. */
int gwb_wait_until(gwb_bench_t *b, gwb_pred_t pred, uint64_t deadline)
{
	for (;;) {
		uint64_t now = gwb_now_ns();

		if (pred && pred(b))
			return 1;
		if (now >= deadline)
			return 0;
		pump(b, (int)GW_MIN(100, (deadline - now) / 1000000 + 1));
	}
}

void gwb_sleep(gwb_bench_t *b, double s)
{
	gwb_wait_until(b, NULL, gwb_now_ns() + (uint64_t)(s * 1e9));
}

void gwb_send_all(gwb_bench_t *b, uint32_t op, uint64_t t0, uint64_t t1, uint64_t t2,
		     uint64_t t3)
{
	gwb_cmd_t c = { op, 0, { t0, t1, t2, t3 } };
	int i;

	for (i = 0; i < b->o.workers; i++)
		if (!b->w[i].dead && write(b->w[i].cmd_fd, &c, sizeof(c)) != sizeof(c))
			gwb_fail(b, "cannot command worker %d", i);
}

int gwb_all_ready(gwb_bench_t *b)
{
	int i;

	for (i = 0; i < b->o.workers; i++)
		if (!b->w[i].ready)
			return 0;
	return 1;
}

static int all_reported(gwb_bench_t *b)
{
	int i;

	for (i = 0; i < b->o.workers; i++)
		if (!b->w[i].rep)
			return 0;
	return 1;
}

static int all_dead(gwb_bench_t *b)
{
	int i;

	for (i = 0; i < b->o.workers; i++)
		if (!b->w[i].dead)
			return 0;
	return 1;
}

void gwb_start_workers(gwb_bench_t *b)
{
	int i, j;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < b->o.workers; i++) {
		int cmd[2], msg[2];
		pid_t pid;

		if (pipe(cmd) != 0 || pipe(msg) != 0)
			gwb_fail(b, "pipe: %s", strerror(errno));
		pid = fork();
		if (pid < 0)
			gwb_fail(b, "fork: %s", strerror(errno));
		if (pid == 0) {
			close(cmd[1]);
			close(msg[0]);
			for (j = 0; j < i; j++) {
				close(b->w[j].cmd_fd);
				close(b->w[j].msg_fd);
			}
			_exit(gwb_worker_main(&b->o, i, cmd[0], msg[1]));
		}
		close(cmd[0]);
		close(msg[1]);
		b->w[i].pid = pid;
		b->w[i].cmd_fd = cmd[1];
		b->w[i].msg_fd = msg[0];
	}
}

void gwb_stop_workers(gwb_bench_t *b)
{
	int i, st;

	b->quitting = 1;
	gwb_send_all(b, GWB_CMD_QUIT, 0, 0, 0, 0);
	/* Read until every worker closes its end, so none dies on a write. */
	gwb_wait_until(b, all_dead, gwb_now_ns() + 30000000000ull);
	for (i = 0; i < b->o.workers; i++) {
		close(b->w[i].cmd_fd);
		close(b->w[i].msg_fd);
		if (waitpid(b->w[i].pid, &st, 0) > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			fprintf(stderr, "gwbench: worker %d ended badly (status %d)\n", i, st);
			b->problems++;
		}
	}
}

void gwb_collect_reports(gwb_bench_t *b)
{
	gwb_send_all(b, GWB_CMD_REPORT, 0, 0, 0, 0);
	if (!gwb_wait_until(b, all_reported, gwb_now_ns() + 60000000000ull))
		gwb_fail(b, "workers did not report within 60 s");
	gwb_sum_counters(b);
}

void gwb_merged_hist(const gwb_bench_t *b, int idx, gwb_hist_t *out)
{
	int i;

	gwb_hist_init(out);
	for (i = 0; i < b->o.workers; i++)
		gwb_hist_merge(out, &b->w[i].rep->h[idx]);
}

/* Sum over workers of lobby array `which` (0 open, 1 healthy, 2 published). */
uint64_t gwb_lobby_total(const gwb_bench_t *b, long l, int which)
{
	long nl = gwb_nlobbies(&b->o);
	uint64_t s = 0;
	int i;

	for (i = 0; i < b->o.workers; i++)
		s += b->w[i].lobbies[which * nl + l];
	return s;
}
