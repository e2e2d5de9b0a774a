/*
 * gw_envelope.c — encodes and decodes the inter-node envelopes carried on
 * Redis pub/sub (docs/redis-schema.md, "Envelopes").
 *
 * Owns nothing beyond the buffers it hands out: gw_envelope_encode() returns
 * a gw_malloc'd buffer the caller frees, and a JSON decode keeps its strings
 * in one gw_malloc'd block (e->owned) that gw_envelope_clear() frees. Called
 * by the Redis link (decode on every pub/sub message) and by whatever
 * publishes (encode); it keeps no state, so any thread may call it.
 *
 * Why a hand-written msgpack reader and writer rather than msgpack-c:
 * envelopes arrive from anyone who can PUBLISH on the cluster, and
 * msgpack-c's unpacker trusts the counts and lengths it reads (a map32
 * header claiming 2^32-1 entries makes it try to allocate for them). The
 * subset we accept is tiny — one flat map of short strings, two integers
 * and a blob — so a bounded reader that checks every count and length
 * against both the limits and the bytes remaining, before using it, is
 * shorter than the pre-scan msgpack-c would need, allocates nothing, and
 * lets strings point straight into the input. The writer is hand-written
 * too so that encoding is exactly one gw_malloc (which keeps allocation
 * failure injection meaningful). The unit tests check both directions
 * against msgpack-c itself.
 */
#include "gw_envelope.h"

#include <string.h>

#include <jansson.h>

#include "gw_alloc.h"
#include "gw_json.h"

/* The version this encoder writes. */
#define ENV_VERSION 1

/*
 * A JSON envelope is parsed by jansson before any of our limits can be
 * checked, and jansson has no size cap of its own, so the input is bounded
 * first. The largest valid envelope is a payload of GW_ENV_MAX_PAYLOAD bytes
 * once re-serialised compactly; a backend may send it pretty-printed or
 * with \u escapes, so allow four times that.
 */
#define ENV_MAX_JSON (4 * (size_t)GW_ENV_MAX_PAYLOAD)

/* Field indices; also bit positions for "seen" bookkeeping. */
enum {
	F_V, F_T, F_O, F_L, F_U, F_C, F_R, F_Q, F_P, F_UNKNOWN,
};

/* msgpack object kinds the reader distinguishes. */
enum {
	MP_NIL, MP_BOOL, MP_UINT, MP_NINT, MP_FLOAT,
	MP_STR, MP_BIN, MP_ARRAY, MP_MAP, MP_EXT, MP_BAD,
};

/* A bounded cursor over untrusted bytes. */
typedef struct {
	const uint8_t *p;
	const uint8_t *end;
} rd_t;

/* One object header: its kind, and its value (ints) or length (str, bin,
 * array, map, ext). */
typedef struct {
	int kind;
	uint64_t n;
} mp_head_t;

static const char *const type_names[] = {
	[GW_ENV_MSG] = "msg",
	[GW_ENV_KICK] = "kick",
	[GW_ENV_PROBE] = "probe",
};

/* --- shared helpers ----------------------------------------------------- */

/* Keys in the order of the F_* enum. */
static int field_of(const char *key, size_t len)
{
	static const char keys[] = "vtolucrqp";
	const char *k;

	if (len != 1 || key[0] == '\0')
		return F_UNKNOWN;
	k = strchr(keys, key[0]);
	return k ? (int)(k - keys) : F_UNKNOWN;
}

static int type_of(const char *s, size_t len, gw_env_type_t *t)
{
	size_t i;

	for (i = 0; i < GW_ARRAY_LEN(type_names); i++) {
		if (strlen(type_names[i]) == len &&
		    memcmp(type_names[i], s, len) == 0) {
			*t = (gw_env_type_t)i;
			return GW_OK;
		}
	}
	return GW_EINVAL;
}

/*
 * Sets string field `f` (F_O .. F_R). Absent and empty are the same thing:
 * both leave the field NULL / 0.
 */
static void set_str(gw_envelope_t *e, int f, const char *s, size_t len)
{
	const char **slot;
	size_t *lenp;

	switch (f) {
	case F_O: slot = &e->origin; lenp = &e->origin_len; break;
	case F_L: slot = &e->lobby;  lenp = &e->lobby_len;  break;
	case F_U: slot = &e->user;   lenp = &e->user_len;   break;
	case F_C: slot = &e->conn;   lenp = &e->conn_len;   break;
	default:  slot = &e->reason; lenp = &e->reason_len; break;
	}
	*slot = len ? s : NULL;
	*lenp = len;
}

