/*
 * gw_grace.c — held leaves (see gw_grace.h).
 *
 * One entry per held leave, keyed by "LOBBY\tUSER" (a lobby name has no
 * tab) in a keyed map; a user with several connections in a lobby
 * (--user-policy=multi) may have several, chained, and a rejoin takes the
 * oldest. Each entry has its own libevent timer: entries live only as long
 * as the grace, so there are as many as connections dropped in one grace.
 */
#include "gw_grace.h"
#include "gw_alloc.h"
#include "gw_auth.h"
#include "gw_map.h"
#include "gw_protocol.h"

#include <event2/event.h>
#include <string.h>

#define KEY_MAX (GW_LOBBY_MAX + 1 + GW_AUTH_SUB_MAX)

typedef struct held {
	struct held *next;   /* the same lobby and user, held later */
	gw_grace_t *g;
	struct event *ev;
	gw_buf_t *frame;
	size_t lobby_len;
	size_t key_len;
	char key[];          /* LOBBY '\t' USER, NUL-terminated */
} held_t;

struct gw_grace {
	gw_node_t *node;
	gw_grace_announce_fn announce;
	gw_map_t *map;       /* key → the oldest held_t of the chain */
	size_t n;
};

gw_grace_t *gw_grace_create(gw_node_t *node, gw_grace_announce_fn announce)
{
	gw_grace_t *g = gw_calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->node = node;
	g->announce = announce;
	g->map = gw_map_create(16);
	if (!g->map) {
		gw_free(g);
		return NULL;
	}
	return g;
}

static void held_free(held_t *h)
{
	event_free(h->ev);
	gw_buf_unref(h->frame);
	gw_free(h);
}

static int free_chain(void *value, void *ud)
{
	held_t *h = value, *next;

	GW_UNUSED(ud);
	for (; h; h = next) {
		next = h->next;
		held_free(h);
	}
	return 0;
}

void gw_grace_free(gw_grace_t *g)
{
	if (!g)
		return;
	gw_map_each(g->map, free_chain, NULL);
	gw_map_free(g->map);
	gw_free(g);
}

/* Unlinks `h` from its chain (the map keeps the chain's new head). */
static void unlink_held(gw_grace_t *g, held_t *h)
{
	held_t *head = gw_map_get(g->map, h->key, h->key_len), **pp;

	for (pp = &head; *pp && *pp != h; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = h->next;
	gw_map_del(g->map, h->key, h->key_len);
	if (head)
		gw_map_put(g->map, head->key, head->key_len, head); /* was there: fits */
	g->n--;
}

static void expired(evutil_socket_t fd, short what, void *arg)
{
	held_t *h = arg;
	gw_grace_t *g = h->g;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	unlink_held(g, h);
	h->key[h->lobby_len] = '\0'; /* the lobby name alone */
	g->announce(g->node, h->key, h->frame);
	held_free(h);
}

/* What a reconnect usually follows; see gw_grace.h for what it is not. */
static int reconnectable(const gw_session_t *s, gw_close_t why)
{
	if (why == GW_CLOSE_STALE)
		return 1;
	/* The peer went away: no close frame (1006), or 1001 "going away". */
	return why == GW_CLOSE_NORMAL && s->peer_code != 1000;
}

int gw_grace_hold(gw_grace_t *g, gw_session_t *s, gw_close_t why, gw_buf_t *frame)
{
	long ms = s->node->cfg->leave_grace_ms;
	size_t ll = s->m.lobby->name_len, ul = s->m.user->name_len;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	held_t *h, *head;

	if (!g || ms <= 0 || !frame || s->node->draining || !reconnectable(s, why))
		return 0;
	h = gw_calloc(1, sizeof(*h) + ll + 1 + ul + 1);
	if (!h)
		return 0;
	h->g = g;
	h->lobby_len = ll;
	h->key_len = ll + 1 + ul;
	memcpy(h->key, s->m.lobby->name, ll);
	h->key[ll] = '\t';
	memcpy(h->key + ll + 1, s->m.user->name, ul);
	h->ev = evtimer_new(s->node->base, expired, h);
	if (!h->ev || evtimer_add(h->ev, &tv)) {
		if (h->ev)
			event_free(h->ev);
		gw_free(h);
		return 0;
	}
	head = gw_map_get(g->map, h->key, h->key_len);
	if (head) {
		while (head->next)
			head = head->next;
		head->next = h;
	} else if (gw_map_put(g->map, h->key, h->key_len, h)) {
		held_free(h);
		return 0;
	}
	h->frame = gw_buf_ref(frame);
	g->n++;
	return 1;
}

int gw_grace_resume(gw_grace_t *g, gw_session_t *s)
{
	char key[KEY_MAX];
	size_t ll = s->m.lobby->name_len, ul = s->m.user->name_len;
	held_t *h;

	if (!g || !g->n || ll + 1 + ul > sizeof(key))
		return 0;
	memcpy(key, s->m.lobby->name, ll);
	key[ll] = '\t';
	memcpy(key + ll + 1, s->m.user->name, ul);
	h = gw_map_get(g->map, key, ll + 1 + ul);
	if (!h)
		return 0;
	unlink_held(g, h);
	held_free(h);
	return 1;
}

size_t gw_grace_held(const gw_grace_t *g)
{
	return g ? g->n : 0;
}
