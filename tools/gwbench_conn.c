/*
 * gwbench_conn.c — the client side of one WebSocket connection in a
 * worker: non-blocking connect from a chosen source address, the upgrade
 * request with a freshly signed JWT, the 101 check, then server frames
 * (welcome, message, health_ping, presence, error; ping, close) with the
 * replies RFC 6455 and docs/protocol.md ask for (pong, health_pong, close).
 *
 * A connection is never freed while its bytes are being parsed: the parser
 * returns "end" with the reason in the slot and conn_read ends it after.
 */
#include "gwbench_worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

gwb_worker_t *gwb_the_worker;

static void on_conn_event(evutil_socket_t fd, short what, void *arg);

/* --- helpers ------------------------------------------------------------- */

static long gi_of(const gwb_worker_t *w, const gwb_conn_t *c)
{
	return (long)(c - w->conns) * w->o->workers + w->id;
}

static uint32_t next_mask(gwb_worker_t *w)
{
	w->mask_state ^= w->mask_state << 13;
	w->mask_state ^= w->mask_state >> 17;
	w->mask_state ^= w->mask_state << 5;
	return w->mask_state;
}

/* (Re)registers the connection's event only when what it waits for changes. */
void gwb_conn_watch(gwb_worker_t *w, gwb_conn_t *c, uint8_t want)
{
	short ev = EV_PERSIST;

	if (c->watch == want)
		return;
	if (c->watch)
		event_del(&c->ev);
	c->watch = want;
	if (!want)
		return;
	if (want & W_READ)
		ev |= EV_READ;
	if (want & W_WRITE)
		ev |= EV_WRITE;
	event_assign(&c->ev, w->base, c->fd, ev, on_conn_event, c);
	event_add(&c->ev, (want & W_HS) ? w->hs_tv : (want & W_CLOSE) ? w->close_tv
								    : NULL);
}

uint8_t gwb_conn_base_watch(const gwb_conn_t *c)
{
	uint8_t want = W_READ;

	if (c->flags & CF_PAUSED)
		want = 0;
	if (c->state < CS_OPEN)
		want |= W_HS;
	else if (c->state == CS_CLOSING)
		want |= W_CLOSE;
	if (c->wlen)
		want |= W_WRITE;
	return want;
}

/*
 * Writes `len` bytes, keeping what the socket does not take (up to
 * MAX_BACKLOG). Returns 0, or -1 when the connection must end.
 */
static int conn_send(gwb_worker_t *w, gwb_conn_t *c, const uint8_t *data, size_t len)
{
	ssize_t n = 0;

	if (!c->wlen) {
		n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n == (ssize_t)len)
			return 0;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			n = 0;
		}
	}
	len -= (size_t)n;
	data += n;
	if (c->woff + c->wlen + len > c->wcap) {
		uint8_t *nb;
		size_t cap = c->wlen + len + 4096;

		if (cap > MAX_BACKLOG)
			return -1;
		nb = malloc(cap);
		if (!nb)
			return -1;
		if (c->wlen)
			memcpy(nb, c->wbuf + c->woff, c->wlen);
		free(c->wbuf);
		c->wbuf = nb;
		c->wcap = (uint32_t)cap;
		c->woff = 0;
	}
	memcpy(c->wbuf + c->woff + c->wlen, data, len);
	c->wlen += (uint32_t)len;
	if (c->state != CS_CONNECTING)
		gwb_conn_watch(w, c, gwb_conn_base_watch(c));
	return 0;
}

