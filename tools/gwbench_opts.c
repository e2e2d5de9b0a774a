/*
 * gwbench_opts.c — gwbench's command line: one table of options (name,
 * type, field, bounds, help) drives parsing and --help; defaults, derived
 * settings (workers from the fd limit, source addresses from the number of
 * connections) and the parameter block every run prints first.
 */
#include "gwbench.h"
#include "gw_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* --- options ------------------------------------------------------------------ */

typedef enum { OT_LONG, OT_DBL, OT_STR, OT_URL, OT_SOURCE, OT_SOURCES, OT_PID,
	       OT_FLAG } opt_type_t;

typedef struct {
	const char *name;
	opt_type_t type;
	size_t off;     /* into gwb_opts_t */
	size_t size;    /* OT_STR: buffer size */
	double lo, hi;  /* bounds for numbers */
	const char *help;
} opt_t;

#define O(f) offsetof(gwb_opts_t, f)
static const opt_t options[] = {
	{ "url", OT_URL, 0, 0, 0, 0, "target ws://IP:PORT[/PREFIX], repeatable; connections go round-robin (default ws://127.0.0.1:8080)" },
	{ "conns", OT_LONG, O(conns), 0, 1, 2000000, "connections to open and hold (N)" },
	{ "workers", OT_LONG, O(workers), 0, 0, GWB_MAX_WORKERS, "worker processes; 0: as few as the fd limit allows" },
	{ "source", OT_SOURCE, 0, 0, 0, 0, "source address to bind (127.x.y.z), repeatable" },
	{ "sources", OT_SOURCES, 0, 0, 0, GWB_MAX_SOURCES, "use 127.0.1.1 .. 127.0.1.K as source addresses; 0: automatic" },
	{ "connect-rate", OT_DBL, O(connect_rate), 0, 0, 1e7, "connects per second (token bucket); 0: as fast as --max-inflight allows" },
	{ "max-inflight", OT_LONG, O(max_inflight), 0, 1, 1000000, "handshakes in flight at once, all workers together" },
	{ "lobbies", OT_LONG, O(lobbies), 0, 0, GWB_MAX_LOBBIES, "spread users round-robin over N lobbies (overrides --lobby-size)" },
	{ "lobby-size", OT_LONG, O(lobby_size), 0, 1, 10000000, "fill lobbies of K consecutive users" },
	{ "lobby-prefix", OT_STR, O(lobby_prefix), sizeof(((gwb_opts_t *)0)->lobby_prefix), 0, 0, "lobby names are PREFIX<n>" },
	{ "user-prefix", OT_STR, O(user_prefix), sizeof(((gwb_opts_t *)0)->user_prefix), 0, 0, "user ids are PREFIX<n>" },
	{ "secret", OT_STR, O(secret), sizeof(((gwb_opts_t *)0)->secret), 0, 0, "JWT HS256 secret (default: $GW_JWT_SECRET)" },
	{ "token-ttl", OT_LONG, O(token_ttl), 0, 0, 100000000, "token lifetime in seconds; 0: no exp" },
	{ "rate", OT_DBL, O(rate), 0, 0, 1e7, "fanout/slow: broadcasts per second per lobby" },
	{ "publishers", OT_LONG, O(publishers), 0, 1, 100000, "fanout/slow: publishers per lobby (its first members)" },
	{ "payload", OT_LONG, O(payload), 0, 40, 60000, "fanout/slow: bytes of broadcast data" },
	{ "warmup", OT_DBL, O(warmup), 0, 0, 3600, "fanout/slow: seconds of publishing before measuring" },
	{ "duration", OT_DBL, O(duration), 0, 0.1, 86400, "seconds of the measured window (slow: of each phase)" },
	{ "hold", OT_DBL, O(hold), 0, 0, 3600, "seconds to settle after the ramp before measuring" },
	{ "drain", OT_DBL, O(drain), 0, 0, 600, "fanout/slow: most seconds to wait for deliveries in flight" },
	{ "slow-fraction", OT_DBL, O(slow_fraction), 0, 0, 1, "slow: fraction of receivers that stop reading" },
	{ "slow-rcvbuf", OT_LONG, O(slow_rcvbuf), 0, 0, 1 << 26, "slow: SO_RCVBUF of slow readers, bytes" },
	{ "churn-rate", OT_DBL, O(churn_rate), 0, 0.1, 1e6, "churn: leaves per second (each followed by a join)" },
	{ "handshake-timeout", OT_DBL, O(handshake_timeout), 0, 0.1, 600, "seconds from connect() to the welcome" },
	{ "ramp-timeout", OT_DBL, O(ramp_timeout), 0, 0, 86400, "seconds for the whole ramp; 0: automatic" },
	{ "pid", OT_PID, 0, 0, 0, 0, "gateway process to sample (RSS, CPU), repeatable" },
	{ "redis", OT_STR, O(redis), sizeof(((gwb_opts_t *)0)->redis), 0, 0, "redis://HOST:PORT: count ops and check presence (idle)" },
	{ "redis-prefix", OT_STR, O(redis_prefix), sizeof(((gwb_opts_t *)0)->redis_prefix), 0, 0, "the gateways' --redis-prefix" },
	{ "seed", OT_LONG, O(seed), 0, 0, 1e15, "seed for slow-reader choice and churn victims" },
	{ "json", OT_FLAG, O(json), 0, 0, 0, "print the report as JSON" },
	{ "quiet", OT_FLAG, O(quiet), 0, 0, 0, "no progress lines" },
};
#undef O

