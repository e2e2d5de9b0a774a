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
 * The admission seam (gw_admission.h) is told: a held connection is held
 * there instead of released, and settled when its grace ends; the settle's
 * answer decides whether the leave is announced. Standalone, the rejoin is
 * found here (gw_grace_take, called by the local admission); in a cluster
 * the admission script finds it in Redis, whichever node the user comes
 * back to, and the settle answers "not announced".
 *
 * Not held: an explicit goodbye (close 1000), a kick, a replace, a slow
 * consumer, an expired token, a refusal, or anything while the node
 * drains (nobody can come back to it). Leaves already held when the node
 * starts draining are settled at once (gw_grace_flush).
 */
#ifndef GW_GRACE_H
#define GW_GRACE_H

#include "gw_session.h"

typedef struct gw_grace gw_grace_t;

/* Delivers a held leave whose grace ran out. `lobby` (NUL-terminated) and
 * `frame` are borrowed for the call. */
typedef void (*gw_grace_announce_fn)(gw_node_t *node, const char *lobby,
				     gw_buf_t *frame);

/* NULL without memory. `node` is borrowed for the table's lifetime; the
 * node must point to the table (node->grace) while it lives. */
gw_grace_t *gw_grace_create(gw_node_t *node, gw_grace_announce_fn announce);
/* Held leaves are dropped unannounced; settles still in flight are
 * ignored when they answer. NULL is a no-op. */
void gw_grace_free(gw_grace_t *g);

/*
 * `s` (joined and admitted) leaves with `why`, its presence_leave being
 * `frame`: 1 if the leave is held (a reference to `frame` is taken, the
 * admission holds the connection; the caller neither announces nor
 * releases), 0 if the caller announces and releases it now.
 */
int gw_grace_hold(gw_grace_t *g, gw_session_t *s, gw_close_t why, gw_buf_t *frame);
/* A user joins a lobby: 1 if that took the place of a held leave of the
 * same user in the same lobby here (the oldest, which is dropped). */
int gw_grace_take(gw_grace_t *g, const char *lobby, size_t lobby_len,
		  const char *user, size_t user_len);
/* Draining: settles every held leave now instead of at its deadline. */
void gw_grace_flush(gw_grace_t *g);
/* Leaves held now, settles in flight included. */
size_t gw_grace_held(const gw_grace_t *g);

#endif
