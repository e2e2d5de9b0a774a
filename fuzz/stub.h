/*
 * stub.h — the harness side of fuzz/stub_lws.c and fuzz/stub_redis.c,
 * which stand in for libwebsockets and for the Redis links (gw_redis.h)
 * so that fuzz_cluster can drive receive → router → bus → Redis bus
 * without sockets.
 */
#ifndef GW_FUZZ_STUB_H
#define GW_FUZZ_STUB_H

#include "fuzz.h"
#include "gw_redis.h"

struct redisReply;

/* What lws would report about the frame being received. */
typedef struct {
	int first, final, binary;
} stub_frame_t;
extern stub_frame_t stub_frame;
extern uint64_t stub_lws_written;
/* The socket the fast path writes to (lws_get_socket_fd): one end of a
 * socketpair whose other end stub_lws_drain() empties. */
void stub_lws_init(void);
void stub_lws_drain(void);

/*
 * The Redis links, one per shard, in the order gw_cluster_create made
 * them. Commands and scripts have their arguments read to their stated
 * lengths (an over-read is an ASan report) and, when they have a
 * callback, wait in the link's queue until the harness answers them.
 * gw_redis_free and a link going down answer what is left with NULL, as
 * the real link does (after the current callback, when one is running).
 * gw_redis_refuse takes the link down.
 */
typedef struct {
	char name[16];  /* "XADD", "HKEYS", ... or "script:N" */
	int script;     /* the script index, or -1 */
} stub_call_t;

size_t stub_redis_links(void);
/* Link k's READY or not; going READY calls on_ready, leaving it on_down. */
void stub_redis_set_ready(size_t k, int ready);
int stub_redis_is_ready(size_t k);
/* Link k's oldest waiting call, or NULL. */
const stub_call_t *stub_redis_peek(size_t k);
/* Answers link k's oldest waiting call with `reply` (borrowed), if any. */
void stub_redis_answer(size_t k, struct redisReply *reply);
/* A message on a subscribed channel of link k. */
void stub_redis_message(size_t k, const char *channel, size_t clen,
			const char *msg, size_t len);
/* Counters: commands, publishes, refusals. */
extern uint64_t stub_redis_commands, stub_redis_publishes, stub_redis_refused;

#endif