static void set_defaults(gwb_opts_t *o);

static void usage(FILE *f)
{
	gwb_opts_t d;
	size_t i;

	set_defaults(&d);
	fprintf(f, "usage: gwbench SCENARIO [options]\n"
		   "  SCENARIO: idle | connect | fanout | churn | slow\n\noptions:\n");
	for (i = 0; i < GW_ARRAY_LEN(options); i++) {
		const opt_t *op = &options[i];
		const char *base = (const char *)&d + op->off;

		fprintf(f, "  --%-18s %s", op->name, op->help);
		if (op->type == OT_LONG && op->off == offsetof(gwb_opts_t, seed))
			fprintf(f, " [%llu]", (unsigned long long)d.seed);
		else if (op->type == OT_LONG && op->off == offsetof(gwb_opts_t, workers))
			fprintf(f, " [%d]", d.workers);
		else if (op->type == OT_LONG)
			fprintf(f, " [%ld]", *(const long *)(const void *)base);
		else if (op->type == OT_DBL)
			fprintf(f, " [%g]", *(const double *)(const void *)base);
		else if (op->type == OT_STR && *base)
			fprintf(f, " [%s]", op->off == offsetof(gwb_opts_t, secret) ? "..." : base);
		fputc('\n', f);
	}
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gwbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint32_t parse_ip(const char *s)
{
	struct in_addr a;

	if (strcmp(s, "localhost") == 0)
		s = "127.0.0.1";
	if (inet_pton(AF_INET, s, &a) != 1)
		die("'%s' is not an IPv4 address", s);
	return a.s_addr;
}

static void add_url(gwb_opts_t *o, const char *url)
{
	gwb_target_t *t;
	char host[48];
	const char *p, *colon, *slash;
	long port;
	size_t hl;

	if (o->ntargets >= GWB_MAX_TARGETS)
		die("at most %d --url", GWB_MAX_TARGETS);
	t = &o->targets[o->ntargets];
	if (strncmp(url, "ws://", 5) != 0)
		die("--url %s: want ws://IP:PORT[/PREFIX]", url);
	p = url + 5;
	colon = strchr(p, ':');
	slash = strchr(p, '/');
	if (!colon || (slash && slash < colon) || (hl = (size_t)(colon - p)) >= sizeof(host))
		die("--url %s: want ws://IP:PORT[/PREFIX]", url);
	memcpy(host, p, hl);
	host[hl] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port < 1 || port > 65535)
		die("--url %s: bad port", url);
	t->ip = parse_ip(host);
	t->port = (uint16_t)port;
	snprintf(t->host, sizeof(t->host), "%s:%ld", host, port);
	snprintf(t->prefix, sizeof(t->prefix), "%s", slash ? slash : "/ws");
	hl = strlen(t->prefix);
	while (hl > 0 && t->prefix[hl - 1] == '/')
		t->prefix[--hl] = '\0';
	snprintf(t->url, sizeof(t->url), "%s", url);
	o->ntargets++;
}

