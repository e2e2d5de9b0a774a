/*
 * gw_server.c — the libwebsockets side of the node.
 *
 * The admission decision is not taken in LWS_CALLBACK_HTTP_CONFIRM_UPGRADE
 * (that path had a use-after-free in lws) but in
 * LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION, and a refusal is not a failed
 * handshake: the filter records a verdict, the upgrade completes, and
 * ESTABLISHED closes with the documented code and reason, because a
 * browser's WebSocket API never shows an HTTP status to the page.
 *
 * The exception is who is connecting rather than who they claim to be:
 * per-IP and handshake limits (gw_peers) are checked when the TCP
 * connection is accepted and again when its first request's headers are
 * in, and refused with a plain HTTP status before any upgrade — at accept
 * there is no request to upgrade yet, and a refused peer should cost as
 * little as possible. So is an upgrade that does not speak version 13 of
 * the protocol (426, RFC 6455 4.2.2): that is not a client to close in-band.
 *
 * Headers are read so that what cannot be read refuses: a header too long
 * to copy is never taken for an absent one.
 */
#include "gw_server.h"
#include "gw_alloc.h"
#include "gw_auth.h"
#include "gw_http.h"
#include "gw_health.h"
#include "gw_log.h"
#include "gw_peers.h"
#include "gw_protocol.h"
#include "gw_registry.h"
#include "gw_router.h"
#include "gw_session.h"
#include "gw_sse.h"
#include "gw_tls.h"

#include <event2/event.h>
#include <libwebsockets.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

/*
 * The protocol's receive buffer (rx_buffer_size). lws reads at most this
 * much plus LWS_PRE from a member's socket per loop turn and hands data
 * frames over in pieces of at most that (gw_session reassembles them); it
 * collects a control frame's payload in a buffer of this size, which lws
 * patch 08 allocates only while one is being collected, so an idle
 * connection holds none. It was 256 while lws kept the buffer for every
 * connection: then a 64 KiB message took ~240 reads and loop turns. Now
 * one page, the per-thread read buffer's size (pt_serv_buf_size); below
 * 256 a refused `PRI * HTTP/2.0` connection lingered until the handshake
 * timeout (tests/e2e/test_rfc6455.py).
 */
#define GW_RX_BUFFER (4096 - LWS_PRE)
/*
 * The most lws sends in one send(2) (tx_packet_size, plus LWS_PRE + 4).
 * Left 0, lws takes the receive buffer's size instead: while that was 256,
 * every frame lws wrote for us — a batch for a receiver behind (up to
 * 64 KiB), any frame on TLS, the rest of a short direct write — went out
 * 276 bytes per system call and per loop turn, the rest copied into lws's
 * output list first.
 */
#define GW_TX_PACKET (64 * 1024)
#define GW_XFF_MAX 1024  /* an X-Forwarded-For longer than this refuses */

_Static_assert(GW_PEER_N_VERDICTS <= GW_ARRAY_LEN(((gw_stats_t *)0)->conns_refused),
	       "gw_stats_t.conns_refused has a slot per gw_peer_verdict_t");

static gw_node_t *node_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* --- the upgrade filter -------------------------------------------------- */

static int origin_allowed(const gw_config_t *cfg, struct lws *wsi)
{
	char origin[256];
	const char *p = cfg->allowed_origins, *e;
	int n;

	if (!p || !*p)
		return 1;
	if (!lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN))
		return 1; /* not a browser: the allowlist is for browsers */
	/* Present but too long to copy is no allowed origin, not an absent one. */
	n = lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
	if (n <= 0)
		return 0;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		e = p;
		while (*e && *e != ',')
			e++;
		while (e > p && e[-1] == ' ')
			e--;
		if ((size_t)(e - p) == (size_t)n && strncmp(p, origin, (size_t)n) == 0)
			return 1;
		while (*e && *e != ',')
			e++;
		p = e;
	}
	return 0;
}

/*
 * The query argument `name` ("token=") into `buf`: its length, 0 if absent,
 * -1 if any argument is too long to read. lws_get_urlarg_by_name_safe()
 * stops at the first argument it cannot copy and reports "absent", which
 * would let an over-long ?token= fall through to another credential.
 */
