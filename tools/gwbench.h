/*
 * gwbench.h — what the load generator's files share.
 *
 *   gwbench.c         the scenarios and main
 *   gwbench_opts.c    options: the table, parsing, defaults, the parameters
 *   gwbench_ctl.c     the parent's side of the workers: fork, pipes, phases,
 *                     progress lines
 *   gwbench_worker.c  one worker process: a libevent loop holding up to
 *                     ~20k client connections, pacing connects, publishing,
 *                     churning, pausing slow readers (gwbench_worker.h is
 *                     private to it and gwbench_conn.c)
 *   gwbench_conn.c    one client connection: connect, upgrade, frames
 *   gwbench_ws.c      pure pieces with no loop: the RFC 6455 client side
 *                     (upgrade response check, accept key, masked frames,
 *                     server frame parsing) and the latency histogram
 *   gwbench_probe.c   /proc (RSS, CPU), Redis INFO, a node's /stats
 *   gwbench_report.c  the report rows and their JSON twin
 *
 * The parent talks to each worker over two pipes. Commands (gwb_cmd_t) go
 * down; messages (a gwb_msg_hdr_t and a body) come up: periodic counters,
 * "ramp done", and at the end a report with histograms and per-lobby counts.
 * Everything is a fixed-layout struct: both ends are the same binary.
 */
#ifndef GWBENCH_H
#define GWBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define GWB_MAX_TARGETS 16
#define GWB_MAX_SOURCES 64
#define GWB_MAX_PIDS 16
#define GWB_MAX_WORKERS 64
#define GWB_MAX_LOBBIES 1000000
#define GWB_PHASES 2 /* latency windows: before and after the slow readers stop */

typedef enum {
	GWB_SC_IDLE = 0,
	GWB_SC_CONNECT,
	GWB_SC_FANOUT,
	GWB_SC_CHURN,
	GWB_SC_SLOW,
	GWB_SC__COUNT
} gwb_scenario_t;

extern const char *const gwb_scenario_names[GWB_SC__COUNT];

typedef struct {
	uint32_t ip;       /* network byte order */
	uint16_t port;     /* host byte order */
	char host[64];     /* Host header: "127.0.0.1:8081" */
	char prefix[64];   /* path in front of the lobby: "/ws" */
	char url[160];     /* as given, for the report */
} gwb_target_t;

/* Options, filled by the parent before fork; workers read their copy. */
typedef struct {
	gwb_scenario_t scenario;
	long conns;               /* N: base population */
	int workers;
	int ntargets;
	gwb_target_t targets[GWB_MAX_TARGETS];
	int nsources;
	uint32_t sources[GWB_MAX_SOURCES]; /* network byte order */
	double connect_rate;      /* connects/s over all workers; 0: unlimited */
	long max_inflight;        /* handshakes in flight per worker */
	long lobbies;             /* users round-robin over this many lobbies */
	long lobby_size;          /* or: consecutive users fill lobbies of K */
	char lobby_prefix[32];
	char user_prefix[32];
	char secret[512];
	long token_ttl;           /* seconds; 0: no exp claim */
	double rate;              /* broadcasts/s per lobby */
	long publishers;          /* per lobby; the first members */
	long payload;             /* bytes of "data" in a broadcast */
	double warmup, duration;  /* seconds */
	double hold;              /* idle: settle before measuring */
	double drain;             /* seconds to wait for in-flight deliveries */
	double slow_fraction;
	long slow_rcvbuf;         /* SO_RCVBUF of a slow reader, bytes */
	double churn_rate;        /* leaves (and as many joins) per second */
	double handshake_timeout; /* seconds */
	double ramp_timeout;      /* seconds for the whole ramp */
	int npids;
	pid_t pids[GWB_MAX_PIDS];
	char redis[256];          /* redis://host:port, for idle checks */
	char redis_prefix[64];
	int json;
	int quiet;                /* no progress lines */
	uint64_t seed;
} gwb_opts_t;

/* --- the histogram (gwbench_ws.c) ------------------------------------------
 *
 * HDR-style log-linear buckets over nanoseconds: exact below 64 ns, then 32
 * linear sub-buckets per power of two (about 3% relative error) up to
 * 2^40 ns (18 minutes). Fixed size, so it crosses the pipe as it is.
 */
#define GWB_HIST_SUB 32
#define GWB_HIST_BUCKETS ((40 - 4) * GWB_HIST_SUB)