static void set_defaults(gwb_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->conns = 1000;
	o->max_inflight = 512;
	o->lobby_size = 100;
	snprintf(o->lobby_prefix, sizeof(o->lobby_prefix), "bench-");
	snprintf(o->user_prefix, sizeof(o->user_prefix), "u");
	snprintf(o->redis_prefix, sizeof(o->redis_prefix), "gw");
	o->token_ttl = 3600;
	o->rate = 10;
	o->publishers = 1;
	o->payload = 100;
	o->warmup = 2;
	o->duration = 10;
	o->hold = 2;
	o->drain = 5;
	o->slow_fraction = 0.01;
	o->slow_rcvbuf = 4096;
	o->churn_rate = 100;
	o->handshake_timeout = 10;
	o->seed = 1;
}

void gwb_opts_parse(gwb_opts_t *o, int argc, char **argv)
{
	int i, s, nsrc_auto = -1;

	set_defaults(o);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		exit(argc < 2 ? 2 : 0);
	}
	for (s = 0; s < GWB_SC__COUNT; s++)
		if (strcmp(argv[1], gwb_scenario_names[s]) == 0)
			break;
	if (s == GWB_SC__COUNT)
		die("unknown scenario '%s' (idle, connect, fanout, churn, slow)", argv[1]);
	o->scenario = (gwb_scenario_t)s;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const opt_t *op = NULL;
		size_t k, nl;
		char *end;
		double d;

		if (strncmp(a, "--", 2) != 0)
			die("unexpected argument '%s' (see --help)", a);
		a += 2;
		eq = strchr(a, '=');
		nl = eq ? (size_t)(eq - a) : strlen(a);
		for (k = 0; k < GW_ARRAY_LEN(options); k++)
			if (strlen(options[k].name) == nl && strncmp(options[k].name, a, nl) == 0)
				op = &options[k];
		if (!op) {
			if (nl == 4 && strncmp(a, "help", 4) == 0) {
				usage(stdout);
				exit(0);
			}
			die("unknown option --%.*s (see --help)", (int)nl, a);
		}
		if (op->type == OT_FLAG) {
			*(int *)((char *)o + op->off) = 1;
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			die("--%s needs a value", op->name);
		switch (op->type) {
		case OT_LONG:
		case OT_DBL:
		case OT_SOURCES:
			d = strtod(val, &end);
			if (end == val || *end || d < op->lo || d > op->hi)
				die("--%s %s: want a number in %g..%g", op->name, val, op->lo, op->hi);
			if (op->type == OT_DBL)
				*(double *)((char *)o + op->off) = d;
			else if (op->type == OT_SOURCES)
				nsrc_auto = (int)d;
			else if (op->off == offsetof(gwb_opts_t, seed))
				o->seed = (uint64_t)d;
			else if (op->off == offsetof(gwb_opts_t, workers))
				o->workers = (int)d;
			else
				*(long *)((char *)o + op->off) = (long)d;
			break;
		case OT_STR:
			if (strlen(val) >= op->size)
				die("--%s: too long", op->name);
			snprintf((char *)o + op->off, op->size, "%s", val);
			break;
		case OT_URL:
			add_url(o, val);
			break;
		case OT_SOURCE:
			if (o->nsources >= GWB_MAX_SOURCES)
				die("at most %d source addresses", GWB_MAX_SOURCES);
			o->sources[o->nsources++] = parse_ip(val);
			break;
		case OT_PID: {
			const char *p = val;

			while (*p) {
				long pid = strtol(p, &end, 10);

				if (end == p || pid <= 0 || o->npids >= GWB_MAX_PIDS)
					die("--pid %s: want process ids (at most %d)", val, GWB_MAX_PIDS);
				o->pids[o->npids++] = (pid_t)pid;
				p = *end == ',' ? end + 1 : end;
				if (*end && *end != ',')
					die("--pid %s: want process ids", val);
			}
			break;
		}
		case OT_FLAG:
			break;
		}
	}
	if (!o->ntargets)
		add_url(o, "ws://127.0.0.1:8080");
	if (!o->secret[0]) {
		const char *e = getenv("GW_JWT_SECRET");

		if (!e || strlen(e) >= sizeof(o->secret))
			die("no JWT secret: give --secret or set GW_JWT_SECRET");
		snprintf(o->secret, sizeof(o->secret), "%s", e);
	}
	if (strlen(o->secret) < 32)
		die("the JWT secret must be at least 32 bytes (the gateway refuses shorter)");
	if (gwb_nlobbies(o) > GWB_MAX_LOBBIES)
		die("%ld lobbies: at most %d (raise --lobby-size)", gwb_nlobbies(o), GWB_MAX_LOBBIES);
	if (nsrc_auto > 0 || (nsrc_auto < 0 && !o->nsources)) {
		/* ~28k ephemeral ports per (source, destination); keep a margin. */
		int k = nsrc_auto > 0 ? nsrc_auto
				      : (int)((o->conns / o->ntargets + 24999) / 25000);

		if (k > 1 || nsrc_auto > 0) {
			for (s = 0; s < k && o->nsources < GWB_MAX_SOURCES; s++) {
				char ip[32];

				snprintf(ip, sizeof(ip), "127.0.1.%d", s + 1);
				o->sources[o->nsources++] = parse_ip(ip);
			}
		}
	}
	if (o->nsources && o->conns / o->ntargets / o->nsources > 28000)
		die("%ld connections over %d targets and %d sources exceed ~28k ports "
		    "per (source, target): add --sources", o->conns, o->ntargets, o->nsources);
	if ((o->scenario == GWB_SC_FANOUT || o->scenario == GWB_SC_SLOW) && o->rate <= 0)
		die("--rate must be > 0 for %s", gwb_scenario_names[o->scenario]);
}

