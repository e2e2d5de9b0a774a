/*
 * test_envelope.c — unit tests for common/gw_envelope.c, the inter-node
 * envelopes of docs/redis-schema.md ("Envelopes").
 *
 * Interoperability is proven against msgpack-c: what gw_envelope_encode()
 * writes is read back with msgpack-c's unpacker, and envelopes packed by
 * msgpack-c decode. Hostile input is built here byte by byte, and every
 * buffer handed to the decoder is a heap block of exactly its length, so
 * that under ASan a read one byte too far is a crash, not a silent pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <msgpack.h>

#include "gw_alloc.h"
#include "gw_envelope.h"

/* --- helpers ------------------------------------------------------------ */

/* A growable byte buffer for building msgpack by hand. */
typedef struct {
	uint8_t *b;
	size_t len, cap;
} bb_t;

static void bb_raw(bb_t *bb, const void *p, size_t n)
{
	if (bb->len + n > bb->cap) {
		bb->cap = (bb->len + n) * 2 + 64;
		bb->b = realloc(bb->b, bb->cap);
		assert_non_null(bb->b);
	}
	if (n)
		memcpy(bb->b + bb->len, p, n);
	bb->len += n;
}

static void bb_u8(bb_t *bb, uint8_t v)
{
	bb_raw(bb, &v, 1);
}

static void bb_be(bb_t *bb, uint64_t v, unsigned bytes)
{
	while (bytes--)
		bb_u8(bb, (uint8_t)(v >> (8 * bytes)));
}

/* A str of `n` bytes of `s` in the smallest format, as the spec says. */
static void bb_strn(bb_t *bb, const char *s, size_t n)
{
	if (n < 32) {
		bb_u8(bb, (uint8_t)(0xa0 | n));
	} else if (n < 0x100) {
		bb_u8(bb, 0xd9);
		bb_be(bb, n, 1);
	} else if (n < 0x10000) {
		bb_u8(bb, 0xda);
		bb_be(bb, n, 2);
	} else {
		bb_u8(bb, 0xdb);
		bb_be(bb, n, 4);
	}
	bb_raw(bb, s, n);
}

static void bb_str(bb_t *bb, const char *s)
{
	bb_strn(bb, s, strlen(s));
}

/* A str of `n` copies of `c`. */
static void bb_fill_str(bb_t *bb, char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	bb_strn(bb, s, n);
	free(s);
}

static void bb_bin(bb_t *bb, const void *p, size_t n)
{
	if (n < 0x100) {
		bb_u8(bb, 0xc4);
		bb_be(bb, n, 1);
	} else if (n < 0x10000) {
		bb_u8(bb, 0xc5);
		bb_be(bb, n, 2);
	} else {
		bb_u8(bb, 0xc6);
		bb_be(bb, n, 4);
	}
	bb_raw(bb, p, n);
}

static void bb_map(bb_t *bb, unsigned n)
{
	assert_true(n < 16);
	bb_u8(bb, (uint8_t)(0x80 | n));
}

static void bb_kv(bb_t *bb, const char *k, const char *v)
{
	bb_str(bb, k);
	bb_str(bb, v);
}

static void bb_free(bb_t *bb)
{
	free(bb->b);
	memset(bb, 0, sizeof(*bb));
}

/* Heap copy of exactly `n` bytes (at least one byte is allocated so that a
 * zero-length input still has a valid, unreadable-past pointer). */
static char *dup_exact(const void *p, size_t n)
{
	char *d = malloc(n ? n : 1);

	assert_non_null(d);
	if (n)
		memcpy(d, p, n);
	return d;
}

static int is_zero(const gw_envelope_t *e)
{
	static const gw_envelope_t zero;

	return memcmp(e, &zero, sizeof(zero)) == 0;
}

/*
 * Decodes a copy of exactly `n` bytes; on failure checks that the envelope
 * was left cleared. Returns the decoder's result; the envelope is cleared
 * before returning.
 */
static int try_decode(const void *p, size_t n)
{
	char *in = dup_exact(p, n);
	gw_envelope_t e;
	int rc;

	memset(&e, 0xa5, sizeof(e));
	rc = gw_envelope_decode(in, n, &e);
	if (rc != GW_OK)
		assert_true(is_zero(&e));
	gw_envelope_clear(&e);
	assert_true(is_zero(&e));
	free(in);
	return rc;
}

static int try_bb(const bb_t *bb)
{
	return try_decode(bb->b, bb->len);
}

static int try_str(const char *s)
{
	return try_decode(s, strlen(s));
}

/* A decoded string field equals (s, n); an empty one is NULL / 0. */
static void assert_field(const char *got, size_t got_len, const char *s,
			 size_t n)
{
	assert_int_equal(got_len, n);
	if (n == 0) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_memory_equal(got, s, n);
}

static void assert_field_str(const char *got, size_t got_len, const char *s)
{
	assert_field(got, got_len, s, s ? strlen(s) : 0);
}

/* Every field of `b` equals `a`'s, with the version `b` should carry. */
static void assert_same(const gw_envelope_t *a, const gw_envelope_t *b)
{
	assert_int_equal(b->type, a->type);
	assert_int_equal(b->version, 1);
	assert_field(b->origin, b->origin_len, a->origin, a->origin_len);
	assert_field(b->lobby, b->lobby_len, a->lobby, a->lobby_len);
	assert_field(b->user, b->user_len, a->user, a->user_len);
	assert_field(b->conn, b->conn_len, a->conn, a->conn_len);
	assert_field(b->reason, b->reason_len, a->reason, a->reason_len);
	assert_true(b->seq == a->seq);
	assert_field(b->payload, b->payload_len, a->payload, a->payload_len);
}

/* Pointer `p` (length n) lies within [base, base + len). */
static void assert_within(const char *p, size_t n, const char *base,
			  size_t len)
{
	if (n == 0)
		return;
	assert_true(p >= base && p + n <= base + len);
}

static void reset(void)
{
	gw_alloc_fail_after(-1);
	json_set_alloc_funcs(malloc, free);
}

static int teardown_reset(void **state)
{
	(void)state;
	reset();
	return 0;
}

/* A small deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static const char DOC_LOBBY_JSON[] =
	"{\"t\":\"msg\",\"l\":\"chess\",\"p\":{\"type\":\"message\","
	"\"lobby\":\"chess\",\"from\":\"backend\",\"data\":{\"move\":\"e4\"}}}";
static const char DOC_USER_JSON[] =
	"{\"t\":\"msg\",\"u\":\"alice\",\"p\":{\"type\":\"direct\","
	"\"from\":\"backend\",\"data\":\"hi\"}}";

/* A msg with every field set, lengths spanning fixstr, str8 and str16. */
static char long_str[GW_ENV_MAX_STR + 1];
static char payload_300[300];

static gw_envelope_t full_env(gw_env_type_t t)
{
	gw_envelope_t e = { 0 };

	memset(long_str, 'x', sizeof(long_str));
	memset(payload_300, '{', sizeof(payload_300));
	e.type = t;
	e.origin = "node-1";
	e.origin_len = 6;
	e.lobby = long_str;
	e.lobby_len = 40;           /* str8 */
	e.user = long_str;
	e.user_len = GW_ENV_MAX_STR; /* str16 */
	e.conn = "c-17";
	e.conn_len = 4;
	e.reason = "replaced";
	e.reason_len = 8;
	e.seq = (uint64_t)1 << 40;  /* uint64 */
	e.payload = payload_300;
	e.payload_len = sizeof(payload_300); /* bin16 */
	return e;
}

static void encode_ok(const gw_envelope_t *e, char **out, size_t *len)
{
	assert_int_equal(gw_envelope_encode(e, out, len), GW_OK);
	assert_non_null(*out);
	assert_true(*len > 0);
}

/*
 * Reads `buf` with msgpack-c (our own output, so trusted) and checks it is
 * one map whose keys are the expected strings with values of the doc's
 * types: v and q positive integers, p bin, the rest str.
 */
static void check_with_msgpack_c(const char *buf, size_t len,
				 const gw_envelope_t *e)
{
	msgpack_unpacked u;
	size_t off = 0;
	uint32_t i;
	unsigned seen = 0;

	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, buf, len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, len);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
	for (i = 0; i < u.data.via.map.size; i++) {
		msgpack_object_kv *kv = &u.data.via.map.ptr[i];
		const msgpack_object *v = &kv->val;
		char k;

		assert_int_equal(kv->key.type, MSGPACK_OBJECT_STR);
		assert_int_equal(kv->key.via.str.size, 1);
		k = kv->key.via.str.ptr[0];
		assert_non_null(strchr("vtolucrqp", k));
		assert_false(seen & (1u << (k - 'a')));
		seen |= 1u << (k - 'a');
		switch (k) {
		case 'v':
			assert_int_equal(v->type,
					 MSGPACK_OBJECT_POSITIVE_INTEGER);
			assert_int_equal(v->via.u64, 1);
			break;
		case 'q':
			assert_int_equal(v->type,
					 MSGPACK_OBJECT_POSITIVE_INTEGER);
			assert_true(v->via.u64 == e->seq);
			break;
		case 'p':
			assert_int_equal(v->type, MSGPACK_OBJECT_BIN);
			assert_int_equal(v->via.bin.size, e->payload_len);
			assert_memory_equal(v->via.bin.ptr, e->payload,
					    e->payload_len);
			break;
		default:
			assert_int_equal(v->type, MSGPACK_OBJECT_STR);
			assert_true(v->via.str.size > 0);
			break;
		}
	}
	/* Exactly: v, t, the non-empty strings, q if non-zero, p if set. */
	assert_true(seen & (1u << ('v' - 'a')));
	assert_true(seen & (1u << ('t' - 'a')));
	assert_int_equal(!!(seen & (1u << ('o' - 'a'))), e->origin_len > 0);
	assert_int_equal(!!(seen & (1u << ('l' - 'a'))), e->lobby_len > 0);
	assert_int_equal(!!(seen & (1u << ('u' - 'a'))), e->user_len > 0);
	assert_int_equal(!!(seen & (1u << ('c' - 'a'))), e->conn_len > 0);
	assert_int_equal(!!(seen & (1u << ('r' - 'a'))), e->reason_len > 0);
	assert_int_equal(!!(seen & (1u << ('q' - 'a'))), e->seq != 0);
	assert_int_equal(!!(seen & (1u << ('p' - 'a'))), e->payload_len > 0);
	msgpack_unpacked_destroy(&u);
}

