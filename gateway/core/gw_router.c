/*
 * gw_router.c — admission, message routing, local delivery and detach.
 *
 * Detaching a closing session (leaving its lobby, telling presence and
 * admission) never happens inside a walk over a lobby: a send inside a
 * fan-out may close a slow receiver, and unlinking it there could break
 * the walk. gw_router_detach() therefore only queues the session on
 * node->reap; a zero-delay libevent event detaches the queue on the next
 * loop turn, and LWS_CALLBACK_CLOSED detaches anything still queued.
 */
#include "gw_router.h"
#include "gw_admission.h"
#include "gw_alloc.h"
#include "gw_bus.h"
#include "gw_grace.h"
#include "gw_health.h"
#include "gw_log.h"
#include "gw_presence.h"
#include "gw_protocol.h"

#include <event2/event.h>
#include <libwebsockets.h>
#include <string.h>

static void detach_now(gw_session_t *s);

/*
 * Presence events: one frame (built by gw_presence, NULL with
 * --presence-events=false) delivered to the local members, and the same
 * buffer handed to the bus for the other nodes.
 */
static void tell_joined(gw_node_t *node, gw_session_t *s)
{
	gw_buf_t *b = gw_presence_event(node, s, 1, NULL);

	if (b)
		gw_router_deliver_lobby(node, s->m.lobby, b, s->m.id);
	gw_bus_lobby_joined(node->bus, s, b);
	gw_buf_unref(b);
}

/*
 * A leave a reconnect may follow is held (gw_grace) rather than told; the
 * bus still hears that the member is gone here, without the event. 1 when
 * held: the admission then holds the connection instead of releasing it.
 */
static int tell_left(gw_node_t *node, gw_session_t *s, gw_close_t why)
{
	gw_buf_t *b = gw_presence_event(node, s, 0, why == GW_CLOSE_NORMAL
						       ? "closed" : gw_close_reason(why));
	int held = gw_grace_hold(node->grace, s, why, b);

	if (held) {
		gw_bus_lobby_left(node->bus, s, NULL);
	} else {
		if (b)
			gw_router_deliver_lobby(node, s->m.lobby, b, s->m.id);
		gw_bus_lobby_left(node->bus, s, b);
	}
	gw_buf_unref(b);
	return held;
}

/* A held leave's grace ran out: told as it would have been. */
static void announce_held(gw_node_t *node, const char *lobby, gw_buf_t *frame)
{
	gw_lobby_t *l = gw_registry_lobby(node->reg, lobby, strlen(lobby));

	if (l && l->count)
		gw_router_deliver_lobby(node, l, frame, 0);
	gw_bus_publish(node->bus, lobby, frame);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_node_t *node = arg;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	while (!gw_list_empty(&node->reap)) {
		gw_session_t *s = GW_CONTAINER_OF(node->reap.next, gw_session_t,
						  timer.link);
		detach_now(s);
	}
}

/* The session layer's calls upward (gw_session_up_t). */
static const gw_session_up_t session_up = {
	.message = gw_router_on_message,
	.binary = gw_router_on_binary,
	.closing = gw_router_detach,
	.closed = gw_router_forget,
};

static int held_take(gw_node_t *node, const char *lobby, size_t lobby_len,
		     const char *user, size_t user_len)
{
	return gw_grace_take(node->grace, lobby, lobby_len, user, user_len);
}

int gw_router_init(gw_node_t *node)
{
	node->up = &session_up;
	gw_list_init(&node->reap);
	node->reap_ev = event_new(node->base, -1, 0, reap_cb, node);
	node->grace = gw_grace_create(node, announce_held);
	node->held_take = held_take;
	return node->reap_ev && node->grace && gw_session_flush_init(node) == GW_OK
		       ? GW_OK : GW_ENOMEM;
}

void gw_router_shutdown(gw_node_t *node)
{
	if (node->reap_ev) {
		reap_cb(-1, 0, node);
		event_free(node->reap_ev);
		node->reap_ev = NULL;
	}
	gw_grace_free(node->grace);
	node->grace = NULL;
	gw_session_flush_free(node);
}