/* Workers: enough that each stays under the fd limit. */
void gwb_opts_plan(gwb_opts_t *o)
{
	struct rlimit rl;
	long per, inflight_total = o->max_inflight;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit: %s", strerror(errno));
	per = (long)(rl.rlim_max == RLIM_INFINITY ? 1000000 : rl.rlim_max) - 64;
	if (per < 1)
		die("the fd limit (%llu) is too low", (unsigned long long)rl.rlim_max);
	if (!o->workers)
		o->workers = (int)((o->conns + per - 1) / per);
	if (o->workers > GWB_MAX_WORKERS)
		die("%ld connections need %d workers at %ld fds each; at most %d",
		    o->conns, o->workers, per, GWB_MAX_WORKERS);
	if ((o->conns + o->workers - 1) / o->workers > per)
		die("%ld connections over %d workers is more than the %ld fds a process "
		    "may hold (ulimit -n %llu): raise --workers", o->conns, o->workers,
		    per, (unsigned long long)rl.rlim_max);
	o->max_inflight = (inflight_total + o->workers - 1) / o->workers;
	if (o->ramp_timeout <= 0)
		o->ramp_timeout = o->handshake_timeout + 30 +
				  (double)o->conns / (o->connect_rate > 0 ? o->connect_rate : 2000);
}

/* --- printing them --------------------------------------------------------------------------- */

