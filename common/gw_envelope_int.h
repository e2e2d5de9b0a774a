/*
 * gw_envelope_int.h — what the envelope codec's two files share
 * (gw_envelope.c: msgpack; gw_envelope_json.c: the JSON form). Private to
 * common/gw_envelope*.
 */
#ifndef GW_ENVELOPE_INT_H
#define GW_ENVELOPE_INT_H

#include "gw_envelope.h"

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

/* The field a one-letter key names (F_UNKNOWN otherwise). */
int gw_envelope__field_of(const char *key, size_t len);
/* The envelope type a name spells; GW_EINVAL for none. */
int gw_envelope__type_of(const char *s, size_t len, gw_env_type_t *t);
/* Sets string field `f` (F_O .. F_R); absent and empty both mean NULL. */
void gw_envelope__set_str(gw_envelope_t *e, int f, const char *s, size_t len);
/* Decodes the JSON form (first byte '{'); see gw_envelope_decode. */
int gw_envelope__decode_json(const char *in, size_t len, gw_envelope_t *e);

#endif
