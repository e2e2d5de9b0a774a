/*
 * gw_protocol.h — the client protocol's JSON frames (docs/protocol.md).
 *
 * Parsing turns one client text frame into a gw_client_msg_t; encoders
 * build each server frame once into a gw_buf_t (one reference, owned by
 * the caller) that any number of sessions may then share.
 */
#ifndef GW_PROTOCOL_H
#define GW_PROTOCOL_H

#include "gw_buf.h"

typedef enum {
	GW_MSG_BROADCAST = 0,
	GW_MSG_DIRECT,
	GW_MSG_PRESENCE,
	GW_MSG_HEALTH_PONG,
	GW_MSG_UNKNOWN, /* a well-formed message of a type we do not handle */
} gw_msg_type_t;

typedef struct {
	gw_msg_type_t type;
	const char *type_name; /* borrowed from the message, valid until clear */
	const char *to;        /* direct: the target user */
	size_t to_len;
	char *data;            /* compact JSON of "data", owned; NULL if absent */
	size_t data_len;
	int echo;              /* broadcast: deliver to the sender too */
	int64_t timestamp;     /* health_pong: echoed timestamp, 0 if absent */
	void *root;            /* the parsed document (json_t *) */
} gw_client_msg_t;

/*
 * Parses one frame. Returns GW_OK and fills `out` (release with
 * gw_client_msg_clear), or GW_EINVAL with `*code` set to the error code to
 * send back: "bad_json" or "bad_message". Unknown types parse fine as
 * GW_MSG_UNKNOWN: the router decides what to do with them.
 */
int gw_client_msg_parse(const char *in, size_t len, gw_client_msg_t *out,
			const char **code);
void gw_client_msg_clear(gw_client_msg_t *m);

/* Server frames. Each returns a new buffer (one reference) or NULL on OOM. */
gw_buf_t *gw_proto_welcome(const char *conn_id, const char *user,
			   const char *lobby, const char *node,
			   long heartbeat_s, long max_message);
gw_buf_t *gw_proto_message(const char *lobby, const char *from,
			   const char *data, size_t data_len);
/*
 * With history (--history-size) a message frame ends with its lobby offset:
 * {"type":"message",...,"data":D,"offset":N}. The head is that frame up to
 * and including `"offset":`; the history script appends N and the closing
 * brace (one place builds the frame, Redis completes it).
 */
gw_buf_t *gw_proto_message_head(const char *lobby, const char *from,
				const char *data, size_t data_len);
/*
 * The offset a message frame ends with, or 0 when `frame` is no message
 * frame with an offset (any other frame, or history off). Reads the tail
 * only: the last key of a frame with an offset is always "offset".
 */
uint64_t gw_proto_offset_of(const char *frame, size_t len);
/*
 * The welcome with history: the lobby's epoch and current offset, and
 * whether a resume replayed everything missed (recovered). `epoch` NULL
 * (the history could not be read): epoch and offset are left out and
 * recovered is false.
 */
typedef struct {
	const char *epoch;
	uint64_t offset;
	int recovered;
} gw_proto_resume_t;
gw_buf_t *gw_proto_welcome_resume(const char *conn_id, const char *user,
				  const char *lobby, const char *node,
				  long heartbeat_s, long max_message,
				  const gw_proto_resume_t *r);
gw_buf_t *gw_proto_direct(const char *from, const char *data, size_t data_len);
gw_buf_t *gw_proto_presence_event(int join, const char *lobby, const char *user,
				  const char *conn_id, const char *reason);
gw_buf_t *gw_proto_health_ping(uint64_t wall_ms);
gw_buf_t *gw_proto_error(const char *code, const char *message);
gw_buf_t *gw_proto_gap(const char *lobby, uint64_t missed);

/*
 * The presence reply is built incrementally: begin, add each user once,
 * end. On failure the buffer is released and NULL returned (later calls
 * then see NULL and return NULL).
 */
gw_buf_t *gw_proto_presence_begin(const char *lobby);
gw_buf_t *gw_proto_presence_add(gw_buf_t *b, const char *user, int first);
gw_buf_t *gw_proto_presence_end(gw_buf_t *b, size_t count);

/* Lobby names: 1..64 bytes of [A-Za-z0-9_.:-]. */
#define GW_LOBBY_MAX 64
int gw_lobby_name_valid(const char *s, size_t len);

#endif
