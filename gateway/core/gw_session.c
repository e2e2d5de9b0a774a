/*
 * gw_session.c — per-connection send queue, reassembly, limits and close.
 */
#include "gw_session.h"
#include "gw_alloc.h"
#include "gw_log.h"
#include "gw_protocol.h"

#include <errno.h>
#include <event2/event.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

_Static_assert(GW_BUF_HEADROOM >= LWS_PRE, "gw_buf headroom must fit LWS_PRE");

/*
 * Each close: its WebSocket code and reason, its name in logs and metrics,
 * and the HTTP status an SSE request refused for it gets (docs/protocol.md).
 */
static const struct {
	uint16_t code;
	uint16_t http;
	const char *reason;
	const char *name;
} closes[GW_CLOSE__COUNT] = {
	[GW_CLOSE_NORMAL] = { 1000, 200, "normal", "normal" },
	[GW_CLOSE_GOING_AWAY] = { 1001, 503, "going_away", "going_away" },
	[GW_CLOSE_RATE_LIMITED] = { 1008, 429, "rate_limited", "rate_limited" },
	[GW_CLOSE_TOO_BIG] = { 1009, 413, "message_too_big", "message_too_big" },
	[GW_CLOSE_INTERNAL] = { 1011, 500, "internal_error", "internal_error" },
	[GW_CLOSE_BAD_LOBBY] = { 4000, 400, "bad_lobby", "bad_lobby" },
	[GW_CLOSE_UNAUTHORIZED] = { 4001, 401, "unauthorized", "unauthorized" },
	[GW_CLOSE_SERVER_FULL] = { 4002, 503, "server_full", "server_full" },
	[GW_CLOSE_NODE_FULL] = { 4002, 503, "server_full", "node_full" },
	[GW_CLOSE_LOBBY_FULL] = { 4002, 503, "lobby_full", "lobby_full" },
	[GW_CLOSE_UNAVAILABLE] = { 4002, 503, "unavailable", "unavailable" },
	[GW_CLOSE_ALREADY_CONNECTED] = { 4003, 409, "already_connected", "already_connected" },
	[GW_CLOSE_REPLACED] = { 4004, 409, "replaced", "replaced" },
	[GW_CLOSE_STALE] = { 4005, 408, "stale", "stale" },
	[GW_CLOSE_TOKEN_EXPIRED] = { 4006, 401, "token_expired", "token_expired" },
	[GW_CLOSE_SLOW_CONSUMER] = { 4007, 503, "slow_consumer", "slow_consumer" },
	[GW_CLOSE_PROTOCOL_ABUSE] = { 4008, 400, "protocol_abuse", "protocol_abuse" },
	[GW_CLOSE_KICKED] = { 4009, 403, "kicked", "kicked" },
	[GW_CLOSE_BAD_REQUEST] = { 4010, 400, "bad_request", "bad_request" },
};

uint16_t gw_close_code(gw_close_t c)
{
	return c < GW_CLOSE__COUNT ? closes[c].code : 1011;
}

const char *gw_close_reason(gw_close_t c)
{
	return c < GW_CLOSE__COUNT ? closes[c].reason : "internal_error";
}

const char *gw_close_name(gw_close_t c)
{
	return c < GW_CLOSE__COUNT ? closes[c].name : "internal_error";
}

int gw_close_http_status(gw_close_t c)
{
	return c < GW_CLOSE__COUNT ? closes[c].http : 500;
}

char *gw_session_id_str(const gw_session_t *s, char *buf)
{
	return gw_conn_id_format(s->node->cfg->node_id, s->m.id, buf);
}

/*
 * The send queue. Every frame waits in it at least until the end of the
 * loop turn, so most connections hold one frame or none: that one lives in
 * the session (q.one, q_cap 0). A second frame in the same turn moves them
 * to a ring (q.ring, q_cap slots), which starts small and doubles up to
 * --send-queue-max: an idle connection costs nothing and a busy one no
 * more than its bound. The ring stays once made (a receiver behind once
 * is likely to be again).
 */
static gw_buf_t *queue_head(const gw_session_t *s)
{
	return s->q_cap ? s->q.ring[s->q_head] : s->q.one;
}

