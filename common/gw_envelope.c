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
 * msgpack goes through msgpack-c both ways. The packer writes straight into
 * the one buffer the caller gets back (a write callback over it), so an
 * encode is one gw_malloc and no copy. The unpacker is a different matter:
 * envelopes arrive from anyone who can PUBLISH on the cluster, and
 * msgpack-c's C unpacker trusts what it reads — an array or map header is
 * answered by allocating for the count it declares before a single element
 * is read (a map32 claiming 2^32-1 entries asks for 128 GiB). So the bytes
 * are first walked by precheck() below, which allocates nothing and
 * refuses any declared length or count past the limits or past the bytes
 * left, and any container nested inside the envelope map. Only input that
 * passes is handed to msgpack-c, which then needs room for one map of at
 * most GW_ENV_MAX_KEYS pairs — a fixed block on the stack (see
 * decode_msgpack) — while strings and blobs point into the input. The
 * fields are then read off the unpacked map with the same rules and error
 * codes as ever.
 */
#include "gw_envelope.h"
#include "gw_envelope_int.h"

#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "gw_alloc.h"
#include "gw_json.h"

/*
 * How deep the pre-check lets containers nest: 1 is the envelope map
 * itself, whose values are scalars, strings and blobs. Anything deeper is
 * refused before msgpack-c allocates for it.
 */
#define ENV_MAX_DEPTH 1

/*
 * An upper bound on the msgpack framing of an encoded envelope, so that the
 * encoder can allocate once before packing: a map header (at most 5 bytes)
 * and, per field, a one-byte key (2 bytes as a fixstr) plus the largest
 * value header (9 bytes: a uint64; a str32 or bin32 header is 5).
 */
#define ENV_FRAMING_MAX (5 + 9 /* fields */ * (2 + 9))


static const char *const type_names[] = {
	[GW_ENV_MSG] = "msg",
	[GW_ENV_KICK] = "kick",
	[GW_ENV_PROBE] = "probe",
};

/* --- shared helpers ----------------------------------------------------- */

/* The field a key names: one letter, see docs/redis-schema.md. */
int gw_envelope__field_of(const char *key, size_t len)
{
	if (len != 1)
		return F_UNKNOWN;
	switch (key[0]) {
	case 'v': return F_V;
	case 't': return F_T;
	case 'o': return F_O;
	case 'l': return F_L;
	case 'u': return F_U;
	case 'c': return F_C;
	case 'r': return F_R;
	case 'q': return F_Q;
	case 'p': return F_P;
	default:  return F_UNKNOWN;
	}
}

int gw_envelope__type_of(const char *s, size_t len, gw_env_type_t *t)
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
void gw_envelope__set_str(gw_envelope_t *e, int f, const char *s, size_t len)
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

/* The packer's destination: the caller's buffer, bounded. */
typedef struct {
	char *p;
	char *end;
} wr_t;

static int wr_write(void *data, const char *buf, size_t len)
{
	wr_t *w = data;

	if (len > (size_t)(w->end - w->p))
		return -1;
	if (len == 1) /* most calls: a one-byte header or key */
		*w->p = *buf;
	else
		memcpy(w->p, buf, len);
	w->p += len;
	return 0;
}

/*
 * msgpack-c's pack calls return 0 or -1 (the write callback's refusal).
 * Forced inline: once every pack call sits in gw_envelope_encode(), where
 * the packer is initialised, the compiler calls wr_write() directly and
 * inlines it instead of going through the callback pointer; that takes
 * about 30% off an encode.
 */
#define PACK_INLINE static inline __attribute__((always_inline))

PACK_INLINE int pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	return msgpack_pack_str(pk, len) || msgpack_pack_str_body(pk, s, len);
}