/* Encodes, checks with msgpack-c, decodes from an exact copy, compares. */
static void roundtrip(const gw_envelope_t *e)
{
	gw_envelope_t d;
	char *buf, *in;
	size_t len;

	encode_ok(e, &buf, &len);
	check_with_msgpack_c(buf, len, e);
	in = dup_exact(buf, len);
	assert_int_equal(gw_envelope_decode(in, len, &d), GW_OK);
	assert_same(e, &d);
	assert_null(d.owned);
	/* Zero copy: every string points into the input. */
	assert_within(d.origin, d.origin_len, in, len);
	assert_within(d.lobby, d.lobby_len, in, len);
	assert_within(d.user, d.user_len, in, len);
	assert_within(d.conn, d.conn_len, in, len);
	assert_within(d.reason, d.reason_len, in, len);
	assert_within(d.payload, d.payload_len, in, len);
	gw_envelope_clear(&d);
	free(in);
	gw_free(buf);
}

/* --- encoding and round trips ------------------------------------------- */

/* Every type x every subset of {o, l, u, c, r, q, p}. */
static void test_roundtrip_every_combination(void **state)
{
	static const gw_env_type_t types[] = {
		GW_ENV_MSG, GW_ENV_KICK, GW_ENV_PROBE,
	};
	size_t ti;
	unsigned mask;

	(void)state;
	for (ti = 0; ti < GW_ARRAY_LEN(types); ti++) {
		for (mask = 0; mask < 128; mask++) {
			gw_envelope_t e = { 0 };
			char *buf = (char *)"x";
			size_t len = 1;

			e.type = types[ti];
			if (mask & 1)
				e.origin = "node-2", e.origin_len = 6;
			if (mask & 2)
				e.lobby = "chess", e.lobby_len = 5;
			if (mask & 4)
				e.user = "alice", e.user_len = 5;
			if (mask & 8)
				e.conn = "conn-9", e.conn_len = 6;
			if (mask & 16)
				e.reason = "kicked", e.reason_len = 6;
			if (mask & 32)
				e.seq = 42 + mask;
			if (mask & 64) {
				e.payload = "{\"type\":\"message\"}";
				e.payload_len = strlen(e.payload);
			}
			if (e.type == GW_ENV_MSG && !(mask & 64)) {
				/* The decoder would refuse it: so does this. */
				assert_int_equal(gw_envelope_encode(&e, &buf,
								    &len),
						 GW_EINVAL);
				assert_null(buf);
				assert_int_equal(len, 0);
				continue;
			}
			roundtrip(&e);
		}
	}
}

/* Lengths and values at every msgpack format boundary. */
static void test_roundtrip_format_boundaries(void **state)
{
	static const size_t str_lens[] = { 1, 31, 32, 255, 256 };
	static const uint64_t seqs[] = {
		1, 127, 128, 255, 256, 65535, 65536, 0xffffffffull,
		0x100000000ull, UINT64_MAX,
	};
	static const size_t pay_lens[] = {
		1, 255, 256, 65535, 65536, GW_ENV_MAX_PAYLOAD,
	};
	char *big = malloc(GW_ENV_MAX_PAYLOAD);
	char s[GW_ENV_MAX_STR];
	size_t i;

	(void)state;
	assert_non_null(big);
	for (i = 0; i < GW_ENV_MAX_PAYLOAD; i++)
		big[i] = (char)(i * 7);
	for (i = 0; i < sizeof(s); i++)
		s[i] = (char)('a' + i % 26);
	for (i = 0; i < GW_ARRAY_LEN(str_lens); i++) {
		gw_envelope_t e = { .type = GW_ENV_KICK };

		e.origin = e.lobby = e.user = e.conn = e.reason = s;
		e.origin_len = e.lobby_len = e.user_len = e.conn_len =
			e.reason_len = str_lens[i];
		roundtrip(&e);
	}
	for (i = 0; i < GW_ARRAY_LEN(seqs); i++) {
		gw_envelope_t e = { .type = GW_ENV_PROBE, .seq = seqs[i] };

		roundtrip(&e);
	}
	for (i = 0; i < GW_ARRAY_LEN(pay_lens); i++) {
		gw_envelope_t e = { .type = GW_ENV_MSG };

		e.payload = big;
		e.payload_len = pay_lens[i];
		roundtrip(&e);
	}
	free(big);
}

/* The exact bytes of a small envelope, written out by hand. */
static void test_encode_exact_bytes(void **state)
{
	static const uint8_t want[] = {
		0x85,
		0xa1, 'v', 0x01,
		0xa1, 't', 0xa4, 'k', 'i', 'c', 'k',
		0xa1, 'u', 0xa5, 'a', 'l', 'i', 'c', 'e',
		0xa1, 'r', 0xa8, 'r', 'e', 'p', 'l', 'a', 'c', 'e', 'd',
		0xa1, 'q', 0xcd, 0x01, 0x00,
	};
	gw_envelope_t e = { .type = GW_ENV_KICK, .version = 7, .seq = 256 };
	char *buf;
	size_t len;

	(void)state;
	e.user = "alice";
	e.user_len = 5;
	e.reason = "replaced";
	e.reason_len = 8;
	/* Empty strings are omitted even with a non-NULL pointer. */
	e.lobby = "ignored";
	e.lobby_len = 0;
	encode_ok(&e, &buf, &len);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	gw_free(buf);
}

static void test_encode_refusals(void **state)
{
	char *pay = malloc(GW_ENV_MAX_PAYLOAD + 1);
	char s[GW_ENV_MAX_STR + 1];
	gw_envelope_t e;
	char *buf = (char *)"x";
	size_t len = 1, *lens[5];
	const char **strs[5];
	size_t i;

	(void)state;
	assert_non_null(pay);
	memset(pay, 'p', GW_ENV_MAX_PAYLOAD + 1);
	memset(s, 's', sizeof(s));

	/* Each string field one byte past the limit; then at the limit. */
	memset(&e, 0, sizeof(e));
	strs[0] = &e.origin, lens[0] = &e.origin_len;
	strs[1] = &e.lobby, lens[1] = &e.lobby_len;
	strs[2] = &e.user, lens[2] = &e.user_len;
	strs[3] = &e.conn, lens[3] = &e.conn_len;
	strs[4] = &e.reason, lens[4] = &e.reason_len;
	for (i = 0; i < 5; i++) {
		memset(&e, 0, sizeof(e));
		e.type = GW_ENV_KICK;
		*strs[i] = s;
		*lens[i] = GW_ENV_MAX_STR + 1;
		assert_int_equal(gw_envelope_encode(&e, &buf, &len),
				 GW_ETOOBIG);
		assert_null(buf);
		assert_int_equal(len, 0);
		*lens[i] = GW_ENV_MAX_STR;
		roundtrip(&e);
		/* A length with no string is a caller's bug. */
		*strs[i] = NULL;
		*lens[i] = 3;
		assert_int_equal(gw_envelope_encode(&e, &buf, &len),
				 GW_EINVAL);
	}

	memset(&e, 0, sizeof(e));
	e.type = GW_ENV_MSG;
	e.payload = pay;
	e.payload_len = GW_ENV_MAX_PAYLOAD + 1;
	assert_int_equal(gw_envelope_encode(&e, &buf, &len), GW_ETOOBIG);
	e.payload = NULL;
	e.payload_len = 5;
	assert_int_equal(gw_envelope_encode(&e, &buf, &len), GW_EINVAL);
	e.payload_len = 0;
	assert_int_equal(gw_envelope_encode(&e, &buf, &len), GW_EINVAL);

	/* Unknown type, NULL arguments. */
	memset(&e, 0, sizeof(e));
	e.type = (gw_env_type_t)3;
	assert_int_equal(gw_envelope_encode(&e, &buf, &len), GW_EINVAL);
	e.type = (gw_env_type_t)-1;
	assert_int_equal(gw_envelope_encode(&e, &buf, &len), GW_EINVAL);
	e.type = GW_ENV_PROBE;
	assert_int_equal(gw_envelope_encode(NULL, &buf, &len), GW_EINVAL);
	assert_int_equal(gw_envelope_encode(&e, NULL, &len), GW_EINVAL);
	assert_int_equal(gw_envelope_encode(&e, &buf, NULL), GW_EINVAL);
	free(pay);
}

/* Encoding makes exactly one allocation; its failure is GW_ENOMEM. */
static void test_encode_alloc_failure(void **state)
{
	gw_envelope_t e = full_env(GW_ENV_MSG);
	char *buf = (char *)"x";
	size_t len = 1;
	long n;
	int rc;

	(void)state;
	for (n = 0;; n++) {
		gw_alloc_fail_after(n);
		rc = gw_envelope_encode(&e, &buf, &len);
		gw_alloc_fail_after(-1);
		if (rc == GW_OK)
			break;
		assert_int_equal(rc, GW_ENOMEM);
		assert_null(buf);
		assert_int_equal(len, 0);
	}
	assert_int_equal(n, 1);
	gw_free(buf);
	roundtrip(&e);
}

/* --- golden bytes ------------------------------------------------------- */

/*
 * Byte-exact encodings captured from the hand-written encoder that nodes
 * ran before msgpack-c took over (commit afa9e79), so that old and new
 * nodes keep reading each other. A golden is a list of parts: hex, or a
 * run of one byte (the long strings and payloads).
 */
typedef struct {
	const char *hex;
	char fill;
	size_t n;
} gold_part_t;

#define HEX(s) { s, 0, 0 }
#define RUN(c, k) { NULL, c, k }

static const char GOLD_FRAME[] =
	"{\"type\":\"message\",\"lobby\":\"lobby-42\",\"from\":\"alice\","
	"\"seq\":123457,\"data\":{\"text\":\"hello everyone, the next "
	"round starts in five minutes\",\"ts\":1733000000}}";