/* Takes the head frame off the queue (the reference passes to the caller). */
static gw_buf_t *queue_pop(gw_session_t *s)
{
	gw_buf_t *b = queue_head(s);

	if (s->q_cap)
		s->q_head = (uint16_t)((s->q_head + 1) % s->q_cap);
	else
		s->q.one = NULL;
	s->q_len--;
	s->q_bytes -= b->len;
	return b;
}

/* Puts `b`, just popped, back at the head: room is certain. */
static void queue_unpop(gw_session_t *s, gw_buf_t *b)
{
	if (s->q_cap) {
		s->q_head = (uint16_t)((s->q_head + s->q_cap - 1) % s->q_cap);
		s->q.ring[s->q_head] = b;
	} else {
		s->q.one = b;
	}
	s->q_len++;
	s->q_bytes += b->len;
}

static void queue_clear(gw_session_t *s)
{
	while (s->q_len)
		gw_buf_unref(queue_pop(s));
}

static int queue_grow(gw_session_t *s)
{
	long max = s->node->cfg->send_queue_max;
	uint32_t cap = s->q_cap ? (uint32_t)s->q_cap * 2 : 4, i;
	gw_buf_t **nq;

	if (cap > (uint32_t)max)
		cap = (uint32_t)max;
	if (cap > UINT16_MAX)
		cap = UINT16_MAX;
	if (cap <= s->q_cap)
		return GW_EFULL;
	nq = gw_malloc(cap * sizeof(*nq));
	if (!nq)
		return GW_ENOMEM;
	if (!s->q_cap) {
		nq[0] = s->q.one; /* q_len is 1 */
	} else {
		for (i = 0; i < s->q_len; i++)
			nq[i] = s->q.ring[(s->q_head + i) % s->q_cap];
		gw_free(s->q.ring);
	}
	s->q.ring = nq;
	s->q_head = 0;
	s->q_cap = (uint16_t)cap;
	return GW_OK;
}

/*
 * The fast paths' two steps: one non-blocking send(2), and the rest of a
 * short write handed to lws, which sends it before anything else it writes
 * (pongs included) and which stops the fast path until it is empty.
 */
static ssize_t send_now(gw_session_t *s, const unsigned char *p, size_t len)
{
	ssize_t n = send(lws_get_socket_fd(s->wsi), p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n >= 0)
		return n;
	/* A broken socket is lws's to notice; the queue path lets it. */
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		s->direct = 0;
	return 0;
}

static int hand_rest(gw_session_t *s, const unsigned char *p, size_t len)
{
	/* lws keeps what it cannot send now; it needs LWS_PRE in front. */
	unsigned char *rest = gw_malloc(LWS_PRE + len);
	int rc;

	if (!rest)
		return -1;
	memcpy(rest + LWS_PRE, p, len);
	rc = lws_write(s->wsi, rest + LWS_PRE, len, LWS_WRITE_HTTP);
	gw_free(rest);
	return rc < 0 ? -1 : 0;
}

int gw_session_write_direct(gw_session_t *s, const unsigned char *p, size_t len,
			    size_t payload)
{
	ssize_t n = send_now(s, p, len);

	if (!n)
		return 0;
	s->node->stats.bytes_out += payload;
	if (n == (ssize_t)len) {
		s->node->stats.direct_writes++;
		return 1;
	}
	s->node->stats.partial_writes++;
	return hand_rest(s, p + n, len - (size_t)n) < 0 ? -1 : 1;
}

/* --- history: the hold (gw_hold_t) ----------------------------------------- */

void gw_session_hold_free(gw_session_t *s)
{
	gw_hold_t *h = s->hold;
	uint32_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++)
		gw_buf_unref(h->kept[i]);
	gw_free(h->kept);
	gw_free(h);
	s->hold = NULL;
}

int gw_session_hold(gw_session_t *s)
{
	if (!s->hold && !(s->hold = gw_calloc(1, sizeof(*s->hold))))
		return GW_ENOMEM;
	s->hold->holding = 1;
	return GW_OK;
}

