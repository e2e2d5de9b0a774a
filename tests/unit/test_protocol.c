/*
 * test_protocol.c — unit tests for common/gw_protocol.c: parsing client
 * frames (well-formed, malformed and hostile), the server frame encoders,
 * and lobby-name validation, against docs/protocol.md.
 *
 * Every encoder's output is parsed back with jansson, and compared field by
 * field with the shape the protocol document gives — the exact set of keys,
 * each with its JSON type and value — so an extra, missing or misspelt
 * field fails, as does anything that is not valid JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw_alloc.h"
#include "gw_protocol.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers ------------------------------------------------------------ */

/* Parses a frame given as a C string; the message must be cleared. */
static int parse(const char *in, gw_client_msg_t *m, const char **code)
{
	*code = NULL;
	return gw_client_msg_parse(in, strlen(in), m, code);
}

/* Expects `in` to be refused with the given error code. */
static void expect_bad(const char *in, const char *want)
{
	gw_client_msg_t m;
	const char *code;
	int rc = parse(in, &m, &code);

	if (rc != GW_EINVAL)
		fail_msg("accepted: %s", in);
	if (!code || strcmp(code, want) != 0)
		fail_msg("%s: code %s, want %s", in, code ? code : "(null)", want);
	/* A refused message holds nothing: clear is safe and a no-op. */
	assert_null(m.root);
	assert_null(m.data);
	gw_client_msg_clear(&m);
}

static void expect_ok(const char *in, gw_client_msg_t *m)
{
	const char *code;

	if (parse(in, m, &code) != GW_OK)
		fail_msg("refused (%s): %s", code ? code : "?", in);
}

/* Parses an encoder's output; takes the buffer reference. */
static json_t *decode(gw_buf_t *b)
{
	json_error_t err;
	json_t *j;

	assert_non_null(b);
	assert_int_equal(b->refs, 1);
	j = json_loadb((const char *)gw_buf_data(b), b->len, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		fail_msg("not JSON (%s): %.*s", err.text, (int)b->len,
			 (const char *)gw_buf_data(b));
	assert_true(json_is_object(j));
	gw_buf_unref(b);
	return j;
}

/* The object has exactly these keys (a NULL-terminated list). */
static void assert_keys(json_t *o, const char *const *keys)
{
	size_t n = 0;

	for (; keys[n]; n++)
		if (!json_object_get(o, keys[n]))
			fail_msg("missing field \"%s\"", keys[n]);
	if (json_object_size(o) != n) {
		char *s = json_dumps(o, JSON_COMPACT);

		fail_msg("expected %zu fields, got %zu: %s", n, json_object_size(o), s);
	}
}

#define KEYS(o, ...) assert_keys((o), (const char *const[]){ __VA_ARGS__, NULL })

static void assert_str_field(json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("field \"%s\" is not a string", key);
	assert_int_equal(json_string_length(v), strlen(want));
	assert_string_equal(json_string_value(v), want);
}

static void assert_int_field(json_t *o, const char *key, json_int_t want)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("field \"%s\" is not an integer", key);
	assert_true(json_integer_value(v) == want);
}

/* --- parsing: the four known types and unknown ---------------------------- */

static void test_parse_broadcast(void **state)
{
	gw_client_msg_t m;

	(void)state;
	expect_ok("{\"type\":\"broadcast\",\"data\":{\"move\": \"e4\"}}", &m);
	assert_int_equal(m.type, GW_MSG_BROADCAST);
	assert_string_equal(m.type_name, "broadcast");
	assert_non_null(m.data);
	assert_string_equal(m.data, "{\"move\":\"e4\"}"); /* compact */
	assert_int_equal(m.data_len, strlen(m.data));
	assert_int_equal(m.echo, 0);
	assert_null(m.to);
	gw_client_msg_clear(&m);
	assert_null(m.root);
	assert_null(m.data);

	expect_ok("{\"data\":1,\"echo\":true,\"type\":\"broadcast\"}", &m);
	assert_int_equal(m.type, GW_MSG_BROADCAST);
	assert_int_equal(m.echo, 1);
	assert_string_equal(m.data, "1");
	gw_client_msg_clear(&m);

	expect_ok("{\"type\":\"broadcast\",\"data\":\"x\",\"echo\":false}", &m);
	assert_int_equal(m.echo, 0);
	gw_client_msg_clear(&m);

	/* data: null is present (a JSON value), not absent. */
	expect_ok("{\"type\":\"broadcast\",\"data\":null}", &m);
	assert_string_equal(m.data, "null");
	assert_int_equal(m.data_len, 4);
	gw_client_msg_clear(&m);

	/* Unknown extra fields are ignored; whitespace is fine. */
	expect_ok(" \n{ \"type\" : \"broadcast\" , \"data\" : [ 1 , 2 ] , \"x\" : 5 }\t", &m);
	assert_string_equal(m.data, "[1,2]");
	gw_client_msg_clear(&m);
}