/* --- encoding ----------------------------------------------------------- */

typedef struct {
	uint8_t *p;
} wr_t;

static size_t str_head_size(size_t len)
{
	return len < 32 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
}

static size_t bin_head_size(size_t len)
{
	return len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
}

static size_t uint_size(uint64_t v)
{
	return v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 :
	       v <= 0xffffffffu ? 5 : 9;
}

static void put_be(wr_t *w, uint64_t v, unsigned bytes)
{
	while (bytes--)
		*w->p++ = (uint8_t)(v >> (8 * bytes));
}

static void put_str(wr_t *w, const char *s, size_t len)
{
	if (len < 32) {
		*w->p++ = (uint8_t)(0xa0 | len);
	} else if (len < 0x100) {
		*w->p++ = 0xd9;
		put_be(w, len, 1);
	} else if (len < 0x10000) {
		*w->p++ = 0xda;
		put_be(w, len, 2);
	} else {
		*w->p++ = 0xdb;
		put_be(w, len, 4);
	}
	memcpy(w->p, s, len);
	w->p += len;
}

static void put_bin(wr_t *w, const char *s, size_t len)
{
	if (len < 0x100) {
		*w->p++ = 0xc4;
		put_be(w, len, 1);
	} else if (len < 0x10000) {
		*w->p++ = 0xc5;
		put_be(w, len, 2);
	} else {
		*w->p++ = 0xc6;
		put_be(w, len, 4);
	}
	memcpy(w->p, s, len);
	w->p += len;
}

static void put_uint(wr_t *w, uint64_t v)
{
	if (v < 0x80) {
		*w->p++ = (uint8_t)v;
	} else if (v < 0x100) {
		*w->p++ = 0xcc;
		put_be(w, v, 1);
	} else if (v < 0x10000) {
		*w->p++ = 0xcd;
		put_be(w, v, 2);
	} else if (v <= 0xffffffffu) {
		*w->p++ = 0xce;
		put_be(w, v, 4);
	} else {
		*w->p++ = 0xcf;
		put_be(w, v, 8);
	}
}

static void put_key(wr_t *w, char key)
{
	put_str(w, &key, 1);
}

/*
 * Envelope field `f` of `e` as (s, len); GW_OK if it is to be written (a
 * non-empty string), 1 if it is omitted, GW_EINVAL for a NULL pointer with
 * a length, GW_ETOOBIG past the limit.
 */
static int enc_field(const gw_envelope_t *e, int f, const char **s,
		     size_t *len)
{
	size_t max = GW_ENV_MAX_STR;

	switch (f) {
	case F_O: *s = e->origin; *len = e->origin_len; break;
	case F_L: *s = e->lobby;  *len = e->lobby_len;  break;
	case F_U: *s = e->user;   *len = e->user_len;   break;
	case F_C: *s = e->conn;   *len = e->conn_len;   break;
	case F_R: *s = e->reason; *len = e->reason_len; break;
	default:
		*s = e->payload;
		*len = e->payload_len;
		max = GW_ENV_MAX_PAYLOAD;
		break;
	}
	if (*len == 0)
		return 1;
	if (!*s)
		return GW_EINVAL;
	return *len > max ? GW_ETOOBIG : GW_OK;
}

/*
 * Writes v, t, then the string fields in the order of the doc's table, q,
 * and p. e->version is not consulted: this encoder speaks version 1. Also
 * returns GW_EINVAL for a bad argument, an unknown type, or a "msg" without
 * a payload (which the decoder would refuse).
 */