typedef struct {
	uint64_t count, sum, min, max;
	uint64_t b[GWB_HIST_BUCKETS];
} gwb_hist_t;

void gwb_hist_init(gwb_hist_t *h);
void gwb_hist_add(gwb_hist_t *h, uint64_t ns);
void gwb_hist_merge(gwb_hist_t *into, const gwb_hist_t *from);
/* The value at percentile `p` (0..100), in ns; 0 when empty. */
uint64_t gwb_hist_pct(const gwb_hist_t *h, double p);

/* Histograms a worker keeps. */
enum {
	GWB_H_TCP = 0,   /* connect() to TCP established */
	GWB_H_UPGRADE,   /* connect() to HTTP 101 */
	GWB_H_WELCOME,   /* connect() to the welcome frame: admission done */
	GWB_H_JOIN,      /* churn joins only: connect() to welcome */
	GWB_H_LEAVE,     /* churn leaves: close frame sent to socket closed */
	GWB_H_LAT,       /* publish-to-receive, healthy receivers, per phase */
	GWB_H_LAT_END = GWB_H_LAT + GWB_PHASES * 2, /* [phase][local, remote] */
	GWB_H__COUNT = GWB_H_LAT_END
};
#define GWB_H_LAT_AT(phase, remote) (GWB_H_LAT + (phase) * 2 + (remote))

/* Close codes seen, by a small index (see gwb_close_index). */
#define GWB_CLOSE_SLOTS 32
int gwb_close_index(unsigned code);
unsigned gwb_close_code_at(int idx);

/* Cumulative per-worker counters, sent up every half second. */
typedef struct {
	uint64_t attempts;        /* connect() calls */
	uint64_t tcp_ok;
	uint64_t upgraded;        /* HTTP 101 seen */
	uint64_t opened;          /* welcome seen */
	uint64_t open_now;        /* currently open (welcomed, not closing) */
	uint64_t inflight_now;    /* handshakes in progress */
	uint64_t fail_connect;    /* connect() or TCP error */
	uint64_t fail_addr;       /* of which EADDRNOTAVAIL (out of ports) */
	uint64_t fail_upgrade;    /* not 101, bad accept key, EOF before */
	uint64_t fail_timeout;    /* no welcome within the handshake timeout */
	uint64_t fail_closed;     /* closed by the server before the welcome */
	uint64_t server_closed;   /* closed by the server after the welcome */
	uint64_t eof;             /* TCP closed without a close frame */
	uint64_t closes[GWB_CLOSE_SLOTS];
	uint64_t published;       /* broadcasts written */
	uint64_t pub_skipped;     /* due but the publisher was not open/writable */
	uint64_t delivered;       /* message frames received (all) */
	uint64_t delivered_phase[GWB_PHASES]; /* healthy, published in a window */
	uint64_t delivered_healthy;           /* healthy, any time */
	uint64_t delivered_slow;
	uint64_t pub_rx;          /* messages publishers received (ignored) */
	uint64_t gaps;            /* sequence jumps seen by receivers */
	uint64_t presence;        /* presence_join/leave frames */
	uint64_t pings, health_pings, errors, other;
	uint64_t bytes_in;
	uint64_t joins, leaves;   /* churn, completed */
	uint64_t slow_paused;     /* slow readers that stopped reading */
	uint64_t slow_4007;       /* slow readers that found a 4007 close */
	uint64_t slow_gone;       /* slow readers closed by other means */
	uint64_t min_open_churn;  /* lowest open_now during churn */
	uint64_t t_first_ns, t_last_welcome_ns; /* CLOCK_MONOTONIC */
} gwb_counters_t;

/* --- control: parent -> worker --------------------------------------------- */

enum {
	GWB_CMD_RAMP = 1,   /* open my share of the base population */
	GWB_CMD_PUBLISH,    /* t[0]=start, t[1]=measure from, t[2]=phase 1 (slow
			     * readers stop; 0: none), t[3]=end */
	GWB_CMD_CHURN,      /* t[0]=start, t[3]=end */
	GWB_CMD_RESUME,     /* slow readers read again (to find their close) */
	GWB_CMD_REPORT,     /* send GWB_MSG_REPORT */
	GWB_CMD_QUIT,       /* close everything and exit */
};

