/*
 * gw_api.h — the server API's request bodies (docs/api.md).
 *
 * POST /api/publish, /api/send, /api/broadcast and /api/kick take a JSON
 * object. Reading and validating it lives here, apart from evhttp, so the
 * admin listener (gw_admin.c) only moves bytes and acts on the result, and
 * the fuzzer (fuzz/fuzz_admin.c) reaches the same code without a socket.
 */
#ifndef GW_API_H
#define GW_API_H

#include "gw_common.h"

#define GW_API_BODY_MAX (64 * 1024) /* larger bodies are refused unread */

typedef enum {
	GW_API_PUBLISH = 0, /* lobby and data */
	GW_API_SEND,        /* user and data */
	GW_API_BROADCAST,   /* data */
	GW_API_KICK,        /* user, optionally connection_id */
} gw_api_op_t;

typedef struct {
	gw_api_op_t op;
	/* Borrowed from the parsed body, valid until gw_api_req_clear. NULL
	 * when absent; present ones are non-empty, NUL-free strings. */
	const char *from;  /* "server" when absent */
	const char *lobby; /* publish: a valid lobby name */
	const char *user;  /* send and kick: required */
	const char *conn;  /* "connection_id" */
	char *data;        /* "data" as compact JSON, owned; NULL for kick */
	size_t data_len;
	void *root;        /* the parsed body (json_t *) */
} gw_api_req_t;

/*
 * Parses the body of POST /api/`what` (`what`: "publish", "send",
 * "broadcast" or "kick"; `body` is `len` bytes, read only when `len` is
 * within GW_API_BODY_MAX). Returns GW_OK with `out` filled; otherwise an
 * error with `*status` (400, 404, 413 or 500), `*code` (static) and
 * `msg` (NUL-terminated) to answer with, and `out` empty. Release `out`
 * with gw_api_req_clear() either way.
 */
int gw_api_req_parse(const char *what, const char *body, size_t len,
		     gw_api_req_t *out, int *status, const char **code,
		     char *msg, size_t msglen);
void gw_api_req_clear(gw_api_req_t *r);

#endif