static const gold_part_t GOLD_LOBBY[] = {
	HEX("86a17601a174a36d7367a16fa967772d6e6f64652d33a16c"),
	HEX("a86c6f6262792d3432a171ce0001e241a170c4997b227479"),
	HEX("7065223a226d657373616765222c226c6f626279223a226c"),
	HEX("6f6262792d3432222c2266726f6d223a22616c696365222c"),
	HEX("22736571223a3132333435372c2264617461223a7b227465"),
	HEX("7874223a2268656c6c6f2065766572796f6e652c20746865"),
	HEX("206e65787420726f756e642073746172747320696e206669"),
	HEX("7665206d696e75746573222c227473223a31373333303030"),
	HEX("3030307d7d"),
	{ NULL, 0, 0 },
};
static const gold_part_t GOLD_DIRECT[] = {
	HEX("85a17601a174a36d7367a16fa967772d6e6f64652d31a175"),
	HEX("a5616c696365a170c42a7b2274797065223a226469726563"),
	HEX("74222c2266726f6d223a22626f62222c2264617461223a22"),
	HEX("6869227d"),
	{ NULL, 0, 0 },
};
static const gold_part_t GOLD_KICK[] = {
	HEX("86a17601a174a46b69636ba16fa967772d6e6f64652d32a1"),
	HEX("75a5616c696365a163ac67772d6e6f64652d323a3137a172"),
	HEX("a87265706c61636564"),
	{ NULL, 0, 0 },
};
static const gold_part_t GOLD_PROBE[] = {
	HEX("84a17601a174a570726f6265a16fa967772d6e6f64652d32"),
	HEX("a171ccc8"),
	{ NULL, 0, 0 },
};
/* str8, str16, fixstr at 31, str8 at 32, uint64, bin16. */
static const gold_part_t GOLD_FORMATS16[] = {
	HEX("88a17601a174a36d7367a16cd928"), RUN('l', 40),
	HEX("a175da0100"), RUN('u', 256),
	HEX("a163d920"), RUN('l', 32),
	HEX("a172bf"), RUN('l', 31),
	HEX("a171cf0000010000000000a170c5012c"), RUN('{', 300),
	{ NULL, 0, 0 },
};
/* uint16, bin32. */
static const gold_part_t GOLD_FORMATS32[] = {
	HEX("88a17601a174a36d7367a16cd928"), RUN('l', 40),
	HEX("a175da0100"), RUN('u', 256),
	HEX("a163d920"), RUN('l', 32),
	HEX("a172bf"), RUN('l', 31),
	HEX("a171cdffffa170c600010000"), RUN('{', 65536),
	{ NULL, 0, 0 },
};
/* str8 at 255, uint32, bin8 at 255. */
static const gold_part_t GOLD_FORMATS8[] = {
	HEX("88a17601a174a36d7367a16cd928"), RUN('l', 40),
	HEX("a175d9ff"), RUN('u', 255),
	HEX("a163d920"), RUN('l', 32),
	HEX("a172bf"), RUN('l', 31),
	HEX("a171ceffffffffa170c4ff"), RUN('{', 255),
	{ NULL, 0, 0 },
};

static void gold_bytes(const gold_part_t *g, bb_t *bb)
{
	for (; g->hex || g->n; g++) {
		const char *h;
		size_t k;

		for (h = g->hex; h && *h; h += 2) {
			unsigned v;

			assert_int_equal(sscanf(h, "%2x", &v), 1);
			bb_u8(bb, (uint8_t)v);
		}
		for (k = 0; k < g->n; k++)
			bb_u8(bb, (uint8_t)g->fill);
	}
}

/* Encodes `e`, compares with the golden bytes, decodes them back. */
static void check_golden(const gw_envelope_t *e, const gold_part_t *g)
{
	bb_t want = { 0 };
	gw_envelope_t d;
	char *buf, *in;
	size_t len;

	gold_bytes(g, &want);
	encode_ok(e, &buf, &len);
	assert_int_equal(len, want.len);
	assert_memory_equal(buf, want.b, len);
	gw_free(buf);
	in = dup_exact(want.b, want.len);
	assert_int_equal(gw_envelope_decode(in, want.len, &d), GW_OK);
	assert_same(e, &d);
	gw_envelope_clear(&d);
	free(in);
	bb_free(&want);
}

static void test_golden_old_codec(void **state)
{
	char *big = malloc(65536);
	char s256[256], s40[40];
	gw_envelope_t e = { .type = GW_ENV_MSG };

	(void)state;
	assert_non_null(big);
	memset(big, '{', 65536);
	memset(s256, 'u', sizeof(s256));
	memset(s40, 'l', sizeof(s40));

	/* A lobby broadcast, a direct message, a kick, a probe. */
	e.origin = "gw-node-3", e.origin_len = 9;
	e.lobby = "lobby-42", e.lobby_len = 8;
	e.seq = 123457;
	e.payload = GOLD_FRAME, e.payload_len = strlen(GOLD_FRAME);
	check_golden(&e, GOLD_LOBBY);

	memset(&e, 0, sizeof(e));
	e.type = GW_ENV_MSG;
	e.origin = "gw-node-1", e.origin_len = 9;
	e.user = "alice", e.user_len = 5;
	e.payload = "{\"type\":\"direct\",\"from\":\"bob\",\"data\":\"hi\"}";
	e.payload_len = strlen(e.payload);
	check_golden(&e, GOLD_DIRECT);

	memset(&e, 0, sizeof(e));
	e.type = GW_ENV_KICK;
	e.origin = "gw-node-2", e.origin_len = 9;
	e.user = "alice", e.user_len = 5;
	e.conn = "gw-node-2:17", e.conn_len = 12;
	e.reason = "replaced", e.reason_len = 8;
	check_golden(&e, GOLD_KICK);

	memset(&e, 0, sizeof(e));
	e.type = GW_ENV_PROBE;
	e.origin = "gw-node-2", e.origin_len = 9;
	e.seq = 200;
	check_golden(&e, GOLD_PROBE);

	/* Every str, uint and bin format the encoder can choose. */
	memset(&e, 0, sizeof(e));
	e.type = GW_ENV_MSG;
	e.lobby = s40, e.lobby_len = 40;
	e.user = s256, e.user_len = 256;
	e.conn = s40, e.conn_len = 32;
	e.reason = s40, e.reason_len = 31;
	e.seq = (uint64_t)1 << 40;
	e.payload = big, e.payload_len = 300;
	check_golden(&e, GOLD_FORMATS16);
	e.seq = 65535;
	e.payload_len = 65536;
	check_golden(&e, GOLD_FORMATS32);
	e.seq = 0xffffffffu;
	e.user_len = 255;
	e.payload_len = 255;
	check_golden(&e, GOLD_FORMATS8);
	free(big);
}

/* --- decoding: interoperability ----------------------------------------- */

static void pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

/* msgpack-c's output decodes, in any key order, with p as str or bin. */
static void test_decode_msgpack_c_output(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	gw_envelope_t e;
	char *in;
	int as_bin;

	(void)state;
	for (as_bin = 0; as_bin < 2; as_bin++) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 8);
		pk_str(&pk, "p");
		if (as_bin) {
			msgpack_pack_bin(&pk, 4);
			msgpack_pack_bin_body(&pk, "{}{}", 4);
		} else {
			pk_str(&pk, "{\"type\":\"x\"}");
		}
		pk_str(&pk, "q");
		msgpack_pack_uint64(&pk, UINT64_MAX);
		pk_str(&pk, "l");
		pk_str(&pk, "a-lobby-name-long-enough-for-str8-format");
		pk_str(&pk, "extra");
		msgpack_pack_double(&pk, 2.5);
		pk_str(&pk, "t");
		pk_str(&pk, "msg");
		pk_str(&pk, "o");
		pk_str(&pk, "node-3");
		pk_str(&pk, "v");
		msgpack_pack_uint32(&pk, 1);
		pk_str(&pk, "z");
		msgpack_pack_nil(&pk);

		in = dup_exact(sb.data, sb.size);
		assert_int_equal(gw_envelope_decode(in, sb.size, &e), GW_OK);
		assert_int_equal(e.type, GW_ENV_MSG);
		assert_int_equal(e.version, 1);
		assert_true(e.seq == UINT64_MAX);
		assert_field_str(e.lobby, e.lobby_len,
				 "a-lobby-name-long-enough-for-str8-format");
		assert_field_str(e.origin, e.origin_len, "node-3");
		assert_field_str(e.payload, e.payload_len,
				 as_bin ? "{}{}" : "{\"type\":\"x\"}");
		assert_null(e.user);
		assert_null(e.conn);
		assert_null(e.reason);
		gw_envelope_clear(&e);
		free(in);
		msgpack_sbuffer_destroy(&sb);
	}
}

/* Signed formats holding non-negative values count as uints (Go's packer
 * writes them); negative ones are wrong types. */