static gw_admit_req_t req_of(const gw_session_t *s)
{
	gw_admit_req_t r = { .conn_id = s->m.id };

	if (s->m.lobby) {
		r.user = s->m.user->name;
		r.user_len = s->m.user->name_len;
		r.lobby = s->m.lobby->name;
		r.lobby_len = s->m.lobby->name_len;
	} else {
		r.user = s->want_user;
		r.user_len = s->want_user ? strlen(s->want_user) : 0;
		r.lobby = s->want_lobby;
		r.lobby_len = s->want_lobby ? strlen(s->want_lobby) : 0;
	}
	return r;
}

static void log_conn(gw_log_level_t lvl, const char *event,
		     const gw_session_t *s, const char *reason)
{
	char id[GW_CONN_ID_MAX];
	const char *user = s->m.user ? s->m.user->name : s->want_user;
	const char *lobby = s->m.lobby ? s->m.lobby->name : s->want_lobby;

	GW_LOG(lvl, event, GW_S("conn", gw_session_id_str(s, id)),
	       GW_S("user", user ? user : "-"), GW_S("lobby", lobby ? lobby : "-"),
	       GW_S("reason", reason), GW_I("rtt_ms", s->rtt_ms));
}

static void detach_now(gw_session_t *s)
{
	gw_node_t *node = s->node;
	gw_close_t why = (gw_close_t)s->close;

	if (s->reaping) {
		gw_list_del(&s->timer.link);
		s->reaping = 0;
	}
	if (s->detached)
		return;
	s->detached = 1;
	if (s->m.lobby) {
		gw_admit_req_t req;
		int held;

		gw_health_stop(node->health, s);
		held = tell_left(node, s, why);
		log_conn(GW_LOG_INFO, "disconnect", s, gw_close_name(why));
		req = req_of(s);
		if (s->admitted && !held)
			gw_admission_release(node->admission, &req);
		gw_registry_leave(node->reg, &s->m);
	} else if (s->admitted) {
		gw_admit_req_t req = req_of(s);

		gw_admission_release(node->admission, &req);
	} else if (why != GW_CLOSE_NORMAL) {
		log_conn(GW_LOG_INFO, "reject", s, gw_close_name(why));
	}
}

void gw_router_detach(gw_session_t *s, gw_close_t why)
{
	GW_UNUSED(why); /* s->close holds it */
	if (s->detached || s->reaping)
		return;
	if (s->m.lobby)
		gw_health_stop(s->node->health, s);
	gw_list_add_tail(&s->node->reap, &s->timer.link);
	s->reaping = 1;
	event_active(s->node->reap_ev, 0, 0);
}

void gw_router_forget(gw_session_t *s)
{
	if (s->reaping || !s->detached) {
		if (!s->reaping && s->m.lobby)
			gw_health_stop(s->node->health, s);
		detach_now(s);
	}
	gw_registry_remove(s->node->reg, &s->m);
}

/* --- admission ------------------------------------------------------------ */

static const gw_close_t verdict_close[] = {
	[GW_ADMIT_OK] = GW_CLOSE_NORMAL,
	[GW_ADMIT_SERVER_FULL] = GW_CLOSE_SERVER_FULL,
	[GW_ADMIT_NODE_FULL] = GW_CLOSE_NODE_FULL,
	[GW_ADMIT_LOBBY_FULL] = GW_CLOSE_LOBBY_FULL,
	[GW_ADMIT_USER_LIMIT] = GW_CLOSE_ALREADY_CONNECTED,
	[GW_ADMIT_UNAVAILABLE] = GW_CLOSE_UNAVAILABLE,
};

/* --- history: the welcome waits for the lobby's epoch, offset and replay ---- */

typedef struct {
	gw_node_t *node;
	uint64_t conn_id;
} joining_t;

/*
 * The history's answer for a joining connection: the welcome (with epoch,
 * offset and recovered), then the replay, then whatever the lobby said
 * meanwhile past the welcome's offset (gw_session_release). A history
 * that could not be read gives a welcome with recovered false and no
 * epoch; the client re-syncs from its backend.
 */
