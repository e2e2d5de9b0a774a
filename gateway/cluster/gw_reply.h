/*
 * gw_reply.h — checked reading of the Redis replies the cluster acts on.
 *
 * Each reply shape (what a script or command promises to return) is
 * written down once, here, as a pure function of a hiredis redisReply: no
 * node, no I/O, so tests/unit/test_reply.c can feed it hand-built replies.
 *
 * Unreadable means refused: a reply of any other shape (wrong type, a
 * missing element, a string too long or with an embedded NUL) is reported
 * as GW_EINVAL before anything in it is used, and the caller drops the
 * Redis link (gw_redis_refuse) instead of guessing. Strings handed on are
 * hiredis's own (NUL-terminated, borrowed until the reply is freed).
 */
#ifndef GW_REPLY_H
#define GW_REPLY_H

#include "gw_buf.h"

struct redisReply;

/* Longest node id (--node-id) and connection id a reply may name. */
#define GW_REPLY_NODE_MAX 64

/* One connection of a dead node, as sweep.lua returns it. */
typedef struct {
	const char *node;
	const char *conn;
	const char *user;
	const char *lobby;
} gw_sweep_entry_t;

typedef struct {
	/* Every connection of every dead node, in reply order. */
	void (*conn)(void *ud, const gw_sweep_entry_t *e);
	/* After each dead node's connections: how many there were. */
	void (*node)(void *ud, const char *node, size_t conns);
} gw_sweep_visit_t;

/*
 * Reads sweep.lua's reply: a flat array of strings, per dead node its id,
 * then (conn, user, lobby) per connection, then "". Visits it with `v`
 * (either callback may be NULL) and returns GW_OK; or returns GW_EINVAL
 * without visiting anything if the reply is not exactly that shape.
 */
int gw_reply_sweep(const struct redisReply *r, const gw_sweep_visit_t *v, void *ud);

/*
 * An array of connection ids ("NODE.HEX" strings, as HKEYS {P}:user:U
 * returns): GW_OK, or GW_EINVAL if any element is something else.
 */
int gw_reply_conn_ids(const struct redisReply *r);

/*
 * user_conns.lua's reply: { connection ids, live node ids }. GW_OK, or
 * GW_EINVAL if it is not exactly two arrays of those.
 */
int gw_reply_user_conns(const struct redisReply *r);

#endif
