/*
 * bench/floor.c — the floor of bench/compare's fan-out scenario: a minimal
 * WebSocket fan-out server that does exactly one send(2) per delivery and
 * (almost) nothing else. docs/benchmarks.md, "The floor: one send(2) per
 * delivery".
 *
 * A REFERENCE, NOT A PRODUCT. One process, one thread, one epoll loop,
 * listening on every ADDR:PORT given, all clients in one process: a member
 * on "another node" is just another fd here, so there is no inter-node hop
 * at all (no Redis, no envelope, no decode) and this is strictly cheaper
 * than any 3-node cluster doing the same deliveries. It speaks exactly what
 * bench/lib/loadgen.js --system gateway uses of docs/protocol.md:
 *
 *   GET /healthz                     200 "ok", then close (compare's probe)
 *   GET /ws/LOBBY?token=JWT          RFC 6455 upgrade; the JWT is NOT
 *                                    verified (its payload's "sub" is only
 *                                    decoded to name the user); then one
 *                                    {"type":"welcome",...} text frame
 *   client {"type":"broadcast","data":D}
 *                                    ONE frame {"type":"message","lobby":L,
 *                                    "from":U,"data":D} (the gateway's shape,
 *                                    gw_proto_message) built once, then one
 *                                    non-blocking send(2) per other member
 *   ping -> pong; close -> close; anything else is ignored. No heartbeat
 *   (the bench's runs are shorter than the gateway's 20 s), no JSON check
 *   beyond the broadcast prefix, no permessage-deflate, no fragmentation.
 *
 * Output the kernel does not take at once goes to a per-connection buffer
 * drained on EPOLLOUT; while it is non-empty, later frames queue behind it
 * (order kept). The bench never fills a socket, so that path is cold.
 *
 * usage: floor ADDR:PORT...     (SIGTERM ends it)
 * build: cc -O2 -Wall -Wextra -Werror -o floor bench/floor.c -lcrypto
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RX_MAX 16384 /* handshake or one client frame must fit */
#define MAX_LISTEN 16
#define MAX_LOBBIES 4096

typedef struct conn {
	int fd, ws, lobby, idx; /* idx: position in its lobby's member array */
	size_t rx_len, tx_len, tx_cap;
	char *tx;		/* pending output, tx_len bytes */
	char user[64];
	char rx[RX_MAX];
} conn_t;

typedef struct {
	char name[128];
	conn_t **m;
	int n, cap;
} lobby_t;

static lobby_t lobbies[MAX_LOBBIES];
static int nlobbies, ep;
static unsigned long conn_seq;
static char frame[RX_MAX + 512];

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void want_out(conn_t *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };

	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl");
}

static void conn_close(conn_t *c)
{
	if (c->ws && c->lobby >= 0) {
		lobby_t *l = &lobbies[c->lobby];

		l->m[c->idx] = l->m[--l->n];
		l->m[c->idx]->idx = c->idx;
	}
	close(c->fd); /* also leaves the epoll set */
	free(c->tx);
	free(c);
}

/* Sends or queues len bytes. Returns -1 when the peer is gone: the caller
 * closes it (never inside a fan-out loop over the same lobby: see fanout). */
static int out(conn_t *c, const char *p, size_t len)
{
	if (!c->tx_len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n == (ssize_t)len)
			return 0;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (n > 0)
			p += n, len -= (size_t)n;
		want_out(c, 1);
	}
	if (c->tx_len + len > c->tx_cap) {
		size_t cap = (c->tx_len + len) * 2;
		char *t = realloc(c->tx, cap);

		if (!t)
			return -1;
		c->tx = t, c->tx_cap = cap;
	}
	memcpy(c->tx + c->tx_len, p, len);
	c->tx_len += len;
	return 0;
}

static int flush(conn_t *c)
{
	ssize_t n = send(c->fd, c->tx, c->tx_len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	memmove(c->tx, c->tx + n, c->tx_len - (size_t)n);
	c->tx_len -= (size_t)n;
	if (!c->tx_len)
		want_out(c, 0);
	return 0;
}

/* A server (unmasked) frame header for len bytes at dst; returns its size. */
static size_t ws_head(unsigned char *dst, int opcode, size_t len)
{
	dst[0] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		dst[1] = (unsigned char)len;
		return 2;
	}
	dst[1] = 126, dst[2] = (unsigned char)(len >> 8), dst[3] = (unsigned char)len;
	return 4; /* len < 64 KiB: RX_MAX bounds every frame built here */
}

static int send_frame(conn_t *c, int opcode, const char *p, size_t len)
{
	unsigned char h[4];
	char buf[1024];
	size_t hl = ws_head(h, opcode, len);

	if (hl + len > sizeof(buf))
		return -1;
	memcpy(buf, h, hl);
	memcpy(buf + hl, p, len);
	return out(c, buf, hl + len);
}

