/*
 * gw_session.h — one member connection: its lifecycle, bounded send
 * queue, receive reassembly, rate limit and close.
 *
 * A member speaks WebSocket or, receive-only, Server-Sent Events
 * (GET /sse/LOBBY). Both are sessions: the same queue, limits, admission,
 * presence and heartbeat; only how a frame reaches the wire differs, and
 * that is the session's writer (gw_session_writer_t: the WebSocket one
 * here, the SSE one in gw_sse.c).
 *
 * A session lives in the per-connection storage libwebsockets allocates
 * (per_session_data) and is freed by lws after LWS_CALLBACK_CLOSED; it is
 * registered in the node's registry from ESTABLISHED to CLOSED, so anything
 * that must outlive a callback refers to a session by id, never by pointer.
 *
 * Writing: gw_session_send() queues a reference to the shared buffer, and
 * the flush at the end of the loop turn (or of the --write-delay-ms window)
 * writes each connection's frames of that turn in one send(2) straight to
 * the socket when lws holds no output of its own for it (the direct-write
 * fast path: no poll change; the rest of a short write is lws's to send),
 * else asks lws for SERVER_WRITEABLE. Closing
 * is asynchronous too: gw_session_close() marks the session closing at once
 * (nothing more is queued to it), asks the router to detach it from its
 * lobby at the next safe point — the next loop turn, never inside a walk
 * over the lobby (counts, presence and capacity are freed then) — drops its
 * queue, and the close frame goes out on the next writeable.
 */
#ifndef GW_SESSION_H
#define GW_SESSION_H

#include "gw_buf.h"
#include "gw_connid.h"
#include "gw_node.h"
#include "gw_ratelimit.h"

#include <sys/types.h>

struct lws;

typedef enum {
	GW_SS_NEW = 0,    /* upgrade in progress */
	GW_SS_ADMITTING,  /* upgraded, admission pending */
	GW_SS_OPEN,       /* admitted, in a lobby */
	GW_SS_CLOSING,    /* close requested, waiting for the close frame */
} gw_session_state_t;

/* Close codes and reasons; docs/protocol.md documents each. */
typedef enum {
	GW_CLOSE_NORMAL = 0,
	GW_CLOSE_GOING_AWAY,
	GW_CLOSE_RATE_LIMITED,
	GW_CLOSE_TOO_BIG,
	GW_CLOSE_INTERNAL,
	GW_CLOSE_BAD_LOBBY,
	GW_CLOSE_UNAUTHORIZED,
	GW_CLOSE_SERVER_FULL,
	GW_CLOSE_NODE_FULL,     /* 4002 server_full, counted apart */
	GW_CLOSE_LOBBY_FULL,
	GW_CLOSE_UNAVAILABLE,
	GW_CLOSE_ALREADY_CONNECTED,
	GW_CLOSE_REPLACED,
	GW_CLOSE_STALE,
	GW_CLOSE_TOKEN_EXPIRED,
	GW_CLOSE_SLOW_CONSUMER,
	GW_CLOSE_PROTOCOL_ABUSE,
	GW_CLOSE_KICKED,
	GW_CLOSE_BAD_REQUEST,   /* 4010: a request field we cannot read */
	GW_CLOSE__COUNT
} gw_close_t;

uint16_t gw_close_code(gw_close_t c);
const char *gw_close_reason(gw_close_t c); /* sent in the close frame */
const char *gw_close_name(gw_close_t c);   /* logs and metrics */
/* The HTTP status an SSE request refused for `c` is answered with. */
int gw_close_http_status(gw_close_t c);

/*
 * How a session's frames reach the wire. The session keeps the queue and
 * its bounds and calls these; each writes with lws (or, on the fast path,
 * send(2)) and returns what the lws callback should return unless noted.
 * Every frame handed to a writer is whole: one JSON text.
 */