static void test_decode_integer_formats(void **state)
{
	static const struct {
		uint8_t head[9];
		size_t n;
		int ok;
		uint64_t want;
	} cases[] = {
		{ { 0x05 }, 1, 1, 5 },
		{ { 0xcc, 0xff }, 2, 1, 255 },
		{ { 0xcd, 0x12, 0x34 }, 3, 1, 0x1234 },
		{ { 0xce, 0xff, 0xff, 0xff, 0xff }, 5, 1, 0xffffffffull },
		{ { 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 1 }, 9, 1,
		  0x8000000000000001ull },
		{ { 0xd0, 0x7f }, 2, 1, 127 },
		{ { 0xd1, 0x01, 0x00 }, 3, 1, 256 },
		{ { 0xd2, 0x00, 0x01, 0x00, 0x00 }, 5, 1, 65536 },
		{ { 0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		  9, 1, INT64_MAX },
		{ { 0xff }, 1, 0, 0 },                      /* -1 */
		{ { 0xd0, 0x80 }, 2, 0, 0 },                /* -128 */
		{ { 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		  9, 0, 0 },
		{ { 0xca, 0x3f, 0x80, 0x00, 0x00 }, 5, 0, 0 }, /* 1.0f */
		{ { 0xc0 }, 1, 0, 0 },                      /* nil */
		{ { 0xc3 }, 1, 0, 0 },                      /* true */
		{ { 0xa1, '1' }, 2, 0, 0 },                 /* "1" */
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(cases); i++) {
		bb_t bb = { 0 };
		gw_envelope_t e;
		char *in;
		int rc;

		bb_map(&bb, 2);
		bb_kv(&bb, "t", "probe");
		bb_str(&bb, "q");
		bb_raw(&bb, cases[i].head, cases[i].n);
		in = dup_exact(bb.b, bb.len);
		rc = gw_envelope_decode(in, bb.len, &e);
		if (cases[i].ok) {
			assert_int_equal(rc, GW_OK);
			assert_true(e.seq == cases[i].want);
		} else {
			assert_int_equal(rc, GW_EINVAL);
		}
		gw_envelope_clear(&e);
		free(in);
		bb_free(&bb);
	}
}

static void test_decode_version(void **state)
{
	bb_t bb = { 0 };
	gw_envelope_t e;
	char *in;

	(void)state;
	/* Absent: version 1, as the doc's JSON examples rely on. */
	bb_map(&bb, 1);
	bb_kv(&bb, "t", "probe");
	in = dup_exact(bb.b, bb.len);
	assert_int_equal(gw_envelope_decode(in, bb.len, &e), GW_OK);
	assert_int_equal(e.version, 1);
	gw_envelope_clear(&e);
	free(in);
	bb_free(&bb);

	/* Reported as sent, up to UINT32_MAX; beyond is refused. */
	bb_map(&bb, 2);
	bb_kv(&bb, "t", "probe");
	bb_str(&bb, "v");
	bb_u8(&bb, 0xce);
	bb_be(&bb, UINT32_MAX, 4);
	in = dup_exact(bb.b, bb.len);
	assert_int_equal(gw_envelope_decode(in, bb.len, &e), GW_OK);
	assert_true(e.version == UINT32_MAX);
	gw_envelope_clear(&e);
	free(in);
	bb_free(&bb);

	bb_map(&bb, 2);
	bb_kv(&bb, "t", "probe");
	bb_str(&bb, "v");
	bb_u8(&bb, 0xcf);
	bb_be(&bb, (uint64_t)UINT32_MAX + 1, 8);
	assert_int_equal(try_bb(&bb), GW_EINVAL);
	bb_free(&bb);
}

/* Empty strings decode as absent; kick and probe need no payload. */
static void test_decode_empty_strings(void **state)
{
	bb_t bb = { 0 };
	gw_envelope_t e;
	char *in;

	(void)state;
	bb_map(&bb, 7);
	bb_kv(&bb, "t", "kick");
	bb_kv(&bb, "o", "");
	bb_kv(&bb, "l", "");
	bb_kv(&bb, "u", "bob");
	bb_kv(&bb, "c", "");
	bb_kv(&bb, "r", "");
	bb_str(&bb, "p");
	bb_bin(&bb, "", 0);
	in = dup_exact(bb.b, bb.len);
	assert_int_equal(gw_envelope_decode(in, bb.len, &e), GW_OK);
	assert_int_equal(e.type, GW_ENV_KICK);
	assert_null(e.origin);
	assert_null(e.lobby);
	assert_null(e.conn);
	assert_null(e.reason);
	assert_null(e.payload);
	assert_int_equal(e.payload_len, 0);
	assert_field_str(e.user, e.user_len, "bob");
	gw_envelope_clear(&e);
	free(in);
	bb_free(&bb);
}

/* Unknown keys are skipped whatever their scalar type. */
static void test_decode_unknown_keys_ignored(void **state)
{
	static const uint8_t values[][10] = {
		{ 1, 0xc0 },                         /* nil */
		{ 1, 0xc2 },                         /* false */
		{ 1, 0xc3 },                         /* true */
		{ 1, 0x7f },                         /* fixint */
		{ 1, 0xe0 },                         /* -32 */
		{ 3, 0xd1, 0x80, 0x00 },             /* int16 */
		{ 9, 0xcf, 1, 2, 3, 4, 5, 6, 7, 8 }, /* uint64 */
		{ 5, 0xca, 0x40, 0x49, 0x0f, 0xdb }, /* float32 */
		{ 9, 0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18 },
		{ 4, 0xa3, 'a', 'b', 'c' },          /* fixstr */
		{ 5, 0xd9, 0x03, 'a', 'b', 'c' },    /* str8 */
		{ 4, 0xc4, 0x02, 0x00, 0xff },       /* bin8 */
		{ 5, 0xc5, 0x00, 0x02, 0x00, 0xff }, /* bin16 */
		{ 2, 0xc4, 0x00 },                   /* empty bin */
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(values); i++) {
		bb_t bb = { 0 };
		gw_envelope_t e;
		char *in;

		bb_map(&bb, 5);
		bb_kv(&bb, "t", "msg");
		bb_str(&bb, "xx");
		bb_raw(&bb, values[i] + 1, values[i][0]);
		bb_kv(&bb, "l", "chess");
		/* Keys that merely start like known ones are unknown. */
		bb_str(&bb, "pp");
		bb_raw(&bb, values[i] + 1, values[i][0]);
		bb_str(&bb, "p");
		bb_bin(&bb, "{}", 2);
		in = dup_exact(bb.b, bb.len);
		assert_int_equal(gw_envelope_decode(in, bb.len, &e), GW_OK);
		assert_int_equal(e.type, GW_ENV_MSG);
		assert_field_str(e.lobby, e.lobby_len, "chess");
		assert_field_str(e.payload, e.payload_len, "{}");
		gw_envelope_clear(&e);
		free(in);
		bb_free(&bb);
	}
}

/* map16 and map32 headers are accepted when the count is in bounds, and
 * exactly GW_ENV_MAX_KEYS keys is allowed. */
static void test_decode_map_formats_and_key_limit(void **state)
{
	char key[8];
	unsigned n, fmt;

	(void)state;
	for (fmt = 0; fmt < 3; fmt++) {
		for (n = 1; n <= GW_ENV_MAX_KEYS + 1; n++) {
			bb_t bb = { 0 };
			unsigned i;

			if (fmt == 0 && n > 15)
				continue;
			if (fmt == 0)
				bb_map(&bb, n);
			else if (fmt == 1)
				bb_u8(&bb, 0xde), bb_be(&bb, n, 2);
			else
				bb_u8(&bb, 0xdf), bb_be(&bb, n, 4);
			bb_kv(&bb, "t", "probe");
			for (i = 1; i < n; i++) {
				snprintf(key, sizeof(key), "k%u", i);
				bb_kv(&bb, key, "v");
			}
			assert_int_equal(try_bb(&bb),
					 n <= GW_ENV_MAX_KEYS ? GW_OK :
					 GW_ETOOBIG);
			bb_free(&bb);
		}
	}
}

/* --- decoding: refusals ------------------------------------------------- */

/* Every proper prefix of a valid encoding is refused as malformed. */
static void check_prefixes(const char *buf, size_t len)
{
	size_t n;

	assert_int_equal(try_decode(buf, len), GW_OK);
	for (n = 0; n < len; n++)
		assert_int_equal(try_decode(buf, n), GW_EINVAL);
}

static void test_truncated_at_every_offset(void **state)
{
	static const gw_env_type_t types[] = {
		GW_ENV_MSG, GW_ENV_KICK, GW_ENV_PROBE,
	};
	gw_envelope_t e;
	char *buf;
	size_t len, i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(types); i++) {
		e = full_env(types[i]);
		encode_ok(&e, &buf, &len);
		check_prefixes(buf, len);
		gw_free(buf);
	}
	/* A minimal one, and the JSON form. */
	memset(&e, 0, sizeof(e));
	e.type = GW_ENV_PROBE;
	encode_ok(&e, &buf, &len);
	check_prefixes(buf, len);
	gw_free(buf);
	check_prefixes(DOC_LOBBY_JSON, strlen(DOC_LOBBY_JSON));
	check_prefixes(DOC_USER_JSON, strlen(DOC_USER_JSON));
}

static void test_trailing_bytes(void **state)
{
	gw_envelope_t e = full_env(GW_ENV_MSG);
	char *buf, *two;
	size_t len;
	bb_t bb = { 0 };

	(void)state;
	encode_ok(&e, &buf, &len);
	bb_raw(&bb, buf, len);
	bb_u8(&bb, 0xc0);
	assert_int_equal(try_bb(&bb), GW_EINVAL);
	bb.len = len;
	bb_u8(&bb, 0x00);
	assert_int_equal(try_bb(&bb), GW_EINVAL);
	/* Two envelopes back to back are not one. */
	two = malloc(2 * len);
	assert_non_null(two);
	memcpy(two, buf, len);
	memcpy(two + len, buf, len);
	assert_int_equal(try_decode(two, 2 * len), GW_EINVAL);
	free(two);
	bb_free(&bb);
	gw_free(buf);
}

/* Elapsed milliseconds of one decode. */
static double timed_decode(const bb_t *bb, int want)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(try_bb(bb), want);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
}

/*
 * Counts claiming far more than the bytes present fail at once, before
 * anything is allocated: with every gw allocation set to fail, the answer
 * is still ETOOBIG (not ENOMEM), and it comes back in well under a second.
 */
static void test_huge_counts_fail_fast(void **state)
{
	bb_t bb = { 0 };

	(void)state;
	gw_alloc_fail_after(0);

	/* map32 claiming 2^32-1 entries, followed by a few bytes. */
	bb_u8(&bb, 0xdf);
	bb_be(&bb, 0xffffffffu, 4);
	bb_kv(&bb, "t", "msg");
	assert_true(timed_decode(&bb, GW_ETOOBIG) < 100.0);
	bb_free(&bb);

	/* map16 with 17 and 65535 entries. */
	bb_u8(&bb, 0xde);
	bb_be(&bb, GW_ENV_MAX_KEYS + 1, 2);
	assert_true(timed_decode(&bb, GW_ETOOBIG) < 100.0);
	bb_free(&bb);
	bb_u8(&bb, 0xde);
	bb_be(&bb, 0xffff, 2);
	assert_true(timed_decode(&bb, GW_ETOOBIG) < 100.0);
	bb_free(&bb);

	/* A key as str32 claiming 4 GB. */
	bb_map(&bb, 1);
	bb_u8(&bb, 0xdb);
	bb_be(&bb, 0xffffffffu, 4);
	bb_raw(&bb, "t", 1);
	assert_true(timed_decode(&bb, GW_ETOOBIG) < 100.0);
	bb_free(&bb);

	/* A known string value, an unknown one, and p as str32 / bin32. */
	{
		static const char *const keys[] = { "o", "t", "zz", "p" };
		static const uint8_t heads[] = { 0xdb, 0xdb, 0xdb, 0xdb };
		size_t i;

		for (i = 0; i < GW_ARRAY_LEN(keys); i++) {
			bb_map(&bb, 2);
			bb_kv(&bb, i == 1 ? "o" : "t", i == 1 ? "n" : "msg");
			bb_str(&bb, keys[i]);
			bb_u8(&bb, heads[i]);
			bb_be(&bb, 0xffffffffu, 4);
			bb_raw(&bb, "abc", 3);
			assert_true(timed_decode(&bb, GW_ETOOBIG) < 100.0);
			bb_free(&bb);
		}
	}
	bb_map(&bb, 2);
	bb_kv(&bb, "t", "msg");
	bb_str(&bb, "p");
	bb_u8(&bb, 0xc6);
	bb_be(&bb, 0xffffffffu, 4);
	assert_true(timed_decode(&bb, GW_ETOOBIG) < 100.0);
	bb_free(&bb);

	/* Within the limits but past the end: truncated, not too big. */
	bb_map(&bb, 2);
	bb_kv(&bb, "t", "msg");
	bb_str(&bb, "p");
	bb_u8(&bb, 0xc6);
	bb_be(&bb, GW_ENV_MAX_PAYLOAD, 4);
	bb_raw(&bb, "{}", 2);
	assert_true(timed_decode(&bb, GW_EINVAL) < 100.0);
	bb_free(&bb);
	gw_alloc_fail_after(-1);
}