static void test_parse_direct(void **state)
{
	gw_client_msg_t m;

	(void)state;
	expect_ok("{\"type\":\"direct\",\"to\":\"bob\",\"data\":\"psst\"}", &m);
	assert_int_equal(m.type, GW_MSG_DIRECT);
	assert_string_equal(m.type_name, "direct");
	assert_non_null(m.to);
	assert_int_equal(m.to_len, 3);
	assert_memory_equal(m.to, "bob", 3);
	assert_string_equal(m.data, "\"psst\"");
	gw_client_msg_clear(&m);

	/* A user id with escapes and UTF-8 comes back decoded. */
	expect_ok("{\"type\":\"direct\",\"to\":\"b\\\"\\u00e9\",\"data\":0}", &m);
	assert_int_equal(m.to_len, 4);
	assert_memory_equal(m.to, "b\"\xc3\xa9", 4);
	gw_client_msg_clear(&m);
}

static void test_parse_presence_and_pong(void **state)
{
	gw_client_msg_t m;

	(void)state;
	expect_ok("{\"type\":\"presence\"}", &m);
	assert_int_equal(m.type, GW_MSG_PRESENCE);
	assert_null(m.data);
	assert_int_equal(m.data_len, 0);
	gw_client_msg_clear(&m);

	expect_ok("{\"type\":\"health_pong\",\"timestamp\":1763880000123}", &m);
	assert_int_equal(m.type, GW_MSG_HEALTH_PONG);
	assert_true(m.timestamp == 1763880000123ll);
	gw_client_msg_clear(&m);

	expect_ok("{\"type\":\"health_pong\"}", &m); /* optional */
	assert_int_equal(m.type, GW_MSG_HEALTH_PONG);
	assert_true(m.timestamp == 0);
	gw_client_msg_clear(&m);

	/* A timestamp that is not an integer is ignored, not an error. */
	expect_ok("{\"type\":\"health_pong\",\"timestamp\":\"soon\"}", &m);
	assert_true(m.timestamp == 0);
	gw_client_msg_clear(&m);
	expect_ok("{\"type\":\"health_pong\",\"timestamp\":1.5}", &m);
	assert_true(m.timestamp == 0);
	gw_client_msg_clear(&m);
}

static void test_parse_unknown_type(void **state)
{
	static const char *const names[] = { "foo", "", "Broadcast", "broadcast ",
					     "presence_join", "welcome" };
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(names); i++) {
		char in[128];
		gw_client_msg_t m;

		snprintf(in, sizeof(in), "{\"type\":\"%s\"}", names[i]);
		expect_ok(in, &m);
		assert_int_equal(m.type, GW_MSG_UNKNOWN);
		assert_string_equal(m.type_name, names[i]);
		gw_client_msg_clear(&m);
	}
}

/* Only `len` bytes are read: the input need not be NUL-terminated. */
static void test_parse_uses_len(void **state)
{
	static const char in[] = "{\"type\":\"presence\"}{garbage";
	gw_client_msg_t m;
	const char *code = NULL;

	(void)state;
	assert_int_equal(gw_client_msg_parse(in, 19, &m, &code), GW_OK);
	assert_int_equal(m.type, GW_MSG_PRESENCE);
	gw_client_msg_clear(&m);
	/* One byte short is malformed. */
	assert_int_equal(gw_client_msg_parse(in, 18, &m, &code), GW_EINVAL);
	assert_string_equal(code, "bad_json");
	gw_client_msg_clear(&m);
}

