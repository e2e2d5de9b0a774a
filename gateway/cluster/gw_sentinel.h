/*
 * gw_sentinel.h — where is the master? Asks a Redis Sentinel group, and
 * watches it for +switch-master so that the link moves as soon as a
 * failover is decided, not at its next deadline.
 *
 * Used only by gw_redis (a sentinel:// URL); on the node's libevent loop.
 *
 *   resolve: the sentinels are asked one at a time, starting with the last
 *   one that answered, each with its own short deadline; a sentinel that
 *   does not answer, refuses, or does not know the master is skipped. The
 *   callback gets the master's address, or NULL after a full round without
 *   an answer (the link backs off and asks again).
 *
 *   watch: a subscription to +switch-master on the sentinel that answered
 *   last; a message for our master calls on_switch with the new address.
 *   A watch that drops is re-opened on the next sentinel a second later.
 *
 * Callbacks: a resolve callback is called exactly once unless
 * gw_sentinel_cancel() or gw_sentinel_free() comes first; no callback is
 * ever called after either. Strings passed to callbacks are borrowed for
 * the call.
 */
#ifndef GW_SENTINEL_H
#define GW_SENTINEL_H

#include "gw_redis_url.h"

struct event_base;
typedef struct gw_sentinel gw_sentinel_t;

typedef void (*gw_sentinel_addr_fn)(void *ud, const char *host, int port);

/* `url` (a sentinel URL) is copied. on_switch may be NULL. */
gw_sentinel_t *gw_sentinel_create(struct event_base *base, const gw_redis_url_t *url,
				  gw_sentinel_addr_fn on_switch, void *ud);
void gw_sentinel_free(gw_sentinel_t *s);

/* Starts a resolve (cancelling one in flight). GW_OK or GW_ENOMEM. */
int gw_sentinel_resolve(gw_sentinel_t *s, gw_sentinel_addr_fn cb, void *ud);
void gw_sentinel_cancel(gw_sentinel_t *s);

/* "host:port" of the sentinel that answered last (for logs). */
const char *gw_sentinel_current(const gw_sentinel_t *s);

#endif
