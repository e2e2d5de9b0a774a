/*
 * gw_protocol.c — JSON in (jansson) and out (hand-written into gw_buf).
 *
 * Outbound frames are written directly rather than through jansson: they are
 * on the hot path and their shape is fixed. Client "data" is re-serialised
 * compactly once per message, then embedded verbatim in every copy of the
 * outgoing frame.
 */
#include "gw_protocol.h"
#include "gw_alloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int gw_lobby_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > GW_LOBBY_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.' || c == ':'))
			return 0;
	}
	return 1;
}

static const struct {
	const char *name;
	gw_msg_type_t type;
} msg_types[] = {
	{ "broadcast", GW_MSG_BROADCAST },
	{ "direct", GW_MSG_DIRECT },
	{ "presence", GW_MSG_PRESENCE },
	{ "health_pong", GW_MSG_HEALTH_PONG },
};

void gw_client_msg_clear(gw_client_msg_t *m)
{
	if (m->root)
		json_decref(m->root);
	free(m->data); /* allocated by jansson's json_dumps */
	memset(m, 0, sizeof(*m));
}

static int bad(gw_client_msg_t *m, const char **code, const char *c)
{
	gw_client_msg_clear(m);
	*code = c;
	return GW_EINVAL;
}

int gw_client_msg_parse(const char *in, size_t len, gw_client_msg_t *m,
			const char **code)
{
	json_t *root, *type, *v;
	size_t i;

	memset(m, 0, sizeof(*m));
	root = json_loadb(in, len, JSON_REJECT_DUPLICATES, NULL);
	if (!root)
		return bad(m, code, "bad_json");
	m->root = root;
	if (!json_is_object(root))
		return bad(m, code, "bad_json");
	type = json_object_get(root, "type");
	if (!json_is_string(type))
		return bad(m, code, "bad_message");
	m->type_name = json_string_value(type);
	m->type = GW_MSG_UNKNOWN;
	for (i = 0; i < GW_ARRAY_LEN(msg_types); i++)
		if (strcmp(m->type_name, msg_types[i].name) == 0)
			m->type = msg_types[i].type;

	v = json_object_get(root, "data");
	if (v) {
		m->data = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!m->data)
			return bad(m, code, "bad_message");
		m->data_len = strlen(m->data);
	}

	switch (m->type) {
	case GW_MSG_BROADCAST:
		if (!m->data)
			return bad(m, code, "bad_message");
		v = json_object_get(root, "echo");
		if (v && !json_is_boolean(v))
			return bad(m, code, "bad_message");
		m->echo = json_is_true(v);
		break;
	case GW_MSG_DIRECT:
		v = json_object_get(root, "to");
		if (!m->data || !json_is_string(v) || json_string_length(v) == 0)
			return bad(m, code, "bad_message");
		m->to = json_string_value(v);
		m->to_len = json_string_length(v);
		break;
	case GW_MSG_HEALTH_PONG:
		v = json_object_get(root, "timestamp");
		if (json_is_integer(v))
			m->timestamp = json_integer_value(v);
		break;
	case GW_MSG_PRESENCE:
	case GW_MSG_UNKNOWN:
		break;
	}
	return GW_OK;
}

/* Builder helpers: every step is skipped once one has failed. */
typedef struct {
	gw_buf_t *b;
	int rc;
} out_t;

static void raw(out_t *o, const char *s)
{
	if (!o->rc)
		o->rc = gw_buf_append_str(&o->b, s);
}

static void rawn(out_t *o, const char *s, size_t n)
{
	if (!o->rc)
		o->rc = gw_buf_append(&o->b, s, n);
}

static void str(out_t *o, const char *s)
{
	if (!o->rc)
		o->rc = gw_buf_append_json_str(&o->b, s, strlen(s));
}

static void num(out_t *o, int64_t v)
{
	if (!o->rc)
		o->rc = gw_buf_append_i64(&o->b, v);
}

static out_t start(size_t hint)
{
	out_t o = { gw_buf_new(hint), 0 };

	if (!o.b)
		o.rc = GW_ENOMEM;
	return o;
}

static gw_buf_t *finish(out_t *o)
{
	if (o->rc) {
		gw_buf_unref(o->b);
		return NULL;
	}
	return o->b;
}

static void welcome_body(out_t *o, const char *conn_id, const char *user,
			 const char *lobby, const char *node, long heartbeat_s,
			 long max_message)
{
	raw(o, "{\"type\":\"welcome\",\"connection_id\":");
	str(o, conn_id);
	raw(o, ",\"user\":");
	str(o, user);
	raw(o, ",\"lobby\":");
	str(o, lobby);
	raw(o, ",\"node\":");
	str(o, node);
	raw(o, ",\"heartbeat_interval\":");
	num(o, heartbeat_s);
	raw(o, ",\"max_message_size\":");
	num(o, max_message);
}

gw_buf_t *gw_proto_welcome(const char *conn_id, const char *user,
			   const char *lobby, const char *node,
			   long heartbeat_s, long max_message)
{
	out_t o = start(256);

	welcome_body(&o, conn_id, user, lobby, node, heartbeat_s, max_message);
	raw(&o, "}");
	return finish(&o);
}