/* Whether a frame for a session past its hold is a duplicate to drop. */
static int skipped(gw_session_t *s, const gw_buf_t *b)
{
	gw_hold_t *h = s->hold;
	uint64_t off;

	if (!h->skip_upto)
		return 0; /* before admission: resume arguments only */
	if (gw_now_ms() >= h->skip_until_ms) {
		gw_session_hold_free(s);
		return 0;
	}
	off = gw_proto_offset_of((const char *)gw_buf_data((gw_buf_t *)b), b->len);
	if (!off)
		return 0;
	if (off <= h->skip_upto)
		return 1;
	gw_session_hold_free(s); /* past the replay: the window is over */
	return 0;
}

/* 1: the hold took `b` (kept or dropped); 0: send it; <0: error. */
static int hold_take(gw_session_t *s, gw_buf_t *b)
{
	gw_hold_t *h = s->hold;
	void *nv;

	if (!h->holding)
		return skipped(s, b);
	if (h->n >= (uint32_t)s->node->cfg->send_queue_max) {
		s->node->stats.dropped++;
		gw_session_close(s, GW_CLOSE_SLOW_CONSUMER);
		return GW_EFULL;
	}
	if (h->n == h->cap) {
		nv = gw_realloc(h->kept, (h->cap ? h->cap * 2 : 8) * sizeof(*h->kept));
		if (!nv) {
			gw_session_close(s, GW_CLOSE_INTERNAL);
			return GW_ENOMEM;
		}
		h->kept = nv;
		h->cap = h->cap ? h->cap * 2 : 8;
	}
	h->kept[h->n++] = gw_buf_ref(b);
	return 1;
}

void gw_session_release(gw_session_t *s, gw_buf_t *const *first, size_t n,
			uint64_t upto, uint64_t until_ms)
{
	gw_hold_t *h = s->hold;
	uint32_t i;
	size_t j;

	if (!h)
		return;
	s->hold = NULL; /* sent as they are: the filter is applied here */
	for (j = 0; j < n; j++)
		gw_session_send(s, first[j]);
	for (i = 0; i < h->n; i++) {
		gw_buf_t *b = h->kept[i];
		uint64_t off = gw_proto_offset_of((const char *)gw_buf_data(b), b->len);

		if (s->state == GW_SS_OPEN && (!off || off > upto))
			gw_session_send(s, b);
		gw_buf_unref(b);
	}
	h->n = 0;
	h->holding = 0;
	h->skip_upto = upto;
	h->skip_until_ms = until_ms;
	s->hold = h;
	if (!upto || s->state != GW_SS_OPEN)
		gw_session_hold_free(s);
}

/*
 * Coalescing: a frame is not written where it is produced. A session whose
 * queue just became non-empty joins the node's flush list (by id: it may
 * close meanwhile) and one event writes for all of them: every frame a
 * connection got meanwhile goes out in one send(2) (flush_direct; a lone
 * frame through the writer's fast path, several laid end to end; a
 * writeable from lws when it holds output of its own).
 *
 * When: with --write-delay-ms 0 (the default) at the end of the loop turn
 * that produced the frames — the event is made active, and libevent runs
 * it after the callbacks already due in this turn, before it polls again:
 * no delay, but a receiver that gets several frames in one turn (joins in
 * a connect storm, broadcasts read together from Redis) gets them in one
 * write. With a window (W > 0) a timer W ms after the first frame: a
 * millisecond of latency traded for fewer, larger writes at saturation.
 */
static int flush_direct(gw_session_t *s);

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_node_t *node = arg;
	/* Taken whole: a flush may close a session, and what that sends
	 * joins a new list (and a new turn), not the one walked here. */
	uint64_t *ids = node->flush_ids;
	size_t i, n = node->flush_n, cap = node->flush_cap;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	node->flush_ids = NULL;
	node->flush_n = node->flush_cap = 0;
	for (i = 0; i < n; i++) {
		gw_member_t *m = gw_registry_find(node->reg, ids[i]);
		gw_session_t *s = m ? GW_SESSION_OF(m) : NULL;

		if (!s || !s->flush_pending)
			continue;
		s->flush_pending = 0;
		if (s->q_len && s->wsi && !flush_direct(s))
			lws_callback_on_writable(s->wsi);
	}
	if (!node->flush_ids) {
		node->flush_ids = ids; /* keep the room for the next turn */
		node->flush_cap = cap;
	} else {
		gw_free(ids);
	}
}

