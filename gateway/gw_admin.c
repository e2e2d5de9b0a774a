/*
 * gw_admin.c — the admin listener and the server API.
 *
 * Requests are answered on the loop; those that need Redis (a user's or a
 * lobby's connections across the cluster) reply from the Redis callback.
 * libevent keeps an incoming request alive until it is answered, and
 * gw_cluster is freed before the listener at shutdown, so every pending
 * callback (called with a NULL reply then) still has its request.
 *
 * With --admin-tls every accepted connection is wrapped in an OpenSSL
 * bufferevent (evhttp_set_bevcb) on a context gw_tls keeps up to date, so
 * a SIGHUP reload reaches this listener too.
 */
#include "gw_admin.h"
#include "gw_alloc.h"
#include "gw_auth.h"
#include "gw_cluster.h"
#include "gw_http.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_protocol.h"
#include "gw_redis.h"
#include "gw_reply.h"
#include "gw_router.h"
#include "gw_tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (64 * 1024)
/* libevent refuses bodies past this itself (with an HTML page); between
 * BODY_MAX and this we answer with our own JSON 413. */
#define BODY_HARD_MAX (1024 * 1024)
#define READY_PROBE_MS 5000

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
	if (node->draining) {
		*why = "draining";
		return 0;
	}
	if (node->cluster) {
		gw_redis_t *r = gw_cluster_redis(node->cluster);

		if (!gw_redis_ready(r)) {
			*why = "redis_not_ready";
			return 0;
		}
		if (gw_now_ms() - gw_redis_last_probe(r) > READY_PROBE_MS) {
			*why = "pubsub_probe_stale";
			return 0;
		}
	}
	*why = NULL;
	return 1;
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

/* Parses the body as a JSON object; replies and returns NULL on failure. */
static json_t *body_json(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_t *j;

	if (len > BODY_MAX) {
		reply_error(req, 413, "too_large", "request body over 64 KiB");
		return NULL;
	}
	j = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		reply_error(req, 400, "bad_request", "the body must be a JSON object");
		return NULL;
	}
	return j;
}

/*
 * An optional string field: NULL when absent; a field that is present but
 * not a non-empty string is a bad request (`*bad` set, reply sent once).
 */
static const char *str_field(struct evhttp_request *req, json_t *j, const char *k,
			     int *bad)
{
	json_t *v = json_object_get(j, k);
	char msg[96];

	if (!v)
		return NULL;
	if (json_is_string(v) && json_string_length(v))
		return json_string_value(v);
	if (!*bad) {
		snprintf(msg, sizeof(msg), "field %s must be a non-empty string", k);
		reply_error(req, 400, "bad_request", msg);
	}
	*bad = 1;
	return NULL;
}

