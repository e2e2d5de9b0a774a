/*
 * gw_envelope.h — inter-node envelopes on Redis pub/sub (msgpack, and a
 * JSON form for backends). docs/redis-schema.md is the contract.
 *
 * Both directions use msgpack-c. Decoding is defensive: msgpack-c's
 * unpacker has no element-count cap, so a bounded pre-check first
 * validates every declared size and count against the limits below and
 * the bytes present, and refuses nested containers, BEFORE msgpack-c
 * allocates anything; truncated input or trailing bytes reject the
 * envelope.
 */
#ifndef GW_ENVELOPE_H
#define GW_ENVELOPE_H

#include "gw_common.h"

#define GW_ENV_MAX_KEYS 16
#define GW_ENV_MAX_STR 256
#define GW_ENV_MAX_PAYLOAD (1024 * 1024)
/*
 * A JSON envelope may hold at most this many JSON values (counted before
 * parsing, see gw_json.h): the parse of the largest then takes a few
 * milliseconds and a few megabytes, whatever the document's size. Large
 * payloads are fine as long strings; a payload of more than 16,384 numbers
 * is refused.
 */
#define GW_ENV_MAX_JSON_VALUES 16384

typedef enum {
	GW_ENV_MSG = 0, /* "msg": deliver payload to local receivers */
	GW_ENV_KICK,    /* "kick": close a user's / a connection's sockets */
	GW_ENV_PROBE,   /* "probe": the node's own readiness round-trip */
} gw_env_type_t;

/*
 * A decoded envelope. Strings point into the input buffer (or into the
 * envelope's own storage for JSON) and are NOT NUL-terminated: use the
 * _len fields. `payload` is the JSON frame to deliver, verbatim.
 */
typedef struct {
	gw_env_type_t type;
	uint32_t version;
	const char *origin; size_t origin_len;
	const char *lobby;  size_t lobby_len;
	const char *user;   size_t user_len;
	const char *conn;   size_t conn_len;
	const char *reason; size_t reason_len;
	uint64_t seq;
	const char *payload; size_t payload_len;
	char *owned; /* storage for the JSON form; freed by gw_envelope_clear */
} gw_envelope_t;

/*
 * Encodes `e` as a msgpack map into a new buffer (gw_malloc'd, caller
 * frees with gw_free). Empty/NULL strings are omitted. Returns GW_OK,
 * GW_ETOOBIG past the limits, or GW_ENOMEM.
 */
int gw_envelope_encode(const gw_envelope_t *e, char **out, size_t *out_len);

/*
 * The same map without the payload's value: the map header counts "p" and
 * the buffer ends with its key, so that whoever knows the payload later
 * appends one msgpack bin or str (the history script does: the frame it
 * publishes carries the offset it has just assigned). e->payload is not
 * read. Ownership and errors as gw_envelope_encode.
 */
int gw_envelope_encode_head(const gw_envelope_t *e, char **out, size_t *out_len);

/*
 * Decodes `in`: a msgpack map (first byte 0x80..0x8f, 0xde or 0xdf) or a
 * JSON object (first byte '{'). The result may point into `in`, which must
 * outlive it. Returns GW_OK or GW_EINVAL (malformed, truncated, trailing
 * data, wrong types, nested arrays/maps, unknown "t", missing payload for
 * "msg") or GW_ETOOBIG (past a limit). A msgpack length past the largest
 * limit is GW_ETOOBIG even when the input is also cut short; one within it
 * but past the end is GW_EINVAL. Always call gw_envelope_clear afterwards.
 */
int gw_envelope_decode(const char *in, size_t len, gw_envelope_t *out);
void gw_envelope_clear(gw_envelope_t *e);

#endif