int gw_session_flush_init(gw_node_t *node)
{
	node->flush_ev = node->cfg->write_delay_ms > 0
		? evtimer_new(node->base, flush_cb, node)
		: event_new(node->base, -1, 0, flush_cb, node);
	return node->flush_ev ? GW_OK : GW_ENOMEM;
}

void gw_session_flush_free(gw_node_t *node)
{
	if (node->flush_ev)
		event_free(node->flush_ev);
	node->flush_ev = NULL;
	gw_free(node->flush_ids);
	node->flush_ids = NULL;
	node->flush_n = node->flush_cap = 0;
}

/* Puts `s` on the flush list: written at the turn's or the window's end. */
static void want_writeable(gw_session_t *s)
{
	gw_node_t *node = s->node;
	long ms = node->cfg->write_delay_ms;

	if (!node->flush_ev) { /* before init or after shutdown */
		lws_callback_on_writable(s->wsi);
		return;
	}
	if (s->flush_pending)
		return;
	if (node->flush_n == node->flush_cap) {
		size_t cap = node->flush_cap ? node->flush_cap * 2 : 64;
		uint64_t *ids = gw_realloc(node->flush_ids, cap * sizeof(*ids));

		if (!ids) { /* no room to wait: write now */
			lws_callback_on_writable(s->wsi);
			return;
		}
		node->flush_ids = ids;
		node->flush_cap = cap;
	}
	node->flush_ids[node->flush_n++] = s->m.id;
	s->flush_pending = 1;
	if (node->flush_n > 1)
		return; /* the event is already due */
	if (ms <= 0) {
		event_active(node->flush_ev, EV_TIMEOUT, 1);
	} else {
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

		evtimer_add(node->flush_ev, &tv);
	}
}

int gw_session_send(gw_session_t *s, gw_buf_t *b)
{
	const gw_config_t *cfg = s->node->cfg;
	int rc;

	if (s->state == GW_SS_CLOSING || s->state == GW_SS_NEW) {
		s->node->stats.dropped++;
		return GW_EAGAIN;
	}
	if (s->hold && (rc = hold_take(s, b)) != 0)
		return rc < 0 ? rc : GW_OK;
	if (s->q_len >= cfg->send_queue_max ||
	    (uint64_t)s->q_bytes + b->len > (uint64_t)cfg->send_queue_bytes) {
		s->node->stats.dropped++;
		gw_session_close(s, GW_CLOSE_SLOW_CONSUMER);
		return GW_EFULL;
	}
	if (s->q_len == (s->q_cap ? s->q_cap : 1) && (rc = queue_grow(s)) != GW_OK) {
		s->node->stats.dropped++;
		gw_session_close(s, rc == GW_EFULL ? GW_CLOSE_SLOW_CONSUMER
						   : GW_CLOSE_INTERNAL);
		return rc;
	}
	if (s->q_cap)
		s->q.ring[(s->q_head + s->q_len) % s->q_cap] = gw_buf_ref(b);
	else
		s->q.one = gw_buf_ref(b);
	s->q_len++;
	s->q_bytes += b->len;
	s->node->stats.messages_out++;
	if (s->q_len == 1)
		want_writeable(s);
	return GW_OK;
}

int gw_session_send_owned(gw_session_t *s, gw_buf_t *b)
{
	int rc;

	if (!b)
		return GW_ENOMEM;
	rc = gw_session_send(s, b);
	gw_buf_unref(b);
	return rc;
}

/* The counters must reach the largest limit the config accepts. */
_Static_assert(sizeof(((gw_session_t *)0)->abuse) >= 4 &&
	       sizeof(((gw_ratelimit_t *)0)->violations) >= 4 &&
	       GW_CONFIG_STRIKES_MAX <= UINT32_MAX,
	       "abuse and violation counters must hold GW_CONFIG_STRIKES_MAX");

void gw_session_error(gw_session_t *s, const char *code, const char *msg,
		      int abuse)
{
	s->node->stats.errors_sent++;
	gw_session_send_owned(s, gw_proto_error(code, msg));
	if (abuse && ++s->abuse >= s->node->cfg->abuse_limit)
		gw_session_close(s, GW_CLOSE_PROTOCOL_ABUSE);
}

