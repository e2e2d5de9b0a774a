/*
 * fuzz_admin.c — the admin API's request bodies (gateway/gw_api.c): what a
 * backend POSTs to /api/publish, /api/send, /api/broadcast and /api/kick.
 *
 * The first input byte picks the endpoint (a fifth value an unknown one),
 * the rest is the body. Properties: a refusal carries a documented status,
 * a code and a message, and leaves nothing to release; an accepted
 * request has what its endpoint needs (a valid lobby for publish, a user
 * for send and kick, data except for kick) as NUL-terminated strings, and
 * the frame built from it is valid JSON.
 */
#include "fuzz.h"
#include "gw_api.h"
#include "gw_buf.h"
#include "gw_protocol.h"

#include <jansson.h>
#include <string.h>

static const char *const whats[] = { "publish", "send", "broadcast", "kick", "nodes" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in_t in = { data, size };
	const char *what = whats[fuzz_u8(&in) % GW_ARRAY_LEN(whats)];
	char *body = malloc(in.left ? in.left : 1), msg[96];
	const char *code = NULL;
	gw_api_req_t r;
	int status = 0;

	FUZZ_CHECK(body);
	memcpy(body, in.p, in.left);
	memset(msg, 'x', sizeof(msg));
	if (gw_api_req_parse(what, body, in.left, &r, &status, &code, msg,
			     sizeof(msg)) != GW_OK) {
		FUZZ_CHECK(status == 400 || status == 404 || status == 413 || status == 500);
		FUZZ_CHECK(code && memchr(msg, '\0', sizeof(msg)) && msg[0]);
		FUZZ_CHECK(!r.root && !r.data);
	} else {
		FUZZ_CHECK(strcmp(what, "nodes") != 0);
		FUZZ_CHECK(r.from && *r.from);
		if (r.op == GW_API_PUBLISH)
			FUZZ_CHECK(r.lobby && gw_lobby_name_valid(r.lobby, strlen(r.lobby)));
		if (r.op == GW_API_SEND || r.op == GW_API_KICK)
			FUZZ_CHECK(r.user && *r.user);
		if (r.conn)
			fuzz_touch(r.conn, strlen(r.conn));
		if (r.op == GW_API_KICK) {
			FUZZ_CHECK(!r.data);
		} else {
			gw_buf_t *b;
			json_t *j;

			FUZZ_CHECK(r.data && r.data_len == strlen(r.data));
			b = r.op == GW_API_SEND
				    ? gw_proto_direct(r.from, r.data, r.data_len)
				    : gw_proto_message(r.lobby ? r.lobby : "*", r.from,
						       r.data, r.data_len);
			FUZZ_CHECK(b);
			j = json_loadb((const char *)gw_buf_data(b), b->len, 0, NULL);
			FUZZ_CHECK(json_is_object(j));
			json_decref(j);
			gw_buf_unref(b);
		}
	}
	gw_api_req_clear(&r);
	free(body);
	return 0;
}