PACK_INLINE int pack_key(msgpack_packer *pk, char key)
{
	return pack_str(pk, &key, 1);
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
 * and p — the order, and msgpack-c's smallest formats, are what every node
 * has always written (the unit tests hold golden bytes). e->version is not
 * consulted: this encoder speaks version 1. Also returns GW_EINVAL for a
 * bad argument, an unknown type, or a "msg" without a payload (which the
 * decoder would refuse).
 */
static int encode(const gw_envelope_t *e, int head, char **out, size_t *out_len)
{
	static const int str_fields[] = { F_O, F_L, F_U, F_C, F_R };
	static const char str_keys[] = "olucr";
	const char *s[GW_ARRAY_LEN(str_fields)], *pay;
	size_t len[GW_ARRAY_LEN(str_fields)], pay_len;
	int have[GW_ARRAY_LEN(str_fields)], have_pay;
	msgpack_packer pk;
	const char *tname;
	size_t size, count, i;
	char *buf;
	wr_t w;
	int rc;

	if (!e || !out || !out_len)
		return GW_EINVAL;
	*out = NULL;
	*out_len = 0;
	if ((unsigned)e->type >= GW_ARRAY_LEN(type_names))
		return GW_EINVAL;
	tname = type_names[e->type];

	count = 2; /* v and t */
	size = ENV_FRAMING_MAX + strlen(tname);
	for (i = 0; i < GW_ARRAY_LEN(str_fields); i++) {
		rc = enc_field(e, str_fields[i], &s[i], &len[i]);
		if (rc < 0)
			return rc;
		have[i] = rc == GW_OK;
		if (have[i]) {
			count++;
			size += len[i];
		}
	}
	count += e->seq != 0;
	rc = enc_field(e, F_P, &pay, &pay_len);
	if (rc < 0)
		return rc;
	have_pay = rc == GW_OK;
	if (head) {
		count++; /* the caller writes the value */
	} else if (have_pay) {
		count++;
		size += pay_len;
	} else if (e->type == GW_ENV_MSG) {
		return GW_EINVAL;
	}

	buf = gw_malloc(size);
	if (!buf)
		return GW_ENOMEM;
	w.p = buf;
	w.end = buf + size;
	msgpack_packer_init(&pk, &w, wr_write);
	rc = msgpack_pack_map(&pk, count) ||
	     pack_key(&pk, 'v') || msgpack_pack_uint32(&pk, ENV_VERSION) ||
	     pack_key(&pk, 't') || pack_str(&pk, tname, strlen(tname));
	for (i = 0; i < GW_ARRAY_LEN(str_fields) && !rc; i++) {
		if (have[i])
			rc = pack_key(&pk, str_keys[i]) ||
			     pack_str(&pk, s[i], len[i]);
	}
	if (!rc && e->seq)
		rc = pack_key(&pk, 'q') || msgpack_pack_uint64(&pk, e->seq);
	if (!rc && head)
		rc = pack_key(&pk, 'p');
	else if (!rc && have_pay)
		rc = pack_key(&pk, 'p') || msgpack_pack_bin(&pk, pay_len) ||
		     msgpack_pack_bin_body(&pk, pay, pay_len);
	if (rc) {
		/* Cannot happen while ENV_FRAMING_MAX is an upper bound. */
		gw_free(buf);
		return GW_EINVAL;
	}
	*out = buf;
	*out_len = (size_t)(w.p - buf);
	return GW_OK;
}

int gw_envelope_encode(const gw_envelope_t *e, char **out, size_t *out_len)
{
	return encode(e, 0, out, out_len);
}

int gw_envelope_encode_head(const gw_envelope_t *e, char **out, size_t *out_len)
{
	return encode(e, 1, out, out_len);
}

/* --- msgpack pre-check -------------------------------------------------- */

/* A bounded cursor over untrusted bytes. */
typedef struct {
	const uint8_t *p;
	const uint8_t *end;
} rd_t;

static size_t rd_left(const rd_t *r)
{
	return (size_t)(r->end - r->p);
}

/* A big-endian length of `bytes` bytes, if that many are left. */
static int rd_be(rd_t *r, unsigned bytes, uint64_t *v)
{
	if (rd_left(r) < bytes)
		return GW_EINVAL;
	*v = 0;
	while (bytes--)
		*v = (*v << 8) | *r->p++;
	return GW_OK;
}

/* Skips `n` bytes of a body, if they are there. */
static int rd_skip(rd_t *r, uint64_t n)
{
	if (n > rd_left(r))
		return GW_EINVAL;
	r->p += n;
	return GW_OK;
}

/*
 * Reads one object's header and skips whatever is not a container: a
 * scalar's value, a str/bin/ext body (the length checked against the
 * largest thing an envelope may hold — GW_ETOOBIG — then against the bytes
 * left — GW_EINVAL). For an array or map, *items is the number of objects
 * that follow (twice the count for a map), not yet checked; otherwise 0.
 */
static int scan_one(rd_t *r, int *container, uint64_t *items)
{
	uint64_t n;
	uint8_t b;
	int rc;

	*container = 0;
	*items = 0;
	if (r->p >= r->end)
		return GW_EINVAL;
	b = *r->p++;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return GW_OK; /* fixint, nil, bool */
	if ((b & 0xe0) == 0xa0) {
		n = b & 0x1f;
		goto body;
	}
	if ((b & 0xe0) == 0x80) { /* fixmap 0x80.., fixarray 0x90.. */
		*container = 1;
		*items = (uint64_t)(b & 0x0f) << ((b & 0xf0) == 0x80);
		return GW_OK;
	}
	switch (b) {
	case 0xcc: case 0xd0: return rd_skip(r, 1);
	case 0xcd: case 0xd1: return rd_skip(r, 2);
	case 0xce: case 0xd2: case 0xca: return rd_skip(r, 4);
	case 0xcf: case 0xd3: case 0xcb: return rd_skip(r, 8);
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext */
		return rd_skip(r, 1 + (1u << (b - 0xd4))); /* type, body */
	case 0xc7: case 0xc8: case 0xc9: /* ext: length, type, body */
		rc = rd_be(r, 1u << (b - 0xc7), &n);
		return rc < 0 ? rc : rd_skip(r, n + 1);
	case 0xc4: case 0xc5: case 0xc6:
		rc = rd_be(r, 1u << (b - 0xc4), &n);
		break;
	case 0xd9: case 0xda: case 0xdb:
		rc = rd_be(r, 1u << (b - 0xd9), &n);
		break;
	case 0xdc: case 0xdd: case 0xde: case 0xdf:
		*container = 1;
		rc = rd_be(r, b & 1 ? 4 : 2, items);
		if (rc == GW_OK && b >= 0xde)
			*items *= 2;
		return rc;
	default: /* 0xc1, never used */
		return GW_EINVAL;
	}
	if (rc < 0)
		return rc;
body:
	if (n > GW_ENV_MAX_PAYLOAD)
		return GW_ETOOBIG;
	return rd_skip(r, n);
}

/*
 * Walks exactly one msgpack object spanning all of `in`, without
 * allocating and without recursion (a counter per open level). Refuses,
 * before msgpack-c could act on them: containers nested deeper than
 * ENV_MAX_DEPTH (GW_EINVAL); a map of more than GW_ENV_MAX_KEYS pairs
 * (an array: twice as many elements; GW_ETOOBIG) or declaring more objects
 * than there are bytes left (each takes at least one; GW_EINVAL); str/bin/
 * ext lengths as scan_one() does; truncation and trailing bytes
 * (GW_EINVAL). The depth check comes first, so a nested container is
 * GW_EINVAL whatever it claims, as it always was.
 */
static int precheck(const char *in, size_t len)
{
	rd_t r = { (const uint8_t *)in, (const uint8_t *)in + len };
	uint64_t todo[ENV_MAX_DEPTH + 1], items;
	unsigned depth = 0;
	int rc, container;

	todo[0] = 1;
	for (;;) {
		while (todo[depth] == 0) {
			if (depth == 0)
				return r.p == r.end ? GW_OK : GW_EINVAL;
			depth--;
		}
		todo[depth]--;
		rc = scan_one(&r, &container, &items);
		if (rc < 0)
			return rc;
		if (!container)
			continue;
		if (depth == ENV_MAX_DEPTH)
			return GW_EINVAL;
		if (items > 2 * (uint64_t)GW_ENV_MAX_KEYS)
			return GW_ETOOBIG;
		if (items > rd_left(&r))
			return GW_EINVAL;
		todo[++depth] = items;
	}
}

/* --- msgpack decoding --------------------------------------------------- */

/* A str value of at most `max` bytes. */
static int ob_str(const msgpack_object *o, size_t max, const char **s,
		  size_t *len)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return GW_EINVAL;
	if (o->via.str.size > max)
		return GW_ETOOBIG;
	*s = o->via.str.ptr;
	*len = o->via.str.size;
	return GW_OK;
}