static int urlarg(struct lws *wsi, const char *name, char *buf, size_t cap)
{
	size_t sl = strlen(name);
	int i, n;

	for (i = 0; lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
		n = lws_hdr_copy_fragment(wsi, buf, (int)cap, WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0)
			return -1;
		if ((size_t)n >= sl && strncmp(buf, name, sl) == 0) {
			memmove(buf, buf + sl, (size_t)n - sl + 1);
			return n - (int)sl;
		}
	}
	return 0;
}

/*
 * The token from, in order: ?token=, "Authorization: Bearer", or a
 * "bearer.<JWT>" entry of Sec-WebSocket-Protocol. Returns its length, 0 if
 * absent, -1 if too long or unreadable.
 */
static int find_token(struct lws *wsi, const char *protocols, char *tok,
		      size_t cap)
{
	const char *p, *e;
	int n;

	n = urlarg(wsi, "token=", tok, cap);
	if (n != 0)
		return n;
	n = lws_hdr_copy(wsi, tok, (int)cap, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n < 0 && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION))
		return -1;
	if (n > 7 && strncasecmp(tok, "Bearer ", 7) == 0) {
		memmove(tok, tok + 7, (size_t)n - 6);
		return n - 7;
	}
	for (p = protocols; p && *p; p = e) {
		while (*p == ' ' || *p == ',')
			p++;
		e = p;
		while (*e && *e != ',' && *e != ' ')
			e++;
		if (e - p > 7 && strncmp(p, "bearer.", 7) == 0) {
			if ((size_t)(e - p - 7) >= cap)
				return -1;
			memcpy(tok, p + 7, (size_t)(e - p - 7));
			tok[e - p - 7] = '\0';
			return (int)(e - p - 7);
		}
	}
	return 0;
}

/*
 * History on: ?since=OFFSET&epoch=E asks for a resume (docs/protocol.md,
 * Resume). Both or neither; OFFSET is 1..19 decimal digits, E 1..32 bytes
 * of [A-Za-z0-9_-]. Anything else -- one without the other, a sign, a
 * value too long to read -- refuses (4010 bad_request): a resume request
 * the node cannot read is not taken for a fresh join.
 */