typedef struct gw_session_writer {
	const char *name;        /* "websocket", "sse" */
	size_t overhead;         /* at most this many bytes frame() adds */
	int answers_pings;       /* the client can pong (else: receive-only) */
	/* Before anything else on each writeable (NULL: nothing): 1 wrote
	 * something and wants another writeable, 0 go on, -1 close. */
	int (*begin)(gw_session_t *s);
	/* The fast path: 1 written (or its rest handed to lws), 0 queue it,
	 * -1 broken (the session closes). */
	int (*direct)(gw_session_t *s, gw_buf_t *b);
	/* Lays `b` out at `out` (room for b->len + overhead); the length. */
	size_t (*frame)(const gw_buf_t *b, unsigned char *out);
	/* `b` on its own (too large for a batch); < 0: lws refused. */
	int (*one)(gw_session_t *s, gw_buf_t *b);
	/* The transport's keep-alive; < 0: lws refused. */
	int (*ping)(gw_session_t *s);
	/* Closing and nothing left queued: the transport's goodbye. */
	int (*close)(gw_session_t *s);
} gw_session_writer_t;

extern const gw_session_writer_t gw_session_ws_writer; /* gw_ws.c */

/* An epoch as the history script makes it (16 hex digits); a client's may
 * be 1..GW_EPOCH_MAX bytes of [A-Za-z0-9_-]. */
#define GW_EPOCH_MAX 32

/*
 * History (--history-size): a joining connection's resume request and,
 * from admission until the history has answered, the frames held back so
 * that the welcome and the replay go first. Allocated by the upgrade
 * filter when history is on (NULL otherwise: the no-history path pays one
 * pointer test per send); freed once the skip window below is over, or
 * with the session.
 */
typedef struct gw_hold {
	uint64_t since;           /* resume: the last offset the client had */
	char epoch[GW_EPOCH_MAX + 1]; /* resume: the client's epoch */
	uint8_t resume;           /* since and epoch were given */
	uint8_t holding;          /* frames are kept, not sent */
	uint64_t skip_upto;       /* after release: message frames at or below */
	uint64_t skip_until_ms;   /* ... this offset are dropped until then */
	gw_buf_t **kept;
	uint32_t n, cap;
} gw_hold_t;

struct gw_session {
	gw_member_t m;          /* registry links; first, see GW_SESSION_OF */
	/*
	 * Heartbeat and expiry deadline (gw_health) while open; once closing,
	 * timer.link instead holds the session on node->reap until the router
	 * detaches it at a safe point.
	 */
	gw_timer_t timer;
	struct lws *wsi;
	gw_node_t *node;
	const gw_session_writer_t *w; /* WebSocket or SSE; set before admission */
	/* send queue: one shared buffer inline (q_cap 0), or a ring of them
	 * (gw_session.c, queue_head) */
	union {
		gw_buf_t *one;
		gw_buf_t **ring;
	} q;
	uint32_t q_bytes;
	uint16_t q_head, q_len, q_cap;
	/* receive: fragments being reassembled */
	gw_buf_t *rx;
	/* health */
	uint64_t ping_sent_ms;  /* monotonic time of the last ping (or of joining) */
	int64_t exp;            /* token exp, seconds since the epoch; 0: none */
	uint64_t since_ms;      /* wall clock when admitted */
	uint32_t rtt_ms;
	uint32_t abuse;         /* bad frames; up to GW_CONFIG_STRIKES_MAX */
	uint8_t misses;
	uint8_t state;          /* gw_session_state_t */
	uint8_t close;          /* gw_close_t once CLOSING */
	uint8_t pending;        /* a verdict from the upgrade filter, gw_close_t + 1 */
	/* Flags, one bit each (0 or 1 only): the session is per connection. */
	unsigned want_ping : 1;     /* a protocol ping is due on the next writeable */
	unsigned ping_out : 1;      /* a ping awaits its pong (for the RTT) */
	unsigned speaks_json : 1;   /* answered a health_ping: no protocol pings */
	unsigned admitted : 1;      /* admission said yes: release on leave */
	unsigned detached : 1;      /* the router has let go of lobby and slot */
	unsigned reaping : 1;       /* timer.link is on node->reap */
	unsigned close_sent : 1;    /* the close frame was handed to lws */
	unsigned direct : 1;        /* the fast path may write to the socket (not TLS) */
	unsigned peer_closed : 1;   /* the client sent a close frame: lws answers it */
	unsigned flush_pending : 1; /* on node->flush_ids (--write-delay-ms) */
	unsigned head_sent : 1;     /* SSE: the response head went out */
	unsigned resume_set : 1;    /* `resume` holds a requested offset */
	uint16_t peer_code;     /* the close code the client sent (0: none) */
	uint64_t resume;        /* SSE Last-Event-ID: resume after this offset
				   (read by lobby history when it lands) */
	gw_ratelimit_t rl;      /* send budget and rate-limit violations */
	gw_hold_t *hold;        /* history on: see gw_hold_t */
	/* set by the upgrade filter, released once admitted */
	char *want_user;
	char *want_lobby;
};