/* The one thing measured: one frame built once, one send per other member.
 * A failed send is only noted; the dead connection is closed by its own
 * EPOLLIN/EPOLLERR event, so the member array is not changed mid-loop. */
static void fanout(conn_t *from, const char *data, size_t dlen)
{
	lobby_t *l = &lobbies[from->lobby];
	size_t hl, len;
	int n, i;

	n = snprintf(frame + 4, sizeof(frame) - 4, "{\"type\":\"message\",\"lobby\":\"%s\",\"from\":\"%s\",\"data\":%.*s}",
		     l->name, from->user, (int)dlen, data);
	if (n < 0 || (size_t)n >= sizeof(frame) - 4)
		return;
	len = (size_t)n;
	hl = len < 126 ? 2 : 4;
	ws_head((unsigned char *)frame + 4 - hl, 1, len);
	for (i = 0; i < l->n; i++)
		if (l->m[i] != from)
			(void)out(l->m[i], frame + 4 - hl, hl + len);
}

static int lobby_join(conn_t *c, const char *name, size_t nlen)
{
	lobby_t *l;
	int i;

	for (i = 0; i < nlobbies; i++)
		if (strlen(lobbies[i].name) == nlen && !memcmp(lobbies[i].name, name, nlen))
			break;
	if (i == nlobbies) {
		if (nlobbies == MAX_LOBBIES || nlen >= sizeof(lobbies[0].name))
			return -1;
		memcpy(lobbies[i].name, name, nlen);
		lobbies[i].name[nlen] = 0;
		nlobbies++;
	}
	l = &lobbies[i];
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 64;
		conn_t **m = realloc(l->m, (size_t)cap * sizeof(*m));

		if (!m)
			return -1;
		l->m = m, l->cap = cap;
	}
	c->lobby = i, c->idx = l->n;
	l->m[l->n++] = c;
	return 0;
}

/* The JWT's payload "sub", unverified, into c->user ("anonymous" if none). */
static void jwt_sub(conn_t *c, const char *tok, size_t tlen)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = memchr(tok, '.', tlen), *e, *s;
	char body[1024];
	size_t n = 0, bits = 0, acc = 0;

	strcpy(c->user, "anonymous");
	if (!p++ || !(e = memchr(p, '.', (size_t)(tok + tlen - p))))
		return;
	for (; p < e && n < sizeof(body) - 1; p++) {
		const char *k = strchr(b64, *p);

		if (!k || !*p)
			return;
		acc = (acc << 6) | (size_t)(k - b64), bits += 6;
		if (bits >= 8)
			bits -= 8, body[n++] = (char)(acc >> bits);
	}
	body[n] = 0;
	if ((s = strstr(body, "\"sub\":\"")) && (e = strchr(s += 7, '"')) && e - s < (long)sizeof(c->user) && e > s) {
		memcpy(c->user, s, (size_t)(e - s));
		c->user[e - s] = 0;
	}
}

/* The HTTP request in c->rx[0..end). Returns -1 to close. */
static int handshake(conn_t *c, size_t end)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *req = c->rx, *key, *q, *lob, *tok, cat[128], acc[32], resp[256], wel[512];
	unsigned char sha[SHA_DIGEST_LENGTH];
	size_t klen, tlen, i, o = 0;
	int n;

	req[end] = 0;
	if (!strncmp(req, "GET /healthz ", 13)) {
		static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

		(void)send(c->fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL);
		return -1;
	}
	if (strncmp(req, "GET /ws/", 8))
		return -1;
	lob = req + 8;
	if (!(q = strpbrk(lob, "? ")) || q == lob)
		return -1;
	tok = strstr(q, "token=");
	tlen = tok ? strcspn(tok += 6, "& \r\n") : 0;
	if (tok)
		jwt_sub(c, tok, tlen);
	for (key = strchr(req, '\n'); key; key = strchr(key + 1, '\n'))
		if (!strncasecmp(key + 1, "Sec-WebSocket-Key:", 18))
			break;
	if (!key)
		return -1;
	key += 19 + strspn(key + 19, " \t");
	klen = strcspn(key, " \t\r\n");
	if (klen + sizeof(guid) > sizeof(cat))
		return -1;
	memcpy(cat, key, klen);
	memcpy(cat + klen, guid, sizeof(guid) - 1);
	SHA1((unsigned char *)cat, klen + sizeof(guid) - 1, sha);
	for (i = 0; i < SHA_DIGEST_LENGTH; i += 3) { /* 20 bytes: 6 full groups + 2 */
		uint32_t v = (uint32_t)sha[i] << 16 | (i + 1 < 20 ? sha[i + 1] << 8 : 0) | (i + 2 < 20 ? sha[i + 2] : 0);

		acc[o++] = b64[v >> 18 & 63], acc[o++] = b64[v >> 12 & 63];
		acc[o++] = i + 1 < 20 ? b64[v >> 6 & 63] : '=';
		acc[o++] = i + 2 < 20 ? b64[v & 63] : '=';
	}
	acc[o] = 0;
	if (lobby_join(c, lob, (size_t)(q - lob)) < 0)
		return -1;
	c->ws = 1;
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
	if (out(c, resp, (size_t)n) < 0)
		return -1;
	n = snprintf(wel, sizeof(wel), "{\"type\":\"welcome\",\"connection_id\":\"floor.%lx\",\"user\":\"%s\",\"lobby\":\"%s\","
		     "\"node\":\"floor\",\"heartbeat_interval\":20,\"max_message_size\":65536}",
		     ++conn_seq, c->user, lobbies[c->lobby].name);
	return send_frame(c, 1, wel, (size_t)n);
}