/* "data" re-serialised compactly, or NULL (reply sent). Caller frees. */
static char *data_field(struct evhttp_request *req, json_t *j)
{
	json_t *v = json_object_get(j, "data");
	char *s;

	if (!v) {
		reply_error(req, 400, "bad_request", "missing field: data");
		return NULL;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		reply_error(req, 500, "internal", "out of memory");
	return s;
}

/* --- API: deliveries ----------------------------------------------------------------------- */

typedef struct {
	gw_node_t *node;
	struct evhttp_request *req;
	gw_buf_t *frame;       /* NULL for a kick */
	char user[GW_AUTH_SUB_MAX + 1];
	char conn[GW_CONN_ID_MAX];
	size_t local;
} user_op_t;

/* HKEYS {P}:user:U → the nodes holding U; deliver or kick on each. */
static void on_user_nodes(void *ud, redisReply *r)
{
	user_op_t *op = ud;
	const char *me = op->node->cfg->node_id;
	size_t i, j, n = op->local, mine = strlen(me);
	char body[128];

	if (r && gw_reply_conn_ids(r) != GW_OK) {
		gw_redis_refuse(gw_cluster_redis(op->node->cluster), "user connections");
		r = NULL;
	}
	if (!r) {
		reply_error(op->req, 503, "unavailable", "the cluster could not be asked");
		goto out;
	}
	for (i = 0; i < r->elements; i++) {
		const char *c = r->element[i]->str;
		size_t nl = gw_conn_id_node_len(c, r->element[i]->len), dup = 0;

		if (op->conn[0] && strcmp(op->conn, c) != 0)
			continue;
		if (nl == mine && memcmp(c, me, nl) == 0)
			continue; /* counted locally */
		n++;
		for (j = 0; j < i && !dup; j++)
			dup = strncmp(r->element[j]->str, c, nl + 1) == 0;
		if (!dup)
			gw_cluster_publish_node(op->node->cluster, c, nl, op->frame == NULL,
						op->user, op->conn[0] ? op->conn : NULL,
						op->frame);
	}
	if (!n) {
		reply_error(op->req, 404, "not_found", "the user is not connected");
		goto out;
	}
	snprintf(body, sizeof(body), "{\"ok\":true,\"connections\":%zu}", n);
	reply_json(op->req, 200, body);
out:
	gw_buf_unref(op->frame);
	gw_free(op);
}

static void to_user(gw_node_t *node, struct evhttp_request *req, const char *user,
		    const char *conn, gw_buf_t *frame)
{
	char key[600], body[128];
	const char *argv[2] = { "HKEYS", key };
	uint64_t id = 0;
	user_op_t *op;
	size_t local;

	if (conn)
		id = gw_conn_id_local(node->cfg->node_id, conn, strlen(conn));
	/*
	 * A connection_id of another node, or that is not one (id 0), matches
	 * nothing here, never "all"; the cluster lookup finds other nodes'.
	 */
	local = frame  ? gw_router_deliver_user(node, user, strlen(user), frame)
		: conn && !id ? 0
		: gw_router_kick(node, user, strlen(user), id, GW_CLOSE_KICKED);
	if (!node->cluster) {
		gw_buf_unref(frame);
		if (!local) {
			reply_error(req, 404, "not_found", "the user is not connected");
			return;
		}
		snprintf(body, sizeof(body), "{\"ok\":true,\"connections\":%zu}", local);
		reply_json(req, 200, body);
		return;
	}
	op = gw_calloc(1, sizeof(*op));
	if (!op || strlen(user) > GW_AUTH_SUB_MAX || (conn && strlen(conn) >= GW_CONN_ID_MAX)) {
		gw_free(op);
		gw_buf_unref(frame);
		reply_error(req, 400, "bad_request", "user or connection_id too long");
		return;
	}
	*op = (user_op_t){ .node = node, .req = req, .frame = frame, .local = local };
	strcpy(op->user, user);
	if (conn)
		strcpy(op->conn, conn);
	snprintf(key, sizeof(key), "%s:user:%s", gw_cluster_prefix(node->cluster), user);
	if (gw_cluster_command(node->cluster, on_user_nodes, op, 2, argv) != GW_OK) {
		gw_buf_unref(frame);
		gw_free(op);
		reply_error(req, 503, "unavailable", "the cluster could not be asked");
	}
}

static int deliver_lobby_cb(gw_lobby_t *l, void *ud)
{
	void **a = ud;

	gw_router_deliver_lobby(a[0], l, a[1], 0);
	return 0;
}

static void api_post(gw_node_t *node, struct evhttp_request *req, const char *what)
{
	json_t *j = body_json(req);
	const char *from, *lobby, *user, *conn;
	char *data;
	gw_buf_t *frame;
	int bad = 0;

	if (!j)
		return;
	from = str_field(req, j, "from", &bad);
	from = from ? from : "server";
	lobby = str_field(req, j, "lobby", &bad);
	user = str_field(req, j, "user", &bad);
	conn = str_field(req, j, "connection_id", &bad);
	if (bad) {
		json_decref(j);
		return;
	}
	if (strcmp(what, "kick") == 0) {
		if (!user)
			reply_error(req, 400, "bad_request", "missing field: user");
		else
			to_user(node, req, user, conn, NULL);
		json_decref(j);
		return;
	}
	if (!(data = data_field(req, j))) {
		json_decref(j);
		return;
	}
	if (strcmp(what, "publish") == 0) {
		gw_lobby_t *l;

		if (!lobby || !gw_lobby_name_valid(lobby, strlen(lobby))) {
			reply_error(req, 400, "bad_request", "missing or invalid field: lobby");
			goto out;
		}
		frame = gw_proto_message(lobby, from, data, strlen(data));
		if (!frame) {
			reply_error(req, 500, "internal", "out of memory");
			goto out;
		}
		if ((l = gw_registry_lobby(node->reg, lobby, strlen(lobby))))
			gw_router_deliver_lobby(node, l, frame, 0);
		if (node->cluster && gw_cluster_publish_frame(node->cluster, lobby, frame))
			reply_error(req, 503, "unavailable", "the cluster could not be reached");
		else
			reply_json(req, 200, "{\"ok\":true}");
		gw_buf_unref(frame);
	} else if (strcmp(what, "broadcast") == 0) {
		void *a[2];

		frame = gw_proto_message("*", from, data, strlen(data));
		if (!frame) {
			reply_error(req, 500, "internal", "out of memory");
			goto out;
		}
		a[0] = node;
		a[1] = frame;
		gw_registry_each_lobby(node->reg, deliver_lobby_cb, a);
		if (node->cluster && gw_cluster_publish_frame(node->cluster, NULL, frame))
			reply_error(req, 503, "unavailable", "the cluster could not be reached");
		else
			reply_json(req, 200, "{\"ok\":true}");
		gw_buf_unref(frame);
	} else { /* send */
		if (!user) {
			reply_error(req, 400, "bad_request", "missing field: user");
			goto out;
		}
		frame = gw_proto_direct(from, data, strlen(data));
		if (!frame)
			reply_error(req, 500, "internal", "out of memory");
		else
			to_user(node, req, user, NULL, frame); /* takes frame */
	}
out:
	free(data);
	json_decref(j);
}

/* --- API: lookups ------------------------------------------------------------------------- */

typedef struct {
	struct evhttp_request *req;
	int lobby; /* 1: lobby listing, 0: user lookup */
	char name[GW_AUTH_SUB_MAX + 1];
} lookup_t;

/* conn → user (lobby) or conn → JSON info (user), from HGETALL. */
static void on_lookup(void *ud, redisReply *r)
{
	lookup_t *lk = ud;
	json_t *root, *arr;
	size_t i;
	char *s;

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		reply_error(lk->req, 503, "unavailable", "the cluster could not be asked");
		gw_free(lk);
		return;
	}
	if (!lk->lobby && r->elements == 0) {
		reply_error(lk->req, 404, "not_found", "the user is not connected");
		gw_free(lk);
		return;
	}
	arr = json_array();
	for (i = 0; i + 1 < r->elements; i += 2) {
		const char *conn = r->element[i]->str;
		json_t *e;

		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    r->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		e = lk->lobby ? json_object() : json_loads(r->element[i + 1]->str, 0, NULL);
		if (!json_is_object(e)) {
			json_decref(e);
			continue;
		}
		json_object_set_new(e, "connection_id", json_string(conn));
		json_object_set_new(e, "node", json_stringn(conn, gw_conn_id_node_len(
							     conn, r->element[i]->len)));
		if (lk->lobby)
			json_object_set_new(e, "user", json_string(r->element[i + 1]->str));
		json_array_append_new(arr, e);
	}
	root = lk->lobby ? json_pack("{s:s,s:I,s:o}", "lobby", lk->name, "count",
				     (json_int_t)json_array_size(arr), "users", arr)
			 : json_pack("{s:s,s:o}", "user", lk->name, "connections", arr);
	s = root ? json_dumps(root, JSON_COMPACT) : NULL;
	if (s)
		reply_json(lk->req, 200, s);
	else
		reply_error(lk->req, 500, "internal", "out of memory");
	free(s);
	json_decref(root);
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
	char key[600];
	const char *argv[2] = { "HGETALL", key };
	lookup_t *lk;

	if (!*name || strlen(name) > GW_AUTH_SUB_MAX ||
	    (lobby && !gw_lobby_name_valid(name, strlen(name)))) {
		reply_error(req, 400, "bad_request", "invalid name");
		return;
	}
	if (!node->cluster) {
		/* Standalone: walk the local registry (an operator call, not hot). */
		json_t *arr = json_array(), *root;
		void *a[3] = { arr, (void *)name, &lobby };
		char *s;

		gw_registry_each_member(node->reg, add_member, a);
		if (!lobby && !json_array_size(arr)) {
			json_decref(arr);
			reply_error(req, 404, "not_found", "the user is not connected");
			return;
		}
		root = lobby ? json_pack("{s:s,s:I,s:o}", "lobby", name, "count",
					 (json_int_t)json_array_size(arr), "users", arr)
			     : json_pack("{s:s,s:o}", "user", name, "connections", arr);
		s = json_dumps(root, JSON_COMPACT);
		reply_json(req, 200, s ? s : "{}");
		free(s);
		json_decref(root);
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
	snprintf(key, sizeof(key), "%s:%s:%s", gw_cluster_prefix(node->cluster),
		 lobby ? "lobby" : "user", name);
	if (gw_cluster_command(node->cluster, on_lookup, lk, 2, argv) != GW_OK) {
		gw_free(lk);
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