static gw_close_t resume_args(struct lws *wsi, gw_hold_t *h)
{
	/* Room for any argument the token lookup could read (urlarg scans all). */
	char since[GW_AUTH_TOKEN_MAX + 1], epoch[GW_AUTH_TOKEN_MAX + 1];
	int ns = urlarg(wsi, "since=", since, sizeof(since));
	int ne = urlarg(wsi, "epoch=", epoch, sizeof(epoch));
	uint64_t v = 0;
	int i;

	if (ns < 0 || ne < 0 || (ns == 0) != (ne == 0) || ns > 19 || ne > GW_EPOCH_MAX)
		return GW_CLOSE_BAD_REQUEST;
	if (ns == 0)
		return GW_CLOSE_NORMAL;
	for (i = 0; i < ns; i++) {
		if (since[i] < '0' || since[i] > '9')
			return GW_CLOSE_BAD_REQUEST;
		v = v * 10 + (uint64_t)(since[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return GW_CLOSE_BAD_REQUEST;
	for (i = 0; i < ne; i++) {
		char c = epoch[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return GW_CLOSE_BAD_REQUEST;
	}
	h->since = v;
	memcpy(h->epoch, epoch, (size_t)ne);
	h->epoch[ne] = '\0';
	h->resume = 1;
	return GW_CLOSE_NORMAL;
}

/*
 * Who may join which lobby: the same for a WebSocket upgrade (`prefix`
 * "/ws/", `protocols` the offered subprotocols) and an SSE request
 * ("/sse/", no subprotocols). The verdict, GW_CLOSE_NORMAL for "go on".
 */
static gw_close_t filter(gw_node_t *node, gw_session_t *s, struct lws *wsi,
			 const char *protocols, const char *prefix)
{
	char path[256], tok[GW_AUTH_TOKEN_MAX + 1];
	const char *lobby, *why = NULL;
	size_t pl = strlen(prefix);
	gw_claims_t claims;
	int n, rc;

	n = lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI);
	if (n <= (int)pl || strncmp(path, prefix, pl) != 0)
		return GW_CLOSE_BAD_LOBBY;
	lobby = path + pl;
	if (!gw_lobby_name_valid(lobby, strlen(lobby)))
		return GW_CLOSE_BAD_LOBBY;
	s->want_lobby = gw_strdup(lobby);
	if (!s->want_lobby)
		return GW_CLOSE_INTERNAL;
	if (!origin_allowed(node->cfg, wsi)) {
		GW_LOG(GW_LOG_INFO, "auth_failed", GW_S("lobby", lobby),
		       GW_S("why", "origin_not_allowed"));
		return GW_CLOSE_UNAUTHORIZED;
	}
	n = find_token(wsi, protocols, tok, sizeof(tok));
	if (n <= 0) {
		GW_LOG(GW_LOG_INFO, "auth_failed", GW_S("lobby", lobby),
		       GW_S("why", n < 0 ? "too_long" : "missing_token"));
		return GW_CLOSE_UNAUTHORIZED;
	}
	rc = gw_auth_verify(node->auth, tok, (size_t)n,
			    (int64_t)(gw_wall_ms() / 1000), &claims, &why);
	lws_explicit_bzero(tok, sizeof(tok));
	if (rc != GW_OK) {
		GW_LOG(GW_LOG_INFO, "auth_failed", GW_S("lobby", lobby),
		       GW_S("why", why));
		return GW_CLOSE_UNAUTHORIZED;
	}
	s->want_user = gw_strdup(claims.sub);
	if (!s->want_user)
		return GW_CLOSE_INTERNAL;
	s->exp = claims.exp;
	if (node->cfg->history_size > 0) {
		if (gw_session_hold(s) != GW_OK)
			return GW_CLOSE_INTERNAL;
		s->hold->holding = 0; /* held from admission on (gw_router) */
		return resume_args(wsi, s->hold);
	}
	return GW_CLOSE_NORMAL;
}

/* --- HTTP ------------------------------------------------------------------- */

/*
 * Small responses only (JSON and the embedded dashboard files): headers and
 * body go out in one go from the HTTP callback; lws buffers any remainder.
 */
static int respond(struct lws *wsi, int status, const char *type,
		   const unsigned char *body, size_t len)
{
	unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start,
		      *end = hdr + sizeof(hdr) - 1;
	unsigned char *copy;
	int n;

	if (lws_add_http_common_headers(wsi, (unsigned int)status, type, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	/* lws_write needs LWS_PRE writable bytes in front of the body. */
	copy = gw_malloc(LWS_PRE + len + 1);
	if (!copy)
		return -1;
	memcpy(copy + LWS_PRE, body, len);
	n = lws_write(wsi, copy + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
	gw_free(copy);
	if (n < 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int serve_http(gw_node_t *node, struct lws *wsi, const char *path)
{
	const char *method = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI)
				     ? "GET" : "OTHER";
	const unsigned char *file;
	const char *type;
	char user[GW_AUTH_SUB_MAX + 1];
	int status = 500, rc;
	size_t len;
	gw_buf_t *b;

	if (strcmp(method, "GET") == 0 && (file = gw_http_static(path, &type, &len)))
		return respond(wsi, 200, type, file, len);
	if (strcmp(path, "/dev/token") == 0) {
		if (urlarg(wsi, "user=", user, sizeof(user)) <= 0)
			user[0] = '\0';
		b = gw_http_dev_token(node, user, &status);
	} else {
		b = gw_http_route(node, method, path, &status);
	}
	if (!b)
		return -1;
	rc = respond(wsi, status, "application/json", gw_buf_data(b), b->len);
	gw_buf_unref(b);
	return rc;
}

/* --- SSE: a receive-only member ---------------------------------------------- */

/*
 * Last-Event-ID: the offset to resume after. Present but unreadable (too
 * long to copy, not a number) refuses; lobby history reads s->resume.
 */
static gw_close_t last_event_id(gw_session_t *s, struct lws *wsi)
{
	static const char name[] = "last-event-id:";
	char v[GW_SSE_ID_MAX + 2];
	int total = lws_hdr_custom_length(wsi, name, (int)sizeof(name) - 1), n;

	if (total < 0)
		return GW_CLOSE_NORMAL; /* absent */
	n = lws_hdr_custom_copy(wsi, v, (int)sizeof(v), name, (int)sizeof(name) - 1);
	if (n < 0 || n != total ||
	    gw_sse_parse_last_event_id(v, (size_t)n, &s->resume) != GW_OK)
		return GW_CLOSE_BAD_REQUEST;
	s->resume_set = 1;
	return GW_CLOSE_NORMAL;
}

/*
 * GET /sse/LOBBY: the member is a session like a WebSocket one, with the
 * SSE writer. The request's headers are read here, then let go (lws's
 * "SSE" mark: no header buffer held, no HTTP timeout); the response waits
 * for the admission verdict (gw_sse.c). A refusal from the filter goes
 * through admission's way out, as for a WebSocket.
 */
static int serve_sse(gw_node_t *node, gw_session_t *s, struct lws *wsi)
{
	gw_close_t v;

	s->wsi = wsi;
	s->node = node;
	s->w = &gw_sse_writer;
	v = node->draining ? GW_CLOSE_GOING_AWAY : filter(node, s, wsi, NULL, "/sse/");
	if (v == GW_CLOSE_NORMAL)
		v = last_event_id(s, wsi);
	/*
	 * History on: Last-Event-ID resumes like ?since= but names no epoch
	 * (an SSE id is the offset alone), so it resumes within the lobby's
	 * current epoch ("*"); ?since=&epoch= on the URL, when given, wins.
	 */
	if (v == GW_CLOSE_NORMAL && s->hold && s->resume_set && !s->hold->resume) {
		s->hold->since = s->resume;
		strcpy(s->hold->epoch, "*");
		s->hold->resume = 1;
	}
	s->pending = v == GW_CLOSE_NORMAL ? 0 : (uint8_t)(v + 1);
	s->m.id = ++node->next_conn;
	node->stats.accepted++;
	gw_ratelimit_init(&s->rl, node->cfg, gw_now_ms());
	if (gw_registry_add(node->reg, &s->m) != GW_OK) {
		s->w = NULL;
		return -1;
	}
	s->state = GW_SS_NEW;
	s->direct = !lws_is_ssl(wsi);
	lws_http_mark_sse(wsi);
	gw_router_admit(s);
	return 0;
}

/* --- who is connecting (gw_peers) ------------------------------------------- */

#define REFUSAL_LOG_RATE 10 /* refusal log lines a second, and the burst */

/* gw_stats_t (core) cannot name the verdicts (net): its array must hold them. */
_Static_assert(GW_PEER_N_VERDICTS <= sizeof(((gw_stats_t *)0)->conns_refused) /
					     sizeof(((gw_stats_t *)0)->conns_refused[0]),
	       "gw_stats_t.conns_refused is too small for the peer verdicts");

/*
 * Answers `v`'s status on the raw socket; the caller then returns non-zero
 * and lws closes. Written directly because there may be no request yet
 * (at accept) and nothing has been written on this connection before
 * (checked at accept and at the first request only), so nothing can
 * interleave. What the client already sent is read and dropped first, so
 * the close is a FIN rather than a reset that could overtake the answer.
 */
static void refuse_http(gw_node_t *node, struct lws *wsi, gw_peer_t *c,
			gw_peer_verdict_t v)
{
	int status = gw_peer_verdict_status(v), fd = lws_get_socket_fd(wsi), n;
	const char *name = gw_peer_verdict_name(v), *msg = gw_peer_verdict_message(v);
	char out[512], body[160], sink[4096];
	size_t drained = 0;
	ssize_t r;

	node->stats.conns_refused[v]++;
	/* A flood of refusals must not become a flood of log lines: ten a
	 * second, and the next line logged says how many were not. Every
	 * refusal is counted in gw_connections_refused_total. */
	if (gw_bucket_take(&node->refusal_log, REFUSAL_LOG_RATE, REFUSAL_LOG_RATE,
			   gw_now_ms())) {
		GW_LOG(GW_LOG_INFO, "conn_refused", GW_S("why", name),
		       GW_S("ip", c ? gw_peer_addr(c) : "unknown"), GW_I("status", status),
		       GW_I("unlogged_before", node->refusals_unlogged));
		node->refusals_unlogged = 0;
	} else {
		node->refusals_unlogged++;
	}
	if (fd < 0)
		return;
	while (drained < 65536 && (r = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
		drained += (size_t)r;
	snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}", name, msg);
	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		     "Cache-Control: no-store\r\nConnection: close\r\n%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     status, status == 429 ? "Too Many Requests" :
		     status == 503 ? "Service Unavailable" :
		     status == 426 ? "Upgrade Required" : "Bad Request",
		     /* RFC 6455 4.2.2: name the version we speak */
		     status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "",
		     strlen(body), body);
	if (n > 0 && (size_t)n < sizeof(out))
		(void)!send(fd, out, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * The address accept() returned, handed from lws's FILTER_NETWORK_CONNECTION
 * (the listen socket's callback) to NEW_CLIENT_INSTANTIATED, which lws issues
 * for the same fd in the same call (ops-listen.c): one getpeername(2) fewer
 * per connection. Matched by fd; anything else asks the kernel.
 */
static struct {
	int fd;
	socklen_t len;
	struct sockaddr_storage ss;
} accepted = { .fd = -1 };

static void on_filter_network(const struct lws_filter_network_conn_args *a)
{
	accepted.fd = a->accept_fd;
	accepted.len = a->clilen <= sizeof(accepted.ss) ? a->clilen : 0;
	if (accepted.len)
		memcpy(&accepted.ss, &a->cli_addr, accepted.len);
}

/*
 * After a burst of connections, the heap's free pages go back to the kernel.
 * Every handshake allocates and frees scratch (lws's 8 KiB header buffer, the
 * JWT, the admission) between the connection's long-lived allocations, and
 * the holes it leaves stay resident. Once no connection has arrived for a
 * second after at least TRIM_AFTER of them, one malloc_trim(0) returns the
 * free pages (docs/benchmarks.md: ~60 B per held connection after a storm
 * of 10k; ~2 ms, once per burst).
 */
#define TRIM_AFTER 256

static const struct timeval trim_quiet = { 1, 0 }; /* no accept for this long */

static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_node_t *node = arg;
	struct timespec t0, t1;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	if (node->accepts != node->accepts_seen) { /* still arriving */
		node->accepts_seen = node->accepts;
		event_add(node->trim_ev, &trim_quiet);
		return;
	}
	if (node->accepts - node->accepts_trimmed < TRIM_AFTER)
		return; /* the next accept arms it again */
	node->accepts_trimmed = node->accepts;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	malloc_trim(0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	GW_LOG(GW_LOG_INFO, "heap_trimmed",
	       GW_I("connections", gw_registry_conns(node->reg)),
	       GW_I("us", (t1.tv_sec - t0.tv_sec) * 1000000 +
				  (t1.tv_nsec - t0.tv_nsec) / 1000));
}

static void arm_trim(gw_node_t *node)
{
	node->accepts++;
	if (!event_pending(node->trim_ev, EV_TIMEOUT, NULL)) {
		node->accepts_seen = node->accepts;
		event_add(node->trim_ev, &trim_quiet);
	}
}

/* A new TCP connection: count it (handshake, per-IP) or refuse it. */
static int on_accept(gw_node_t *node, struct lws *wsi)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = lws_get_socket_fd(wsi);
	gw_ip_t ip, *peer = NULL;
	gw_peer_t *c = NULL;
	gw_peer_verdict_t v;

	if (fd >= 0 && fd == accepted.fd && accepted.len) {
		memcpy(&ss, &accepted.ss, accepted.len);
		len = accepted.len;
	} else if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
		len = 0;
	}
	accepted.fd = -1;
	arm_trim(node);
	if (len && gw_ip_from_sockaddr((struct sockaddr *)&ss, len, &ip) == GW_OK)
		peer = &ip;
	v = gw_peers_accept(node->peers, peer, &c);
	lws_set_opaque_user_data(wsi, c);
	if (v == GW_PEER_OK && c)
		return 0;
	refuse_http(node, wsi, c, v);
	return -1;
}

/*
 * RFC 6455 4.2.1/4.2.2: an upgrade must say Sec-WebSocket-Version 13, and
 * anything else is answered 426 naming 13 (lws would upgrade it anyway).
 */
static int check_version(gw_node_t *node, struct lws *wsi)
{
	char v[4];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_VERSION) == 2 &&
	    lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_VERSION) == 2 &&
	    v[0] == '1' && v[1] == '3')
		return 0;
	refuse_http(node, wsi, lws_get_opaque_user_data(wsi), GW_PEER_BAD_VERSION);
	return -1;
}

/*
 * The first request's headers are in: the handshake is over, and behind a
 * trusted proxy the client's address is now known.
 */
static int on_request(gw_node_t *node, struct lws *wsi)
{
	gw_peer_t *c = lws_get_opaque_user_data(wsi);
	char xff[GW_XFF_MAX];
	int n = 0;
	gw_peer_verdict_t v;

	if (!c)
		return 0;
	if (gw_peer_behind_proxy(c) && lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR)) {
		n = lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR);
		if (n <= 0)
			n = -1; /* present but unreadable: refuse, never "absent" */
	}
	v = gw_peers_request(node->peers, c, xff, n);
	if (v == GW_PEER_OK)
		return 0;
	refuse_http(node, wsi, c, v);
	return -1;
}

/* --- the protocol callback --------------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	gw_session_t *s = user;
	gw_node_t *node;

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		/* lws passes its args as `user` here (`in` is the fd) */
		if (user)
			on_filter_network(user);
		return 0;

	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		return on_accept(node_of(wsi), wsi);

	case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
		return on_request(node_of(wsi), wsi);

	case LWS_CALLBACK_HTTP:
		if (s && in && strncmp(in, "/sse/", 5) == 0 &&
		    lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
			return serve_sse(node_of(wsi), s, wsi);
		return serve_http(node_of(wsi), wsi, in ? (const char *)in : "/");

	case LWS_CALLBACK_HTTP_WRITEABLE:
		return s && s->w == &gw_sse_writer ? gw_session_on_writeable(s) : 0;

	case LWS_CALLBACK_CLOSED_HTTP:
		if (s && s->w == &gw_sse_writer) {
			gw_session_on_closed(s);
			s->w = NULL; /* told once */
		}
		return 0;

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		gw_close_t v;

		node = node_of(wsi);
		if (on_request(node, wsi) || check_version(node, wsi))
			return -1;
		if (node->draining)
			return -1;
		s->wsi = wsi;
		s->node = node;
		v = filter(node, s, wsi, in, "/ws/");
		s->pending = v == GW_CLOSE_NORMAL ? 0 : (uint8_t)(v + 1);
		return 0;
	}

	case LWS_CALLBACK_ESTABLISHED:
		node = node_of(wsi);
		s->wsi = wsi;
		s->node = node;
		s->m.id = ++node->next_conn;
		node->stats.accepted++;
		gw_ratelimit_init(&s->rl, node->cfg, gw_now_ms());
		if (gw_registry_add(node->reg, &s->m) != GW_OK) {
			s->state = GW_SS_CLOSING;
			return -1;
		}
		s->state = GW_SS_NEW;
		s->w = &gw_session_ws_writer;
		s->direct = !lws_is_ssl(wsi);
		gw_router_admit(s);
		return 0;

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		s->peer_closed = 1;
		/* The payload starts with the client's close code, if any. */
		if (in && len >= 2)
			s->peer_code = (uint16_t)(((const unsigned char *)in)[0] << 8 |
						  ((const unsigned char *)in)[1]);
		return 0;

	case LWS_CALLBACK_RECEIVE:
		gw_session_on_receive(s, in, len);
		return 0;

	case LWS_CALLBACK_RECEIVE_PONG:
		if (s->state == GW_SS_OPEN)
			gw_health_on_pong(s->node->health, s);
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		return gw_session_on_writeable(s);

	case LWS_CALLBACK_CLOSED:
		if (s->node)
			gw_session_on_closed(s);
		return 0;

	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: {
		/* The vhost's new SSL_CTX (in `user`): our policy and certificate. */
		char err[256];

		node = node_of(wsi);
		if (gw_tls_attach(node->tls, user, err, sizeof(err))) {
			GW_LOG(GW_LOG_ERROR, "tls_failed", GW_S("error", err));
			return -1;
		}
		return 0;
	}

	case LWS_CALLBACK_WSI_DESTROY:
		/* Every accepted connection ends here, whatever happened to it. */
		gw_peers_release(node_of(wsi)->peers, lws_get_opaque_user_data(wsi));
		lws_set_opaque_user_data(wsi, NULL);
		/* An SSE member whose close lws did not report (defensive). */
		if (s && s->w == &gw_sse_writer) {
			gw_session_on_closed(s);
			s->w = NULL;
		}
		/* An upgrade that failed after the filter never saw CLOSED. */
		if (s) {
			gw_free(s->want_user);
			gw_free(s->want_lobby);
			s->want_user = s->want_lobby = NULL;
			gw_session_hold_free(s);
		}
		return 0;

	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{ "gateway", callback, sizeof(gw_session_t), GW_RX_BUFFER, 0, NULL, GW_TX_PACKET },
	LWS_PROTOCOL_LIST_TERM
};

/*
 * No lws "validity" timers. lws's default policy gives every connection a
 * timer in a sorted list and re-inserts it on every frame received — an
 * O(connections) walk per frame. gw_health does liveness on its wheel
 * instead; a zero hangup time turns lws's off.
 */
static const lws_retry_bo_t no_validity_checks = { .secs_since_valid_ping = 0,
						   .secs_since_valid_hangup = 0 };

static void lws_log(int level, const char *line)
{
	char msg[256];
	size_t n = strlen(line);

	if (n >= sizeof(msg))
		n = sizeof(msg) - 1;
	memcpy(msg, line, n);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	msg[n] = '\0';
	GW_LOG(level == LLL_ERR ? GW_LOG_ERROR : GW_LOG_WARN, "lws",
	       GW_S("msg", msg));
}

int gw_server_start(gw_node_t *node, char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	void *loops[1] = { node->base };
	const char *iface = node->host;

	node->peers = gw_peers_create(node->cfg, err, errlen);
	if (!node->peers)
		return GW_EINVAL;
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	memset(&info, 0, sizeof(info));
	info.port = node->port;
	if (!*iface || strcmp(iface, "0.0.0.0") == 0 || strcmp(iface, "*") == 0)
		iface = NULL;
	info.iface = iface;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_LIBEVENT |
		       LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_DISABLE_IPV6;
	/* --workers: every worker binds the same port (SO_REUSEPORT). */
	if (node->listen_share)
		info.options |= LWS_SERVER_OPTION_ALLOW_LISTEN_SHARE;
	if (iface && strchr(iface, ':'))
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_DISABLE_IPV6;
	info.foreign_loops = loops;
	info.retry_and_idle_policy = &no_validity_checks;
	info.user = node;
	info.timeout_secs = (unsigned int)node->cfg->handshake_timeout;
	info.timeout_secs_ah_idle = (unsigned int)node->cfg->handshake_timeout;
	info.max_http_header_data = 8192;
	info.count_threads = 1;
	if (node->tls) {
		/*
		 * wss://: lws creates the vhost's SSL_CTX and hands it to the
		 * callback above, where gw_tls installs the certificate it has
		 * already read and checked (main, at start-up) and can swap it
		 * later (SIGHUP). No file paths go to lws: its reload path
		 * replaces certificate and key one at a time.
		 */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
				LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
	}
	gw_bucket_init(&node->refusal_log, REFUSAL_LOG_RATE, gw_now_ms());
	node->trim_ev = evtimer_new(node->base, trim_cb, node);
	if (!node->trim_ev) {
		snprintf(err, errlen, "out of memory at start-up");
		return GW_ENOMEM;
	}
	node->lws = lws_create_context(&info);
	if (!node->lws) {
		snprintf(err, errlen, "cannot listen on %s (in use, or bad address?)",
			 node->cfg->listen);
		return GW_EIO;
	}
	return GW_OK;
}

void gw_server_stop(gw_node_t *node)
{
	if (node->lws) {
		lws_context_destroy(node->lws);
		node->lws = NULL;
	}
	/* After lws: destroying its connections releases their records. */
	gw_peers_free(node->peers);
	node->peers = NULL;
	if (node->trim_ev)
		event_free(node->trim_ev);
	node->trim_ev = NULL;
}
