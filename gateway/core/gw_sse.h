/*
 * gw_sse.h — the Server-Sent Events writer: a receive-only member whose
 * frames go out as a text/event-stream (GET /sse/LOBBY, docs/protocol.md).
 *
 * An SSE member is a gw_session like any other (same admission, queue,
 * limits, presence and heartbeat); gw_server sets s->w = &gw_sse_writer
 * when the request arrives. Until the admission verdict nothing is
 * written; then either the refusal (an HTTP status and a JSON body with
 * the WebSocket close code and reason) or the 200 head and one event per
 * frame:
 *
 *     id: OFFSET          (only when the frame has a top-level "offset")
 *     data: {...}         (the frame's JSON; raw CR/LF become spaces)
 *
 * a ": ping" comment every heartbeat, and at the end "event: close" with
 * {"code","reason"}. The client cannot send: a dead one is found by the
 * socket (write failure, lws's close) or by pings that cannot be written.
 */
#ifndef GW_SSE_H
#define GW_SSE_H

#include "gw_session.h"

#define GW_SSE_ID_MAX 20 /* digits of a uint64 */

extern const gw_session_writer_t gw_sse_writer;

/*
 * The top-level "offset" of the JSON object in `p` (a frame we built) as
 * decimal digits into `out` (GW_SSE_ID_MAX + 1 bytes, NUL-terminated):
 * its length, or 0 when there is none or it is not a plain unsigned
 * integer. Nested objects (a message's data) are skipped, never read.
 */
size_t gw_sse_frame_offset(const unsigned char *p, size_t n, char *out);

/*
 * A Last-Event-ID header's value (`v`, `len` bytes) as the offset to
 * resume after: GW_OK, or GW_EINVAL when it is not 1 to 20 decimal digits
 * that fit a uint64 (the request is then refused: unreadable means
 * refused, never "absent").
 */
int gw_sse_parse_last_event_id(const char *v, size_t len, uint64_t *out);

#endif