/* --- parsing: refusals ---------------------------------------------------- */

static void test_parse_bad_json(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "{\"type\":", "{\"type\":\"broadcast\"",
		"{\"type\":\"broadcast\",}", "{type:\"broadcast\"}", "{'type':'presence'}",
		"nul", "{\"type\":\"presence\"} x", "{\"type\":\"presence\"}{}",
		"{\"type\":\"presence\",\"data\":NaN}", "{\"type\":\"presence\",\"data\":01}",
		"{\"type\":\"presence\",\"data\":\"\\x41\"}",
		"{\"type\":\"presence\",\"data\":\"\xff\xfe\"}", /* not UTF-8 */
		"{\"type\":\"presence\",\"data\":\"a\nb\"}",     /* raw control char */
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(bad); i++)
		expect_bad(bad[i], "bad_json");
}

/* "not valid JSON, or not an object" (docs/protocol.md) is bad_json. */
static void test_parse_not_object(void **state)
{
	static const char *const bad[] = {
		"[]", "[{\"type\":\"presence\"}]", "\"presence\"", "1", "null", "true",
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(bad); i++)
		expect_bad(bad[i], "bad_json");
}

static void test_parse_duplicate_keys(void **state)
{
	gw_client_msg_t m;
	const char *code;

	(void)state;
	/* Two parsers could read these two ways: refuse them. */
	assert_int_equal(parse("{\"type\":\"broadcast\",\"type\":\"direct\",\"data\":1}",
			       &m, &code), GW_EINVAL);
	assert_non_null(code);
	gw_client_msg_clear(&m);
	assert_int_equal(parse("{\"type\":\"direct\",\"to\":\"a\",\"to\":\"b\",\"data\":1}",
			       &m, &code), GW_EINVAL);
	gw_client_msg_clear(&m);
	assert_int_equal(parse("{\"type\":\"broadcast\",\"data\":{\"k\":1,\"k\":2}}",
			       &m, &code), GW_EINVAL);
	gw_client_msg_clear(&m);
}

static void test_parse_bad_type_field(void **state)
{
	(void)state;
	expect_bad("{}", "bad_message");
	expect_bad("{\"data\":1}", "bad_message");
	expect_bad("{\"Type\":\"presence\"}", "bad_message");
	expect_bad("{\"type\":null}", "bad_message");
	expect_bad("{\"type\":1}", "bad_message");
	expect_bad("{\"type\":true}", "bad_message");
	expect_bad("{\"type\":[\"presence\"]}", "bad_message");
	expect_bad("{\"type\":{\"presence\":1}}", "bad_message");
}

static void test_parse_broadcast_refusals(void **state)
{
	(void)state;
	expect_bad("{\"type\":\"broadcast\"}", "bad_message");
	expect_bad("{\"type\":\"broadcast\",\"echo\":true}", "bad_message");
	expect_bad("{\"type\":\"broadcast\",\"data\":1,\"echo\":1}", "bad_message");
	expect_bad("{\"type\":\"broadcast\",\"data\":1,\"echo\":0}", "bad_message");
	expect_bad("{\"type\":\"broadcast\",\"data\":1,\"echo\":\"true\"}", "bad_message");
	expect_bad("{\"type\":\"broadcast\",\"data\":1,\"echo\":null}", "bad_message");
	expect_bad("{\"type\":\"broadcast\",\"data\":1,\"echo\":[]}", "bad_message");
}

static void test_parse_direct_refusals(void **state)
{
	(void)state;
	expect_bad("{\"type\":\"direct\",\"data\":1}", "bad_message");
	expect_bad("{\"type\":\"direct\",\"to\":\"\",\"data\":1}", "bad_message");
	expect_bad("{\"type\":\"direct\",\"to\":\"bob\"}", "bad_message");
	expect_bad("{\"type\":\"direct\",\"to\":null,\"data\":1}", "bad_message");
	expect_bad("{\"type\":\"direct\",\"to\":7,\"data\":1}", "bad_message");
	expect_bad("{\"type\":\"direct\",\"to\":[\"bob\"],\"data\":1}", "bad_message");
	expect_bad("{\"type\":\"direct\",\"to\":{},\"data\":1}", "bad_message");
}