typedef struct {
	uint32_t op;
	uint32_t pad;
	uint64_t t[4];
} gwb_cmd_t;

/* --- control: worker -> parent --------------------------------------------- */

enum {
	GWB_MSG_STATS = 1,  /* body: gwb_counters_t */
	GWB_MSG_READY,      /* body: gwb_counters_t; the ramp has settled */
	GWB_MSG_REPORT,     /* body: gwb_report_t, then 3 x nlobbies uint32_t:
			     * open members, healthy receivers at publish
			     * start, broadcasts published */
	GWB_MSG_FATAL,      /* body: a NUL-terminated message */
};

typedef struct {
	uint32_t type;
	uint32_t len; /* bytes of body */
} gwb_msg_hdr_t;

typedef struct {
	gwb_counters_t c;
	gwb_hist_t h[GWB_H__COUNT];
	uint32_t nlobbies;
	uint32_t pad;
} gwb_report_t;

/* --- population layout, shared so both ends agree -------------------------- */

long gwb_nlobbies(const gwb_opts_t *o);
long gwb_lobby_of(const gwb_opts_t *o, long gi);
long gwb_rank_in_lobby(const gwb_opts_t *o, long gi); /* 0 = first member */

uint64_t gwb_now_ns(void);

/* Runs one worker until GWB_CMD_QUIT; returns the exit status. */
int gwb_worker_main(const gwb_opts_t *o, int id, int cmd_fd, int msg_fd);

/* --- RFC 6455, client side (gwbench_ws.c) ---------------------------------- */

#define GWB_WS_KEY "dGhlIHNhbXBsZSBub25jZQ==" /* a fixed key is allowed */

/* The Sec-WebSocket-Accept value for `key` (29 bytes incl. NUL). */
void gwb_ws_accept_for(const char *key, char out[29]);

/*
 * Checks an HTTP response head (`len` bytes up to and including the blank
 * line): 101 and the expected accept value. Returns 0 or -1.
 */
int gwb_ws_check_response(const char *head, size_t len, const char *accept);

/*
 * Writes one masked client frame (FIN set) into `out` (room for len + 14)
 * and returns its length.
 */
size_t gwb_ws_frame(uint8_t *out, int opcode, const void *payload, size_t len,
		    uint32_t mask);

typedef struct {
	int fin, opcode;
	const uint8_t *payload; /* unmasked in place when the server masked */
	uint64_t len;
	size_t frame_len;       /* header + payload */
} gwb_frame_t;

/*
 * Parses one server frame at the start of `buf`. Returns 1 with `f` filled,
 * 0 when more bytes are needed (`*need`, if not NULL, gets the frame's full
 * length when known), -1 on a frame larger than `max`.
 */
int gwb_ws_parse(uint8_t *buf, size_t len, uint64_t max, gwb_frame_t *f,
		 uint64_t *need);

#define GWB_WS_CONT 0x0
#define GWB_WS_TEXT 0x1
#define GWB_WS_BINARY 0x2
#define GWB_WS_CLOSE 0x8
#define GWB_WS_PING 0x9
#define GWB_WS_PONG 0xA

/* --- options (gwbench_opts.c) ---------------------------------------------- */

/* Fills `o` from the command line; prints the problem and exits 2 on bad usage. */
void gwb_opts_parse(gwb_opts_t *o, int argc, char **argv);
/* Decides the worker count (fd limit) and per-worker in-flight cap. */
void gwb_opts_plan(gwb_opts_t *o);
/* Records the parameters (gwb_jparams, rows) and prints them unless --json. */
void gwb_opts_print(const gwb_opts_t *o);

/* --- the report (gwbench_report.c) ----------------------------------------- */

struct json_t;
extern struct json_t *gwb_jparams, *gwb_jresults;

/*
 * Stores `v` (ownership taken) under `key` in `obj` and, when `label` is
 * not NULL, adds a table row whose text is `fmt` formatted.
 */