/*
 * A non-negative integer of at most `max`. msgpack-c reports signed
 * formats holding non-negative values (Go's packer writes them for int64
 * fields) as positive integers too.
 */
static int ob_uint(const msgpack_object *o, uint64_t max, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
		return GW_EINVAL;
	*v = o->via.u64;
	return GW_OK;
}

/* "p": bin as we write it, or str as the doc also allows. */
static int ob_payload(const msgpack_object *o, const char **s, size_t *len)
{
	if (o->type == MSGPACK_OBJECT_STR)
		return ob_str(o, GW_ENV_MAX_PAYLOAD, s, len);
	if (o->type != MSGPACK_OBJECT_BIN)
		return GW_EINVAL;
	if (o->via.bin.size > GW_ENV_MAX_PAYLOAD)
		return GW_ETOOBIG;
	*s = o->via.bin.ptr;
	*len = o->via.bin.size;
	return GW_OK;
}

/*
 * The value of a key we do not know: scalars are ignored, strings and
 * blobs too within the limits; arrays, maps (which the pre-check already
 * refused) and ext values are refused.
 */
static int ob_unknown(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
	case MSGPACK_OBJECT_BOOLEAN:
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return GW_OK;
	case MSGPACK_OBJECT_STR:
		return o->via.str.size > GW_ENV_MAX_STR ? GW_ETOOBIG : GW_OK;
	case MSGPACK_OBJECT_BIN:
		return o->via.bin.size > GW_ENV_MAX_PAYLOAD ? GW_ETOOBIG :
		       GW_OK;
	default:
		return GW_EINVAL;
	}
}