static void history_done(void *ud, int status, const gw_bus_history_t *h)
{
	joining_t *j = ud;
	gw_node_t *node = j->node;
	const gw_config_t *cfg = node->cfg;
	gw_member_t *m = gw_registry_find(node->reg, j->conn_id);
	gw_proto_resume_t r = { NULL, 0, 0 };
	gw_buf_t **first = NULL;
	gw_session_t *s;
	char id[GW_CONN_ID_MAX];
	size_t n = 0, i;

	gw_free(j);
	if (!m)
		return;
	s = GW_SESSION_OF(m);
	if (s->state != GW_SS_OPEN || !s->hold || !s->hold->holding)
		return;
	if (status == GW_OK) {
		r = (gw_proto_resume_t){ h->epoch, h->offset, h->recovered };
		n = h->recovered ? h->n : 0;
	}
	first = gw_calloc(n + 1, sizeof(*first));
	if (first)
		first[0] = gw_proto_welcome_resume(gw_session_id_str(s, id), s->m.user->name,
						   s->m.lobby->name, cfg->node_id,
						   cfg->heartbeat_interval,
						   cfg->max_message_size, &r);
	for (i = 0; first && first[0] && i < n; i++) {
		first[i + 1] = gw_buf_new(h->frames[i].len);
		if (!first[i + 1] || gw_buf_append(&first[i + 1], h->frames[i].str,
						   h->frames[i].len))
			break;
	}
	if (!first || !first[0] || i < n) {
		gw_session_close(s, GW_CLOSE_INTERNAL);
	} else {
		GW_LOG(GW_LOG_DEBUG, "history_welcome", GW_S("conn", id),
		       GW_S("lobby", s->m.lobby->name), GW_I("offset", r.offset),
		       GW_I("recovered", r.recovered), GW_I("replayed", n));
		gw_session_release(s, first, n + 1, r.epoch ? r.offset : 0,
				   gw_now_ms() + (uint64_t)cfg->history_ttl * 1000);
	}
	for (i = 0; first && i <= n; i++)
		gw_buf_unref(first[i]);
	gw_free(first);
}

/*
 * Replay bounds: the replay goes into the send queue at once, so it may
 * take at most half of it (messages and bytes), leaving room for the live
 * traffic that follows; a longer one is answered recovered false.
 */
static void welcome_with_history(gw_node_t *node, gw_session_t *s)
{
	const gw_config_t *cfg = node->cfg;
	gw_hold_t *h = s->hold;
	joining_t *j = gw_calloc(1, sizeof(*j));
	size_t max_n = (size_t)GW_MAX(1, cfg->send_queue_max / 2);
	size_t max_bytes = (size_t)cfg->send_queue_bytes / 2;
	gw_bus_history_t none = { NULL, 0, 0, NULL, 0 };

	if (!j) {
		gw_session_close(s, GW_CLOSE_INTERNAL);
		return;
	}
	*j = (joining_t){ node, s->m.id };
	if (gw_bus_history(node->bus, s->m.lobby->name, h->since,
			   h->resume ? h->epoch : NULL, max_n, max_bytes, history_done,
			   j) != GW_OK)
		history_done(j, GW_EUNAVAIL, &none);
}

static void admitted(gw_node_t *node, uint64_t conn_id, gw_admit_t verdict,
		     int resumed)
{
	gw_member_t *m = gw_registry_find(node->reg, conn_id);
	gw_session_t *s;
	char id[GW_CONN_ID_MAX];
	const gw_config_t *cfg = node->cfg;
	gw_user_t *u;
	int rc;

	if (!m)
		return; /* gone; the admission implementation releases */
	s = GW_SESSION_OF(m);
	if (s->state != GW_SS_ADMITTING) {
		if (verdict == GW_ADMIT_OK) {
			gw_admit_req_t req = req_of(s);

			gw_admission_release(node->admission, &req);
		}
		return;
	}
	if (verdict != GW_ADMIT_OK) {
		gw_session_close(s, verdict_close[verdict]);
		return;
	}
	s->admitted = 1;
	/* History: everything for s is held until its welcome (history_done). */
	if (cfg->history_size > 0 && gw_session_hold(s) != GW_OK) {
		gw_session_close(s, GW_CLOSE_INTERNAL);
		return;
	}
	u = gw_registry_user(node->reg, s->want_user, strlen(s->want_user));
	if (u && cfg->user_policy == GW_POLICY_REPLACE)
		gw_router_kick(node, u->name, u->name_len, 0, GW_CLOSE_REPLACED);
	rc = gw_registry_join(node->reg, &s->m, s->want_user, strlen(s->want_user),
			      s->want_lobby, strlen(s->want_lobby));
	if (rc) {
		gw_session_close(s, GW_CLOSE_INTERNAL);
		return;
	}
	gw_free(s->want_user);
	gw_free(s->want_lobby);
	s->want_user = s->want_lobby = NULL;
	s->state = GW_SS_OPEN;
	s->since_ms = gw_wall_ms();
	node->stats.admitted++;
	gw_health_start(node->health, s);
	if (s->hold)
		welcome_with_history(node, s);
	else
		gw_session_send_owned(s, gw_proto_welcome(gw_session_id_str(s, id),
							  s->m.user->name, s->m.lobby->name,
							  cfg->node_id, cfg->heartbeat_interval,
							  cfg->max_message_size));
	log_conn(GW_LOG_INFO, "connect", s, NULL);
	/* Back within the grace (the admission found the held leave, on this
	 * node or another): neither the held leave nor this join is told. */
	if (resumed)
		gw_bus_lobby_joined(node->bus, s, NULL);
	else
		tell_joined(node, s);
}