static int conn_flush(gwb_worker_t *w, gwb_conn_t *c)
{
	ssize_t n;

	if (!c->wlen)
		return 0;
	n = send(c->fd, c->wbuf + c->woff, c->wlen, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	c->woff += (uint32_t)n;
	c->wlen -= (uint32_t)n;
	if (!c->wlen) {
		free(c->wbuf);
		c->wbuf = NULL;
		c->wcap = c->woff = 0;
	}
	gwb_conn_watch(w, c, gwb_conn_base_watch(c));
	return 0;
}

int gwb_conn_send_frame(gwb_worker_t *w, gwb_conn_t *c, int op, const void *p, size_t len)
{
	size_t n = gwb_ws_frame(w->out, op, p, len, next_mask(w));

	return conn_send(w, c, w->out, n);
}

/* --- connection lifecycle ---------------------------------------------------------- */

static void user_name(gwb_worker_t *w, gwb_conn_t *c, char *buf, size_t cap)
{
	long gi = gi_of(w, c);

	if (c->gen)
		snprintf(buf, cap, "%s%ld-%u", w->o->user_prefix, gi, c->gen);
	else
		snprintf(buf, cap, "%s%ld", w->o->user_prefix, gi);
}

void gwb_conn_start(gwb_worker_t *w, gwb_conn_t *c)
{
	const gwb_opts_t *o = w->o;
	const gwb_target_t *t = &o->targets[c->target];
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	int one = 1, fd;

	c->state = CS_CONNECTING;
	c->end = END_NONE;
	c->close_code = 0;
	c->last_seq = 0;
	c->t0 = gwb_now_ns();
	w->c.attempts++;
	w->c.inflight_now++;
	if (!w->c.t_first_ns)
		w->c.t_first_ns = c->t0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->fd = fd;
	if (fd < 0) {
		gwb_conn_end(w, c, END_CONNECT);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->flags & CF_SLOW) {
		int rcv = (int)o->slow_rcvbuf;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	if (o->nsources) {
		/* Let connect() pick the port: one address then serves ~28k
		 * ports per destination instead of ~28k in total. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		src.sin_addr.s_addr = o->sources[c->source];
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			if (errno == EADDRNOTAVAIL || errno == EADDRINUSE)
				w->c.fail_addr++;
			gwb_conn_end(w, c, END_CONNECT);
			return;
		}
	}
	dst.sin_addr.s_addr = t->ip;
	dst.sin_port = htons(t->port);
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
	    errno != EINPROGRESS) {
		if (errno == EADDRNOTAVAIL || errno == EADDRINUSE)
			w->c.fail_addr++;
		gwb_conn_end(w, c, END_CONNECT);
		return;
	}
	c->watch = 0;
	gwb_conn_watch(w, c, W_WRITE | W_HS);
}

/* TCP is up: send the upgrade request. */
static void conn_connected(gwb_worker_t *w, gwb_conn_t *c)
{
	const gwb_opts_t *o = w->o;
	const gwb_target_t *t = &o->targets[c->target];
	char user[96], tok[GW_AUTH_TOKEN_MAX + 1], req[GW_AUTH_TOKEN_MAX + 512];
	int64_t now_s = (int64_t)time(NULL);
	int n;

	w->c.tcp_ok++;
	gwb_hist_add(&w->h[GWB_H_TCP], gwb_now_ns() - c->t0);
	user_name(w, c, user, sizeof(user));
	if (gw_auth_sign(w->auth, user, now_s, o->token_ttl > 0 ? now_s + o->token_ttl : 0,
			 tok, sizeof(tok)) != 0)
		gwb_worker_fatal(w, "cannot sign a token");
	n = snprintf(req, sizeof(req),
		     "GET %s/%s%u?token=%s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Key: " GWB_WS_KEY "\r\n"
		     "Sec-WebSocket-Version: 13\r\n\r\n",
		     t->prefix, o->lobby_prefix, c->lobby, tok, t->host);
	c->state = CS_UPGRADING;
	if (conn_send(w, c, (uint8_t *)req, (size_t)n) < 0) {
		gwb_conn_end(w, c, END_CONNECT);
		return;
	}
	gwb_conn_watch(w, c, gwb_conn_base_watch(c));
}

static void conn_welcome(gwb_worker_t *w, gwb_conn_t *c)
{
	uint64_t now = gwb_now_ns(), dt = now - c->t0;

	c->state = CS_OPEN;
	w->c.opened++;
	w->c.open_now++;
	w->c.inflight_now--;
	w->c.t_last_welcome_ns = now;
	gwb_hist_add(&w->h[GWB_H_WELCOME], dt);
	if (c->flags & CF_JOIN) {
		c->flags &= (uint8_t)~CF_JOIN;
		w->c.joins++;
		gwb_hist_add(&w->h[GWB_H_JOIN], dt);
	}
	gwb_conn_watch(w, c, gwb_conn_base_watch(c));
}

/*
 * Ends a connection: closes the socket, frees its buffers and moves the
 * counters for `why`. A churn leave that completes starts the slot's next
 * generation at once (a join).
 */
void gwb_conn_end(gwb_worker_t *w, gwb_conn_t *c, gwb_end_t why)
{
	uint8_t was = c->state;

	if (was == CS_DONE || was == CS_IDLE)
		return;
	if (c->watch)
		event_del(&c->ev);
	c->watch = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->rbuf);
	free(c->wbuf);
	c->rbuf = c->wbuf = NULL;
	c->rlen = c->rcap = c->wlen = c->wcap = c->woff = 0;
	c->state = CS_DONE;
	c->end = (uint8_t)why;
	if (was < CS_OPEN) {
		w->c.inflight_now--;
		switch (why) {
		case END_CONNECT: w->c.fail_connect++; break;
		case END_TIMEOUT: w->c.fail_timeout++; break;
		case END_CLOSE_FRAME: w->c.fail_closed++; break;
		case END_QUIT: break;
		default: w->c.fail_upgrade++; break;
		}
		c->flags &= (uint8_t)~CF_JOIN;
		return;
	}
	if (was == CS_OPEN) {
		w->c.open_now--;
		if (why == END_CLOSE_FRAME || why == END_EOF || why == END_PROTOCOL)
			w->c.server_closed++;
		if (c->flags & CF_SLOW && why != END_QUIT) {
			if (why == END_CLOSE_FRAME && c->close_code == 4007)
				w->c.slow_4007++;
			else
				w->c.slow_gone++;
		}
		return;
	}
	/* CS_CLOSING: our leave finished (close frame back, EOF or timeout). */
	w->c.leaves++;
	gwb_hist_add(&w->h[GWB_H_LEAVE], gwb_now_ns() - c->t0);
	if (w->rejoin && !w->quit) {
		c->gen++;
		c->flags |= CF_JOIN;
		gwb_conn_start(w, c);
	}
}

/* --- frames in ------------------------------------------------------------------ */

static uint64_t num_after(const uint8_t *p, size_t len, const char *key, int *ok)
{
	size_t kl = strlen(key);
	const uint8_t *q = memmem(p, len, key, kl), *e = p + len;
	uint64_t v = 0;

	*ok = 0;
	if (!q)
		return 0;
	for (q += kl; q < e && *q >= '0' && *q <= '9'; q++) {
		v = v * 10 + (uint64_t)(*q - '0');
		*ok = 1;
	}
	return v;
}

static void on_message(gwb_worker_t *w, gwb_conn_t *c, const uint8_t *p, size_t len,
		       uint64_t now)
{
	const uint8_t *d = memmem(p, len, "\"data\":", 7);
	uint64_t ts, seq, src, lat;
	int ok, ph;

	w->c.delivered++;
	if (c->flags & CF_PUB) {
		w->c.pub_rx++;
		return;
	}
	if (c->flags & CF_SLOW) {
		w->c.delivered_slow++;
		return;
	}
	w->c.delivered_healthy++;
	if (!d)
		return;
	len -= (size_t)(d - p);
	ts = num_after(d, len, "\"ts\":", &ok);
	if (!ok)
		return;
	seq = num_after(d, len, "\"seq\":", &ok);
	if (ok && w->o->publishers == 1) {
		if (c->last_seq && seq != (uint64_t)c->last_seq + 1)
			w->c.gaps++;
		c->last_seq = (uint32_t)seq;
	}
	src = num_after(d, len, "\"src\":", &ok);
	if (ts < w->pub_measure || !w->pub_measure)
		return; /* warm-up */
	ph = (w->pub_phase1 && ts >= w->pub_phase1) ? 1 : 0;
	lat = now > ts ? now - ts : 0;
	w->c.delivered_phase[ph]++;
	gwb_hist_add(&w->h[GWB_H_LAT_AT(ph, ok && src != c->target)], lat);
}

static int on_text(gwb_worker_t *w, gwb_conn_t *c, const uint8_t *p, size_t len,
		   uint64_t now)
{
	static const char pre[] = "{\"type\":\"";
	const char *t = (const char *)p + sizeof(pre) - 1;
	size_t tl = len > sizeof(pre) - 1 ? len - (sizeof(pre) - 1) : 0;

	if (len < sizeof(pre) - 1 || memcmp(p, pre, sizeof(pre) - 1) != 0) {
		w->c.other++;
		return 0;
	}
#define IS(lit) (tl >= sizeof(lit) - 1 && memcmp(t, lit, sizeof(lit) - 1) == 0)
	if (IS("message\"")) {
		on_message(w, c, p, len, now);
	} else if (IS("welcome\"")) {
		if (c->state == CS_ADMITTING || c->state == CS_UPGRADING)
			conn_welcome(w, c);
	} else if (IS("health_ping\"")) {
		char pong[96];
		int ok, n;
		uint64_t ts = num_after(p, len, "\"timestamp\":", &ok);

		w->c.health_pings++;
		n = snprintf(pong, sizeof(pong),
			     "{\"type\":\"health_pong\",\"timestamp\":%llu}",
			     (unsigned long long)ts);
		if (!(c->flags & CF_PAUSED) &&
		    gwb_conn_send_frame(w, c, GWB_WS_TEXT, pong, (size_t)n) < 0)
			return -1;
	} else if (IS("presence_")) {
		w->c.presence++;
	} else if (IS("error\"")) {
		w->c.errors++;
	} else {
		w->c.other++;
	}
#undef IS
	return 0;
}

/* Returns 0, or -1 when the connection must end (c->end says why). */
static int on_frame(gwb_worker_t *w, gwb_conn_t *c, const gwb_frame_t *f, uint64_t now)
{
	switch (f->opcode) {
	case GWB_WS_TEXT:
		if (!f->fin)
			c->flags |= CF_INFRAG;
		return on_text(w, c, f->payload, (size_t)f->len, now);
	case GWB_WS_CONT:
		if (f->fin)
			c->flags &= (uint8_t)~CF_INFRAG;
		return 0;
	case GWB_WS_PING:
		w->c.pings++;
		return gwb_conn_send_frame(w, c, GWB_WS_PONG, f->payload,
				  f->len > 125 ? 125 : (size_t)f->len);
	case GWB_WS_PONG:
		return 0;
	case GWB_WS_CLOSE: {
		unsigned code = f->len >= 2 ? (unsigned)f->payload[0] << 8 | f->payload[1]
					    : 1005;

		c->close_code = (uint16_t)code;
		w->c.closes[gwb_close_index(code)]++;
		if (c->state != CS_CLOSING) {
			uint8_t echo[2] = { (uint8_t)(code >> 8), (uint8_t)code };

			/* Answer the close; the socket goes right after. */
			gwb_conn_send_frame(w, c, GWB_WS_CLOSE, echo, code == 1005 ? 0 : 2);
			c->end = END_CLOSE_FRAME;
		} else {
			c->end = END_LEFT;
		}
		return -1;
	}
	default:
		w->c.other++;
		return 0;
	}
}

/*
 * Consumes what it can of `buf` (the response head, then frames). Returns
 * the bytes consumed, or -1 to end the connection.
 */
static long process(gwb_worker_t *w, gwb_conn_t *c, uint8_t *buf, size_t len, uint64_t now)
{
	size_t off = 0;
	gwb_frame_t f;

	if (c->state == CS_UPGRADING) {
		uint8_t *e = memmem(buf, len, "\r\n\r\n", 4);

		if (!e) {
			if (len > MAX_HEAD) {
				c->end = END_UPGRADE;
				return -1;
			}
			return 0;
		}
		off = (size_t)(e - buf) + 4;
		if (gwb_ws_check_response((char *)buf, off, w->accept) != 0) {
			c->end = END_UPGRADE;
			return -1;
		}
		w->c.upgraded++;
		gwb_hist_add(&w->h[GWB_H_UPGRADE], now - c->t0);
		c->state = CS_ADMITTING;
	}
	while (off < len) {
		int r = gwb_ws_parse(buf + off, len - off, MAX_FRAME, &f, NULL);

		if (r == 0)
			break;
		if (r < 0) {
			c->end = END_PROTOCOL;
			return -1;
		}
		if (on_frame(w, c, &f, now) < 0) {
			if (!c->end)
				c->end = END_EOF;
			return -1;
		}
		off += f.frame_len;
	}
	return (long)off;
}

static void conn_read(gwb_worker_t *w, gwb_conn_t *c)
{
	uint8_t *buf;
	size_t have = 0, cap;
	ssize_t n;
	long used;
	uint64_t now;

	if (c->rbuf) {
		if (c->rcap - c->rlen < 16384) {
			size_t ncap = (size_t)c->rcap * 2 + 16384;
			uint8_t *nb = realloc(c->rbuf, ncap);

			if (!nb) {
				gwb_conn_end(w, c, END_PROTOCOL);
				return;
			}
			c->rbuf = nb;
			c->rcap = (uint32_t)ncap;
		}
		buf = c->rbuf;
		have = c->rlen;
		cap = c->rcap;
	} else {
		buf = w->rx;
		cap = RX_SHARED;
	}
	n = read(c->fd, buf + have, cap - have);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (c->state == CS_CLOSING)
			gwb_conn_end(w, c, END_LEFT);
		else
			gwb_conn_end(w, c, c->state < CS_OPEN ? END_UPGRADE : END_EOF);
		if (c->state == CS_DONE && c->end == END_EOF)
			w->c.eof++;
		return;
	}
	now = gwb_now_ns();
	w->c.bytes_in += (uint64_t)n;
	have += (size_t)n;
	used = process(w, c, buf, have, now);
	if (used < 0) {
		gwb_conn_end(w, c, (gwb_end_t)c->end);
		return;
	}
	have -= (size_t)used;
	if (!have) {
		free(c->rbuf);
		c->rbuf = NULL;
		c->rlen = c->rcap = 0;
	} else if (buf == c->rbuf) {
		memmove(c->rbuf, c->rbuf + used, have);
		c->rlen = (uint32_t)have;
	} else {
		c->rcap = (uint32_t)(have < 4096 ? 4096 : have * 2);
		c->rbuf = malloc(c->rcap);
		if (!c->rbuf) {
			gwb_conn_end(w, c, END_PROTOCOL);
			return;
		}
		memcpy(c->rbuf, buf + used, have);
		c->rlen = (uint32_t)have;
	}
}


static void on_conn_event(evutil_socket_t fd, short what, void *arg)
{
	gwb_worker_t *w = gwb_the_worker;
	gwb_conn_t *c = arg;

	(void)fd;
	if (what & EV_TIMEOUT) {
		gwb_conn_end(w, c, c->state == CS_CLOSING ? END_LEFT : END_TIMEOUT);
		return;
	}
	if (c->state == CS_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
			if (err == EADDRNOTAVAIL)
				w->c.fail_addr++;
			gwb_conn_end(w, c, END_CONNECT);
			return;
		}
		conn_connected(w, c);
		return;
	}
	if ((what & EV_WRITE) && conn_flush(w, c) < 0) {
		gwb_conn_end(w, c, c->state < CS_OPEN ? END_UPGRADE
			 : c->state == CS_CLOSING ? END_LEFT : END_EOF);
		return;
	}
	if ((what & EV_READ) && c->state != CS_DONE)
		conn_read(w, c);
}