gw_buf_t *gw_proto_welcome_resume(const char *conn_id, const char *user,
				  const char *lobby, const char *node,
				  long heartbeat_s, long max_message,
				  const gw_proto_resume_t *r)
{
	out_t o = start(320);

	welcome_body(&o, conn_id, user, lobby, node, heartbeat_s, max_message);
	if (r->epoch) {
		raw(&o, ",\"epoch\":");
		str(&o, r->epoch);
		raw(&o, ",\"offset\":");
		num(&o, (int64_t)r->offset);
	}
	raw(&o, r->epoch && r->recovered ? ",\"recovered\":true}" : ",\"recovered\":false}");
	return finish(&o);
}

gw_buf_t *gw_proto_message(const char *lobby, const char *from,
			   const char *data, size_t data_len)
{
	out_t o = start(64 + data_len + strlen(lobby) + strlen(from));

	raw(&o, "{\"type\":\"message\",\"lobby\":");
	str(&o, lobby);
	raw(&o, ",\"from\":");
	str(&o, from);
	raw(&o, ",\"data\":");
	rawn(&o, data, data_len);
	raw(&o, "}");
	return finish(&o);
}

gw_buf_t *gw_proto_message_head(const char *lobby, const char *from,
				const char *data, size_t data_len)
{
	out_t o = start(80 + data_len + strlen(lobby) + strlen(from));

	raw(&o, "{\"type\":\"message\",\"lobby\":");
	str(&o, lobby);
	raw(&o, ",\"from\":");
	str(&o, from);
	raw(&o, ",\"data\":");
	rawn(&o, data, data_len);
	raw(&o, ",\"offset\":");
	return finish(&o);
}

uint64_t gw_proto_offset_of(const char *frame, size_t len)
{
	static const char key[] = ",\"offset\":";
	size_t end, i, kl = sizeof(key) - 1;
	uint64_t v = 0;

	if (len < kl + 2 || frame[len - 1] != '}')
		return 0;
	end = len - 1;
	for (i = end; i > 0 && frame[i - 1] >= '0' && frame[i - 1] <= '9'; i--)
		;
	if (i == end || end - i > 19 || i < kl || memcmp(frame + i - kl, key, kl) != 0)
		return 0;
	for (; i < end; i++)
		v = v * 10 + (uint64_t)(frame[i] - '0');
	return v;
}

gw_buf_t *gw_proto_direct(const char *from, const char *data, size_t data_len)
{
	out_t o = start(48 + data_len + strlen(from));

	raw(&o, "{\"type\":\"direct\",\"from\":");
	str(&o, from);
	raw(&o, ",\"data\":");
	rawn(&o, data, data_len);
	raw(&o, "}");
	return finish(&o);
}

gw_buf_t *gw_proto_presence_event(int join, const char *lobby, const char *user,
				  const char *conn_id, const char *reason)
{
	out_t o = start(160);

	raw(&o, join ? "{\"type\":\"presence_join\",\"lobby\":"
		     : "{\"type\":\"presence_leave\",\"lobby\":");
	str(&o, lobby);
	raw(&o, ",\"user\":");
	str(&o, user);
	raw(&o, ",\"connection_id\":");
	str(&o, conn_id);
	if (!join) {
		raw(&o, ",\"reason\":");
		str(&o, reason ? reason : "closed");
	}
	raw(&o, "}");
	return finish(&o);
}

gw_buf_t *gw_proto_health_ping(uint64_t wall_ms)
{
	out_t o = start(48);

	raw(&o, "{\"type\":\"health_ping\",\"timestamp\":");
	num(&o, (int64_t)wall_ms);
	raw(&o, "}");
	return finish(&o);
}

gw_buf_t *gw_proto_error(const char *code, const char *message)
{
	out_t o = start(96);

	raw(&o, "{\"type\":\"error\",\"code\":");
	str(&o, code);
	raw(&o, ",\"message\":");
	str(&o, message);
	raw(&o, "}");
	return finish(&o);
}

gw_buf_t *gw_proto_gap(const char *lobby, uint64_t missed)
{
	out_t o = start(96);

	raw(&o, "{\"type\":\"gap\",\"lobby\":");
	str(&o, lobby);
	raw(&o, ",\"missed\":");
	num(&o, (int64_t)missed);
	raw(&o, "}");
	return finish(&o);
}

gw_buf_t *gw_proto_presence_begin(const char *lobby)
{
	out_t o = start(128);

	raw(&o, "{\"type\":\"presence\",\"lobby\":");
	str(&o, lobby);
	raw(&o, ",\"users\":[");
	return finish(&o);
}

gw_buf_t *gw_proto_presence_add(gw_buf_t *b, const char *user, int first)
{
	out_t o = { b, b ? 0 : GW_ENOMEM };

	if (!first)
		raw(&o, ",");
	str(&o, user);
	return finish(&o);
}

gw_buf_t *gw_proto_presence_end(gw_buf_t *b, size_t count)
{
	out_t o = { b, b ? 0 : GW_ENOMEM };

	raw(&o, "],\"count\":");
	num(&o, (int64_t)count);
	raw(&o, "}");
	return finish(&o);
}