/*
 * The pre-check in front of msgpack-c's unpacker. msgpack-c allocates for
 * the count an array or map header declares before reading any element,
 * so each input below would have it ask for gigabytes (or crash under
 * ASan) if it got that far. Every one must be refused at once, with every
 * gw allocation failing too (none is needed to say no).
 */

/* A container header of format `fmt` (0x90 fixarray, 0x80 fixmap, 0xdc..
 * 0xdf) declaring `n`. */
static void bb_container(bb_t *bb, uint8_t fmt, uint32_t n)
{
	if (fmt == 0x80 || fmt == 0x90) {
		bb_u8(bb, (uint8_t)(fmt | n));
		return;
	}
	bb_u8(bb, fmt);
	bb_be(bb, n, fmt == 0xdc || fmt == 0xde ? 2 : 4);
}

/* Declared counts far past the bytes left, wherever a container starts:
 * as a value, as a key, and as the envelope itself. */
static void test_precheck_declared_counts(void **state)
{
	static const struct {
		uint8_t fmt;
		uint32_t n;
	} heads[] = {
		{ 0xdd, 0xffffffffu }, { 0xdf, 0xffffffffu },
		{ 0xdd, 0x10000000u }, { 0xdf, 0x08000000u },
		{ 0xdc, 0xffff }, { 0xde, 0xffff }, { 0x90, 15 }, { 0x80, 15 },
	};
	size_t i, where;

	(void)state;
	gw_alloc_fail_after(0);
	for (i = 0; i < GW_ARRAY_LEN(heads); i++) {
		for (where = 0; where < 3; where++) {
			bb_t bb = { 0 };

			bb_map(&bb, 3);
			bb_kv(&bb, "t", "probe");
			if (where == 0) {        /* a value */
				bb_str(&bb, "zz");
				bb_container(&bb, heads[i].fmt, heads[i].n);
			} else if (where == 1) { /* a key */
				bb_container(&bb, heads[i].fmt, heads[i].n);
				bb_u8(&bb, 0x01);
			} else {                 /* the value of a known key */
				bb_str(&bb, "p");
				bb_container(&bb, heads[i].fmt, heads[i].n);
			}
			bb_kv(&bb, "o", "node-1");
			assert_true(timed_decode(&bb, GW_EINVAL) < 100.0);
			bb_free(&bb);
		}
	}
	/* The envelope map: within the key limit but past the bytes left
	 * (each pair takes at least two), and past the limit. */
	{
		bb_t bb = { 0 };

		bb_map(&bb, 15);
		bb_kv(&bb, "t", "probe");
		assert_true(timed_decode(&bb, GW_EINVAL) < 100.0);
		bb_free(&bb);
		bb_container(&bb, 0xdf, 0x08000000u);
		bb_kv(&bb, "t", "probe");
		assert_true(timed_decode(&bb, GW_ETOOBIG) < 100.0);
		bb_free(&bb);
		bb_container(&bb, 0xde, GW_ENV_MAX_KEYS + 1);
		bb_kv(&bb, "t", "probe");
		assert_true(timed_decode(&bb, GW_ETOOBIG) < 100.0);
		bb_free(&bb);
	}
	gw_alloc_fail_after(-1);
}

/*
 * Nesting: the envelope map is the only container allowed, so a value
 * nested two or a thousand levels deep is refused, in whatever mix of
 * arrays and maps, and however large the counts the inner levels claim.
 */
static void test_precheck_deep_nesting(void **state)
{
	static const size_t depths[] = { 2, 3, 31, 32, 33, 1000 };
	static const uint8_t fmts[] = { 0x90, 0x80, 0xdd, 0xdf };
	size_t d, f, k;

	(void)state;
	gw_alloc_fail_after(0);
	for (d = 0; d < GW_ARRAY_LEN(depths); d++) {
		for (f = 0; f < GW_ARRAY_LEN(fmts) + 1; f++) {
			bb_t bb = { 0 };

			bb_map(&bb, 2);
			bb_kv(&bb, "t", "probe");
			bb_str(&bb, "zz");
			/*
			 * Depth 1 is the envelope; then depths[d] - 1 levels,
			 * each holding the next (behind a key in a map). With
			 * f == 4 they alternate and claim 2^32-1 entries.
			 */
			for (k = 1; k < depths[d]; k++) {
				uint8_t fmt = f < 4 ? fmts[f] :
					      k % 2 ? 0xdd : 0xdf;

				bb_container(&bb, fmt, f == 4 ? 0xffffffffu : 1);
				if (fmt == 0x80 || fmt == 0xdf)
					bb_str(&bb, "k");
			}
			bb_u8(&bb, 0x01);
			assert_true(timed_decode(&bb, GW_EINVAL) < 100.0);
			bb_free(&bb);
		}
	}
	gw_alloc_fail_after(-1);
}

/*
 * A complete value of format `fmt` after its marker, into `v`: lengths
 * and counts are 16 or 1, bodies 'x'. Returns the number of bytes, and in
 * *ok whether an unknown key may hold it (not ext, array or map).
 */
static size_t full_value(uint8_t fmt, uint8_t *v, int *ok)
{
	static const struct {
		uint8_t fmt, len_bytes, fixed;
	} t[] = {
		{ 0xc4, 1, 0 }, { 0xc5, 2, 0 }, { 0xc6, 4, 0 }, { 0xd9, 1, 0 },
		{ 0xda, 2, 0 }, { 0xdb, 4, 0 }, { 0xc7, 1, 0 }, { 0xc8, 2, 0 },
		{ 0xc9, 4, 0 }, { 0xdc, 2, 0 }, { 0xdd, 4, 0 }, { 0xde, 2, 0 },
		{ 0xdf, 4, 0 }, { 0xcc, 0, 1 }, { 0xcd, 0, 2 }, { 0xce, 0, 4 },
		{ 0xcf, 0, 8 }, { 0xd0, 0, 1 }, { 0xd1, 0, 2 }, { 0xd2, 0, 4 },
		{ 0xd3, 0, 8 }, { 0xca, 0, 4 }, { 0xcb, 0, 8 }, { 0xd4, 0, 2 },
		{ 0xd5, 0, 3 }, { 0xd6, 0, 5 }, { 0xd7, 0, 9 }, { 0xd8, 0, 17 },
	};
	size_t i, n = 0;

	for (i = 0; t[i].fmt != fmt; i++)
		assert_true(i + 1 < GW_ARRAY_LEN(t));
	*ok = fmt < 0xc7 || (fmt >= 0xca && fmt <= 0xd3) ||
	      (fmt >= 0xd9 && fmt <= 0xdb);
	if (t[i].fixed) {
		memset(v, 0x10, t[i].fixed);
		return t[i].fixed;
	}
	memset(v, 0, t[i].len_bytes);
	n = t[i].len_bytes;
	if (fmt >= 0xdc) { /* one element: 1, or "k": 1 */
		v[n - 1] = 1;
		if (fmt >= 0xde)
			v[n++] = 0xa1, v[n++] = 'k';
		v[n++] = 0x01;
		return n;
	}
	v[n - 1] = 16;
	if (fmt >= 0xc7 && fmt <= 0xc9)
		v[n++] = 0x01; /* ext type */
	memset(v + n, 'x', 16);
	return n + 16;
}

/*
 * Truncated values: for every format with a length, count or fixed-size
 * body, each cut between the marker and the end is refused as malformed
 * without reading past the end (ASan: every input is an exact heap block);
 * the whole value is then accepted, or refused for its type.
 */
static void test_precheck_truncated_values(void **state)
{
	static const uint8_t fmts[] = {
		0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb, 0xc7, 0xc8, 0xc9, 0xdc,
		0xdd, 0xde, 0xdf, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2,
		0xd3, 0xca, 0xcb, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8,
	};
	uint8_t v[32];
	size_t i, n, cut;
	int ok;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(fmts); i++) {
		n = full_value(fmts[i], v, &ok);
		for (cut = 0; cut <= n; cut++) {
			bb_t bb = { 0 };

			bb_map(&bb, 2);
			bb_kv(&bb, "t", "probe");
			bb_str(&bb, "zz");
			bb_u8(&bb, fmts[i]);
			bb_raw(&bb, v, cut);
			assert_int_equal(try_bb(&bb), cut == n && ok ? GW_OK :
					 GW_EINVAL);
			bb_free(&bb);
		}
	}
}

/* Arrays, maps and ext values are refused wherever they appear. */
static void test_nested_and_ext_values(void **state)
{
	static const uint8_t values[][6] = {
		{ 1, 0x80 },                   /* {} */
		{ 3, 0x81, 0xa1, 'a' },        /* {"a": (truncated)} */
		{ 4, 0x81, 0xa1, 'a', 0x01 },  /* {"a": 1} */
		{ 1, 0x90 },                   /* [] */
		{ 2, 0x91, 0x01 },             /* [1] */
		{ 3, 0xdc, 0x00, 0x00 },       /* array16 [] */
		{ 5, 0xdd, 0, 0, 0, 0 },       /* array32 [] */
		{ 3, 0xde, 0x00, 0x00 },       /* map16 {} */
		{ 5, 0xdf, 0, 0, 0, 0 },       /* map32 {} */
		{ 3, 0xd4, 0x01, 0x00 },       /* fixext1 */
		{ 4, 0xc7, 0x01, 0x01, 0x00 }, /* ext8 */
		{ 1, 0xc1 },                   /* never used */
	};
	static const char *const keys[] = { "zz", "o", "t", "p", "q", "v" };
	size_t i, k;

	(void)state;
	for (k = 0; k < GW_ARRAY_LEN(keys); k++) {
		for (i = 0; i < GW_ARRAY_LEN(values); i++) {
			bb_t bb = { 0 };

			bb_map(&bb, 3);
			bb_kv(&bb, k == 2 ? "r" : "t", k == 2 ? "x" : "kick");
			bb_str(&bb, keys[k]);
			bb_raw(&bb, values[i] + 1, values[i][0]);
			bb_kv(&bb, "u", "alice");
			assert_int_equal(try_bb(&bb), GW_EINVAL);
			bb_free(&bb);
		}
	}
}