int gw_envelope_encode(const gw_envelope_t *e, char **out, size_t *out_len)
{
	static const int str_fields[] = { F_O, F_L, F_U, F_C, F_R };
	static const char str_keys[] = "olucr";
	const char *s[GW_ARRAY_LEN(str_fields)], *pay;
	size_t len[GW_ARRAY_LEN(str_fields)], pay_len;
	int have[GW_ARRAY_LEN(str_fields)], have_pay;
	const char *tname;
	size_t tlen, size, count, i;
	uint8_t *buf;
	wr_t w;
	int rc;

	if (!e || !out || !out_len)
		return GW_EINVAL;
	*out = NULL;
	*out_len = 0;
	if ((unsigned)e->type >= GW_ARRAY_LEN(type_names))
		return GW_EINVAL;
	tname = type_names[e->type];
	tlen = strlen(tname);

	/* v and t: key (2 bytes) + value each. */
	count = 2;
	size = 1 + 2 + 1 + 2 + str_head_size(tlen) + tlen;
	for (i = 0; i < GW_ARRAY_LEN(str_fields); i++) {
		rc = enc_field(e, str_fields[i], &s[i], &len[i]);
		if (rc < 0)
			return rc;
		have[i] = rc == GW_OK;
		if (have[i]) {
			count++;
			size += 2 + str_head_size(len[i]) + len[i];
		}
	}
	if (e->seq) {
		count++;
		size += 2 + uint_size(e->seq);
	}
	rc = enc_field(e, F_P, &pay, &pay_len);
	if (rc < 0)
		return rc;
	have_pay = rc == GW_OK;
	if (have_pay) {
		count++;
		size += 2 + bin_head_size(pay_len) + pay_len;
	} else if (e->type == GW_ENV_MSG) {
		return GW_EINVAL;
	}

	buf = gw_malloc(size);
	if (!buf)
		return GW_ENOMEM;
	w.p = buf;
	*w.p++ = (uint8_t)(0x80 | count); /* count <= 9: always a fixmap */
	put_key(&w, 'v');
	put_uint(&w, ENV_VERSION);
	put_key(&w, 't');
	put_str(&w, tname, tlen);
	for (i = 0; i < GW_ARRAY_LEN(str_fields); i++) {
		if (have[i]) {
			put_key(&w, str_keys[i]);
			put_str(&w, s[i], len[i]);
		}
	}
	if (e->seq) {
		put_key(&w, 'q');
		put_uint(&w, e->seq);
	}
	if (have_pay) {
		put_key(&w, 'p');
		put_bin(&w, pay, pay_len);
	}
	*out = (char *)buf;
	*out_len = (size_t)(w.p - buf);
	return GW_OK;
}

/* --- msgpack decoding --------------------------------------------------- */

static int rd_be(rd_t *r, unsigned bytes, uint64_t *v)
{
	if ((size_t)(r->end - r->p) < bytes)
		return GW_EINVAL;
	*v = 0;
	while (bytes--)
		*v = (*v << 8) | *r->p++;
	return GW_OK;
}

/*
 * Reads one object header. Integers and floats are consumed whole; for
 * str, bin, array, map and ext only the header is consumed and h->n is the
 * length or count, NOT yet checked against anything.
 */
static int mp_head(rd_t *r, mp_head_t *h)
{
	uint64_t v;
	uint8_t b;
	int rc;

	if (r->p >= r->end)
		return GW_EINVAL;
	b = *r->p++;
	h->n = 0;
	if (b <= 0x7f) {
		h->kind = MP_UINT;
		h->n = b;
		return GW_OK;
	}
	if (b >= 0xe0) {
		h->kind = MP_NINT;
		return GW_OK;
	}
	if ((b & 0xf0) == 0x80 || (b & 0xf0) == 0x90) {
		h->kind = (b & 0xf0) == 0x80 ? MP_MAP : MP_ARRAY;
		h->n = b & 0x0f;
		return GW_OK;
	}
	if ((b & 0xe0) == 0xa0) {
		h->kind = MP_STR;
		h->n = b & 0x1f;
		return GW_OK;
	}
	switch (b) {
	case 0xc0: h->kind = MP_NIL; return GW_OK;
	case 0xc2: case 0xc3: h->kind = MP_BOOL; return GW_OK;
	case 0xc4: h->kind = MP_BIN;   return rd_be(r, 1, &h->n);
	case 0xc5: h->kind = MP_BIN;   return rd_be(r, 2, &h->n);
	case 0xc6: h->kind = MP_BIN;   return rd_be(r, 4, &h->n);
	case 0xd9: h->kind = MP_STR;   return rd_be(r, 1, &h->n);
	case 0xda: h->kind = MP_STR;   return rd_be(r, 2, &h->n);
	case 0xdb: h->kind = MP_STR;   return rd_be(r, 4, &h->n);
	case 0xdc: h->kind = MP_ARRAY; return rd_be(r, 2, &h->n);
	case 0xdd: h->kind = MP_ARRAY; return rd_be(r, 4, &h->n);
	case 0xde: h->kind = MP_MAP;   return rd_be(r, 2, &h->n);
	case 0xdf: h->kind = MP_MAP;   return rd_be(r, 4, &h->n);
	case 0xca: h->kind = MP_FLOAT; return rd_be(r, 4, &v);
	case 0xcb: h->kind = MP_FLOAT; return rd_be(r, 8, &v);
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		h->kind = MP_UINT;
		return rd_be(r, 1u << (b - 0xcc), &h->n);
	case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
		/*
		 * Signed formats. Some packers (Go's, for int64 fields) use
		 * them for non-negative values, so those count as uints.
		 */
		unsigned bytes = 1u << (b - 0xd0);

		rc = rd_be(r, bytes, &v);
		if (rc < 0)
			return rc;
		if (v & ((uint64_t)1 << (8 * bytes - 1))) {
			h->kind = MP_NINT;
		} else {
			h->kind = MP_UINT;
			h->n = v;
		}
		return GW_OK;
	}
	case 0xc7: case 0xc8: case 0xc9:
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		h->kind = MP_EXT;
		return GW_OK;
	default: /* 0xc1, never used */
		h->kind = MP_BAD;
		return GW_OK;
	}
}

