/*
 * gw_sse.c — the SSE writer (see gw_sse.h).
 *
 * The response has no length and says Connection: close (lws adds it for
 * a length-less HTTP/1.1 body), so the body is plain bytes until the
 * connection ends: events need no chunk framing, and the fast path can
 * write them with one send(2) as the WebSocket one does.
 */
#include "gw_sse.h"
#include "gw_alloc.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

/* "id: " digits "\n" "data: " ... "\n\n" */
#define SSE_OVERHEAD (4 + GW_SSE_ID_MAX + 1 + 6 + 2)
#define SSE_SCRATCH (64 * 1024)

/* --- reading our own frames ------------------------------------------------ */

static size_t skip_ws(const unsigned char *p, size_t i, size_t n)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i;
}

/* `i` at an opening quote: the index after the closing one (n if none). */
static size_t skip_string(const unsigned char *p, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '"')
			return i + 1;
	}
	return n;
}

/* The index after the value starting at `i`. No recursion: a depth count. */
static size_t skip_value(const unsigned char *p, size_t i, size_t n)
{
	size_t depth = 0;

	while (i < n) {
		unsigned char c = p[i];

		if (c == '"') {
			i = skip_string(p, i, n);
			if (!depth)
				return i;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (!depth)
				return i; /* the end of the enclosing object */
			if (--depth == 0)
				return i + 1;
		} else if (!depth && c == ',') {
			return i;
		}
		i++;
	}
	return n;
}

size_t gw_sse_frame_offset(const unsigned char *p, size_t n, char *out)
{
	size_t i = skip_ws(p, 0, n), k, v, e;

	if (i >= n || p[i] != '{')
		return 0;
	i++;
	for (;;) {
		i = skip_ws(p, i, n);
		if (i >= n || p[i] != '"')
			return 0;
		k = i + 1;
		i = skip_string(p, i, n);
		if (i >= n)
			return 0;
		e = i - 1; /* the closing quote */
		i = skip_ws(p, i, n);
		if (i >= n || p[i] != ':')
			return 0;
		v = skip_ws(p, i + 1, n);
		if (e - k == 6 && memcmp(p + k, "offset", 6) == 0) {
			size_t d = 0;

			while (v + d < n && p[v + d] >= '0' && p[v + d] <= '9')
				d++;
			if (d == 0 || d > GW_SSE_ID_MAX)
				return 0;
			memcpy(out, p + v, d);
			out[d] = '\0';
			return d;
		}
		i = skip_ws(p, skip_value(p, v, n), n);
		if (i >= n || p[i] != ',')
			return 0;
		i++;
	}
}

int gw_sse_parse_last_event_id(const char *v, size_t len, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	if (len == 0 || len > GW_SSE_ID_MAX)
		return GW_EINVAL;
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)v[i] - '0';

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return GW_EINVAL;
		x = x * 10 + d;
	}
	*out = x;
	return GW_OK;
}

/* --- the writer ------------------------------------------------------------ */

/*
 * One event. A frame is one JSON text, where a raw CR or LF can only be
 * whitespace between tokens (inside a string JSON wants them escaped), so
 * turning them into spaces keeps the meaning and makes each frame exactly
 * one data: line — which an EventSource hands over unchanged.
 */
static size_t sse_frame(const gw_buf_t *b, unsigned char *out)
{
	const unsigned char *d = gw_buf_data((gw_buf_t *)b);
	char id[GW_SSE_ID_MAX + 1];
	size_t idl = gw_sse_frame_offset(d, b->len, id), o = 0, i;

	if (idl) {
		memcpy(out, "id: ", 4);
		memcpy(out + 4, id, idl);
		out[4 + idl] = '\n';
		o = 5 + idl;
	}
	memcpy(out + o, "data: ", 6);
	o += 6;
	for (i = 0; i < b->len; i++)
		out[o + i] = d[i] == '\n' || d[i] == '\r' ? ' ' : d[i];
	o += b->len;
	out[o++] = '\n';
	out[o++] = '\n';
	return o;
}

static int write_http(gw_session_t *s, unsigned char *p, size_t len)
{
	return lws_write(s->wsi, p, len, LWS_WRITE_HTTP);
}

/* The refusal: the status for the close reason, and a JSON body with the
 * WebSocket close code and reason. Then lws flushes and closes. */
