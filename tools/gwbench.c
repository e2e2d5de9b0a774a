/*
 * gwbench — load generator for the gateway (docs/benchmarks.md).
 *
 *   gwbench SCENARIO [options]      SCENARIO: idle connect fanout churn slow
 *
 * The parent process parses the options (gwbench_opts.c), prints them,
 * forks --workers worker processes (gwbench_worker.c; each holds up to
 * ~20k connections, the per-process fd cap on the machines this was written
 * for) and drives them (gwbench_ctl.c) through the scenario's phases, which
 * live here; it samples the gateway processes named by --pid, the machine
 * and Redis (gwbench_probe.c), then merges the workers' counters and
 * histograms into one report (gwbench_report.c): a table, or JSON with
 * --json. Progress lines go to stderr every 2 s.
 *
 * The exit status is 0 when the run completed and every connection that
 * was supposed to open did; 1 when something fell short (a worker died, the
 * ramp did not finish, nothing was delivered in a fan-out, presence in
 * Redis was wrong); 2 for bad usage.
 */
#include "gwbench.h"
#include "gw_keys.h"
#include "gw_common.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- scenario helpers -------------------------------------------------------------- */

static void ramp(gwb_bench_t *b)
{
	uint64_t t0 = gwb_now_ns();
	int ok;

	gwb_send_all(b, GWB_CMD_RAMP, 0, 0, 0, 0);
	ok = gwb_wait_until(b, gwb_all_ready, t0 + (uint64_t)(b->o.ramp_timeout * 1e9));
	gwb_sum_counters(b);
	gwb_section("Connections");
	gwb_put(gwb_jresults, "requested", json_integer(b->o.conns), "requested", "%ld", b->o.conns);
	gwb_put(gwb_jresults, "open", json_integer((json_int_t)b->sum.open_now), "open after ramp",
	    "%llu", (unsigned long long)b->sum.open_now);
	gwb_put(gwb_jresults, "ramp_s", json_real((double)(gwb_now_ns() - t0) / 1e9), "ramp time",
	    "%.2f s%s", (double)(gwb_now_ns() - t0) / 1e9, ok ? "" : " (timed out)");
	if (!ok || b->sum.open_now < (uint64_t)b->o.conns)
		b->problems++;
}

static void report_failures(gwb_bench_t *b)
{
	const gwb_counters_t *s = &b->sum;
	json_t *codes = json_object();
	char txt[200] = "";
	size_t off = 0;
	int i;

	gwb_put(gwb_jresults, "failed_connect", json_integer((json_int_t)s->fail_connect), NULL, NULL);
	gwb_put(gwb_jresults, "failed_out_of_ports", json_integer((json_int_t)s->fail_addr), NULL, NULL);
	gwb_put(gwb_jresults, "failed_upgrade", json_integer((json_int_t)s->fail_upgrade), NULL, NULL);
	gwb_put(gwb_jresults, "failed_timeout", json_integer((json_int_t)s->fail_timeout), NULL, NULL);
	gwb_put(gwb_jresults, "failed_refused", json_integer((json_int_t)s->fail_closed), "failed handshakes",
	    "%llu  (tcp %llu of which out-of-ports %llu, upgrade %llu, timeout %llu, "
	    "refused by close %llu)", (unsigned long long)gwb_failed(s),
	    (unsigned long long)s->fail_connect, (unsigned long long)s->fail_addr,
	    (unsigned long long)s->fail_upgrade, (unsigned long long)s->fail_timeout,
	    (unsigned long long)s->fail_closed);
	gwb_put(gwb_jresults, "server_closed", json_integer((json_int_t)s->server_closed),
	    "closed by the server", "%llu", (unsigned long long)s->server_closed);
	for (i = 0; i < GWB_CLOSE_SLOTS; i++) {
		char k[16];

		if (!s->closes[i])
			continue;
		snprintf(k, sizeof(k), "%u", gwb_close_code_at(i));
		json_object_set_new(codes, k, json_integer((json_int_t)s->closes[i]));
		if (off < sizeof(txt) - 32)
			off += (size_t)snprintf(txt + off, sizeof(txt) - off, "%s%s:%llu",
						off ? " " : "", k,
						(unsigned long long)s->closes[i]);
	}
	gwb_put(gwb_jresults, "close_codes", codes, "close codes received", "%s", off ? txt : "none");
}

