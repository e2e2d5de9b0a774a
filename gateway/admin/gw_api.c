/*
 * gw_api.c — reading the server API's request bodies (see gw_api.h).
 *
 * The order of the checks is the order of the answers a client sees: the
 * size first (before a byte is parsed), then the JSON, then the optional
 * string fields (the first bad one named), then what the endpoint needs.
 */
#include "gw_api.h"
#include "gw_protocol.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ops[] = {
	[GW_API_PUBLISH] = "publish",
	[GW_API_SEND] = "send",
	[GW_API_BROADCAST] = "broadcast",
	[GW_API_KICK] = "kick",
};

void gw_api_req_clear(gw_api_req_t *r)
{
	json_decref(r->root);
	free(r->data); /* jansson's json_dumps allocated it */
	memset(r, 0, sizeof(*r));
}

static int refuse(gw_api_req_t *r, int *status, const char **code, char *msg,
		  size_t msglen, int st, const char *c, const char *text)
{
	gw_api_req_clear(r);
	*status = st;
	*code = c;
	snprintf(msg, msglen, "%s", text);
	return st == 500 ? GW_ENOMEM : st == 413 ? GW_ETOOBIG : GW_EINVAL;
}

/*
 * An optional string field: NULL when absent; present but not a non-empty
 * string sets `*bad` (to the first such field's name).
 */
static const char *str_field(json_t *j, const char *k, const char **bad)
{
	json_t *v = json_object_get(j, k);

	if (!v)
		return NULL;
	if (json_is_string(v) && json_string_length(v))
		return json_string_value(v);
	if (!*bad)
		*bad = k;
	return NULL;
}

int gw_api_req_parse(const char *what, const char *body, size_t len,
		     gw_api_req_t *out, int *status, const char **code,
		     char *msg, size_t msglen)
{
	const char *bad = NULL;
	char text[96];
	json_t *j, *v;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < GW_ARRAY_LEN(ops) && strcmp(what, ops[i]); i++)
		;
	if (i == GW_ARRAY_LEN(ops))
		return refuse(out, status, code, msg, msglen, 404, "not_found",
			      "no such endpoint");
	out->op = (gw_api_op_t)i;
	if (len > GW_API_BODY_MAX)
		return refuse(out, status, code, msg, msglen, 413, "too_large",
			      "request body over 64 KiB");
	j = json_loadb(body, len, 0, NULL);
	out->root = j;
	if (!json_is_object(j))
		return refuse(out, status, code, msg, msglen, 400, "bad_request",
			      "the body must be a JSON object");
	out->from = str_field(j, "from", &bad);
	out->lobby = str_field(j, "lobby", &bad);
	out->user = str_field(j, "user", &bad);
	out->conn = str_field(j, "connection_id", &bad);
	if (bad) {
		snprintf(text, sizeof(text), "field %s must be a non-empty string", bad);
		return refuse(out, status, code, msg, msglen, 400, "bad_request", text);
	}
	if (!out->from)
		out->from = "server";
	if (out->op == GW_API_KICK) {
		if (!out->user)
			return refuse(out, status, code, msg, msglen, 400, "bad_request",
				      "missing field: user");
		return GW_OK;
	}
	if (!(v = json_object_get(j, "data")))
		return refuse(out, status, code, msg, msglen, 400, "bad_request",
			      "missing field: data");
	if (!(out->data = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)))
		return refuse(out, status, code, msg, msglen, 500, "internal",
			      "out of memory");
	out->data_len = strlen(out->data);
	if (out->op == GW_API_PUBLISH &&
	    (!out->lobby || !gw_lobby_name_valid(out->lobby, strlen(out->lobby))))
		return refuse(out, status, code, msg, msglen, 400, "bad_request",
			      "missing or invalid field: lobby");
	if (out->op == GW_API_SEND && !out->user)
		return refuse(out, status, code, msg, msglen, 400, "bad_request",
			      "missing field: user");
	return GW_OK;
}
