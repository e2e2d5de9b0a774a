/*
 * gw_ws.c — the WebSocket writer (gw_session_ws_writer, gw_session.h):
 * server frames (unmasked, FIN, text) laid out for the session's queue and
 * batches, the direct-write fast path, our pings and the close.
 */
#include "gw_session.h"

#include <libwebsockets.h>
#include <stdint.h>
#include <string.h>

static size_t frame_header(unsigned char *h, size_t len)
{
	h[0] = 0x81; /* FIN, text */
	if (len < 126) {
		h[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

/*
 * The direct-write fast path, for a connection's lone frame at the end of
 * a loop turn (gw_session.c, the flush). Asking lws for a writeable instead
 * would arm POLLOUT in one loop turn and disarm it in the next (two
 * epoll_ctl and an epoll_wait wake-up per delivery). So when the session is
 * open, nothing else of ours is queued and lws holds no output of its own
 * (lws_partial_buffered), the frame goes out now: the header is laid in the
 * buffer's headroom — the same bytes for every receiver of a shared
 * payload, so the shared buffer is safe on our one thread — and one
 * send(2) writes it.
 *
 * What lws sends by itself stays correct around it: pongs and our pings
 * are control frames, which may come between whole messages, and every
 * frame we write is whole (FIN). A short write must not let anything in
 * between the two parts, so the rest is handed to lws at once as raw bytes:
 * lws keeps it in its own output list, which it drains before anything
 * else it writes (pongs included) and which stops this path until it is
 * empty. Nothing is written after a close: not once we are closing, nor
 * after the peer's close frame (lws answers that one). Never on TLS, where
 * only lws may write.
 *
 * Returns 1 if `b` went out (whole, or its rest now lws's), 0 if nothing
 * was written and it must stay queued, -1 if lws refused the rest (the
 * connection is broken; lws closes it).
 */
static int ws_direct(gw_session_t *s, gw_buf_t *b)
{
	unsigned char *data = gw_buf_data(b);
	unsigned char hdr[10];
	size_t hl = frame_header(hdr, b->len);

	if (!s->direct || s->state != GW_SS_OPEN || s->q_len || s->peer_closed ||
	    lws_partial_buffered(s->wsi))
		return 0;
	memcpy(data - hl, hdr, hl);
	return gw_session_write_direct(s, data - hl, hl + b->len, b->len);
}

static size_t ws_frame(const gw_buf_t *b, unsigned char *out)
{
	size_t hl = frame_header(out, b->len);

	memcpy(out + hl, gw_buf_data((gw_buf_t *)b), b->len);
	return hl + b->len;
}

static int ws_one(gw_session_t *s, gw_buf_t *b)
{
	return lws_write(s->wsi, gw_buf_data(b), b->len, LWS_WRITE_TEXT);
}

static int ws_ping(gw_session_t *s)
{
	/* lws drops empty pongs unseen, so the ping carries a payload. */
	static unsigned char ping[LWS_PRE + 2] = { [LWS_PRE] = 'g', [LWS_PRE + 1] = 'w' };

	return lws_write(s->wsi, ping + LWS_PRE, 2, LWS_WRITE_PING);
}

static int ws_close(gw_session_t *s)
{
	const char *r = gw_close_reason(s->close);

	/*
	 * Once only: after our -1, lws sends the close frame and waits for
	 * the client's; another -1 in that wait would drop the socket at
	 * once, and frames still in flight from the client would turn
	 * into a reset that destroys the close frame.
	 */
	if (s->close_sent)
		return 0;
	s->close_sent = 1;
	lws_close_reason(s->wsi, gw_close_code(s->close),
			 (unsigned char *)(uintptr_t)r, strlen(r));
	return -1;
}

const gw_session_writer_t gw_session_ws_writer = {
	.name = "websocket",
	.overhead = 10,
	.answers_pings = 1,
	.direct = ws_direct,
	.frame = ws_frame,
	.one = ws_one,
	.ping = ws_ping,
	.close = ws_close,
};