/* The busiest commands between two snapshots, as "name n/s, ...". */
static void put_cmd_rates(const gwb_cmdstats_t *a, const gwb_cmdstats_t *z, double secs)
{
	json_t *j = json_object();
	char txt[200] = "";
	size_t off = 0;
	int i, k, used[GWB_MAX_CMDS] = { 0 };

	for (k = 0; k < 5; k++) {
		int best = -1;
		long long bd = 0;

		for (i = 0; i < z->n; i++) {
			long long d = z->calls[i];
			int m;

			for (m = 0; m < a->n; m++)
				if (strcmp(a->name[m], z->name[i]) == 0)
					d -= a->calls[m];
			if (!used[i] && d > bd) {
				bd = d;
				best = i;
			}
		}
		if (best < 0)
			break;
		used[best] = 1;
		json_object_set_new(j, z->name[best], json_real((double)bd / secs));
		if (off < sizeof(txt) - 40)
			off += (size_t)snprintf(txt + off, sizeof(txt) - off, "%s%s %.0f/s",
						off ? ", " : "", z->name[best], (double)bd / secs);
	}
	gwb_put(gwb_jresults, "redis_top_commands", j, "busiest commands", "%s", off ? txt : "none");
}

/*
 * Compares Redis presence with what the clients hold: {P}:total and the
 * HLEN of every lobby. Returns the number of mismatching lobbies (-1 when
 * Redis could not be asked).
 */
static long presence_check(gwb_bench_t *b, redisContext *r, long long *total_out,
			   uint64_t *held_out)
{
	const gwb_opts_t *o = &b->o;
	long nl = gwb_nlobbies(o), l, bad = 0;
	uint64_t held = 0;
	redisReply *rep;
	gw_keys_t k;
	char key[GW_KEY_MAX], name[GW_KEY_MAX];

	if (gw_keys_init(&k, o->redis_prefix) != GW_OK)
		return -1;
	gw_key_total(&k, key);
	rep = redisCommand(r, "GET %s", key);
	*total_out = rep && rep->type == REDIS_REPLY_STRING ? strtoll(rep->str, NULL, 10) : -1;
	if (rep)
		freeReplyObject(rep);
	for (l = 0; l < nl; l++) {
		int len = snprintf(name, sizeof(name), "%s%ld", o->lobby_prefix, l);

		gw_key_lobby(&k, name, (size_t)len, key);
		redisAppendCommand(r, "HLEN %s", key);
	}
	for (l = 0; l < nl; l++) {
		uint64_t want = gwb_lobby_total(b, l, 0);

		held += want;
		if (redisGetReply(r, (void **)&rep) != REDIS_OK)
			return -1;
		if (rep->type != REDIS_REPLY_INTEGER || (uint64_t)rep->integer != want)
			bad++;
		freeReplyObject(rep);
	}
	*held_out = held;
	return bad;
}

static json_int_t stat_int(json_t *j, const char *k)
{
	return json_integer_value(json_object_get(j, k));
}

/* --- scenarios ------------------------------------------------------------------------------ */

static void put_gw_cpu(gwb_bench_t *b, const gwb_cpu_snap_t *a, const gwb_cpu_snap_t *z, const char *what)
{
	json_t *per = json_array();
	char txt[160] = "";
	size_t off = 0;
	int i;

	if (!b->o.npids)
		return;
	for (i = 0; i < b->o.npids; i++) {
		double p = gwb_cpu_pct(a, z, i, 0);

		json_array_append_new(per, json_real(p));
		if (off < sizeof(txt) - 24)
			off += (size_t)snprintf(txt + off, sizeof(txt) - off, "%s%.1f",
						i ? " + " : "", p);
	}
	gwb_put(gwb_jresults, "gateway_cpu_pct_each", per, NULL, NULL);
	gwb_put(gwb_jresults, "gateway_cpu_pct", json_real(gwb_cpu_pct(a, z, -1, 0)), "gateway CPU",
	    "%.1f%% of one core %s (%s)", gwb_cpu_pct(a, z, -1, 0), what, txt);
}