/* A frame with a NUL byte in a string cannot smuggle a shorter user id. */
static void test_parse_nul_in_strings(void **state)
{
	gw_client_msg_t m;
	const char *code;
	static const char in[] = "{\"type\":\"direct\",\"to\":\"bob\\u0000x\",\"data\":1}";
	int rc;

	(void)state;
	rc = gw_client_msg_parse(in, sizeof(in) - 1, &m, &code);
	if (rc == GW_OK) {
		/* If accepted, the length must tell the two ids apart. */
		assert_int_equal(m.to_len, 5);
		gw_client_msg_clear(&m);
	} else {
		assert_int_equal(rc, GW_EINVAL);
	}
	/* A raw NUL in the frame itself is malformed JSON. */
	rc = gw_client_msg_parse("{\"type\":\"presence\"}\0", 20, &m, &code);
	assert_int_equal(rc, GW_EINVAL);
	assert_string_equal(code, "bad_json");
}

/* Clearing twice, or clearing a zeroed message, is safe. */
static void test_clear_is_idempotent(void **state)
{
	gw_client_msg_t m;

	(void)state;
	expect_ok("{\"type\":\"broadcast\",\"data\":{\"a\":[1,2,{\"b\":null}]}}", &m);
	gw_client_msg_clear(&m);
	gw_client_msg_clear(&m);
	memset(&m, 0, sizeof(m));
	gw_client_msg_clear(&m);
}

/* --- data round trip ------------------------------------------------------ */

/*
 * Every JSON type as "data": parsed, re-encoded into a `message` and a
 * `direct`, and parsed again, the value is the one the client sent.
 */
static void test_data_roundtrip_every_type(void **state)
{
	static const char *const values[] = {
		"null", "true", "false", "0", "-1", "42", "9223372036854775807",
		"-9223372036854775808", "1.5", "-0.25", "1e300", "2.2250738585072014e-308",
		"0.1", "\"\"", "\"plain\"", "\"q\\\"b\\\\s\\/n\\n\\r\\t\\b\\f\"",
		"\"\\u0001\\u001f\\u007f\"", "\"caf\\u00e9 \xe2\x82\xac \\ud83d\\ude00\"",
		"\"\\u2028\\u2029\"", "[]", "{}", "[1,\"a\",null,true,[[]],{}]",
		"{\"a\":{\"b\":{\"c\":[1,{\"d\":\"e\"}]}},\"\":0,\"k y\":\"v\\\"\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(values); i++) {
		char in[512];
		gw_client_msg_t m;
		json_t *want, *out;
		json_error_t err;

		snprintf(in, sizeof(in), "{\"type\":\"broadcast\",\"data\":%s}", values[i]);
		expect_ok(in, &m);
		want = json_loads(values[i], JSON_DECODE_ANY, &err);
		assert_non_null(want);

		out = decode(gw_proto_message("chess", "alice", m.data, m.data_len));
		KEYS(out, "type", "lobby", "from", "data");
		if (!json_equal(json_object_get(out, "data"), want))
			fail_msg("data %s came back as %s", values[i], m.data);
		json_decref(out);

		out = decode(gw_proto_direct("alice", m.data, m.data_len));
		KEYS(out, "type", "from", "data");
		assert_true(json_equal(json_object_get(out, "data"), want));
		json_decref(out);

		json_decref(want);
		gw_client_msg_clear(&m);
	}
}

/* --- encoders ------------------------------------------------------------- */

static void test_welcome(void **state)
{
	json_t *o = decode(gw_proto_welcome("node-1.5f3a", "alice", "chess", "node-1",
					    20, 65536));

	(void)state;
	KEYS(o, "type", "connection_id", "user", "lobby", "node", "heartbeat_interval",
	     "max_message_size");
	assert_str_field(o, "type", "welcome");
	assert_str_field(o, "connection_id", "node-1.5f3a");
	assert_str_field(o, "user", "alice");
	assert_str_field(o, "lobby", "chess");
	assert_str_field(o, "node", "node-1");
	assert_int_field(o, "heartbeat_interval", 20);
	assert_int_field(o, "max_message_size", 65536);
	json_decref(o);
}

