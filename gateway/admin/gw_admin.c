/*
 * gw_admin.c — the admin listener and the server API.
 *
 * POST bodies are read and checked by gw_api (apart from evhttp, so the
 * fuzzer reaches them); this file acts on the result. Requests are
 * answered on the loop; those that need the cluster (a user's
 * or a lobby's connections) reply from the bus's callback. libevent keeps
 * an incoming request alive until it is answered, and the bus is freed
 * before the listener at shutdown, so every pending callback (called with
 * an error then) still has its request.
 *
 * With --admin-tls every accepted connection is wrapped in an OpenSSL
 * bufferevent (evhttp_set_bevcb) on a context gw_tls keeps up to date, so
 * a SIGHUP reload reaches this listener too.
 */
#include "gw_admin.h"
#include "gw_alloc.h"
#include "gw_api.h"
#include "gw_auth.h"
#include "gw_bus.h"
#include "gw_http.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_protocol.h"
#include "gw_router.h"
#include "gw_tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libevent refuses bodies past this itself (with an HTML page); between
 * GW_API_BODY_MAX and this we answer with our own JSON 413. */
#define BODY_HARD_MAX (1024 * 1024)

struct gw_admin {
	gw_node_t *node;
	struct evhttp *http;
	SSL_CTX *ssl_ctx; /* --admin-tls: one reference, else NULL */
};

/* --- replies ------------------------------------------------------------------- */

static void reply(struct evhttp_request *req, int status, const char *ctype,
		  const void *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control",
			  "no-store");
	if (out)
		evbuffer_add(out, body, len);
	evhttp_send_reply(req, status, NULL, out);
	if (out)
		evbuffer_free(out);
}

static void reply_json(struct evhttp_request *req, int status, const char *json)
{
	reply(req, status, "application/json", json, strlen(json));
}

static void reply_buf(struct evhttp_request *req, int status, gw_buf_t *b)
{
	if (!b) {
		reply_json(req, 500, "{\"error\":\"internal\",\"message\":\"out of memory\"}");
		return;
	}
	reply(req, status, "application/json", gw_buf_data(b), b->len);
	gw_buf_unref(b);
}

static void reply_error(struct evhttp_request *req, int status, const char *code,
			const char *msg)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}", code, msg);
	reply_json(req, status, body);
}

/* --- readiness -------------------------------------------------------------------- */

int gw_admin_ready(gw_node_t *node, const char **why)
{
	gw_bus_status_t st;

	if (node->draining) {
		*why = "draining";
		return 0;
	}
	gw_bus_status(node->bus, &st);
	*why = st.ready ? NULL : st.why;
	return st.ready;
}

static void on_ready(struct evhttp_request *req, gw_node_t *node)
{
	const char *why;
	char body[128];

	if (gw_admin_ready(node, &why)) {
		reply_json(req, 200, "{\"ready\":true}");
		return;
	}
	snprintf(body, sizeof(body), "{\"ready\":false,\"why\":\"%s\"}", why);
	reply_json(req, 503, body);
}

/* --- API helpers ---------------------------------------------------------------------- */

static int authorized(gw_node_t *node, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *key = node->cfg->api_key, *got = evhttp_find_header(h, "X-API-Key");
	const char *auth = evhttp_find_header(h, "Authorization");

	if (!got && auth && strncasecmp(auth, "Bearer ", 7) == 0)
		got = auth + 7;
	return got && strlen(got) == strlen(key) &&
	       CRYPTO_memcmp(got, key, strlen(key)) == 0;
}

/* --- API: deliveries ----------------------------------------------------------------------- */

typedef struct {
	struct evhttp_request *req;
	size_t local;          /* connections served on this node */
} user_op_t;

/* The bus reached (or not) the user's connections on other nodes. */
static void user_sent(void *ud, int status, size_t remote)
{
	user_op_t *op = ud;
	char body[128];

	if (status)
		reply_error(op->req, 503, "unavailable", "the cluster could not be asked");
	else if (!op->local && !remote)
		reply_error(op->req, 404, "not_found", "the user is not connected");
	else {
		snprintf(body, sizeof(body), "{\"ok\":true,\"connections\":%zu}",
			 op->local + remote);
		reply_json(op->req, 200, body);
	}
	gw_free(op);
}