static void put_client_cpu(const gwb_cpu_snap_t *a, const gwb_cpu_snap_t *z)
{
	json_t *m = json_array();
	char txt[200] = "";
	size_t off = 0;
	int i;

	for (i = 0; i < a->ncpu && i < z->ncpu; i++) {
		double tot = (double)(z->total[i] - a->total[i]);
		double busy = tot > 0 ? 100.0 * (double)(z->busy[i] - a->busy[i]) / tot : 0;
		double si = tot > 0 ? 100.0 * (double)(z->softirq[i] - a->softirq[i]) / tot : 0;

		json_array_append_new(m, json_pack("{s:f,s:f}", "busy_pct", busy, "softirq_pct", si));
		if (off < sizeof(txt) - 40)
			off += (size_t)snprintf(txt + off, sizeof(txt) - off,
						"%scpu%d %.0f%% (softirq %.0f%%)", i ? ", " : "", i,
						busy, si);
	}
	gwb_put(gwb_jresults, "machine_cpu", m, "machine CPU busy", "%s", txt);
	gwb_put(gwb_jresults, "client_cpu_pct", json_real(gwb_cpu_pct(a, z, -1, 1)), "gwbench CPU",
	    "%.1f%% of one core (all workers)", gwb_cpu_pct(a, z, -1, 1));
}

static void run_idle(gwb_bench_t *b)
{
	const gwb_opts_t *o = &b->o;
	long rss0 = gwb_rss_sum(b), rss1, rss2;
	long long cmds0 = -1, cmds1 = -1, total = -1;
	gwb_cpu_snap_t a, z;
	redisContext *r = NULL;
	static gwb_cmdstats_t cs0, cs1;
	double win, open;
	uint64_t held = 0;

	ramp(b);
	gwb_sleep(b, o->hold);
	rss1 = gwb_rss_sum(b);
	if (o->redis[0] && !(r = gwb_redis_open(o->redis)))
		fprintf(stderr, "gwbench: cannot reach Redis at %s\n", o->redis);
	if (r) {
		cmds0 = gwb_redis_info(r, "stats", "total_commands_processed");
		gwb_redis_cmdstats(r, &cs0);
	}
	gwb_cpu_snap(b, &a);
	gwb_sleep(b, o->duration);
	gwb_cpu_snap(b, &z);
	if (r) {
		cmds1 = gwb_redis_info(r, "stats", "total_commands_processed");
		gwb_redis_cmdstats(r, &cs1);
	}
	rss2 = gwb_rss_sum(b);
	gwb_collect_reports(b);
	report_failures(b);
	open = (double)b->sum.open_now;
	win = (double)(z.t - a.t) / 1e9;
	if (o->npids) {
		gwb_section("Gateway memory (VmRSS of --pid, summed)");
		gwb_put(gwb_jresults, "rss_before_kib", json_integer(rss0), "RSS before the ramp", "%.1f MiB",
		    (double)rss0 / 1024);
		gwb_put(gwb_jresults, "rss_after_kib", json_integer(rss1), "RSS holding", "%.1f MiB",
		    (double)rss1 / 1024);
		gwb_put(gwb_jresults, "rss_end_kib", json_integer(rss2), "RSS after the idle window",
		    "%.1f MiB", (double)rss2 / 1024);
		gwb_put(gwb_jresults, "rss_per_conn_bytes",
		    json_real(open > 0 ? (double)(rss1 - rss0) * 1024 / open : 0),
		    "RSS per connection", "%.0f bytes (%.2f KiB) = (holding - before) / open",
		    open > 0 ? (double)(rss1 - rss0) * 1024 / open : 0,
		    open > 0 ? (double)(rss1 - rss0) / open : 0);
		gwb_section("Idle CPU");
		put_gw_cpu(b, &a, &z, "while idle");
	} else {
		gwb_section("Idle CPU");
	}
	gwb_put(gwb_jresults, "idle_window_s", json_real(win), "window", "%.1f s (heartbeats included)",
	    win);
	put_client_cpu(&a, &z);
	if (r) {
		long bad;
		double ops = cmds0 >= 0 && cmds1 >= 0 ? (double)(cmds1 - cmds0) / win : -1;

		gwb_section("Redis");
		gwb_put(gwb_jresults, "redis_ops_per_s", json_real(ops), "commands/s while idle", "%.1f",
		    ops);
		gwb_put(gwb_jresults, "redis_ops_per_s_per_10k",
		    json_real(open > 0 && ops >= 0 ? ops * 10000 / open : 0),
		    "commands/s per 10k connections", "%.2f",
		    open > 0 && ops >= 0 ? ops * 10000 / open : 0);
		put_cmd_rates(&cs0, &cs1, win);
		bad = presence_check(b, r, &total, &held);
		gwb_put(gwb_jresults, "redis_total", json_integer(total), "{P}:total", "%lld (clients hold %llu)",
		    total, (unsigned long long)held);
		gwb_put(gwb_jresults, "presence_bad_lobbies", json_integer(bad), "lobbies with wrong HLEN",
		    "%ld of %ld", bad, gwb_nlobbies(o));
		gwb_put(gwb_jresults, "presence_ok", json_boolean(bad == 0 && total == (long long)held),
		    "presence in Redis", "%s", bad == 0 && total == (long long)held ? "correct"
										: "WRONG");
		if (bad != 0 || total != (long long)held)
			b->problems++;
		redisFree(r);
	}
}