static void test_welcome_resume(void **state)
{
	gw_proto_resume_t r = { "00ff00ff00ff00ff", 42, 1 };
	json_t *o = decode(gw_proto_welcome_resume("n.1", "alice", "chess", "n", 20, 65536, &r));

	(void)state;
	KEYS(o, "type", "connection_id", "user", "lobby", "node", "heartbeat_interval",
	     "max_message_size", "epoch", "offset", "recovered");
	assert_str_field(o, "epoch", "00ff00ff00ff00ff");
	assert_int_field(o, "offset", 42);
	assert_true(json_is_true(json_object_get(o, "recovered")));
	json_decref(o);
	/* Unreadable history: no epoch or offset, recovered false. */
	r = (gw_proto_resume_t){ NULL, 42, 1 };
	o = decode(gw_proto_welcome_resume("n.1", "alice", "chess", "n", 20, 65536, &r));
	KEYS(o, "type", "connection_id", "user", "lobby", "node", "heartbeat_interval",
	     "max_message_size", "recovered");
	assert_true(json_is_false(json_object_get(o, "recovered")));
	json_decref(o);
}

/* The head plus "N}" is the message frame with its offset, read back. */
static void test_message_offset(void **state)
{
	gw_buf_t *b = gw_proto_message_head("chess", "alice", "{\"offset\":7}", 12);
	static const struct {
		const char *frame;
		uint64_t off;
	} cases[] = {
		{ "{\"type\":\"message\",\"data\":1,\"offset\":12}", 12 },
		{ "{\"type\":\"message\",\"data\":1}", 0 },
		{ "{\"type\":\"message\",\"data\":{\"offset\":5}}", 0 },
		{ "{\"type\":\"message\",\"data\":\"x\",\"offset\":}", 0 },
		{ "{\"type\":\"direct\",\"data\":5}", 0 },
		{ "{\"a\":1,\"offset\":99999999999999999999}", 0 }, /* 20 digits */
		{ "\"offset\":1}", 0 },
		{ "", 0 },
	};
	json_t *o;
	size_t i;

	(void)state;
	assert_non_null(b);
	assert_int_equal(gw_buf_append_str(&b, "123}"), GW_OK);
	assert_int_equal(gw_proto_offset_of((const char *)gw_buf_data(b), b->len), 123);
	o = decode(b);
	KEYS(o, "type", "lobby", "from", "data", "offset");
	assert_int_field(o, "offset", 123);
	json_decref(o);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(gw_proto_offset_of(cases[i].frame, strlen(cases[i].frame)),
				 cases[i].off);
}

static void test_message(void **state)
{
	json_t *o = decode(gw_proto_message("chess", "alice", "{\"move\":\"e4\"}", 13));

	(void)state;
	KEYS(o, "type", "lobby", "from", "data");
	assert_str_field(o, "type", "message");
	assert_str_field(o, "lobby", "chess");
	assert_str_field(o, "from", "alice");
	assert_str_field(json_object_get(o, "data"), "move", "e4");
	json_decref(o);

	/* data_len is honoured: bytes past it are not copied. */
	o = decode(gw_proto_message("l", "u", "123456", 2));
	assert_int_field(o, "data", 12);
	json_decref(o);
}

static void test_direct(void **state)
{
	json_t *o = decode(gw_proto_direct("alice", "\"psst\"", 6));

	(void)state;
	KEYS(o, "type", "from", "data");
	assert_str_field(o, "type", "direct");
	assert_str_field(o, "from", "alice");
	assert_str_field(o, "data", "psst");
	json_decref(o);
}