/* Every whole masked client frame in c->rx. Returns -1 to close. */
static int frames(conn_t *c)
{
	static const char bc[] = "{\"type\":\"broadcast\",\"data\":";
	unsigned char *b = (unsigned char *)c->rx;
	size_t off = 0;

	while (c->rx_len - off >= 2) {
		unsigned char *f = b + off;
		size_t avail = c->rx_len - off, hl = 6, len = f[1] & 127, i;
		int op = f[0] & 15;

		if (!(f[0] & 0x80) || !(f[1] & 0x80) || len == 127)
			return -1; /* fragments, unmasked or huge frames: not in this bench */
		if (len == 126) {
			if (avail < 4)
				break;
			len = (size_t)f[2] << 8 | f[3], hl = 8;
		}
		if (hl + len > RX_MAX)
			return -1;
		if (avail < hl + len)
			break;
		for (i = 0; i < len; i++)
			f[hl + i] ^= f[hl - 4 + (i & 3)];
		if (op == 8)
			return -1;
		if (op == 9 && send_frame(c, 10, (char *)f + hl, len) < 0)
			return -1;
		if (op == 1 && len > sizeof(bc) && !memcmp(f + hl, bc, sizeof(bc) - 1) && f[hl + len - 1] == '}')
			fanout(c, (char *)f + hl + sizeof(bc) - 1, len - sizeof(bc)); /* data without the outer '}' */
		off += hl + len;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
	return 0;
}

static int on_read(conn_t *c)
{
	ssize_t n = recv(c->fd, c->rx + c->rx_len, RX_MAX - 1 - c->rx_len, 0);
	char *end;

	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	c->rx_len += (size_t)n;
	if (c->ws)
		return frames(c);
	c->rx[c->rx_len] = 0;
	if (!(end = strstr(c->rx, "\r\n\r\n")))
		return c->rx_len >= RX_MAX - 1 ? -1 : 0;
	c->rx_len = 0; /* the client sends nothing before the 101 */
	return handshake(c, (size_t)(end + 4 - c->rx));
}

static void on_accept(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct epoll_event ev = { .events = EPOLLIN };
		conn_t *c;

		if (fd < 0)
			return;
		if (!(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd, c->lobby = -1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* as lws */
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl");
	}
}

int main(int argc, char **argv)
{
	static int lfds[MAX_LISTEN];
	struct epoll_event evs[256];
	int nl = 0, i, n;

	if (argc < 2 || argc - 1 > MAX_LISTEN) {
		fprintf(stderr, "usage: floor ADDR:PORT... (at most %d)\n", MAX_LISTEN);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	for (i = 1; i < argc; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		char addr[64], *colon;
		struct epoll_event ev = { .events = EPOLLIN };
		int one = 1, fd;

		snprintf(addr, sizeof(addr), "%s", argv[i]);
		colon = strrchr(addr, ':');
		if (!colon || (*colon = 0, inet_pton(AF_INET, addr, &sa.sin_addr) != 1)) {
			fprintf(stderr, "floor: bad ADDR:PORT '%s'\n", argv[i]);
			return 2;
		}
		sa.sin_port = htons((uint16_t)atoi(colon + 1));
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0)
			die("listen");
		lfds[nl++] = fd;
		ev.data.ptr = &lfds[nl - 1]; /* listeners: pointers into lfds */
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl");
	}
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			conn_t *c = p;

			if (p >= (void *)lfds && p < (void *)(lfds + MAX_LISTEN)) {
				on_accept(*(int *)p);
				continue;
			}
			if ((evs[i].events & EPOLLOUT) && flush(c) < 0) {
				conn_close(c);
				continue;
			}
			if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && on_read(c) < 0)
				conn_close(c);
		}
	}
}