static int refuse(gw_session_t *s)
{
	unsigned char buf[LWS_PRE + 768], *start = buf + LWS_PRE, *p = start,
		      *end = buf + sizeof(buf) - 1;
	gw_close_t why = (gw_close_t)s->close;
	char body[160];
	int n = snprintf(body, sizeof(body), "{\"code\":%u,\"reason\":\"%s\"}",
			 gw_close_code(why), gw_close_reason(why));

	if (n <= 0 || (size_t)n >= sizeof(body) ||
	    lws_add_http_common_headers(s->wsi, (unsigned int)gw_close_http_status(why),
					"application/json", (lws_filepos_t)n, &p, end) ||
	    lws_add_http_header_by_token(s->wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (unsigned char *)"no-store", 8, &p, end) ||
	    (gw_close_http_status(why) == 401 &&
	     lws_add_http_header_by_token(s->wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
					  (unsigned char *)"Bearer", 6, &p, end)) ||
	    lws_finalize_http_header(s->wsi, &p, end) || end - p < n)
		return -1;
	memcpy(p, body, (size_t)n);
	p += n;
	(void)write_http(s, start, (size_t)(p - start));
	return -1;
}

static int open_stream(gw_session_t *s)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
		      *end = buf + sizeof(buf) - 1;

	if (lws_add_http_common_headers(s->wsi, HTTP_STATUS_OK, "text/event-stream",
					LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
	    lws_add_http_header_by_token(s->wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (unsigned char *)"no-store", 8, &p, end) ||
	    /* nginx and friends: do not buffer the stream */
	    lws_add_http_header_by_name(s->wsi, (unsigned char *)"x-accel-buffering:",
					(unsigned char *)"no", 2, &p, end) ||
	    lws_finalize_write_http_header(s->wsi, start, &p, end))
		return -1;
	return 1;
}

/*
 * Nothing goes out before the verdict. Refused before it was ever open:
 * the refusal. Otherwise the head once, before the first event.
 */
static int sse_begin(gw_session_t *s)
{
	if (s->head_sent)
		return 0;
	if (s->state == GW_SS_CLOSING && !s->since_ms) {
		s->head_sent = 1;
		s->close_sent = 1;
		return refuse(s);
	}
	if (s->state != GW_SS_OPEN && s->state != GW_SS_CLOSING)
		return 0;
	s->head_sent = 1;
	return open_stream(s);
}

/* As the WebSocket fast path (gw_session.c), through a scratch copy. */
static int sse_direct(gw_session_t *s, gw_buf_t *b)
{
	static unsigned char scratch[LWS_PRE + SSE_SCRATCH];
	unsigned char *p = scratch + LWS_PRE;

	if (!s->direct || !s->head_sent || s->state != GW_SS_OPEN || s->q_len ||
	    b->len + SSE_OVERHEAD > SSE_SCRATCH || lws_partial_buffered(s->wsi))
		return 0;
	return gw_session_write_direct(s, p, sse_frame(b, p), b->len);
}

static int sse_one(gw_session_t *s, gw_buf_t *b)
{
	unsigned char *p = gw_malloc(LWS_PRE + b->len + SSE_OVERHEAD);
	int n;

	if (!p)
		return -1;
	n = write_http(s, p + LWS_PRE, sse_frame(b, p + LWS_PRE));
	gw_free(p);
	return n;
}

/*
 * The client cannot answer, so a ping that lws takes is the sign of life:
 * a peer that stopped reading fills the socket, lws holds the rest, no
 * writeable comes, and the misses add up to a stale close.
 */
static int sse_ping(gw_session_t *s)
{
	static unsigned char ping[LWS_PRE + 8] = { [LWS_PRE] = ':', ' ', 'p', 'i', 'n', 'g',
						   '\n', '\n' };
	int n = write_http(s, ping + LWS_PRE, 8);

	if (n >= 0)
		s->misses = 0;
	return n;
}

static int sse_close(gw_session_t *s)
{
	unsigned char buf[LWS_PRE + 128];
	gw_close_t why = (gw_close_t)s->close;
	int n;

	if (s->close_sent)
		return -1;
	s->close_sent = 1;
	n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
		     "event: close\ndata: {\"code\":%u,\"reason\":\"%s\"}\n\n",
		     gw_close_code(why), gw_close_reason(why));
	if (n > 0 && (size_t)n < sizeof(buf) - LWS_PRE)
		(void)write_http(s, buf + LWS_PRE, (size_t)n);
	return -1; /* lws sends what it holds, then closes */
}

const gw_session_writer_t gw_sse_writer = {
	.name = "sse",
	.overhead = SSE_OVERHEAD,
	.answers_pings = 0,
	.begin = sse_begin,
	.direct = sse_direct,
	.frame = sse_frame,
	.one = sse_one,
	.ping = sse_ping,
	.close = sse_close,
};