/* Takes `frame` (NULL for a kick). */
static void to_user(gw_node_t *node, struct evhttp_request *req, const char *user,
		    const char *conn, gw_buf_t *frame)
{
	uint64_t id = 0;
	user_op_t *op = gw_calloc(1, sizeof(*op));
	int rc;

	if (!op) {
		gw_buf_unref(frame);
		reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (conn)
		id = gw_conn_id_local(node->cfg->node_id, conn, strlen(conn));
	op->req = req;
	/*
	 * A connection_id of another node, or that is not one (id 0), matches
	 * nothing here, never "all"; the bus finds other nodes'.
	 */
	op->local = frame  ? gw_router_deliver_user(node, user, strlen(user), frame)
		    : conn && !id ? 0
		    : gw_router_kick(node, user, strlen(user), id, GW_CLOSE_KICKED);
	rc = gw_bus_send_user(node->bus, user, strlen(user), conn, frame,
			      frame ? NULL : "kicked", user_sent, op);
	gw_buf_unref(frame);
	if (rc == GW_EINVAL)
		reply_error(req, 400, "bad_request", "user or connection_id too long");
	else if (rc)
		reply_error(req, 503, "unavailable", "the cluster could not be asked");
	if (rc)
		gw_free(op);
}

static int deliver_lobby_cb(gw_lobby_t *l, void *ud)
{
	void **a = ud;

	gw_router_deliver_lobby(a[0], l, a[1], 0);
	return 0;
}

static void api_post(gw_node_t *node, struct evhttp_request *req, const char *what)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *code;
	char msg[96];
	gw_api_req_t r;
	gw_buf_t *frame;
	int status;

	if (gw_api_req_parse(what, len > GW_API_BODY_MAX ? NULL
				   : (const char *)evbuffer_pullup(in, -1),
			     len, &r, &status, &code, msg, sizeof(msg))) {
		reply_error(req, status, code, msg);
		gw_api_req_clear(&r);
		return;
	}
	switch (r.op) {
	case GW_API_KICK:
		to_user(node, req, r.user, r.conn, NULL);
		break;
	case GW_API_PUBLISH: {
		gw_lobby_t *l;

		/* History on: through the lobby's history, like a client's. */
		if (node->cfg->history_size > 0 &&
		    (frame = gw_proto_message_head(r.lobby, r.from, r.data, r.data_len))) {
			int rc = gw_bus_publish_history(node->bus, r.lobby, frame, 0);

			gw_buf_unref(frame);
			frame = NULL;
			if (rc == GW_OK) {
				reply_json(req, 200, "{\"ok\":true}");
				break;
			}
		}
		frame = gw_proto_message(r.lobby, r.from, r.data, r.data_len);
		if (!frame) {
			reply_error(req, 500, "internal", "out of memory");
			break;
		}
		if ((l = gw_registry_lobby(node->reg, r.lobby, strlen(r.lobby))))
			gw_router_deliver_lobby(node, l, frame, 0);
		if (gw_bus_publish(node->bus, r.lobby, frame))
			reply_error(req, 503, "unavailable", "the cluster could not be reached");
		else
			reply_json(req, 200, "{\"ok\":true}");
		gw_buf_unref(frame);
		break;
	}
	case GW_API_BROADCAST: {
		void *a[2];

		frame = gw_proto_message("*", r.from, r.data, r.data_len);
		if (!frame) {
			reply_error(req, 500, "internal", "out of memory");
			break;
		}
		a[0] = node;
		a[1] = frame;
		gw_registry_each_lobby(node->reg, deliver_lobby_cb, a);
		if (gw_bus_publish(node->bus, NULL, frame))
			reply_error(req, 503, "unavailable", "the cluster could not be reached");
		else
			reply_json(req, 200, "{\"ok\":true}");
		gw_buf_unref(frame);
		break;
	}
	case GW_API_SEND:
		frame = gw_proto_direct(r.from, r.data, r.data_len);
		if (!frame)
			reply_error(req, 500, "internal", "out of memory");
		else
			to_user(node, req, r.user, NULL, frame); /* takes frame */
		break;
	}
	gw_api_req_clear(&r);
}

/* --- API: lookups ------------------------------------------------------------------------- */

typedef struct {
	struct evhttp_request *req;
	int lobby; /* 1: lobby listing, 0: user lookup */
	char name[GW_AUTH_SUB_MAX + 1];
} lookup_t;