/* Connects per second over whole seconds of the ramp (from the samples). */
static void put_window_rates(gwb_bench_t *b, uint64_t from, uint64_t to)
{
	double mn = 1e18, mx = 0, rates[GWB_MAX_SAMPLES];
	int i, j = -1, n = 0;
	json_t *arr = json_array();

	for (i = 0; i < b->ns; i++) {
		if (b->s_t[i] < from || b->s_t[i] > to)
			continue;
		if (j >= 0 && b->s_t[i] - b->s_t[j] >= 1000000000ull) {
			double r = (double)(b->s_opened[i] - b->s_opened[j]) * 1e9 /
				   (double)(b->s_t[i] - b->s_t[j]);

			rates[n++] = r;
			json_array_append_new(arr, json_real(r));
			j = i;
		} else if (j < 0) {
			j = i;
		}
	}
	/* The last window is cut short by the end of the ramp: leave it out of min. */
	for (i = 0; i < n; i++) {
		if (i < n - 1 || n == 1)
			mn = GW_MIN(mn, rates[i]);
		mx = GW_MAX(mx, rates[i]);
	}
	gwb_put(gwb_jresults, "connects_per_s_windows", arr, "per-second windows",
	    n ? "min %.0f  max %.0f  (%d windows)" : "(run too short)", n ? mn : 0, mx, n);
}

static void run_connect(gwb_bench_t *b)
{
	gwb_cpu_snap_t a, z;
	gwb_hist_t h;
	uint64_t t0 = gwb_now_ns();
	double span;

	gwb_cpu_snap(b, &a);
	ramp(b);
	gwb_cpu_snap(b, &z);
	gwb_collect_reports(b);
	report_failures(b);
	gwb_section("Connect storm");
	span = (double)(b->sum.t_last_welcome_ns - b->sum.t_first_ns) / 1e9;
	gwb_put(gwb_jresults, "connects_per_s", json_real(span > 0 ? (double)b->sum.opened / span : 0),
	    "admitted connections/s", "%.0f  (%llu welcomed in %.3f s, first connect() to last welcome)",
	    span > 0 ? (double)b->sum.opened / span : 0, (unsigned long long)b->sum.opened, span);
	put_window_rates(b, t0, gwb_now_ns());
	gwb_merged_hist(b, GWB_H_TCP, &h);
	gwb_put_hist("tcp_connect", "TCP connect", &h);
	gwb_merged_hist(b, GWB_H_UPGRADE, &h);
	gwb_put_hist("upgrade", "to HTTP 101 (JWT checked)", &h);
	gwb_merged_hist(b, GWB_H_WELCOME, &h);
	gwb_put_hist("handshake", "to welcome (admitted)", &h);
	put_gw_cpu(b, &a, &z, "during the storm");
	put_client_cpu(&a, &z);
}