void gw_session_close(gw_session_t *s, gw_close_t why)
{
	if (s->state == GW_SS_CLOSING)
		return;
	if (s->state == GW_SS_OPEN)
		s->node->stats.closed[why]++;
	else
		s->node->stats.rejected[why]++;
	s->state = GW_SS_CLOSING;
	s->close = (uint8_t)why;
	s->node->up->closing(s, why);
	/*
	 * Frames already queued (an error explaining the close, say) go out
	 * before the close frame — except for a slow consumer, whose queue is
	 * the problem.
	 */
	if (why == GW_CLOSE_SLOW_CONSUMER || why == GW_CLOSE_INTERNAL)
		queue_clear(s);
	gw_buf_unref(s->rx);
	s->rx = NULL;
	lws_callback_on_writable(s->wsi);
}

/*
 * A receiver that has fallen behind gets its queued frames several at a
 * time: complete frames as its writer lays them out (WebSocket: unmasked,
 * a 2-, 4- or 10-byte header and the payload; SSE: a data: line) are laid
 * end to end in one scratch buffer and handed to lws as raw bytes, one
 * write(2) for up to BATCH_MAX bytes instead of one per frame. lws buffers a partial write itself. The scratch copy costs a
 * memcpy; the saved system calls are worth far more (docs/benchmarks.md).
 */
#define BATCH_MAX (64 * 1024)

/*
 * Moves queued frames, laid out end to end, into `p` (BATCH_MAX bytes) until
 * the next would not fit; returns the bytes and the frame count in *frames.
 */
static size_t batch_fill(gw_session_t *s, unsigned char *p, size_t *frames)
{
	const gw_session_writer_t *w = s->w;
	size_t off = 0;

	*frames = 0;
	while (s->q_len) {
		gw_buf_t *b = queue_head(s);

		if (off + w->overhead + b->len > BATCH_MAX)
			break;
		off += w->frame(b, p + off);
		queue_pop(s);
		s->node->stats.bytes_out += b->len;
		gw_buf_unref(b);
		(*frames)++;
	}
	if (*frames) {
		s->node->stats.batches++;
		s->node->stats.batched_frames += *frames;
	}
	return off;
}

static unsigned char batch_scratch[LWS_PRE + BATCH_MAX];

static int write_batch(gw_session_t *s)
{
	unsigned char *p = batch_scratch + LWS_PRE;
	size_t frames, off = batch_fill(s, p, &frames);

	if (!frames)
		return 0; /* the head frame alone is too big: send it on its own */
	if (lws_write(s->wsi, p, off, LWS_WRITE_HTTP) < 0)
		return -1;
	if (s->q_len || s->state == GW_SS_CLOSING)
		lws_callback_on_writable(s->wsi);
	return 1;
}

/*
 * A lone queued frame at the flush: the writer's own fast path (for
 * WebSocket the header laid in the shared buffer's headroom, no copy),
 * which writes only behind an empty queue — so the frame leaves the queue
 * for the call and goes back to its head if it was not written.
 */
static int flush_one(gw_session_t *s)
{
	gw_buf_t *b = queue_pop(s);
	int rc;

	if (!(rc = s->w->direct(s, b))) {
		queue_unpop(s, b);
		return 0;
	}
	gw_buf_unref(b);
	if (rc < 0)
		gw_session_close(s, GW_CLOSE_INTERNAL);
	return 1;
}

/*
 * The flush for one session: its queued frames go out in one send(2)
 * straight from here, as the fast path writes one frame — no POLLOUT armed
 * and disarmed for it. What the socket does not take is handed to lws at
 * once (it sends it before anything else). Returns 0 when the session must
 * wait for a writeable instead (lws has output of its own, the head frame
 * is too large to batch, TLS, closing; several frames on SSE).
 */
static int flush_direct(gw_session_t *s)
{
	unsigned char *p = batch_scratch + LWS_PRE;
	size_t frames, off;
	ssize_t n;

	if (s->q_len == 1)
		return flush_one(s);
	if (s->w != &gw_session_ws_writer || !s->direct || s->state != GW_SS_OPEN ||
	    s->peer_closed || lws_partial_buffered(s->wsi))
		return 0;
	off = batch_fill(s, p, &frames);
	if (!frames)
		return 0;
	n = send_now(s, p, off);
	if ((size_t)n < off) {
		s->node->stats.partial_writes++;
		if (hand_rest(s, p + n, off - (size_t)n) < 0) {
			gw_session_close(s, GW_CLOSE_INTERNAL);
			return 1;
		}
	}
	if (s->q_len)
		lws_callback_on_writable(s->wsi);
	return 1;
}

