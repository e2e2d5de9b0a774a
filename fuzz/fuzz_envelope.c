/*
 * fuzz_envelope.c — the inter-node envelope decoder (common/gw_envelope),
 * through its public API only: whatever another node (or anyone who can
 * PUBLISH to Redis) sends reaches gw_envelope_decode().
 *
 * The input is decoded as is (msgpack or JSON, as its first byte says).
 * What decodes must be readable to the lengths it claims, and must survive
 * a round trip: encoding it and decoding the result gives the same fields
 * (the version excepted: the encoder always writes its own).
 */
#include "fuzz.h"
#include "gw_alloc.h"
#include "gw_envelope.h"

#include <string.h>

static void same(const char *a, size_t al, const char *b, size_t bl)
{
	FUZZ_CHECK(al == bl);
	FUZZ_CHECK(al == 0 || memcmp(a, b, al) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_envelope_t e, back;
	char *enc = NULL;
	size_t enc_len = 0;

	if (gw_envelope_decode((const char *)data, size, &e) != GW_OK) {
		gw_envelope_clear(&e);
		return 0;
	}
	FUZZ_CHECK(e.type == GW_ENV_MSG || e.type == GW_ENV_KICK ||
		   e.type == GW_ENV_PROBE);
	FUZZ_CHECK(e.origin_len <= GW_ENV_MAX_STR && e.lobby_len <= GW_ENV_MAX_STR &&
		   e.user_len <= GW_ENV_MAX_STR && e.conn_len <= GW_ENV_MAX_STR &&
		   e.reason_len <= GW_ENV_MAX_STR);
	FUZZ_CHECK(e.payload_len <= GW_ENV_MAX_PAYLOAD);
	FUZZ_CHECK(e.type != GW_ENV_MSG || e.payload);
	/* Every byte the envelope points at must be readable (ASan checks). */
	fuzz_touch(e.origin, e.origin_len);
	fuzz_touch(e.lobby, e.lobby_len);
	fuzz_touch(e.user, e.user_len);
	fuzz_touch(e.conn, e.conn_len);
	fuzz_touch(e.reason, e.reason_len);
	fuzz_touch(e.payload, e.payload_len);

	if (gw_envelope_encode(&e, &enc, &enc_len) == GW_OK) {
		FUZZ_CHECK(gw_envelope_decode(enc, enc_len, &back) == GW_OK);
		FUZZ_CHECK(back.type == e.type && back.seq == e.seq);
		same(back.origin, back.origin_len, e.origin, e.origin_len);
		same(back.lobby, back.lobby_len, e.lobby, e.lobby_len);
		same(back.user, back.user_len, e.user, e.user_len);
		same(back.conn, back.conn_len, e.conn, e.conn_len);
		same(back.reason, back.reason_len, e.reason, e.reason_len);
		same(back.payload, back.payload_len, e.payload, e.payload_len);
		gw_envelope_clear(&back);
		gw_free(enc);
	}
	gw_envelope_clear(&e);
	return 0;
}
