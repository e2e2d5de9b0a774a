/*
 * gwbench_worker.h — private to one worker process: the connection slot
 * (gwbench_conn.c: the client side of one WebSocket, from connect() to
 * close) and the worker (gwbench_worker.c: pacing, publishing, churn, slow
 * readers, the parent's commands). Nothing outside those two files uses it.
 *
 * A worker owns the slots gi = id, id + W, id + 2W, ... of the population
 * (W workers), and for each a small gwb_conn_t (about 200 bytes: a libevent
 * event, a few counters, and two buffers that exist only while a partial
 * frame or unsent bytes are waiting). Reads go through one shared 256 KiB
 * buffer, so an idle connection holds no receive memory.
 */
#ifndef GWBENCH_WORKER_H
#define GWBENCH_WORKER_H

#include "gwbench.h"
#include "gw_auth.h"

#include <event2/event.h>
#include <event2/event_struct.h>

#define RX_SHARED (256 * 1024)
#define MAX_FRAME (16u * 1024 * 1024)
#define MAX_HEAD 8192
#define MAX_BACKLOG (1024 * 1024) /* unsent bytes per connection */
#define OUT_MAX (64 * 1024 + 64)
#define CLOSE_TIMEOUT_S 5
#define PUB_BATCH 4096            /* messages per publish-timer run */

typedef enum {
	CS_IDLE = 0,   /* no socket yet */
	CS_CONNECTING, /* connect() in progress */
	CS_UPGRADING,  /* request sent, waiting for 101 */
	CS_ADMITTING,  /* 101 seen, waiting for the welcome */
	CS_OPEN,
	CS_CLOSING,    /* we sent a close frame (churn leave) */
	CS_DONE,       /* socket closed */
} conn_state_t;

enum {
	CF_PUB = 1 << 0,     /* publishes for its lobby */
	CF_SLOW = 1 << 1,    /* will stop reading in the slow phase */
	CF_PAUSED = 1 << 2,  /* is not reading now */
	CF_JOIN = 1 << 3,    /* a churn join (time it as one) */
	CF_INFRAG = 1 << 4,  /* inside a fragmented message */
};

enum { W_READ = 1, W_WRITE = 2, W_HS = 4, W_CLOSE = 8 }; /* watch bits */

/* Why a connection ends; decides which counter moves. */
typedef enum {
	END_NONE = 0,
	END_CONNECT,     /* connect()/TCP error */
	END_UPGRADE,     /* bad or missing 101 */
	END_TIMEOUT,     /* handshake timeout */
	END_CLOSE_FRAME, /* server sent a close frame */
	END_EOF,         /* EOF or socket error */
	END_LEFT,        /* our churn leave completed */
	END_PROTOCOL,    /* unparseable frame */
	END_QUIT,
} gwb_end_t;

typedef struct {
	struct event ev;
	uint64_t t0;         /* connect() (or leave) time, ns */
	uint8_t *rbuf;       /* a partial frame or response head; NULL if none */
	uint8_t *wbuf;       /* bytes the socket did not take; NULL if none */
	uint32_t rlen, rcap, wlen, wcap, woff;
	uint32_t lobby;
	uint32_t gen;        /* churn generation, in the user name */
	uint32_t last_seq;
	int fd;
	uint16_t close_code;
	uint8_t state, flags, watch, target, source, end;
} gwb_conn_t;

typedef struct {
	const gwb_opts_t *o;
	int id, cmd_fd, msg_fd;
	struct event_base *base;
	struct event *cmd_ev, *tick_ev, *stats_ev, *pub_ev, *slow_ev;
	const struct timeval *hs_tv, *close_tv; /* common timeouts */
	gwb_conn_t *conns;
	long n;                 /* slots */
	long next_ramp;
	int ramping;
	double tokens, conn_rate;
	uint64_t tok_last;
	gw_auth_t *auth;
	char accept[29];
	uint8_t *rx;            /* the shared receive buffer */
	uint8_t out[OUT_MAX];   /* frame assembly */
	char msg[OUT_MAX];      /* a broadcast's JSON */
	uint32_t mask_state;
	gwb_counters_t c;
	gwb_hist_t h[GWB_H__COUNT];
	long nlobbies;
	uint32_t *lobby_pub, *lobby_healthy;
	/* publishing */
	uint32_t *pubs;
	long npubs;
	int publishing;
	uint64_t pub_t0, pub_measure, pub_phase1, pub_end, pub_m;
	double pub_interval;    /* ns between this worker's messages */
	char *pad;
	long pad_len;
	/* churn */
	int churning, rejoin;
	uint64_t churn_t0, churn_end, churn_m;
	double churn_interval;
	uint64_t rng;
	int quit;
} gwb_worker_t;

/* One worker per process, so a connection's callback finds it here. */
extern gwb_worker_t *gwb_the_worker;

/* --- gwbench_conn.c ------------------------------------------------------- */

/* Opens slot `c` (socket, bind, non-blocking connect); failures end it. */
void gwb_conn_start(gwb_worker_t *w, gwb_conn_t *c);
/*
 * Ends a connection: closes the socket, frees its buffers and moves the
 * counters for `why`. A churn leave that completes starts the slot's next
 * generation at once (a join). Never call it while the slot's bytes are
 * being parsed; the parser returns "end" and the reader calls this.
 */
void gwb_conn_end(gwb_worker_t *w, gwb_conn_t *c, gwb_end_t why);
/* (Re)registers the slot's event for `want` (W_* bits) when it changed. */
void gwb_conn_watch(gwb_worker_t *w, gwb_conn_t *c, uint8_t want);
/* What the slot should wait for in its current state. */
uint8_t gwb_conn_base_watch(const gwb_conn_t *c);
/* One masked frame; 0, or -1 when the connection must end. */
int gwb_conn_send_frame(gwb_worker_t *w, gwb_conn_t *c, int op, const void *p, size_t len);

/* --- gwbench_worker.c ------------------------------------------------------ */

/* A message to the parent (blocking); the process exits if the parent is gone. */
void gwb_worker_send_msg(gwb_worker_t *w, uint32_t type, const void *a, size_t alen,
			 const void *b, size_t blen);
void gwb_worker_fatal(gwb_worker_t *w, const char *msg) __attribute__((noreturn));

#endif