/*
 * Takes the body of a str or bin whose header was just read: the limit is
 * checked first (GW_ETOOBIG), then the bytes remaining (GW_EINVAL).
 */
static int mp_body(rd_t *r, const mp_head_t *h, size_t max, const char **s,
		   size_t *len)
{
	if (h->n > max)
		return GW_ETOOBIG;
	if (h->n > (uint64_t)(r->end - r->p))
		return GW_EINVAL;
	*s = (const char *)r->p;
	*len = (size_t)h->n;
	r->p += h->n;
	return GW_OK;
}

/* Reads a value of type str whose length is at most `max`. */
static int mp_str(rd_t *r, size_t max, const char **s, size_t *len)
{
	mp_head_t h;
	int rc = mp_head(r, &h);

	if (rc < 0)
		return rc;
	if (h.kind != MP_STR)
		return GW_EINVAL;
	return mp_body(r, &h, max, s, len);
}

static int mp_uint(rd_t *r, uint64_t max, uint64_t *v)
{
	mp_head_t h;
	int rc = mp_head(r, &h);

	if (rc < 0)
		return rc;
	if (h.kind != MP_UINT || h.n > max)
		return GW_EINVAL;
	*v = h.n;
	return GW_OK;
}

/* Reads "p": bin as we write it, or str as the doc also allows. */
static int mp_payload(rd_t *r, const char **s, size_t *len)
{
	mp_head_t h;
	int rc = mp_head(r, &h);

	if (rc < 0)
		return rc;
	if (h.kind != MP_STR && h.kind != MP_BIN)
		return GW_EINVAL;
	return mp_body(r, &h, GW_ENV_MAX_PAYLOAD, s, len);
}

/*
 * Reads the value of a key we do not know. Scalars, strings and blobs are
 * skipped (within the limits); anything that could nest — arrays, maps —
 * and ext types are refused, so the reader never recurses.
 */
static int mp_skip(rd_t *r)
{
	mp_head_t h;
	const char *s;
	size_t len;
	int rc = mp_head(r, &h);

	if (rc < 0)
		return rc;
	switch (h.kind) {
	case MP_NIL: case MP_BOOL: case MP_UINT: case MP_NINT: case MP_FLOAT:
		return GW_OK;
	case MP_STR:
		return mp_body(r, &h, GW_ENV_MAX_STR, &s, &len);
	case MP_BIN:
		return mp_body(r, &h, GW_ENV_MAX_PAYLOAD, &s, &len);
	default:
		return GW_EINVAL;
	}
}