/* No new delivery for a second (call it from a fresh start: settle_since 0). */
static int delivered_settled(gwb_bench_t *b)
{
	uint64_t now = gwb_now_ns();

	if (!b->settle_since || b->sum.delivered != b->settle_last) {
		b->settle_last = b->sum.delivered;
		b->settle_since = now;
	}
	return now - b->settle_since > 1000000000ull;
}

/* Every resumed slow reader found its close, or reading went quiet. */
static int slow_settled(gwb_bench_t *b)
{
	return b->sum.slow_4007 + b->sum.slow_gone >= b->sum.slow_paused ||
	       delivered_settled(b);
}

static void put_lat_phase(gwb_bench_t *b, int ph, const char *key, const char *label)
{
	gwb_hist_t all, loc, rem;
	char k[64], l[64];

	gwb_merged_hist(b, GWB_H_LAT_AT(ph, 0), &loc);
	gwb_merged_hist(b, GWB_H_LAT_AT(ph, 1), &rem);
	all = loc;
	gwb_hist_merge(&all, &rem);
	gwb_put_hist(key, label, &all);
	if (b->o.ntargets > 1) {
		snprintf(k, sizeof(k), "%s_same_node", key);
		snprintf(l, sizeof(l), "  publisher on the same node");
		gwb_put_hist(k, l, &loc);
		snprintf(k, sizeof(k), "%s_other_node", key);
		snprintf(l, sizeof(l), "  publisher on another node");
		gwb_put_hist(k, l, &rem);
		if (loc.count && rem.count) {
			snprintf(k, sizeof(k), "%s_redis_hop_p99_ms", key);
			gwb_put(gwb_jresults, k, json_real(gwb_ms(gwb_hist_pct(&rem, 99)) - gwb_ms(gwb_hist_pct(&loc, 99))),
			    "  other - same node, p99", "%+.3f ms",
			    gwb_ms(gwb_hist_pct(&rem, 99)) - gwb_ms(gwb_hist_pct(&loc, 99)));
			snprintf(k, sizeof(k), "%s_redis_hop_p50_ms", key);
			gwb_put(gwb_jresults, k, json_real(gwb_ms(gwb_hist_pct(&rem, 50)) - gwb_ms(gwb_hist_pct(&loc, 50))),
			    "  other - same node, p50", "%+.3f ms",
			    gwb_ms(gwb_hist_pct(&rem, 50)) - gwb_ms(gwb_hist_pct(&loc, 50)));
		}
	}
}