static void test_non_string_keys(void **state)
{
	static const uint8_t keys[][4] = {
		{ 1, 0x01 },             /* int */
		{ 1, 0xc0 },             /* nil */
		{ 1, 0xc3 },             /* true */
		{ 3, 0xc4, 0x01, 't' },  /* bin "t" */
		{ 1, 0x80 },             /* map */
		{ 1, 0x90 },             /* array */
		{ 2, 0xd4, 0x00 },       /* ext (truncated) */
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(keys); i++) {
		bb_t bb = { 0 };

		bb_map(&bb, 2);
		bb_kv(&bb, "t", "probe");
		bb_raw(&bb, keys[i] + 1, keys[i][0]);
		bb_str(&bb, "v");
		assert_int_equal(try_bb(&bb), GW_EINVAL);
		bb_free(&bb);
	}
}

static void test_duplicate_keys(void **state)
{
	static const char *const dups[] = { "t", "o", "p", "zz", "q" };
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(dups); i++) {
		bb_t bb = { 0 };

		bb_map(&bb, 4);
		bb_kv(&bb, "t", "msg");
		bb_kv(&bb, "p", "{}");
		if (strcmp(dups[i], "q") == 0) {
			bb_str(&bb, "q"), bb_u8(&bb, 1);
			bb_str(&bb, "q"), bb_u8(&bb, 2);
		} else if (strcmp(dups[i], "t") == 0 ||
			   strcmp(dups[i], "p") == 0) {
			bb_kv(&bb, dups[i], dups[i][0] == 't' ? "msg" : "{}");
			bb_kv(&bb, "l", "x");
		} else {
			bb_kv(&bb, dups[i], "a");
			bb_kv(&bb, dups[i], "a");
		}
		assert_int_equal(try_bb(&bb), GW_EINVAL);
		bb_free(&bb);
	}
	/* Two empty keys: msgpack-c gives an empty string a NULL ptr, which
	 * the comparison must not hand to memcmp (UBSan; found by
	 * fuzz_envelope, corpus/envelope/regress-empty-key-twice). */
	assert_int_equal(try_decode("\x82\xa0\xa0\xa0\xa0", 5), GW_EINVAL);
}

static void test_type_values(void **state)
{
	static const char *const bad[] = {
		"", "MSG", "msgx", "ms", "kick\n", "probe ", "message",
	};
	bb_t bb = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(bad); i++) {
		bb_map(&bb, 2);
		bb_kv(&bb, "t", bad[i]);
		bb_kv(&bb, "p", "{}");
		assert_int_equal(try_bb(&bb), GW_EINVAL);
		bb_free(&bb);
	}
	/* "msg\0": same prefix, different length. */
	bb_map(&bb, 2);
	bb_str(&bb, "t");
	bb_strn(&bb, "msg\0", 4);
	bb_kv(&bb, "p", "{}");
	assert_int_equal(try_bb(&bb), GW_EINVAL);
	bb_free(&bb);
	/* Missing t. */
	bb_map(&bb, 2);
	bb_kv(&bb, "u", "alice");
	bb_kv(&bb, "p", "{}");
	assert_int_equal(try_bb(&bb), GW_EINVAL);
	bb_free(&bb);
	bb_map(&bb, 0);
	assert_int_equal(try_bb(&bb), GW_EINVAL);
	bb_free(&bb);
	/* t as bin. */
	bb_map(&bb, 2);
	bb_str(&bb, "t");
	bb_bin(&bb, "msg", 3);
	bb_kv(&bb, "p", "{}");
	assert_int_equal(try_bb(&bb), GW_EINVAL);
	bb_free(&bb);
	/* msg without p, and with an empty p. */
	bb_map(&bb, 2);
	bb_kv(&bb, "t", "msg");
	bb_kv(&bb, "l", "chess");
	assert_int_equal(try_bb(&bb), GW_EINVAL);
	bb_free(&bb);
	bb_map(&bb, 2);
	bb_kv(&bb, "t", "msg");
	bb_str(&bb, "p");
	bb_bin(&bb, "", 0);
	assert_int_equal(try_bb(&bb), GW_EINVAL);
	bb_free(&bb);
	/* Each known type is accepted (kick and probe without p). */
	bb_map(&bb, 1);
	bb_kv(&bb, "t", "kick");
	assert_int_equal(try_bb(&bb), GW_OK);
	bb_free(&bb);
}

/* Known keys with values of the wrong type. */
static void test_wrong_value_types(void **state)
{
	static const struct {
		const char *key;
		uint8_t v[6];
	} cases[] = {
		{ "q", { 2, 0xa1, '5' } },         /* q as a string */
		{ "v", { 2, 0xa1, '1' } },         /* v as a string */
		{ "q", { 1, 0xc0 } },              /* nil */
		{ "q", { 1, 0xc2 } },              /* false */
		{ "q", { 3, 0xc4, 0x01, 0x05 } },  /* bin */
		{ "o", { 1, 0x05 } },              /* int */
		{ "o", { 3, 0xc4, 0x01, 'n' } },   /* bin */
		{ "l", { 1, 0xc0 } },
		{ "u", { 1, 0xc3 } },
		{ "c", { 5, 0xca, 0, 0, 0, 0 } },  /* float */
		{ "r", { 1, 0xe0 } },              /* negative */
		{ "p", { 1, 0x05 } },
		{ "p", { 1, 0xc0 } },
		{ "t", { 1, 0x00 } },
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(cases); i++) {
		bb_t bb = { 0 };

		bb_map(&bb, 3);
		if (strcmp(cases[i].key, "t") != 0)
			bb_kv(&bb, "t", "kick");
		else
			bb_kv(&bb, "u", "x");
		bb_str(&bb, cases[i].key);
		bb_raw(&bb, cases[i].v + 1, cases[i].v[0]);
		bb_kv(&bb, "zz", "y");
		assert_int_equal(try_bb(&bb), GW_EINVAL);
		bb_free(&bb);
	}
}

static void test_size_limits(void **state)
{
	uint8_t *pay = malloc(GW_ENV_MAX_PAYLOAD + 1);
	bb_t bb = { 0 };
	unsigned str_fmt;
	const char *k;
	size_t i;

	(void)state;
	assert_non_null(pay);
	memset(pay, 'x', GW_ENV_MAX_PAYLOAD + 1);

	/* The payload at the limit, and one byte past it, as bin and str. */
	for (str_fmt = 0; str_fmt < 2; str_fmt++) {
		for (i = GW_ENV_MAX_PAYLOAD; i <= GW_ENV_MAX_PAYLOAD + 1; i++) {
			bb_map(&bb, 2);
			bb_kv(&bb, "t", "msg");
			bb_str(&bb, "p");
			if (str_fmt)
				bb_strn(&bb, (const char *)pay, i);
			else
				bb_bin(&bb, pay, i);
			assert_int_equal(try_bb(&bb),
					 i <= GW_ENV_MAX_PAYLOAD ? GW_OK :
					 GW_ETOOBIG);
			bb_free(&bb);
		}
	}
	/* An unknown bin past the payload limit. */
	bb_map(&bb, 2);
	bb_kv(&bb, "t", "probe");
	bb_str(&bb, "blob");
	bb_bin(&bb, pay, GW_ENV_MAX_PAYLOAD + 1);
	assert_int_equal(try_bb(&bb), GW_ETOOBIG);
	bb_free(&bb);

	/* Every string field, an unknown value and a key: 256 ok, 257 not. */
	for (k = "olucrtK"; *k; k++) {
		for (i = GW_ENV_MAX_STR; i <= GW_ENV_MAX_STR + 1; i++) {
			bb_map(&bb, 2);
			if (*k == 't') {
				bb_kv(&bb, "zz", "y");
				bb_str(&bb, "t");
				bb_fill_str(&bb, 'x', i);
			} else if (*k == 'K') {
				bb_kv(&bb, "t", "probe");
				bb_fill_str(&bb, 'k', i);
				bb_str(&bb, "v");
			} else {
				char key[2] = { *k, '\0' };

				bb_kv(&bb, "t", "probe");
				bb_str(&bb, key);
				bb_fill_str(&bb, 'x', i);
			}
			/* A 256-byte t is well-formed but not a type. */
			assert_int_equal(try_bb(&bb),
					 i > GW_ENV_MAX_STR ? GW_ETOOBIG :
					 *k == 't' ? GW_EINVAL : GW_OK);
			bb_free(&bb);
		}
	}
	/* An unknown string value past the limit. */
	bb_map(&bb, 2);
	bb_kv(&bb, "t", "probe");
	bb_str(&bb, "zz");
	bb_fill_str(&bb, 'x', GW_ENV_MAX_STR + 1);
	assert_int_equal(try_bb(&bb), GW_ETOOBIG);
	bb_free(&bb);
	free(pay);
}

static void test_first_byte(void **state)
{
	static const char *const bad[] = {
		"[1]", " {\"t\":\"probe\"}", "\n{}", "\"t\"", "null", "1",
	};
	static const uint8_t bad_bytes[] = {
		0x90, 0x91, 0xdc, 0xdd, 0xc0, 0xa1, 0x00, 0x7f, 0xff, 0xc4,
	};
	gw_envelope_t e;
	size_t i;
	uint8_t b[4];

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(bad); i++)
		assert_int_equal(try_str(bad[i]), GW_EINVAL);
	for (i = 0; i < GW_ARRAY_LEN(bad_bytes); i++) {
		b[0] = bad_bytes[i];
		b[1] = 0xa1, b[2] = 't', b[3] = 0x00;
		assert_int_equal(try_decode(b, sizeof(b)), GW_EINVAL);
	}
	/* Empty input, NULL input, NULL envelope. */
	assert_int_equal(try_decode("", 0), GW_EINVAL);
	memset(&e, 0x5a, sizeof(e));
	assert_int_equal(gw_envelope_decode(NULL, 5, &e), GW_EINVAL);
	assert_true(is_zero(&e));
	assert_int_equal(gw_envelope_decode("{}", 2, NULL), GW_EINVAL);
}

/* --- JSON --------------------------------------------------------------- */