static int decode_msgpack(const char *in, size_t len, gw_envelope_t *e)
{
	const char *keys[GW_ENV_MAX_KEYS], *s;
	size_t key_lens[GW_ENV_MAX_KEYS], slen;
	rd_t r = { (const uint8_t *)in, (const uint8_t *)in + len };
	unsigned seen = 0;
	uint64_t v = 0;
	mp_head_t map;
	size_t i, j;
	int rc, f;

	rc = mp_head(&r, &map);
	if (rc < 0)
		return rc;
	if (map.kind != MP_MAP)
		return GW_EINVAL;
	if (map.n > GW_ENV_MAX_KEYS)
		return GW_ETOOBIG;

	for (i = 0; i < map.n; i++) {
		rc = mp_str(&r, GW_ENV_MAX_STR, &keys[i], &key_lens[i]);
		if (rc < 0)
			return rc;
		for (j = 0; j < i; j++) {
			if (key_lens[j] == key_lens[i] &&
			    memcmp(keys[j], keys[i], key_lens[i]) == 0)
				return GW_EINVAL;
		}
		f = field_of(keys[i], key_lens[i]);
		seen |= 1u << f;
		switch (f) {
		case F_V:
			rc = mp_uint(&r, UINT32_MAX, &v);
			e->version = (uint32_t)v;
			break;
		case F_Q:
			rc = mp_uint(&r, UINT64_MAX, &e->seq);
			break;
		case F_T:
			rc = mp_str(&r, GW_ENV_MAX_STR, &s, &slen);
			if (rc == GW_OK)
				rc = type_of(s, slen, &e->type);
			break;
		case F_P:
			rc = mp_payload(&r, &e->payload, &e->payload_len);
			break;
		case F_UNKNOWN:
			rc = mp_skip(&r);
			break;
		default:
			rc = mp_str(&r, GW_ENV_MAX_STR, &s, &slen);
			if (rc == GW_OK)
				set_str(e, f, s, slen);
			break;
		}
		if (rc < 0)
			return rc;
	}
	if (r.p != r.end)
		return GW_EINVAL;
	if (!(seen & (1u << F_T)))
		return GW_EINVAL;
	if (!(seen & (1u << F_V)))
		e->version = ENV_VERSION;
	if (e->payload_len == 0) {
		e->payload = NULL;
		if (e->type == GW_ENV_MSG)
			return GW_EINVAL;
	}
	return GW_OK;
}

/* --- JSON decoding ------------------------------------------------------ */

/* A string member, borrowed from the parsed document. */
static int js_str(json_t *v, size_t max, const char **s, size_t *len)
{
	if (!json_is_string(v))
		return GW_EINVAL;
	*len = json_string_length(v);
	if (*len > max)
		return GW_ETOOBIG;
	*s = json_string_value(v);
	return GW_OK;
}

static int js_uint(json_t *v, uint64_t max, uint64_t *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return GW_EINVAL;
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return GW_EINVAL;
	*out = (uint64_t)i;
	return GW_OK;
}

/* "p" must be an object with a string "type": a frame clients understand. */
static int js_payload(json_t *v)
{
	return json_is_object(v) && json_is_string(json_object_get(v, "type")) ?
	       GW_OK : GW_EINVAL;
}

/*
 * Copies the payload and the string fields into one gw_malloc'd block,
 * e->owned, each NUL-terminated (a convenience; the _len fields rule), so
 * that gw_envelope_clear() has exactly one thing to free.
 */
static int js_own(gw_envelope_t *e, const char *pay, size_t pay_len,
		  const char *const *strs, const size_t *lens)
{
	size_t total = pay_len + 1;
	char *dst;
	int f;

	for (f = F_O; f <= F_R; f++)
		total += lens[f] + 1;
	e->owned = gw_malloc(total);
	if (!e->owned)
		return GW_ENOMEM;
	dst = e->owned;
	if (pay_len) {
		memcpy(dst, pay, pay_len);
		e->payload = dst;
		e->payload_len = pay_len;
	}
	dst[pay_len] = '\0';
	dst += pay_len + 1;
	for (f = F_O; f <= F_R; f++) {
		if (lens[f])
			memcpy(dst, strs[f], lens[f]);
		dst[lens[f]] = '\0';
		set_str(e, f, dst, lens[f]);
		dst += lens[f] + 1;
	}
	return GW_OK;
}