static void test_presence_events(void **state)
{
	json_t *o = decode(gw_proto_presence_event(1, "chess", "bob", "node-1.5f3b",
						   "ignored"));

	(void)state;
	KEYS(o, "type", "lobby", "user", "connection_id");
	assert_str_field(o, "type", "presence_join");
	assert_str_field(o, "lobby", "chess");
	assert_str_field(o, "user", "bob");
	assert_str_field(o, "connection_id", "node-1.5f3b");
	json_decref(o);

	o = decode(gw_proto_presence_event(0, "chess", "bob", "node-1.5f3b", "stale"));
	KEYS(o, "type", "lobby", "user", "connection_id", "reason");
	assert_str_field(o, "type", "presence_leave");
	assert_str_field(o, "reason", "stale");
	json_decref(o);

	/* No reason given: "closed". */
	o = decode(gw_proto_presence_event(0, "chess", "bob", "node-1.5f3b", NULL));
	KEYS(o, "type", "lobby", "user", "connection_id", "reason");
	assert_str_field(o, "reason", "closed");
	json_decref(o);
}

static void test_health_ping(void **state)
{
	json_t *o = decode(gw_proto_health_ping(1763880000123ull));

	(void)state;
	KEYS(o, "type", "timestamp");
	assert_str_field(o, "type", "health_ping");
	assert_int_field(o, "timestamp", 1763880000123ll);
	json_decref(o);
	o = decode(gw_proto_health_ping(0));
	assert_int_field(o, "timestamp", 0);
	json_decref(o);
}

static void test_error(void **state)
{
	json_t *o = decode(gw_proto_error("bad_json", "invalid JSON"));

	(void)state;
	KEYS(o, "type", "code", "message");
	assert_str_field(o, "type", "error");
	assert_str_field(o, "code", "bad_json");
	assert_str_field(o, "message", "invalid JSON");
	json_decref(o);

	/* Messages may carry anything, e.g. text from a remote error. */
	o = decode(gw_proto_error("unavailable", "ERR \"x\"\n\\ \x01 done"));
	assert_str_field(o, "message", "ERR \"x\"\n\\ \x01 done");
	json_decref(o);
}

/* Not in docs/protocol.md's message list; shape as the encoder defines it. */
static void test_gap(void **state)
{
	json_t *o = decode(gw_proto_gap("chess", 17));

	(void)state;
	KEYS(o, "type", "lobby", "missed");
	assert_str_field(o, "type", "gap");
	assert_str_field(o, "lobby", "chess");
	assert_int_field(o, "missed", 17);
	json_decref(o);
}

static void test_presence_reply(void **state)
{
	static const char *const users[] = { "alice", "bob", "c\"d", "\xc3\xa9ve" };
	gw_buf_t *b = gw_proto_presence_begin("chess");
	json_t *o, *arr;
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(users); i++)
		b = gw_proto_presence_add(b, users[i], i == 0);
	b = gw_proto_presence_end(b, GW_ARRAY_LEN(users));
	o = decode(b);
	KEYS(o, "type", "lobby", "count", "users");
	assert_str_field(o, "type", "presence");
	assert_str_field(o, "lobby", "chess");
	assert_int_field(o, "count", GW_ARRAY_LEN(users));
	arr = json_object_get(o, "users");
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), GW_ARRAY_LEN(users));
	for (i = 0; i < GW_ARRAY_LEN(users); i++)
		assert_string_equal(json_string_value(json_array_get(arr, i)), users[i]);
	json_decref(o);

	/* An empty lobby. */
	o = decode(gw_proto_presence_end(gw_proto_presence_begin("empty"), 0));
	KEYS(o, "type", "lobby", "count", "users");
	assert_int_field(o, "count", 0);
	assert_int_equal(json_array_size(json_object_get(o, "users")), 0);
	json_decref(o);

	/* Many users: growth across several reallocations. */
	b = gw_proto_presence_begin("big");
	for (i = 0; i < 2000; i++) {
		char name[16];

		snprintf(name, sizeof(name), "user%zu", i);
		b = gw_proto_presence_add(b, name, i == 0);
	}
	o = decode(gw_proto_presence_end(b, 2000));
	assert_int_equal(json_array_size(json_object_get(o, "users")), 2000);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "users"),
							     1999)), "user1999");
	json_decref(o);
}