static void test_json_doc_examples(void **state)
{
	gw_envelope_t e;
	char *in;

	(void)state;
	in = dup_exact(DOC_LOBBY_JSON, strlen(DOC_LOBBY_JSON));
	assert_int_equal(gw_envelope_decode(in, strlen(DOC_LOBBY_JSON), &e),
			 GW_OK);
	free(in); /* JSON results own their storage */
	assert_int_equal(e.type, GW_ENV_MSG);
	assert_int_equal(e.version, 1);
	assert_field_str(e.lobby, e.lobby_len, "chess");
	assert_null(e.origin);
	assert_null(e.user);
	assert_true(e.seq == 0);
	assert_field_str(e.payload, e.payload_len,
			 "{\"type\":\"message\",\"lobby\":\"chess\","
			 "\"from\":\"backend\",\"data\":{\"move\":\"e4\"}}");
	assert_non_null(e.owned);
	assert_within(e.lobby, e.lobby_len, e.owned,
		      e.payload_len + 1 + e.lobby_len + 1 + 3);
	gw_envelope_clear(&e);
	assert_true(is_zero(&e));

	in = dup_exact(DOC_USER_JSON, strlen(DOC_USER_JSON));
	assert_int_equal(gw_envelope_decode(in, strlen(DOC_USER_JSON), &e),
			 GW_OK);
	free(in);
	assert_int_equal(e.type, GW_ENV_MSG);
	assert_field_str(e.user, e.user_len, "alice");
	assert_null(e.lobby);
	assert_field_str(e.payload, e.payload_len,
			 "{\"type\":\"direct\",\"from\":\"backend\","
			 "\"data\":\"hi\"}");
	gw_envelope_clear(&e);
}

#define PROBE_V3 "{\"t\":\"probe\",\"o\":\"\",\"v\":3}"

/* Every field; p re-serialised compactly; unknown members ignored. */
static void test_json_all_fields(void **state)
{
	static const char in_json[] =
		"{ \"v\" : 1, \"t\": \"kick\", \"o\": \"node-1\",\n"
		"  \"l\": \"chess\", \"u\": \"al\\u00e9\", \"c\": \"c-1\",\n"
		"  \"r\": \"replaced\", \"q\": 9007199254740993,\n"
		"  \"extra\": {\"nested\": [1, 2, {\"x\": null}]},\n"
		"  \"p\": { \"type\" : \"closing\", \"n\" : [ 1 , 2 ] } }";
	gw_envelope_t e;
	char *in;

	(void)state;
	in = dup_exact(in_json, strlen(in_json));
	assert_int_equal(gw_envelope_decode(in, strlen(in_json), &e), GW_OK);
	free(in);
	assert_int_equal(e.type, GW_ENV_KICK);
	assert_int_equal(e.version, 1);
	assert_field_str(e.origin, e.origin_len, "node-1");
	assert_field_str(e.lobby, e.lobby_len, "chess");
	assert_field_str(e.user, e.user_len, "al\xc3\xa9");
	assert_field_str(e.conn, e.conn_len, "c-1");
	assert_field_str(e.reason, e.reason_len, "replaced");
	assert_true(e.seq == 9007199254740993ull);
	assert_field_str(e.payload, e.payload_len,
			 "{\"type\":\"closing\",\"n\":[1,2]}");
	/* The JSON form re-encodes as msgpack and decodes the same. */
	roundtrip(&e);
	gw_envelope_clear(&e);
	gw_envelope_clear(&e);

	/* Empty strings are absent; v as sent; probe needs no p. */
	in = dup_exact(PROBE_V3, strlen(PROBE_V3));
	assert_int_equal(gw_envelope_decode(in, strlen(PROBE_V3), &e), GW_OK);
	assert_null(e.origin);
	assert_int_equal(e.version, 3);
	assert_null(e.payload);
	gw_envelope_clear(&e);
	free(in);
}