static int decode_json(const char *in, size_t len, gw_envelope_t *e)
{
	const char *strs[F_UNKNOWN] = { NULL }, *key, *s;
	size_t lens[F_UNKNOWN] = { 0 }, key_len, slen, pay_len = 0;
	json_t *root, *v, *p = NULL;
	json_error_t jerr;
	json_free_t jfree;
	char *pay = NULL;
	unsigned seen = 0;
	uint64_t n = 0;
	int rc = GW_OK, f;

	/* Sizes first: nothing is parsed that could not be accepted. */
	if (len > ENV_MAX_JSON ||
	    gw_json_count_values(in, len, GW_ENV_MAX_JSON_VALUES) >
	    GW_ENV_MAX_JSON_VALUES)
		return GW_ETOOBIG;
	/*
	 * jansson rejects trailing data unless told not to, and \u0000. It
	 * does not always say when it ran out of memory (some paths report
	 * a syntax error, some leave the error untouched — hence the memset,
	 * so the code then reads "unknown"): such failures come back as
	 * GW_EINVAL, which for a dropped envelope is the same outcome.
	 */
	memset(&jerr, 0, sizeof(jerr));
	root = json_loadb(in, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return json_error_code(&jerr) == json_error_out_of_memory ?
		       GW_ENOMEM : GW_EINVAL;
	if (!json_is_object(root)) {
		rc = GW_EINVAL;
		goto out;
	}
	if (json_object_size(root) > GW_ENV_MAX_KEYS) {
		rc = GW_ETOOBIG;
		goto out;
	}
	/*
	 * Unknown members are ignored whatever their type: the document is
	 * already parsed, so unlike msgpack there is no reader to protect.
	 */
	json_object_keylen_foreach(root, key, key_len, v) {
		if (key_len > GW_ENV_MAX_STR) {
			rc = GW_ETOOBIG;
			goto out;
		}
		f = field_of(key, key_len);
		seen |= 1u << f;
		switch (f) {
		case F_V:
			rc = js_uint(v, UINT32_MAX, &n);
			e->version = (uint32_t)n;
			break;
		case F_Q:
			rc = js_uint(v, UINT64_MAX, &e->seq);
			break;
		case F_T:
			rc = js_str(v, GW_ENV_MAX_STR, &s, &slen);
			if (rc == GW_OK)
				rc = type_of(s, slen, &e->type);
			break;
		case F_P:
			p = v;
			rc = js_payload(v);
			break;
		case F_UNKNOWN:
			break;
		default:
			rc = js_str(v, GW_ENV_MAX_STR, &strs[f], &lens[f]);
			break;
		}
		if (rc < 0)
			goto out;
	}
	if (!(seen & (1u << F_T))) {
		rc = GW_EINVAL;
		goto out;
	}
	if (!(seen & (1u << F_V)))
		e->version = ENV_VERSION;
	if (p) {
		pay = json_dumps(p, JSON_COMPACT);
		if (!pay) {
			rc = GW_ENOMEM;
			goto out;
		}
		pay_len = strlen(pay);
		if (pay_len > GW_ENV_MAX_PAYLOAD) {
			rc = GW_ETOOBIG;
			goto out;
		}
	} else if (e->type == GW_ENV_MSG) {
		rc = GW_EINVAL;
		goto out;
	}
	rc = js_own(e, pay, pay_len, strs, lens);
out:
	if (pay) {
		/* json_dumps() used jansson's allocator, which may not be ours. */
		json_get_alloc_funcs(NULL, &jfree);
		jfree(pay);
	}
	json_decref(root);
	return rc;
}

/* --- public entry points ------------------------------------------------ */

/*
 * `out` is overwritten without being cleared first: a caller reusing an
 * envelope calls gw_envelope_clear() between decodes. On failure `out` is
 * left cleared (all zero, nothing owned).
 */
int gw_envelope_decode(const char *in, size_t len, gw_envelope_t *out)
{
	uint8_t b;
	int rc;

	if (!out)
		return GW_EINVAL;
	memset(out, 0, sizeof(*out));
	if (!in || len == 0)
		return GW_EINVAL;
	b = (uint8_t)in[0];
	if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf)
		rc = decode_msgpack(in, len, out);
	else if (b == '{')
		rc = decode_json(in, len, out);
	else
		rc = GW_EINVAL;
	if (rc < 0)
		gw_envelope_clear(out);
	return rc;
}

void gw_envelope_clear(gw_envelope_t *e)
{
	if (!e)
		return;
	gw_free(e->owned);
	memset(e, 0, sizeof(*e));
}
