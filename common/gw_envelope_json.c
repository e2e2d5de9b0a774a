/*
 * gw_envelope_json.c — the JSON form of envelopes, for backends that
 * publish with a plain Redis client (docs/redis-schema.md): the same fields
 * as the msgpack map, with `p` a JSON object re-serialised compactly once.
 * Sizes are checked before anything is parsed (gw_json_count_values).
 */
#include "gw_envelope.h"
#include "gw_envelope_int.h"
#include "gw_alloc.h"
#include "gw_json.h"

#include <jansson.h>
#include <string.h>

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
		gw_envelope__set_str(e, f, dst, lens[f]);
		dst += lens[f] + 1;
	}
	return GW_OK;
}

int gw_envelope__decode_json(const char *in, size_t len, gw_envelope_t *e)
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
		f = gw_envelope__field_of(key, key_len);
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
				rc = gw_envelope__type_of(s, slen, &e->type);
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