/* The listing's JSON from the connections found (an array, taken). */
static void reply_listing(struct evhttp_request *req, int lobby, const char *name,
			  json_t *arr)
{
	json_t *root;
	char *s;

	if (!lobby && !json_array_size(arr)) {
		json_decref(arr);
		reply_error(req, 404, "not_found", "the user is not connected");
		return;
	}
	root = lobby ? json_pack("{s:s,s:I,s:o}", "lobby", name, "count",
				 (json_int_t)json_array_size(arr), "users", arr)
		     : json_pack("{s:s,s:o}", "user", name, "connections", arr);
	s = root ? json_dumps(root, JSON_COMPACT) : NULL;
	if (s)
		reply_json(req, 200, s);
	else
		reply_error(req, 500, "internal", "out of memory");
	free(s);
	json_decref(root);
}

/* conn → user (lobby) or conn → JSON info (user), from the bus. */
static void on_lookup(void *ud, int status, const gw_bus_str_t *pairs, size_t n)
{
	lookup_t *lk = ud;
	json_t *arr;
	size_t i;

	if (status) {
		reply_error(lk->req, 503, "unavailable", "the cluster could not be asked");
		gw_free(lk);
		return;
	}
	arr = json_array();
	for (i = 0; i + 1 < n; i += 2) {
		const gw_bus_str_t *conn = &pairs[i], *v = &pairs[i + 1];
		json_t *e = lk->lobby ? json_object() : json_loadb(v->str, v->len, 0, NULL);

		if (!json_is_object(e)) {
			json_decref(e);
			continue;
		}
		json_object_set_new(e, "connection_id", json_stringn(conn->str, conn->len));
		json_object_set_new(e, "node", json_stringn(conn->str, gw_conn_id_node_len(
							     conn->str, conn->len)));
		if (lk->lobby)
			json_object_set_new(e, "user", json_stringn(v->str, v->len));
		json_array_append_new(arr, e);
	}
	reply_listing(lk->req, lk->lobby, lk->name, arr);
	gw_free(lk);
}

static int add_member(gw_member_t *m, void *ud)
{
	json_t *arr = ((void **)ud)[0];
	const char *want = ((void **)ud)[1];
	int lobby = *(int *)((void **)ud)[2];
	gw_session_t *s = GW_SESSION_OF(m);
	char id[GW_CONN_ID_MAX];

	if (!m->lobby || strcmp(lobby ? m->lobby->name : m->user->name, want) != 0)
		return 0;
	gw_session_id_str(s, id);
	json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:I}", "connection_id", id,
					     "node", s->node->cfg->node_id, "user",
					     m->user->name, "lobby", m->lobby->name, "since",
					     (json_int_t)s->since_ms));
	return 0;
}

static void lookup(gw_node_t *node, struct evhttp_request *req, int lobby,
		   const char *name)
{
	lookup_t *lk;
	int rc;

	if (!*name || strlen(name) > GW_AUTH_SUB_MAX ||
	    (lobby && !gw_lobby_name_valid(name, strlen(name)))) {
		reply_error(req, 400, "bad_request", "invalid name");
		return;
	}
	lk = gw_calloc(1, sizeof(*lk));
	if (!lk) {
		reply_error(req, 500, "internal", "out of memory");
		return;
	}
	lk->req = req;
	lk->lobby = lobby;
	strcpy(lk->name, name);
	rc = gw_bus_lookup(node->bus, lobby, name, on_lookup, lk);
	if (rc == GW_OK)
		return;
	gw_free(lk);
	if (rc == GW_ENOENT) {
		/* No cluster: walk the local registry (an operator call, not hot). */
		json_t *arr = json_array();
		void *a[3] = { arr, (void *)name, &lobby };

		gw_registry_each_member(node->reg, add_member, a);
		reply_listing(req, lobby, name, arr);
	} else {
		reply_error(req, 503, "unavailable", "the cluster could not be asked");
	}
}

static void api_get(gw_node_t *node, struct evhttp_request *req, const char *path)
{
	char *name;

	if (strcmp(path, "/api/publish") == 0 || strcmp(path, "/api/send") == 0 ||
	    strcmp(path, "/api/broadcast") == 0 || strcmp(path, "/api/kick") == 0) {
		reply_error(req, 405, "method_not_allowed", "use POST");
		return;
	}
	if (strcmp(path, "/api/stats") == 0 || strcmp(path, "/api/nodes") == 0) {
		reply_buf(req, 200, gw_http_cluster_json(node));
		return;
	}
	if (strncmp(path, "/api/lobbies/", 13) == 0 || strncmp(path, "/api/users/", 11) == 0) {
		int lobby = path[5] == 'l';

		name = evhttp_uridecode(path + (lobby ? 13 : 11), 0, NULL);
		if (!name) {
			reply_error(req, 500, "internal", "out of memory");
			return;
		}
		lookup(node, req, lobby, name);
		free(name);
		return;
	}
	reply_error(req, 404, "not_found", "no such endpoint");
}