int gw_session_on_writeable(gw_session_t *s)
{
	const gw_session_writer_t *w = s->w;
	gw_buf_t *b;
	int n;

	if (w->begin && (n = w->begin(s)) != 0) {
		if (n > 0)
			lws_callback_on_writable(s->wsi);
		return n < 0 ? -1 : 0;
	}
	if (s->state == GW_SS_CLOSING && !s->q_len)
		return w->close(s);
	if (s->want_ping) {
		s->want_ping = 0;
		if (w->ping(s) < 0)
			return -1;
		if (s->q_len)
			lws_callback_on_writable(s->wsi);
		return 0;
	}
	if (!s->q_len)
		return 0;
	if (s->q_len > 1 && (n = write_batch(s)) != 0)
		return n < 0 ? -1 : 0;
	b = queue_pop(s);
	n = w->one(s, b);
	s->node->stats.bytes_out += b->len;
	gw_buf_unref(b);
	if (n < 0)
		return -1; /* send failure: lws closes, CLOSED cleans up */
	if (s->q_len || s->state == GW_SS_CLOSING)
		lws_callback_on_writable(s->wsi);
	return 0;
}

/*
 * Frames arrive in rx-buffer-sized pieces. A whole message in one piece
 * (the common case) is handed on without copying; otherwise the pieces are
 * collected up to --max-message-size.
 */
void gw_session_on_receive(gw_session_t *s, const void *in, size_t len)
{
	size_t max = (size_t)s->node->cfg->max_message_size;
	int first = lws_is_first_fragment(s->wsi);
	int final = lws_is_final_fragment(s->wsi) &&
		    !lws_remaining_packet_payload(s->wsi);

	if (s->state == GW_SS_CLOSING)
		return;
	s->node->stats.bytes_in += len;
	if (first && final && !s->rx) {
		if (len > max) {
			gw_session_close(s, GW_CLOSE_TOO_BIG);
			return;
		}
		if (lws_frame_is_binary(s->wsi)) {
			s->node->up->binary(s);
			return;
		}
		s->node->up->message(s, in, len);
		return;
	}
	if (!s->rx) {
		s->rx = gw_buf_new(len > 1024 ? len : 1024);
		if (!s->rx) {
			gw_session_close(s, GW_CLOSE_INTERNAL);
			return;
		}
	}
	if (s->rx->len + len > max) {
		gw_session_close(s, GW_CLOSE_TOO_BIG);
		return;
	}
	if (gw_buf_append(&s->rx, in, len)) {
		gw_session_close(s, GW_CLOSE_INTERNAL);
		return;
	}
	if (!final)
		return;
	if (lws_frame_is_binary(s->wsi)) {
		gw_buf_unref(s->rx);
		s->rx = NULL;
		s->node->up->binary(s);
		return;
	}
	{
		gw_buf_t *msg = s->rx;

		s->rx = NULL;
		s->node->up->message(s, (const char *)gw_buf_data(msg), msg->len);
		gw_buf_unref(msg);
	}
}

void gw_session_on_closed(gw_session_t *s)
{
	if (s->state != GW_SS_CLOSING) {
		/* The peer went away, or a write failed. */
		if (s->state == GW_SS_OPEN)
			s->node->stats.closed[GW_CLOSE_NORMAL]++;
		s->state = GW_SS_CLOSING;
		s->close = GW_CLOSE_NORMAL;
	}
	s->node->up->closed(s);
	queue_clear(s);
	if (s->q_cap)
		gw_free(s->q.ring);
	s->q.ring = NULL;
	s->q_cap = 0;
	gw_buf_unref(s->rx);
	s->rx = NULL;
	gw_free(s->want_user);
	gw_free(s->want_lobby);
	s->want_user = s->want_lobby = NULL;
	gw_session_hold_free(s);
}