/* Reads the fields off the unpacked envelope map, in the order sent. */
static int from_map(const msgpack_object *root, gw_envelope_t *e)
{
	const msgpack_object_map *m = &root->via.map;
	const char *s;
	size_t slen, klen;
	unsigned seen = 0;
	uint64_t v = 0;
	uint32_t i, j;
	int rc, f;

	if (root->type != MSGPACK_OBJECT_MAP)
		return GW_EINVAL;
	for (i = 0; i < m->size; i++) {
		const msgpack_object *key = &m->ptr[i].key;
		const msgpack_object *val = &m->ptr[i].val;

		rc = ob_str(key, GW_ENV_MAX_STR, &s, &klen);
		if (rc < 0)
			return rc;
		/*
		 * Duplicates are refused. A known key repeats only itself
		 * (its bit is set); an unknown one is compared with the
		 * earlier keys.
		 */
		f = gw_envelope__field_of(s, klen);
		if (f != F_UNKNOWN && (seen & (1u << f)))
			return GW_EINVAL;
		for (j = 0; f == F_UNKNOWN && j < i; j++) {
			const msgpack_object *k2 = &m->ptr[j].key;

			/* An empty key's ptr is NULL: memcmp may not see it. */
			if (k2->via.str.size == klen &&
			    (klen == 0 || memcmp(k2->via.str.ptr, s, klen) == 0))
				return GW_EINVAL;
		}
		seen |= 1u << f;
		switch (f) {
		case F_V:
			rc = ob_uint(val, UINT32_MAX, &v);
			e->version = (uint32_t)v;
			break;
		case F_Q:
			rc = ob_uint(val, UINT64_MAX, &e->seq);
			break;
		case F_T:
			rc = ob_str(val, GW_ENV_MAX_STR, &s, &slen);
			if (rc == GW_OK)
				rc = gw_envelope__type_of(s, slen, &e->type);
			break;
		case F_P:
			rc = ob_payload(val, &e->payload, &e->payload_len);
			break;
		case F_UNKNOWN:
			rc = ob_unknown(val);
			break;
		default:
			rc = ob_str(val, GW_ENV_MAX_STR, &s, &slen);
			if (rc == GW_OK)
				gw_envelope__set_str(e, f, s, slen);
			break;
		}
		if (rc < 0)
			return rc;
	}
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

/*
 * Pre-check, then msgpack_unpack() into a zone over a stack block. That
 * is msgpack-c's one C entry point that takes the caller's zone
 * (msgpack_unpack_next() allocates an 8 KiB zone per call), and a zone
 * whose current chunk is our block serves msgpack_zone_malloc() from it
 * (zone.h's inline fast path) without a heap allocation. After the
 * pre-check, the envelope map's pairs are all msgpack-c allocates, so the
 * block (GW_ENV_MAX_KEYS pairs, plus alignment slack) always suffices;
 * were it ever to fall short, msgpack-c would grow the zone on the heap
 * with chunk_list.head pointing at the chunks it added, freed below.
 */
static int decode_msgpack(const char *in, size_t len, gw_envelope_t *e)
{
	union {
		msgpack_object_kv kv[GW_ENV_MAX_KEYS + 1];
		char c[1];
	} block;
	msgpack_object root;
	msgpack_zone z;
	size_t off = 0;
	int rc;

	rc = precheck(in, len);
	if (rc < 0)
		return rc;
	memset(&z, 0, sizeof(z));
	z.chunk_list.ptr = block.c;
	z.chunk_list.free = sizeof(block);
	z.chunk_size = sizeof(block);
	switch (msgpack_unpack(in, len, &off, &z, &root)) {
	case MSGPACK_UNPACK_SUCCESS:
		rc = from_map(&root, e);
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		rc = GW_ENOMEM;
		break;
	default: /* what the pre-check let through, msgpack-c should too */
		rc = GW_EINVAL;
		break;
	}
	if (z.chunk_list.head)
		msgpack_zone_destroy(&z);
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
		rc = gw_envelope__decode_json(in, len, out);
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