static void test_json_refusals(void **state)
{
	static const struct {
		const char *json;
		int rc;
	} cases[] = {
		/* p not an object, without type, type not a string */
		{ "{\"t\":\"msg\",\"p\":\"hi\"}", GW_EINVAL },
		{ "{\"t\":\"msg\",\"p\":[{\"type\":\"x\"}]}", GW_EINVAL },
		{ "{\"t\":\"msg\",\"p\":42}", GW_EINVAL },
		{ "{\"t\":\"msg\",\"p\":null}", GW_EINVAL },
		{ "{\"t\":\"msg\",\"p\":{}}", GW_EINVAL },
		{ "{\"t\":\"msg\",\"p\":{\"data\":1}}", GW_EINVAL },
		{ "{\"t\":\"msg\",\"p\":{\"type\":1}}", GW_EINVAL },
		{ "{\"t\":\"kick\",\"u\":\"a\",\"p\":{\"Type\":\"x\"}}",
		  GW_EINVAL },
		/* bad JSON, trailing garbage */
		{ "{", GW_EINVAL },
		{ "{\"t\":\"msg\",}", GW_EINVAL },
		{ "{\"t\":'msg'}", GW_EINVAL },
		{ "{\"t\":\"probe\"}x", GW_EINVAL },
		{ "{\"t\":\"probe\"}{}", GW_EINVAL },
		{ "{\"t\":\"probe\"} 1", GW_EINVAL },
		{ "{\"t\":\"pro\\u0000be\"}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"o\":\"a\\u0000b\"}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"bad\xff\":1}", GW_EINVAL },
		/* duplicates */
		{ "{\"t\":\"probe\",\"t\":\"probe\"}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"x\":1,\"x\":1}", GW_EINVAL },
		/* t: missing, unknown, wrong type; msg without p */
		{ "{}", GW_EINVAL },
		{ "{\"u\":\"alice\",\"p\":{\"type\":\"x\"}}", GW_EINVAL },
		{ "{\"t\":\"Msg\",\"p\":{\"type\":\"x\"}}", GW_EINVAL },
		{ "{\"t\":1}", GW_EINVAL },
		{ "{\"t\":null}", GW_EINVAL },
		{ "{\"t\":\"msg\",\"l\":\"chess\"}", GW_EINVAL },
		/* q and v */
		{ "{\"t\":\"probe\",\"q\":-1}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"q\":\"5\"}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"q\":1.0}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"q\":true}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"q\":99999999999999999999}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"v\":4294967296}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"v\":-1}", GW_EINVAL },
		/* string fields of the wrong type */
		{ "{\"t\":\"probe\",\"o\":5}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"l\":null}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"u\":[\"a\"]}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"c\":{}}", GW_EINVAL },
		{ "{\"t\":\"probe\",\"r\":false}", GW_EINVAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < GW_ARRAY_LEN(cases); i++) {
		int rc = try_str(cases[i].json);

		if (rc != cases[i].rc)
			fail_msg("%s: got %d, want %d", cases[i].json, rc,
				 cases[i].rc);
	}
	/* Accepted counterparts, so the refusals above are specific. */
	assert_int_equal(try_str("{\"t\":\"probe\",\"q\":0,\"v\":4294967295}"),
			 GW_OK);
	assert_int_equal(try_str("{\"t\":\"kick\",\"u\":\"a\","
				 "\"p\":{\"type\":\"x\"}}"), GW_OK);
}

static void test_json_limits(void **state)
{
	size_t big = 4 * (size_t)GW_ENV_MAX_PAYLOAD + 1, n, i;
	char *s = malloc(big + 64);

	(void)state;
	assert_non_null(s);

	/* Strings and keys: 256 bytes ok, 257 not. */
	for (i = GW_ENV_MAX_STR; i <= GW_ENV_MAX_STR + 1; i++) {
		n = (size_t)sprintf(s, "{\"t\":\"probe\",\"l\":\"");
		memset(s + n, 'a', i);
		n += i;
		n += (size_t)sprintf(s + n, "\"}");
		assert_int_equal(try_decode(s, n), i > GW_ENV_MAX_STR ?
				 GW_ETOOBIG : GW_OK);
		n = (size_t)sprintf(s, "{\"t\":\"probe\",\"");
		memset(s + n, 'k', i);
		n += i;
		n += (size_t)sprintf(s + n, "\":1}");
		assert_int_equal(try_decode(s, n), i > GW_ENV_MAX_STR ?
				 GW_ETOOBIG : GW_OK);
	}
	/* 16 members ok, 17 not. */
	for (i = GW_ENV_MAX_KEYS; i <= GW_ENV_MAX_KEYS + 1; i++) {
		size_t k;

		n = (size_t)sprintf(s, "{\"t\":\"probe\"");
		for (k = 1; k < i; k++)
			n += (size_t)sprintf(s + n, ",\"k%zu\":%zu", k, k);
		n += (size_t)sprintf(s + n, "}");
		assert_int_equal(try_decode(s, n), i > GW_ENV_MAX_KEYS ?
				 GW_ETOOBIG : GW_OK);
	}
	/* The compact payload at the limit, and one byte past it. */
	for (i = GW_ENV_MAX_PAYLOAD; i <= GW_ENV_MAX_PAYLOAD + 1; i++) {
		const char *head = "{\"t\":\"msg\",\"p\":{\"type\":\"";
		size_t fixed = strlen("{\"type\":\"\"}");

		n = (size_t)sprintf(s, "%s", head);
		memset(s + n, 'z', i - fixed);
		n += i - fixed;
		n += (size_t)sprintf(s + n, "\"}}");
		assert_int_equal(try_decode(s, n), i > GW_ENV_MAX_PAYLOAD ?
				 GW_ETOOBIG : GW_OK);
	}
	/* Whitespace counts against the input cap, not the payload. */
	n = (size_t)sprintf(s, "{\"t\":\"msg\",\"p\":{\"type\":\"x\"");
	memset(s + n, ' ', GW_ENV_MAX_PAYLOAD);
	n += GW_ENV_MAX_PAYLOAD;
	n += (size_t)sprintf(s + n, "}}");
	assert_int_equal(try_decode(s, n), GW_OK);
	/* Past the input cap: refused before parsing. */
	memset(s, ' ', big);
	s[0] = '{';
	assert_int_equal(try_decode(s, big), GW_ETOOBIG);
	free(s);
}

/*
 * Allocation failure in every allocation of a JSON decode — jansson's (via
 * json_set_alloc_funcs) and ours (via gw_alloc_fail_after) — leaves the
 * envelope cleared and leaks nothing. jansson's blocks carry a header here,
 * so freeing one with plain free() would be caught by ASan.
 *
 * jansson does not report running out of memory while parsing reliably (it
 * often says "invalid token"), so a failure there may come back as
 * GW_EINVAL; once the document is parsed, a failure is GW_ENOMEM.
 */
static long js_budget = -1;
static long js_count;

static void *tagged_malloc(size_t n)
{
	char *p;

	if (js_budget >= 0 && js_count >= js_budget)
		return NULL;
	js_count++;
	p = malloc(n + 16);
	if (!p)
		return NULL;
	memcpy(p, "jansson", 8);
	return p + 16;
}

static void tagged_free(void *p)
{
	if (!p)
		return;
	assert_memory_equal((char *)p - 16, "jansson", 8);
	free((char *)p - 16);
}

static void test_json_alloc_failure(void **state)
{
	const char *in = DOC_LOBBY_JSON;
	long n, parse_allocs, enomem = 0;
	json_t *j;
	int rc;

	(void)state;
	json_set_alloc_funcs(tagged_malloc, tagged_free);
	js_budget = -1;
	js_count = 0;
	j = json_loadb(in, strlen(in), JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	json_decref(j);
	parse_allocs = js_count;

	/* jansson's allocations first. */
	for (n = 0;; n++) {
		js_budget = n;
		js_count = 0;
		rc = try_str(in);
		if (rc == GW_OK)
			break;
		if (n >= parse_allocs)
			assert_int_equal(rc, GW_ENOMEM);
		else
			assert_true(rc == GW_ENOMEM || rc == GW_EINVAL);
		enomem += rc == GW_ENOMEM;
	}
	assert_true(n > parse_allocs);
	assert_true(enomem > 0);
	js_budget = -1;
	/* Then ours: the one block in e->owned. */
	gw_alloc_fail_after(0);
	assert_int_equal(try_str(in), GW_ENOMEM);
	gw_alloc_fail_after(-1);
	assert_int_equal(try_str(in), GW_OK);
	reset();
}

/*
 * Sizes before parsing: a JSON envelope with too many values is refused
 * before jansson allocates anything (it used to be parsed whole: a 4 MiB
 * document of zeros cost 82 MB and half a second of the loop). The count
 * is one for the root plus one per '[', '{' and ',' outside strings.
 */
static char *zeros_envelope(size_t k, size_t *len)
{
	static const char head[] = "{\"t\":\"msg\",\"p\":{\"type\":\"x\",\"d\":[";
	char *s = malloc(sizeof(head) + 2 * k + 8);
	size_t n = sizeof(head) - 1, i;

	assert_non_null(s);
	memcpy(s, head, n);
	for (i = 0; i < k; i++) {
		s[n++] = '0';
		s[n++] = ',';
	}
	n--; /* the last comma */
	memcpy(s + n, "]}}", 3);
	*len = n + 3;
	return s;
}

static void test_json_value_count(void **state)
{
	/* Five values besides the zeros: root, ",p", p, ",d", the array. */
	size_t ok = GW_ENV_MAX_JSON_VALUES - 5, len, n, k, i;
	char *s;

	(void)state;
	json_set_alloc_funcs(tagged_malloc, tagged_free);
	js_budget = -1;

	s = zeros_envelope(ok, &len);
	js_count = 0;
	assert_int_equal(try_decode(s, len), GW_OK);
	assert_true(js_count > (long)ok); /* it was parsed */
	free(s);

	s = zeros_envelope(ok + 1, &len);
	js_count = 0;
	assert_int_equal(try_decode(s, len), GW_ETOOBIG);
	assert_int_equal(js_count, 0); /* refused unparsed */
	free(s);

	/* Under every byte limit, but 100,000 values: refused unparsed. */
	s = zeros_envelope(100000, &len);
	assert_true(len < GW_ENV_MAX_PAYLOAD);
	js_count = 0;
	assert_int_equal(try_decode(s, len), GW_ETOOBIG);
	assert_int_equal(js_count, 0);
	free(s);

	/* Commas and escaped quotes inside strings are not values. */
	n = 3 * (size_t)GW_ENV_MAX_JSON_VALUES;
	s = malloc(n + 64);
	assert_non_null(s);
	k = (size_t)sprintf(s, "{\"t\":\"msg\",\"p\":{\"type\":\"");
	for (i = 0; i < n / 3; i++, k += 3)
		memcpy(s + k, ",\\\"", 3); /* comma, backslash, quote */
	k += (size_t)sprintf(s + k, "\"}}");
	assert_int_equal(try_decode(s, k), GW_OK);
	free(s);
	reset();
}

/* --- clear and fuzzing -------------------------------------------------- */

static void test_clear(void **state)
{
	gw_envelope_t e;

	(void)state;
	memset(&e, 0, sizeof(e));
	gw_envelope_clear(&e);
	gw_envelope_clear(&e);
	assert_true(is_zero(&e));
	gw_envelope_clear(NULL);
	/* After a failed decode, whatever the envelope held before. */
	memset(&e, 0x77, sizeof(e));
	assert_int_equal(gw_envelope_decode("{", 1, &e), GW_EINVAL);
	gw_envelope_clear(&e);
	assert_true(is_zero(&e));
}

/*
 * Decodes a mutated buffer. Whatever comes back, nothing may crash or leak
 * (ASan), and an accepted envelope must satisfy the limits, point into the
 * input or its own storage, and survive a msgpack round trip.
 */
static int fuzz_one(const uint8_t *p, size_t n)
{
	char *in = dup_exact(p, n);
	gw_envelope_t e;
	int rc = gw_envelope_decode(in, n, &e);

	if (rc == GW_OK) {
		const char *base = e.owned ? e.owned : in;
		size_t blen = e.owned ? e.payload_len + 5 * (GW_ENV_MAX_STR + 1) + 1 : n;

		assert_true(e.type <= GW_ENV_PROBE);
		assert_true(e.origin_len <= GW_ENV_MAX_STR);
		assert_true(e.lobby_len <= GW_ENV_MAX_STR);
		assert_true(e.user_len <= GW_ENV_MAX_STR);
		assert_true(e.conn_len <= GW_ENV_MAX_STR);
		assert_true(e.reason_len <= GW_ENV_MAX_STR);
		assert_true(e.payload_len <= GW_ENV_MAX_PAYLOAD);
		assert_within(e.origin, e.origin_len, base, blen);
		assert_within(e.user, e.user_len, base, blen);
		assert_within(e.payload, e.payload_len, base, blen);
		if (e.type == GW_ENV_MSG)
			assert_true(e.payload_len > 0);
		roundtrip(&e);
	} else {
		assert_true(rc == GW_EINVAL || rc == GW_ETOOBIG);
		assert_true(is_zero(&e));
	}
	gw_envelope_clear(&e);
	free(in);
	return rc;
}

static size_t mutate(uint8_t *b, size_t n, size_t cap)
{
	size_t i = n ? (size_t)(rnd() % n) : 0;
	static const uint8_t magic[] = {
		0x00, 0x7f, 0x80, 0x8f, 0x90, 0xa0, 0xbf, 0xc0, 0xc1, 0xc4,
		0xc6, 0xcf, 0xd3, 0xd9, 0xdb, 0xdc, 0xdf, 0xe0, 0xff, '{',
		'}', '"', ':', ',',
	};

	switch (rnd() % 7) {
	case 0: /* flip a bit */
		if (n)
			b[i] ^= (uint8_t)(1u << (rnd() % 8));
		break;
	case 1: /* random byte */
		if (n)
			b[i] = (uint8_t)rnd();
		break;
	case 2: /* interesting byte */
		if (n)
			b[i] = magic[rnd() % sizeof(magic)];
		break;
	case 3: /* insert */
		if (n < cap) {
			memmove(b + i + 1, b + i, n - i);
			b[i] = magic[rnd() % sizeof(magic)];
			n++;
		}
		break;
	case 4: /* delete */
		if (n) {
			memmove(b + i, b + i + 1, n - i - 1);
			n--;
		}
		break;
	case 5: /* truncate */
		n = i;
		break;
	default: /* 0xff run: huge lengths */
		if (n) {
			size_t k, run = 1 + rnd() % 4;

			for (k = 0; k < run && i + k < n; k++)
				b[i + k] = 0xff;
		}
		break;
	}
	return n;
}

static void fuzz_from(const uint8_t *seed, size_t len, long iters)
{
	size_t cap = len + 64, n;
	uint8_t *b = malloc(cap);
	long it, ok = 0;
	int k, rounds;

	assert_non_null(b);
	for (it = 0; it < iters; it++) {
		memcpy(b, seed, len);
		n = len;
		rounds = 1 + (int)(rnd() % 4);
		for (k = 0; k < rounds; k++)
			n = mutate(b, n, cap);
		ok += fuzz_one(b, n) == GW_OK;
	}
	/* Some mutations (e.g. inside strings) must still be accepted. */
	assert_true(ok > 0 && ok < iters);
	free(b);
}

static void test_fuzz_mutations(void **state)
{
	gw_envelope_t e = full_env(GW_ENV_MSG);
	char *buf;
	size_t len;

	(void)state;
	e.lobby_len = 3;
	e.user_len = 40;
	e.payload_len = 20;
	encode_ok(&e, &buf, &len);
	fuzz_from((const uint8_t *)buf, len, 200000);
	gw_free(buf);
	e = full_env(GW_ENV_KICK);
	e.user_len = 5;
	e.lobby_len = 0;
	e.payload_len = 0;
	encode_ok(&e, &buf, &len);
	fuzz_from((const uint8_t *)buf, len, 100000);
	gw_free(buf);
	fuzz_from((const uint8_t *)DOC_LOBBY_JSON, strlen(DOC_LOBBY_JSON),
		  50000);
}

#define T(f) cmocka_unit_test_teardown(f, teardown_reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_roundtrip_every_combination),
		T(test_roundtrip_format_boundaries),
		T(test_encode_exact_bytes),
		T(test_encode_refusals),
		T(test_encode_alloc_failure),
		T(test_golden_old_codec),
		T(test_decode_msgpack_c_output),
		T(test_decode_integer_formats),
		T(test_decode_version),
		T(test_decode_empty_strings),
		T(test_decode_unknown_keys_ignored),
		T(test_decode_map_formats_and_key_limit),
		T(test_truncated_at_every_offset),
		T(test_trailing_bytes),
		T(test_huge_counts_fail_fast),
		T(test_precheck_declared_counts),
		T(test_precheck_deep_nesting),
		T(test_precheck_truncated_values),
		T(test_nested_and_ext_values),
		T(test_non_string_keys),
		T(test_duplicate_keys),
		T(test_type_values),
		T(test_wrong_value_types),
		T(test_size_limits),
		T(test_first_byte),
		T(test_json_doc_examples),
		T(test_json_all_fields),
		T(test_json_refusals),
		T(test_json_limits),
		T(test_json_alloc_failure),
		T(test_json_value_count),
		T(test_clear),
		T(test_fuzz_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