void gw_router_admit(gw_session_t *s)
{
	gw_admit_req_t req;

	if (s->pending) {
		gw_session_close(s, (gw_close_t)(s->pending - 1));
		return;
	}
	s->state = GW_SS_ADMITTING;
	req = req_of(s);
	if (gw_admission_admit(s->node->admission, &req, admitted) != GW_OK)
		gw_session_close(s, GW_CLOSE_INTERNAL);
}

/* --- delivery -------------------------------------------------------------- */

size_t gw_router_deliver_lobby(gw_node_t *node, gw_lobby_t *l, gw_buf_t *b,
			       uint64_t exclude_conn)
{
	gw_list_t *pos;
	size_t n = 0;

	GW_UNUSED(node);
	/* Sends never unlink members (detach is deferred), so no _safe walk. */
	for (pos = l->members.next; pos != &l->members; pos = pos->next) {
		gw_member_t *m = GW_MEMBER_OF(pos, lobby_link);

		if (m->id != exclude_conn &&
		    gw_session_send(GW_SESSION_OF(m), b) == GW_OK)
			n++;
	}
	return n;
}

size_t gw_router_deliver_user(gw_node_t *node, const char *user, size_t len,
			      gw_buf_t *b)
{
	gw_user_t *u = gw_registry_user(node->reg, user, len);
	gw_list_t *pos;
	size_t n = 0;

	if (!u)
		return 0;
	for (pos = u->conns.next; pos != &u->conns; pos = pos->next)
		if (gw_session_send(GW_SESSION_OF(GW_MEMBER_OF(pos, user_link)),
				    b) == GW_OK)
			n++;
	return n;
}

size_t gw_router_kick(gw_node_t *node, const char *user, size_t len,
		      uint64_t conn_id, gw_close_t why)
{
	gw_user_t *u = gw_registry_user(node->reg, user, len);
	gw_list_t *pos;
	size_t n = 0;

	if (!u)
		return 0;
	for (pos = u->conns.next; pos != &u->conns; pos = pos->next) {
		gw_session_t *s = GW_SESSION_OF(GW_MEMBER_OF(pos, user_link));

		if ((!conn_id || s->m.id == conn_id) && s->state == GW_SS_OPEN) {
			gw_session_close(s, why);
			n++;
		}
	}
	return n;
}

static int close_one(gw_member_t *m, void *ud)
{
	gw_session_close(GW_SESSION_OF(m), *(gw_close_t *)ud);
	return 0;
}

void gw_router_close_all(gw_node_t *node, gw_close_t why)
{
	gw_registry_each_member(node->reg, close_one, &why);
}

/* --- client messages -------------------------------------------------------- */

/*
 * History: Redis assigns the offset and publishes; this node delivers when
 * the message comes back, like every other node, so that local members see
 * the same order (one round trip later). GW_OK: sent that way.
 */
static int broadcast_history(gw_session_t *s, const gw_client_msg_t *msg)
{
	gw_node_t *node = s->node;
	gw_buf_t *head = gw_proto_message_head(s->m.lobby->name, s->m.user->name,
					       msg->data, msg->data_len);
	int rc = head ? gw_bus_publish_history(node->bus, s->m.lobby->name, head,
					       msg->echo ? 0 : s->m.id)
		      : GW_ENOMEM;

	gw_buf_unref(head);
	if (rc == GW_OK)
		node->stats.broadcasts++;
	return rc;
}