static void run_fanout(gwb_bench_t *b, int slow)
{
	const gwb_opts_t *o = &b->o;
	uint64_t t0, tm, t1, te, expected = 0, received;
	long nl = gwb_nlobbies(o), l, rss0 = 0, rss_slow = 0, rss_max = 0, rss_end;
	gwb_cpu_snap_t a, z;
	json_t *series = json_array();
	int i;
	double win, dps;

	ramp(b);
	gwb_sleep(b, 1);
	rss0 = gwb_rss_sum(b);
	t0 = gwb_now_ns() + 200000000ull;
	tm = t0 + (uint64_t)(o->warmup * 1e9);
	t1 = slow ? tm + (uint64_t)(o->duration * 1e9) : 0;
	te = (slow ? t1 : tm) + (uint64_t)(o->duration * 1e9);
	gwb_send_all(b, GWB_CMD_PUBLISH, t0, tm, t1, te);
	gwb_wait_until(b, NULL, tm);
	gwb_cpu_snap(b, &a);
	{
		int first = b->ns;

		gwb_wait_until(b, NULL, te);
		gwb_cpu_snap(b, &z);
		for (i = first; i < b->ns; i++) {
			double at = ((double)b->s_t[i] - (double)tm) / 1e9;

			json_array_append_new(series, json_pack("[f,I]", at, (json_int_t)b->s_rss[i]));
			if (slow && b->s_t[i] >= t1 && !rss_slow)
				rss_slow = b->s_rss[i];
			if (slow && b->s_t[i] >= t1)
				rss_max = GW_MAX(rss_max, b->s_rss[i]);
		}
	}
	b->settle_since = 0;
	gwb_wait_until(b, delivered_settled, gwb_now_ns() + (uint64_t)(o->drain * 1e9));
	rss_end = gwb_rss_sum(b);
	if (slow) {
		gwb_send_all(b, GWB_CMD_RESUME, 0, 0, 0, 0);
		b->settle_since = 0;
		gwb_wait_until(b, slow_settled, gwb_now_ns() + 5000000000ull);
	}
	gwb_collect_reports(b);
	report_failures(b);

	for (l = 0; l < nl; l++)
		expected += gwb_lobby_total(b, l, 2) * gwb_lobby_total(b, l, 1);
	received = b->sum.delivered_healthy;
	win = (double)(te - tm) / 1e9;
	gwb_section("Fan-out");
	gwb_put(gwb_jresults, "lobbies", json_integer(nl), "lobbies", "%ld", nl);
	gwb_put(gwb_jresults, "published", json_integer((json_int_t)b->sum.published), "broadcasts published",
	    "%llu  (skipped: publisher not open or backed up: %llu)",
	    (unsigned long long)b->sum.published, (unsigned long long)b->sum.pub_skipped);
	gwb_put(gwb_jresults, "expected", json_integer((json_int_t)expected), "deliveries expected",
	    "%llu  (healthy receivers x broadcasts in their lobby)", (unsigned long long)expected);
	gwb_put(gwb_jresults, "received", json_integer((json_int_t)received), "deliveries received",
	    "%llu", (unsigned long long)received);
	gwb_put(gwb_jresults, "lost", json_integer(expected > received ? (json_int_t)(expected - received) : 0),
	    "lost", "%llu (%.4f%%)", expected > received ? (unsigned long long)(expected - received) : 0ull,
	    expected ? 100.0 * (double)(expected > received ? expected - received : 0) / (double)expected : 0.0);
	gwb_put(gwb_jresults, "gaps", json_integer((json_int_t)b->sum.gaps), "sequence gaps seen", "%llu",
	    (unsigned long long)b->sum.gaps);
	dps = (double)(b->sum.delivered_phase[0] + b->sum.delivered_phase[1]) / win;
	gwb_put(gwb_jresults, "deliveries_per_s", json_real(dps), "deliveries/s (measured window)",
	    "%.0f  (target rate %.0f)", dps,
	    o->rate * (double)(o->conns - (long)nl * o->publishers) );
	if (o->npids) {
		double cores = gwb_cpu_pct(&a, &z, -1, 0) / 100.0;

		gwb_put(gwb_jresults, "deliveries_per_gateway_core_s", json_real(cores > 0 ? dps / cores : 0),
		    "deliveries per gateway CPU-second", "%.0f", cores > 0 ? dps / cores : 0);
	}
	put_gw_cpu(b, &a, &z, "in the window");
	put_client_cpu(&a, &z);
	gwb_section(slow ? "Latency, healthy receivers (publish -> receive)"
		     : "Latency (publish -> receive)");
	put_lat_phase(b, 0, "latency", slow ? "all reading" : "window");
	if (slow)
		put_lat_phase(b, 1, "latency_slow_phase", "with slow readers stopped");
	if (slow) {
		json_t *st = json_array();
		json_int_t sc = 0, dropped = 0;

		for (i = 0; i < o->ntargets; i++) {
			json_t *j = gwb_fetch_stats(&o->targets[i]);

			if (j) {
				sc += stat_int(j, "slow_consumer_closes");
				dropped += stat_int(j, "dropped");
				json_array_append(st, j);
				json_decref(j);
			}
		}
		gwb_section("Slow readers");
		gwb_put(gwb_jresults, "slow_readers", json_integer((json_int_t)b->sum.slow_paused),
		    "stopped reading", "%llu", (unsigned long long)b->sum.slow_paused);
		/*
		 * A reader whose socket buffer is full cannot receive the close
		 * frame the gateway queues: once it reads again it usually finds
		 * only EOF. The gateway's own counter is the reliable figure.
		 */
		gwb_put(gwb_jresults, "slow_closed_other", json_integer((json_int_t)b->sum.slow_gone),
			NULL, NULL);
		gwb_put(gwb_jresults, "slow_closed_4007", json_integer((json_int_t)b->sum.slow_4007),
		    "found a 4007 close", "%llu  (closed without one: %llu)",
		    (unsigned long long)b->sum.slow_4007, (unsigned long long)b->sum.slow_gone);
		gwb_put(gwb_jresults, "server_slow_consumer_closes", json_integer(sc),
		    "gateway slow_consumer_closes", "%lld  (frames dropped: %lld)", (long long)sc,
		    (long long)dropped);
		gwb_put(gwb_jresults, "gateway_stats", st, NULL, NULL);
	}
	if (o->npids) {
		gwb_section("Gateway memory (VmRSS of --pid, summed)");
		gwb_put(gwb_jresults, "rss_start_kib", json_integer(rss0), "before publishing", "%.1f MiB",
		    (double)rss0 / 1024);
		if (slow) {
			gwb_put(gwb_jresults, "rss_slow_start_kib", json_integer(rss_slow), "when readers stopped",
			    "%.1f MiB", (double)rss_slow / 1024);
			gwb_put(gwb_jresults, "rss_slow_max_kib", json_integer(rss_max), "max while stopped",
			    "%.1f MiB", (double)rss_max / 1024);
		}
		gwb_put(gwb_jresults, "rss_end_kib", json_integer(rss_end), "after the window", "%.1f MiB",
		    (double)rss_end / 1024);
		gwb_put(gwb_jresults, "rss_series", series, NULL, NULL);
		if (slow) {
			char txt[200] = "", label[48];
			size_t off = 0, k, n = json_array_size(series);
			size_t step = n > 64 ? (n + 15) / 16 : 4; /* samples are 0.5 s apart */

			for (k = 0; k < n && off < sizeof(txt) - 12; k += step)
				off += (size_t)snprintf(txt + off, sizeof(txt) - off, "%.1f ",
							(double)json_integer_value(json_array_get(
								json_array_get(series, k), 1)) / 1024);
			snprintf(label, sizeof(label), "MiB every %.1f s", (double)step / 2);
			gwb_add_row(label, txt);
		}
	} else {
		json_decref(series);
	}
	if (!received)
		b->problems++;
}

