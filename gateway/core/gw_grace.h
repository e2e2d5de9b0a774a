/*
 * gw_grace.h — held leaves (--leave-grace-ms): presence without flapping.
 *
 * When a member's connection ends for a reason a reconnect usually
 * follows (the connection was lost, the client said 1001 "going away" —
 * a page reload —, or it went stale), its presence_leave is held for the
 * grace instead of announced. If the same user joins the same lobby
 * before it runs out, the held leave is dropped and the new join is not
 * announced either: the others saw nothing. Otherwise the leave is
 * announced when the grace ends, through the `announce` callback the
 * router gives (local members, then the bus).
 *
 * Not held: an explicit goodbye (close 1000), a kick, a replace, a slow
 * consumer, an expired token, a refusal, or anything while the node
 * drains (nobody can come back to it). Standalone only for now: the
 * config refuses --leave-grace-ms with --redis.
 */
#ifndef GW_GRACE_H
#define GW_GRACE_H

#include "gw_session.h"

typedef struct gw_grace gw_grace_t;

/* Delivers a held leave whose grace ran out. `lobby` (NUL-terminated) and
 * `frame` are borrowed for the call. */
typedef void (*gw_grace_announce_fn)(gw_node_t *node, const char *lobby,
				     gw_buf_t *frame);

/* NULL without memory. `node` is borrowed for the table's lifetime. */
gw_grace_t *gw_grace_create(gw_node_t *node, gw_grace_announce_fn announce);
/* Held leaves are dropped unannounced. NULL is a no-op. */
void gw_grace_free(gw_grace_t *g);

/*
 * `s` (joined) leaves with `why`, its presence_leave being `frame`: 1 if
 * the leave is held (a reference to `frame` is taken; the caller
 * announces nothing), 0 if the caller announces it now.
 */
int gw_grace_hold(gw_grace_t *g, gw_session_t *s, gw_close_t why, gw_buf_t *frame);
/* `s` has joined: 1 if it took the place of a held leave of the same user
 * in the same lobby (which is dropped; the join is not announced). */
int gw_grace_resume(gw_grace_t *g, gw_session_t *s);
/* Leaves held now. */
size_t gw_grace_held(const gw_grace_t *g);

#endif