/* Names with quotes, backslashes, control characters and UTF-8 escape right. */
static void test_encoder_escaping(void **state)
{
	static const char *const names[] = {
		"a\"b", "\"", "\\", "back\\slash\"quote", "tab\there", "nl\nx",
		"\x01\x1f", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "</script>", "a,\"b\":\"c",
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(names); i++) {
		const char *s = names[i];
		json_t *o;

		o = decode(gw_proto_welcome(s, s, s, s, 1, 2));
		KEYS(o, "type", "connection_id", "user", "lobby", "node", "heartbeat_interval",
		     "max_message_size");
		assert_str_field(o, "user", s);
		assert_str_field(o, "connection_id", s);
		assert_str_field(o, "node", s);
		json_decref(o);

		o = decode(gw_proto_message(s, s, "0", 1));
		KEYS(o, "type", "lobby", "from", "data");
		assert_str_field(o, "from", s);
		assert_str_field(o, "lobby", s);
		json_decref(o);

		o = decode(gw_proto_direct(s, "0", 1));
		assert_str_field(o, "from", s);
		json_decref(o);

		o = decode(gw_proto_presence_event(0, s, s, s, s));
		KEYS(o, "type", "lobby", "user", "connection_id", "reason");
		assert_str_field(o, "user", s);
		assert_str_field(o, "reason", s);
		json_decref(o);

		o = decode(gw_proto_error(s, s));
		KEYS(o, "type", "code", "message");
		assert_str_field(o, "message", s);
		json_decref(o);

		o = decode(gw_proto_presence_end(
			gw_proto_presence_add(gw_proto_presence_begin(s), s, 1), 1));
		assert_str_field(o, "lobby", s);
		assert_string_equal(json_string_value(json_array_get(
					    json_object_get(o, "users"), 0)), s);
		json_decref(o);
	}
}

/* --- encoders under allocation failure ------------------------------------ */

static gw_buf_t *build_one(int which)
{
	static const char big[] = "[\"0123456789012345678901234567890123456789\","
				  "\"0123456789012345678901234567890123456789\"]";
	gw_buf_t *b;

	switch (which) {
	case 0: return gw_proto_welcome("c", "u", "l", "n", 1, 2);
	case 1: return gw_proto_message("l", "u", big, sizeof(big) - 1);
	case 2: return gw_proto_direct("u", big, sizeof(big) - 1);
	case 3: return gw_proto_presence_event(0, "l", "u", "c", "r");
	case 4: return gw_proto_health_ping(1);
	case 5: return gw_proto_error("c", big); /* grows past 96 */
	case 6: return gw_proto_gap("l", 1);
	default:
		b = gw_proto_presence_begin("l");
		b = gw_proto_presence_add(b, big, 1);
		b = gw_proto_presence_add(b, big, 0);
		b = gw_proto_presence_add(b, big, 0);
		return gw_proto_presence_end(b, 3);
	}
}

/*
 * Each encoder with its n-th allocation failing returns NULL and leaks
 * nothing (LeakSanitizer checks); with enough memory it succeeds.
 */
static void test_encoders_alloc_failure(void **state)
{
	int which;

	(void)state;
	for (which = 0; which <= 7; which++) {
		long n;
		gw_buf_t *b = NULL;

		for (n = 0; n < 20; n++) {
			gw_alloc_fail_after(n);
			b = build_one(which);
			gw_alloc_fail_after(-1);
			if (b)
				break;
		}
		assert_non_null(b);
		json_decref(decode(b));
	}
	/* The presence builder passes NULL along without crashing. */
	assert_null(gw_proto_presence_add(NULL, "u", 1));
	assert_null(gw_proto_presence_add(NULL, "u", 0));
	assert_null(gw_proto_presence_end(NULL, 0));
}

/* --- lobby names ---------------------------------------------------------- */

static int allowed(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == ':';
}

static void test_lobby_length(void **state)
{
	char s[GW_LOBBY_MAX + 2];

	(void)state;
	memset(s, 'a', sizeof(s));
	assert_int_equal(GW_LOBBY_MAX, 64);
	assert_false(gw_lobby_name_valid(s, 0));
	assert_false(gw_lobby_name_valid("", 0));
	assert_true(gw_lobby_name_valid(s, 1));
	assert_true(gw_lobby_name_valid(s, 63));
	assert_true(gw_lobby_name_valid(s, 64));
	assert_false(gw_lobby_name_valid(s, 65));
	assert_false(gw_lobby_name_valid(s, 66));
	assert_false(gw_lobby_name_valid(s, SIZE_MAX));
}