static void on_broadcast(gw_session_t *s, const gw_client_msg_t *msg)
{
	gw_node_t *node = s->node;
	gw_buf_t *b;

	/* Without Redis, a history broadcast goes out below, without offset. */
	if (node->cfg->history_size > 0 && broadcast_history(s, msg) == GW_OK)
		return;
	b = gw_proto_message(s->m.lobby->name, s->m.user->name, msg->data, msg->data_len);
	if (!b) {
		gw_session_error(s, "internal", "out of memory", 0);
		return;
	}
	node->stats.broadcasts++;
	/* Publish first: other nodes' receivers should not wait for our walk. */
	gw_bus_publish(node->bus, s->m.lobby->name, b);
	gw_router_deliver_lobby(node, s->m.lobby, b, msg->echo ? 0 : s->m.id);
	gw_buf_unref(b);
}

/* A direct message's sender, until the bus has looked the receiver up. */
typedef struct {
	gw_node_t *node;
	uint64_t from;
	size_t here;  /* delivered on this node */
} direct_t;

static void direct_sent(void *ud, int status, size_t remote)
{
	direct_t *d = ud;
	gw_member_t *m = gw_registry_find(d->node->reg, d->from);

	if (m && !d->here && !remote)
		gw_session_error(GW_SESSION_OF(m), status ? "unavailable" : "user_offline",
				 status ? "the cluster could not be asked"
					: "no such user is connected", 0);
	gw_free(d);
}

static void on_direct(gw_session_t *s, const gw_client_msg_t *msg)
{
	gw_node_t *node = s->node;
	gw_buf_t *b = gw_proto_direct(s->m.user->name, msg->data, msg->data_len);
	direct_t *d = gw_calloc(1, sizeof(*d));

	if (!b || !d) {
		gw_buf_unref(b);
		gw_free(d);
		gw_session_error(s, "internal", "out of memory", 0);
		return;
	}
	node->stats.directs++;
	*d = (direct_t){ node, s->m.id, 0 };
	d->here = gw_router_deliver_user(node, msg->to, msg->to_len, b);
	if (gw_bus_send_user(node->bus, msg->to, msg->to_len, NULL, b, NULL,
			     direct_sent, d) != GW_OK) {
		if (!d->here)
			gw_session_error(s, "unavailable", "the cluster could not be asked", 0);
		gw_free(d);
	}
	gw_buf_unref(b);
}

/* A dropped message: an error frame, or 1008 once the drops add up. */
static void rate_limited(gw_session_t *s, const char *why)
{
	if (gw_ratelimit_exhausted(&s->rl, s->node->cfg))
		gw_session_close(s, GW_CLOSE_RATE_LIMITED);
	else
		gw_session_error(s, "rate_limited", why, 0);
}

void gw_router_on_message(gw_session_t *s, const char *in, size_t len)
{
	gw_node_t *node = s->node;
	const gw_config_t *cfg = node->cfg;
	gw_client_msg_t msg;
	const char *code;
	int rc;

	if (s->state != GW_SS_OPEN)
		return; /* before the welcome or while closing: dropped */
	node->stats.messages_in++;
	gw_health_alive(s);
	switch (gw_ratelimit_take(&s->rl, cfg, len, gw_now_ms())) {
	case GW_RL_PASS:
		break;
	case GW_RL_MESSAGES:
		node->stats.rate_limited++;
		rate_limited(s, "message dropped: sending too fast");
		return;
	case GW_RL_BYTES:
		node->stats.rate_limited_bytes++;
		rate_limited(s, "message dropped: sending too many bytes");
		return;
	}
	if (gw_client_msg_parse(in, len, &msg, &code) != GW_OK) {
		gw_session_error(s, code, strcmp(code, "bad_json") == 0
					  ? "invalid JSON or not an object"
					  : "missing or invalid field", 1);
		return;
	}
	switch (msg.type) {
	case GW_MSG_BROADCAST:
		on_broadcast(s, &msg);
		break;
	case GW_MSG_DIRECT:
		on_direct(s, &msg);
		break;
	case GW_MSG_PRESENCE:
		gw_presence_query(node, s);
		break;
	case GW_MSG_HEALTH_PONG:
		s->speaks_json = 1;
		gw_health_on_pong(node->health, s);
		break;
	case GW_MSG_UNKNOWN:
		/* In a cluster, backends consume these from the inbound stream. */
		rc = gw_bus_inbound(node->bus, s, msg.type_name, in, len);
		if (rc == GW_ENOENT)
			gw_session_error(s, "unknown_type", "unknown message type", 1);
		else if (rc)
			gw_session_error(s, "unavailable", "the cluster could not be asked", 0);
		break;
	}
	gw_client_msg_clear(&msg);
}