static void run_churn(gwb_bench_t *b)
{
	const gwb_opts_t *o = &b->o;
	gwb_cpu_snap_t a, z;
	gwb_hist_t h;
	uint64_t t0, te, mn = UINT64_MAX, mx = 0, joins0, leaves0;
	long rss0, rss1;
	double span;
	int i, first;

	ramp(b);
	gwb_sleep(b, 1);
	rss0 = gwb_rss_sum(b);
	joins0 = b->sum.joins;
	leaves0 = b->sum.leaves;
	t0 = gwb_now_ns() + 100000000ull;
	te = t0 + (uint64_t)(o->duration * 1e9);
	gwb_cpu_snap(b, &a);
	gwb_send_all(b, GWB_CMD_CHURN, t0, 0, 0, te);
	first = b->ns;
	gwb_wait_until(b, NULL, te);
	gwb_cpu_snap(b, &z);
	for (i = first; i < b->ns; i++) {
		mn = GW_MIN(mn, b->s_open[i]);
		mx = GW_MAX(mx, b->s_open[i]);
	}
	gwb_sleep(b, 2); /* the last leaves and joins finish */
	rss1 = gwb_rss_sum(b);
	gwb_collect_reports(b);
	report_failures(b);
	span = (double)(z.t - a.t) / 1e9;
	gwb_section("Churn");
	gwb_put(gwb_jresults, "leaves_per_s", json_real((double)(b->sum.leaves - leaves0) / span),
	    "leaves/s", "%.0f  (target %.0f)", (double)(b->sum.leaves - leaves0) / span, o->churn_rate);
	gwb_put(gwb_jresults, "joins_per_s", json_real((double)(b->sum.joins - joins0) / span),
	    "joins/s", "%.0f", (double)(b->sum.joins - joins0) / span);
	gwb_put(gwb_jresults, "open_min", json_integer((json_int_t)(mn == UINT64_MAX ? 0 : mn)),
	    "population during churn", "min %llu  max %llu  end %llu",
	    (unsigned long long)(mn == UINT64_MAX ? 0 : mn), (unsigned long long)mx,
	    (unsigned long long)b->sum.open_now);
	gwb_put(gwb_jresults, "open_max", json_integer((json_int_t)mx), NULL, NULL);
	gwb_put(gwb_jresults, "open_end", json_integer((json_int_t)b->sum.open_now), NULL, NULL);
	gwb_merged_hist(b, GWB_H_JOIN, &h);
	gwb_put_hist("join", "join: connect() to welcome", &h);
	gwb_merged_hist(b, GWB_H_LEAVE, &h);
	gwb_put_hist("leave", "leave: close frame to socket closed", &h);
	put_gw_cpu(b, &a, &z, "while churning");
	put_client_cpu(&a, &z);
	if (o->npids) {
		gwb_put(gwb_jresults, "rss_before_kib", json_integer(rss0), "gateway RSS before churn",
		    "%.1f MiB", (double)rss0 / 1024);
		gwb_put(gwb_jresults, "rss_after_kib", json_integer(rss1), "gateway RSS after churn",
		    "%.1f MiB  (%+.1f MiB)", (double)rss1 / 1024, (double)(rss1 - rss0) / 1024);
	}
	if (b->sum.open_now + o->conns / 100 < (uint64_t)o->conns)
		b->problems++;
}