void gwb_opts_print(const gwb_opts_t *o)
{
	json_t *urls = json_array(), *srcs = json_array(), *pids = json_array();
	char ip[INET_ADDRSTRLEN], txt[200];
	size_t off;
	int i, sc = o->scenario, pub = sc == GWB_SC_FANOUT || sc == GWB_SC_SLOW;

	gwb_section("Parameters");
	gwb_put(gwb_jparams, "scenario", json_string(gwb_scenario_names[sc]), "scenario", "%s",
	    gwb_scenario_names[sc]);
	gwb_put(gwb_jparams, "conns", json_integer(o->conns), "connections", "%ld", o->conns);
	for (i = 0, off = 0, txt[0] = '\0'; i < o->ntargets; i++) {
		json_array_append_new(urls, json_string(o->targets[i].url));
		if (off < sizeof(txt) - 40)
			off += (size_t)snprintf(txt + off, sizeof(txt) - off, "%s%s", i ? " " : "",
						o->targets[i].url);
	}
	gwb_put(gwb_jparams, "urls", urls, "targets (round-robin)", "%s", txt);
	for (i = 0, off = 0, txt[0] = '\0'; i < o->nsources; i++) {
		inet_ntop(AF_INET, &o->sources[i], ip, sizeof(ip));
		json_array_append_new(srcs, json_string(ip));
		if (off < sizeof(txt) - 20)
			off += (size_t)snprintf(txt + off, sizeof(txt) - off, "%s%s", i ? " " : "", ip);
	}
	gwb_put(gwb_jparams, "sources", srcs, "source addresses", "%s", o->nsources ? txt : "(kernel's choice)");
	gwb_put(gwb_jparams, "workers", json_integer(o->workers), "worker processes", "%d  (max %ld conns each)",
	    o->workers, (o->conns + o->workers - 1) / o->workers);
	if (o->connect_rate > 0)
		gwb_put(gwb_jparams, "connect_rate", json_real(o->connect_rate), "connect rate",
		    "%.0f/s, at most %ld in flight per worker", o->connect_rate, o->max_inflight);
	else
		gwb_put(gwb_jparams, "connect_rate", json_real(0), "connect rate",
		    "unlimited, at most %ld in flight per worker", o->max_inflight);
	if (o->lobbies > 0)
		gwb_put(gwb_jparams, "lobbies", json_integer(gwb_nlobbies(o)), "lobbies",
		    "%ld, users round-robin (prefix %s)", gwb_nlobbies(o), o->lobby_prefix);
	else
		gwb_put(gwb_jparams, "lobby_size", json_integer(o->lobby_size), "lobbies",
		    "%ld of %ld consecutive users (prefix %s)", gwb_nlobbies(o), o->lobby_size,
		    o->lobby_prefix);
	gwb_put(gwb_jparams, "token_ttl", json_integer(o->token_ttl), "token", "HS256, sub=%s<n>, ttl %ld s",
	    o->user_prefix, o->token_ttl);
	gwb_put(gwb_jparams, "handshake_timeout_s", json_real(o->handshake_timeout), "handshake timeout",
	    "%.1f s", o->handshake_timeout);
	if (pub) {
		gwb_put(gwb_jparams, "rate", json_real(o->rate), "publish rate",
		    "%.1f broadcasts/s per lobby, %ld publisher(s) per lobby, open loop", o->rate,
		    o->publishers);
		gwb_put(gwb_jparams, "payload", json_integer(o->payload), "payload", "%ld bytes of data",
		    o->payload);
		gwb_put(gwb_jparams, "warmup_s", json_real(o->warmup), "warm-up", "%.1f s", o->warmup);
	}
	if (sc == GWB_SC_SLOW) {
		gwb_put(gwb_jparams, "slow_fraction", json_real(o->slow_fraction), "slow readers",
		    "%.2f%% of receivers, SO_RCVBUF %ld", o->slow_fraction * 100, o->slow_rcvbuf);
	}
	if (sc == GWB_SC_CHURN)
		gwb_put(gwb_jparams, "churn_rate", json_real(o->churn_rate), "churn",
		    "%.0f leaves/s, each followed by a join", o->churn_rate);
	if (sc != GWB_SC_CONNECT)
		gwb_put(gwb_jparams, "duration_s", json_real(o->duration), "measured window",
		    sc == GWB_SC_SLOW ? "%.1f s per phase" : "%.1f s", o->duration);
	for (i = 0, off = 0, txt[0] = '\0'; i < o->npids; i++) {
		json_array_append_new(pids, json_integer(o->pids[i]));
		if (off < sizeof(txt) - 16)
			off += (size_t)snprintf(txt + off, sizeof(txt) - off, "%s%d", i ? " " : "",
						(int)o->pids[i]);
	}
	gwb_put(gwb_jparams, "pids", pids, "gateway pids sampled", "%s", o->npids ? txt : "none");
	if (o->redis[0])
		gwb_put(gwb_jparams, "redis", json_string(o->redis), "redis", "%s (prefix %s)", o->redis,
		    o->redis_prefix);
	if (o->json) {
		fprintf(stderr, "gwbench %s: %ld connections, %d worker(s)\n",
			gwb_scenario_names[sc], o->conns, o->workers);
	} else {
		printf("gwbench %s\n", gwb_scenario_names[sc]);
		gwb_print_rows(1, stdout);
		fflush(stdout);
	}
}