#define GW_SESSION_OF(member) GW_CONTAINER_OF(member, gw_session_t, m)

/*
 * The session's connection id as text ("NODE.HEX", common/gw_connid),
 * written into `buf` (at least GW_CONN_ID_MAX bytes). Returns `buf`.
 */
char *gw_session_id_str(const gw_session_t *s, char *buf);

/*
 * The fast paths' write, for the writers' direct() (gw_ws.c, gw_sse.c):
 * the `len` laid-out bytes of one frame carrying `payload` bytes go to the
 * socket with one non-blocking send(2); the rest of a short write is given
 * to lws at once, which sends it before anything else it writes. Counts
 * the bytes and the write. Returns 1 if the frame went out (whole, or its
 * rest now lws's), 0 if nothing was written (it stays queued; a broken
 * socket also clears s->direct and lets lws notice), -1 if lws refused the
 * rest.
 */
int gw_session_write_direct(gw_session_t *s, const unsigned char *p, size_t len,
			    size_t payload);

/*
 * Sends `b` (the caller keeps its reference): queued by reference and
 * written at the end of this loop turn (or of the --write-delay-ms
 * window) with the session's other frames of the turn. When the queue
 * would pass --send-queue-max or --send-queue-bytes the session is closed
 * as a slow consumer and GW_EFULL returned. Frames for a closing session
 * are dropped (GW_EAGAIN).
 */
int gw_session_send(gw_session_t *s, gw_buf_t *b);
/* Convenience: sends and releases `b` (NULL from an encoder: GW_ENOMEM). */
int gw_session_send_owned(gw_session_t *s, gw_buf_t *b);
/* An error frame; counts towards the abuse limit when `abuse` is set. */
void gw_session_error(gw_session_t *s, const char *code, const char *msg,
		      int abuse);

/*
 * History: from now on frames sent to `s` are kept in order instead of
 * sent (bounded by --send-queue-max: past it the session closes as a slow
 * consumer). GW_ENOMEM without memory.
 */
int gw_session_hold(gw_session_t *s);
/*
 * Ends the hold: sends `first` (n frames, borrowed: the welcome, then the
 * replay), then the kept frames except message frames whose offset is at
 * or below `upto` (the replay and the welcome's offset cover them). Until
 * `until_ms` (monotonic) later message frames at or below `upto` are
 * dropped too: the node may still be delivering what the replay already
 * sent. The first frame past `upto` ends that window.
 */
void gw_session_release(gw_session_t *s, gw_buf_t *const *first, size_t n,
			uint64_t upto, uint64_t until_ms);
/* Frees the hold (the session's end, or an upgrade that never opened). */
void gw_session_hold_free(gw_session_t *s);

/*
 * Requests a close with `why`. Idempotent: the first reason wins. Asks the
 * layer above (node->up->closing: the router) to detach the session from
 * its lobby at its next safe point, drops queued frames and schedules the
 * close frame.
 */
void gw_session_close(gw_session_t *s, gw_close_t why);

/*
 * What a session tells the layer above it, through node->up (gw_router
 * fills it at init), so that this layer includes nothing above it: a
 * complete text or binary message arrived; a close was requested (detach
 * at a safe point); the connection is gone (CLOSED: detach now if still
 * pending). `s` is borrowed for the call; `in` too.
 */
typedef struct gw_session_up {
	void (*message)(gw_session_t *s, const char *in, size_t len);
	void (*binary)(gw_session_t *s);
	void (*closing)(gw_session_t *s, gw_close_t why);
	void (*closed)(gw_session_t *s);
} gw_session_up_t;

/*
 * The flush's event (created here, on node->base: made active for the end
 * of the turn, or a timer for the --write-delay-ms window) and
 * its teardown; called by the router's init and shutdown.
 */
int gw_session_flush_init(gw_node_t *node);
void gw_session_flush_free(gw_node_t *node);

/* lws glue, called by gw_server's protocol callback. */
int gw_session_on_writeable(gw_session_t *s);
void gw_session_on_receive(gw_session_t *s, const void *in, size_t len);
void gw_session_on_closed(gw_session_t *s);

#endif