static gwb_bench_t B;

int main(int argc, char **argv)
{
	gwb_bench_t *b = &B;
	int first_result, i;

	gwb_opts_parse(&b->o, argc, argv);
	gwb_opts_plan(&b->o);
	signal(SIGPIPE, SIG_IGN);
	gwb_jparams = json_object();
	gwb_jresults = json_object();
	gwb_opts_print(&b->o);
	first_result = gwb_row_count();
	b->t_start = b->last_progress = gwb_now_ns();
	gwb_start_workers(b);
	gwb_cpu_snap(b, &b->last_cpu);
	switch (b->o.scenario) {
	case GWB_SC_IDLE: run_idle(b); break;
	case GWB_SC_CONNECT: run_connect(b); break;
	case GWB_SC_FANOUT: run_fanout(b, 0); break;
	case GWB_SC_SLOW: run_fanout(b, 1); break;
	case GWB_SC_CHURN: run_churn(b); break;
	default: break;
	}
	gwb_stop_workers(b);
	for (i = 0; i < b->o.workers; i++) {
		free(b->w[i].rep);
		free(b->w[i].lobbies);
	}
	gwb_put(gwb_jresults, "ok", json_boolean(!b->problems), NULL, NULL);
	if (b->o.json) {
		json_t *root = json_pack("{s:s,s:o,s:o}", "scenario",
					 gwb_scenario_names[b->o.scenario], "params", gwb_jparams,
					 "results", gwb_jresults);

		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(root);
	} else {
		printf("\n== Results ==\n");
		gwb_print_rows(first_result, stdout);
		if (b->problems)
			printf("\n  NOTE: %d problem(s): see the rows above\n", b->problems);
		json_decref(gwb_jparams);
		json_decref(gwb_jresults);
	}
	return b->problems ? 1 : 0;
}