/* --- dispatch ---------------------------------------------------------------------------- */

static void handle(struct evhttp_request *req, void *arg)
{
	gw_admin_t *a = arg;
	gw_node_t *node = a->node;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	gw_buf_t *b;

	if (!path)
		path = "/";
	/*
	 * libevent falls back to a plain connection when tls_bev() returns
	 * NULL (out of memory): on a TLS listener, that is refused.
	 */
	if (a->ssl_ctx && !bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(
				  evhttp_request_get_connection(req)))) {
		reply_error(req, 400, "tls_required", "this listener speaks https only");
		return;
	}
	if (strncmp(path, "/api/", 5) == 0) {
		if (!node->cfg->api_key || !*node->cfg->api_key) {
			reply_error(req, 403, "api_disabled", "start the node with --api-key");
			return;
		}
		if (!authorized(node, req)) {
			reply_error(req, 401, "unauthorized", "missing or wrong API key");
			return;
		}
		if (cmd == EVHTTP_REQ_POST && (strcmp(path, "/api/publish") == 0 ||
					       strcmp(path, "/api/send") == 0 ||
					       strcmp(path, "/api/broadcast") == 0 ||
					       strcmp(path, "/api/kick") == 0))
			api_post(node, req, path + 5);
		else if (cmd == EVHTTP_REQ_GET)
			api_get(node, req, path);
		else
			reply_error(req, 405, "method_not_allowed", "wrong method for this endpoint");
		return;
	}
	if (cmd != EVHTTP_REQ_GET) {
		reply_error(req, 405, "method_not_allowed", "only GET here");
		return;
	}
	if (strcmp(path, "/ready") == 0) {
		on_ready(req, node);
	} else if (strcmp(path, "/metrics") == 0) {
		b = gw_metrics_render(node);
		if (b) {
			reply(req, 200, "text/plain; version=0.0.4", gw_buf_data(b), b->len);
			gw_buf_unref(b);
		} else {
			reply_error(req, 500, "internal", "out of memory");
		}
	} else if (strcmp(path, "/healthz") == 0 || strcmp(path, "/stats") == 0) {
		int status = 500;

		b = gw_http_route(node, "GET", path, &status);
		reply_buf(req, status, b);
	} else {
		reply_error(req, 404, "not_found", "no such endpoint");
	}
}

/* evhttp's bufferevent factory with --admin-tls: a server-side TLS socket. */
static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
	gw_admin_t *a = arg;
	SSL *ssl = SSL_new(a->ssl_ctx);
	struct bufferevent *bev;

	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	/* Clients that hang up without close_notify are not an error here. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

gw_admin_t *gw_admin_create(gw_node_t *node, char *err, size_t errlen)
{
	const char *listen = node->cfg->admin_listen, *colon = strrchr(listen, ':');
	char host[256];
	size_t n = colon ? (size_t)(colon - listen) : 0;
	gw_admin_t *a;

	if (!colon || n >= sizeof(host)) {
		snprintf(err, errlen, "bad --admin-listen %s", listen);
		return NULL;
	}
	memcpy(host, listen, n);
	host[n] = '\0';
	a = gw_calloc(1, sizeof(*a));
	if (!a || !(a->http = evhttp_new(node->base))) {
		gw_free(a);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->node = node;
	evhttp_set_max_body_size(a->http, BODY_HARD_MAX);
	evhttp_set_max_headers_size(a->http, 16 * 1024);
	evhttp_set_timeout(a->http, 30);
	/* Every method reaches handle(), which answers 405 in JSON. */
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
				   EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
				   EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(a->http, handle, a);
	if (node->cfg->admin_tls) {
		if (!(a->ssl_ctx = gw_tls_ctx_new(node->tls, err, errlen))) {
			gw_admin_free(a);
			return NULL;
		}
		evhttp_set_bevcb(a->http, tls_bev, a);
	}
	if (evhttp_bind_socket(a->http, n ? host : "0.0.0.0",
			       (uint16_t)atoi(colon + 1)) != 0) {
		snprintf(err, errlen, "cannot listen on --admin-listen %s (in use?)", listen);
		gw_admin_free(a);
		return NULL;
	}
	return a;
}

void gw_admin_free(gw_admin_t *a)
{
	if (!a)
		return;
	if (a->http)
		evhttp_free(a->http);
	SSL_CTX_free(a->ssl_ctx);
	gw_free(a);
}