void gwb_put(struct json_t *obj, const char *key, struct json_t *v, const char *label,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void gwb_put_hist(const char *key, const char *label, const gwb_hist_t *h);
void gwb_section(const char *title);
void gwb_add_row(const char *label, const char *text);
int gwb_row_count(void);
void gwb_print_rows(int from, FILE *f);
double gwb_ms(uint64_t ns);

/* --- probes (gwbench_probe.c) ---------------------------------------------- */

#define GWB_MAX_CPUS 64
#define GWB_MAX_CMDS 64

typedef struct {
	uint64_t t;
	long long gw[GWB_MAX_PIDS], gw_sum, client; /* clock ticks */
	int ncpu;
	long long busy[GWB_MAX_CPUS], total[GWB_MAX_CPUS], softirq[GWB_MAX_CPUS]; /* /proc/stat */
} gwb_cpu_snap_t;

typedef struct {
	int n;
	char name[GWB_MAX_CMDS][32];
	long long calls[GWB_MAX_CMDS];
} gwb_cmdstats_t;

struct redisContext;

long gwb_rss_kib(pid_t pid);        /* VmRSS; -1 when the process is gone */
long long gwb_cpu_ticks(pid_t pid); /* utime + stime; -1 when gone */
void gwb_machine_snap(gwb_cpu_snap_t *s);
/* A blocking connection with 3 s timeouts, or NULL. The caller frees it. */
struct redisContext *gwb_redis_open(const char *url);
long long gwb_redis_info(struct redisContext *r, const char *section, const char *field);
void gwb_redis_cmdstats(struct redisContext *r, gwb_cmdstats_t *cs);
/* GET /stats of a node, parsed; NULL on failure. The caller owns it. */
struct json_t *gwb_fetch_stats(const gwb_target_t *t);

/* --- driving the workers (gwbench_ctl.c) ------------------------------------ */

#define GWB_MAX_SAMPLES 4096

typedef struct {
	pid_t pid;
	int cmd_fd, msg_fd;
	gwb_counters_t c;
	int ready, dead;
	gwb_report_t *rep;
	uint32_t *lobbies; /* 3 x nlobbies: open, healthy, published */
} gwb_wk_t;

typedef struct {
	gwb_opts_t o;
	gwb_wk_t w[GWB_MAX_WORKERS];
	gwb_counters_t sum;
	uint64_t t_start, last_progress;
	gwb_counters_t last_sum;
	gwb_cpu_snap_t last_cpu;
	/* samples every ~0.5 s: time, opened, open_now, rss */
	uint64_t s_t[GWB_MAX_SAMPLES], s_opened[GWB_MAX_SAMPLES], s_open[GWB_MAX_SAMPLES];
	long s_rss[GWB_MAX_SAMPLES];
	int ns;
	uint64_t settle_last, settle_since;
	int quitting;
	int problems;
} gwb_bench_t;

typedef int (*gwb_pred_t)(gwb_bench_t *b);

/* Forks the workers; each runs gwb_worker_main() and never returns here. */
void gwb_start_workers(gwb_bench_t *b);
/* Sends QUIT, reads until every worker closed its pipe, reaps them. */
void gwb_stop_workers(gwb_bench_t *b);
void gwb_send_all(gwb_bench_t *b, uint32_t op, uint64_t t0, uint64_t t1, uint64_t t2,
		  uint64_t t3);
/* Handles worker messages until `pred` holds (NULL: never) or `deadline`
 * (CLOCK_MONOTONIC ns) passes; returns 1 if it held. */
int gwb_wait_until(gwb_bench_t *b, gwb_pred_t pred, uint64_t deadline);
void gwb_sleep(gwb_bench_t *b, double s);
int gwb_all_ready(gwb_bench_t *b);
/* REPORT to every worker and wait (60 s at most) for all reports. */
void gwb_collect_reports(gwb_bench_t *b);
void gwb_merged_hist(const gwb_bench_t *b, int idx, gwb_hist_t *out);
/* Sum over workers of lobby array `which` (0 open, 1 healthy, 2 published). */
uint64_t gwb_lobby_total(const gwb_bench_t *b, long l, int which);
void gwb_cpu_snap(gwb_bench_t *b, gwb_cpu_snap_t *s);
/* CPU % (100 = one core) between snapshots: one gateway pid, all (pid < 0),
 * or the workers (client). */
double gwb_cpu_pct(const gwb_cpu_snap_t *a, const gwb_cpu_snap_t *z, int pid, int client);
long gwb_rss_sum(const gwb_bench_t *b);
/* Refreshes b->sum from the latest counters of every worker. */
void gwb_sum_counters(gwb_bench_t *b);
uint64_t gwb_failed(const gwb_counters_t *c);
/* Prints the message, kills the workers, exits 1. */
void gwb_fail(gwb_bench_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#endif