void gw_router_on_binary(gw_session_t *s)
{
	if (s->state != GW_SS_OPEN)
		return;
	s->node->stats.messages_in++;
	gw_session_error(s, "binary_not_supported",
			 "binary frames are not supported", 1);
}

/* --- the sink: what other nodes publish ------------------------------------ */

static size_t sink_deliver_lobby(void *ud, const char *lobby, size_t len,
				 gw_buf_t *frame, uint64_t exclude)
{
	gw_node_t *node = ud;
	gw_lobby_t *l = gw_registry_lobby(node->reg, lobby, len);

	return l && l->count ? gw_router_deliver_lobby(node, l, frame, exclude) : 0;
}

typedef struct {
	gw_node_t *node;
	gw_buf_t *b;
	size_t n;
} everyone_t;

static int deliver_one_lobby(gw_lobby_t *l, void *ud)
{
	everyone_t *ev = ud;

	if (l->count)
		ev->n += gw_router_deliver_lobby(ev->node, l, ev->b, 0);
	return 0;
}

static size_t sink_deliver_all(void *ud, gw_buf_t *frame)
{
	everyone_t ev = { ud, frame, 0 };

	gw_registry_each_lobby(ev.node->reg, deliver_one_lobby, &ev);
	return ev.n;
}

static size_t sink_deliver_user(void *ud, const char *user, size_t len,
				gw_buf_t *frame)
{
	return gw_router_deliver_user(ud, user, len, frame);
}

static size_t sink_kick(void *ud, const char *user, size_t len, uint64_t conn_id,
			const char *reason)
{
	return gw_router_kick(ud, user, len, conn_id,
			      reason && strcmp(reason, "replaced") == 0
				      ? GW_CLOSE_REPLACED : GW_CLOSE_KICKED);
}

/* The one place gap frames are built. */
static void sink_gap(void *ud, const char *lobby, size_t len, uint64_t missed)
{
	gw_node_t *node = ud;
	gw_lobby_t *l = gw_registry_lobby(node->reg, lobby, len);
	gw_buf_t *b;

	node->stats.gaps++;
	GW_LOG(GW_LOG_WARN, "pubsub_gap", GW_S("lobby", lobby), GW_I("missed", missed));
	if (!l || !l->count || !(b = gw_proto_gap(l->name, missed)))
		return;
	gw_router_deliver_lobby(node, l, b, 0);
	gw_buf_unref(b);
}

static gw_buf_t *sink_member_lost(void *ud, const char *lobby, const char *user,
				  const char *conn)
{
	gw_node_t *node = ud;
	gw_buf_t *b = gw_presence_lost(node, lobby, user, conn);

	if (b)
		sink_deliver_lobby(node, lobby, strlen(lobby), b, 0);
	return b;
}

static void sink_presence_reply(void *ud, uint64_t conn_id, const char *lobby,
				const gw_bus_str_t *users, size_t n)
{
	gw_presence_reply(ud, conn_id, lobby, users, n);
}

typedef struct {
	int (*fn)(void *fud, uint64_t id, const char *user, const char *lobby,
		  uint64_t since_ms);
	void *fud;
} each_conn_t;

static int each_conn_one(gw_member_t *m, void *ud)
{
	each_conn_t *e = ud;
	gw_session_t *s = GW_SESSION_OF(m);

	if (!m->lobby || s->state != GW_SS_OPEN)
		return 0;
	return e->fn(e->fud, m->id, m->user->name, m->lobby->name, s->since_ms);
}

static int sink_each_conn(void *ud,
			  int (*fn)(void *fud, uint64_t id, const char *user,
				    const char *lobby, uint64_t since_ms),
			  void *fud)
{
	gw_node_t *node = ud;
	each_conn_t e = { fn, fud };

	return gw_registry_each_member(node->reg, each_conn_one, &e);
}

void gw_router_sink(gw_node_t *node, gw_bus_sink_t *out)
{
	*out = (gw_bus_sink_t){
		.ud = node,
		.deliver_lobby = sink_deliver_lobby,
		.deliver_all = sink_deliver_all,
		.deliver_user = sink_deliver_user,
		.kick = sink_kick,
		.gap = sink_gap,
		.member_lost = sink_member_lost,
		.presence_reply = sink_presence_reply,
		.each_conn = sink_each_conn,
	};
}