static void test_lobby_classes(void **state)
{
	(void)state;
	assert_true(gw_lobby_name_valid("abcdefghijklmnopqrstuvwxyz", 26));
	assert_true(gw_lobby_name_valid("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 26));
	assert_true(gw_lobby_name_valid("0123456789", 10));
	assert_true(gw_lobby_name_valid("_", 1));
	assert_true(gw_lobby_name_valid("-", 1));
	assert_true(gw_lobby_name_valid(".", 1));
	assert_true(gw_lobby_name_valid(":", 1));
	assert_true(gw_lobby_name_valid("chess:room-1.a_b", 16));
	assert_true(gw_lobby_name_valid("..", 2)); /* a name, not a path */

	assert_false(gw_lobby_name_valid("a/b", 3));
	assert_false(gw_lobby_name_valid("a b", 3));
	assert_false(gw_lobby_name_valid("a%20b", 5));
	assert_false(gw_lobby_name_valid("caf\xc3\xa9", 5));
	assert_false(gw_lobby_name_valid("a\0b", 3)); /* NUL inside the length */
	assert_false(gw_lobby_name_valid("a?b", 3));
	assert_false(gw_lobby_name_valid("a#b", 3));
	assert_false(gw_lobby_name_valid("a*", 2));
	assert_false(gw_lobby_name_valid("a\"", 2));
	assert_false(gw_lobby_name_valid("a\n", 2));
	/* Only `len` bytes are looked at. */
	assert_true(gw_lobby_name_valid("ab/", 2));
}

/* Every byte value, alone and at each position of a longer name. */
static void test_lobby_every_byte(void **state)
{
	int c;

	(void)state;
	for (c = 0; c < 256; c++) {
		char one[1] = { (char)c };
		char mid[5] = { 'a', 'b', (char)c, 'c', 'd' };
		char end[GW_LOBBY_MAX];

		memset(end, 'x', sizeof(end));
		end[GW_LOBBY_MAX - 1] = (char)c;
		if (gw_lobby_name_valid(one, 1) != allowed((unsigned char)c))
			fail_msg("byte 0x%02x alone: wrong verdict", c);
		if (gw_lobby_name_valid(mid, 5) != allowed((unsigned char)c))
			fail_msg("byte 0x%02x in the middle: wrong verdict", c);
		if (gw_lobby_name_valid(end, sizeof(end)) != allowed((unsigned char)c))
			fail_msg("byte 0x%02x at the end of a 64-byte name: wrong verdict", c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_broadcast),
		cmocka_unit_test(test_parse_direct),
		cmocka_unit_test(test_parse_presence_and_pong),
		cmocka_unit_test(test_parse_unknown_type),
		cmocka_unit_test(test_parse_uses_len),
		cmocka_unit_test(test_parse_bad_json),
		cmocka_unit_test(test_parse_not_object),
		cmocka_unit_test(test_parse_duplicate_keys),
		cmocka_unit_test(test_parse_bad_type_field),
		cmocka_unit_test(test_parse_broadcast_refusals),
		cmocka_unit_test(test_parse_direct_refusals),
		cmocka_unit_test(test_parse_nul_in_strings),
		cmocka_unit_test(test_clear_is_idempotent),
		cmocka_unit_test(test_data_roundtrip_every_type),
		cmocka_unit_test(test_welcome),
		cmocka_unit_test(test_welcome_resume),
		cmocka_unit_test(test_message_offset),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_presence_events),
		cmocka_unit_test(test_health_ping),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_presence_reply),
		cmocka_unit_test(test_encoder_escaping),
		cmocka_unit_test(test_encoders_alloc_failure),
		cmocka_unit_test(test_lobby_length),
		cmocka_unit_test(test_lobby_classes),
		cmocka_unit_test(test_lobby_every_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
