/*
 * fuzz_protocol.c — the client-message parser (common/gw_protocol): every
 * text frame a client sends goes through gw_client_msg_parse().
 *
 * Properties: a refusal names one of the two documented codes; an accepted
 * message has the fields its type promises (data for broadcast, a
 * non-empty "to" for direct), readable to their lengths, and "data" is
 * valid JSON that the server frames can embed verbatim.
 */
#include "fuzz.h"
#include "gw_buf.h"
#include "gw_protocol.h"

#include <jansson.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_client_msg_t m;
	const char *code = NULL;
	gw_buf_t *b;

	if (gw_client_msg_parse((const char *)data, size, &m, &code) != GW_OK) {
		FUZZ_CHECK(code && (!strcmp(code, "bad_json") || !strcmp(code, "bad_message")));
		FUZZ_CHECK(!m.root && !m.data); /* nothing left to release */
		return 0;
	}
	FUZZ_CHECK(m.type_name && m.type <= GW_MSG_UNKNOWN);
	fuzz_touch(m.type_name, strlen(m.type_name));
	if (m.type == GW_MSG_BROADCAST)
		FUZZ_CHECK(m.data);
	if (m.type == GW_MSG_DIRECT) {
		FUZZ_CHECK(m.data && m.to && m.to_len > 0);
		fuzz_touch(m.to, m.to_len);
	}
	if (m.data) {
		json_t *back;

		FUZZ_CHECK(m.data_len == strlen(m.data));
		back = json_loadb(m.data, m.data_len, JSON_DECODE_ANY, NULL);
		FUZZ_CHECK(back);
		json_decref(back);
		/* The frame a lobby would receive must itself be valid JSON. */
		b = gw_proto_message("lobby", "user", m.data, m.data_len);
		FUZZ_CHECK(b);
		back = json_loadb((const char *)gw_buf_data(b), b->len, 0, NULL);
		FUZZ_CHECK(json_is_object(back));
		json_decref(back);
		gw_buf_unref(b);
	}
	gw_client_msg_clear(&m);
	return 0;
}
