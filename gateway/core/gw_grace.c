/*
 * gw_grace.c — held leaves (see gw_grace.h).
 *
 * One entry per held leave, keyed by "LOBBY\tUSER" (a lobby name has no
 * tab) in a keyed map; a user with several connections in a lobby
 * (--user-policy=multi) may have several, chained, and a rejoin takes the
 * oldest. Each entry has its own libevent timer: entries live only as long
 * as the grace, so there are as many as connections dropped in one grace.
 *
 * When the timer fires the entry moves to a second map, keyed by its
 * connection id, while the admission settles it (a Redis round trip in a
 * cluster). The settle's answer finds it there by id, never by pointer:
 * the table may be gone by then (the answer is then ignored).
 */
#include "gw_grace.h"
#include "gw_admission.h"
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
	uint64_t conn_id;
	size_t lobby_len;
	size_t key_len;
	char key[];          /* LOBBY '\t' USER, NUL-terminated */
} held_t;

struct gw_grace {
	gw_node_t *node;
	gw_grace_announce_fn announce;
	gw_map_t *map;       /* key → the oldest held_t of the chain */
	gw_map_t *settling;  /* conn id → held_t whose settle is in flight */
	size_t n;            /* in both maps */
};

gw_grace_t *gw_grace_create(gw_node_t *node, gw_grace_announce_fn announce)
{
	gw_grace_t *g = gw_calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->node = node;
	g->announce = announce;
	g->map = gw_map_create(16);
	g->settling = gw_map_create(16);
	if (!g->map || !g->settling) {
		gw_map_free(g->map);
		gw_map_free(g->settling);
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
	gw_map_each(g->settling, free_chain, NULL); /* settling entries have no next */
	gw_map_free(g->map);
	gw_map_free(g->settling);
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
	h->next = NULL;
	gw_map_del(g->map, h->key, h->key_len);
	if (head)
		gw_map_put(g->map, head->key, head->key_len, head); /* was there: fits */
}

static gw_admit_req_t req_of(const held_t *h)
{
	return (gw_admit_req_t){
		.conn_id = h->conn_id,
		.user = h->key + h->lobby_len + 1,
		.user_len = h->key_len - h->lobby_len - 1,
		.lobby = h->key,
		.lobby_len = h->lobby_len,
	};
}

/* The end of a held leave: told (or not), then freed. */
static void finish(gw_grace_t *g, held_t *h, int announce)
{
	g->n--;
	if (announce) {
		char lobby[GW_LOBBY_MAX + 1];

		memcpy(lobby, h->key, h->lobby_len);
		lobby[h->lobby_len] = '\0';
		g->announce(g->node, lobby, h->frame);
	}
	held_free(h);
}

static void settled(gw_node_t *node, uint64_t conn_id, int announce)
{
	gw_grace_t *g = node->grace;
	held_t *h = g ? gw_map_del(g->settling, &conn_id, sizeof(conn_id)) : NULL;

	if (h)
		finish(g, h, announce);
}

/* The grace of `h` ended (or the node drains): ask the admission. */
static void settle(gw_grace_t *g, held_t *h)
{
	gw_admit_req_t req = req_of(h);

	event_del(h->ev);
	unlink_held(g, h);
	if (gw_map_put(g->settling, &h->conn_id, sizeof(h->conn_id), h)) {
		finish(g, h, 1); /* no memory to wait: told now */
		return;
	}
	/* `done` may run before this returns; `h` is then gone. */
	if (gw_admission_settle(g->node->admission, &req, settled) != GW_OK) {
		gw_map_del(g->settling, &h->conn_id, sizeof(h->conn_id));
		finish(g, h, 1); /* could not be asked: told as it would have been */
	}
}

static void expired(evutil_socket_t fd, short what, void *arg)
{
	held_t *h = arg;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	settle(h->g, h);
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
	gw_admit_req_t req;

	if (!g || ms <= 0 || !frame || !s->admitted || s->node->draining ||
	    !reconnectable(s, why))
		return 0;
	h = gw_calloc(1, sizeof(*h) + ll + 1 + ul + 1);
	if (!h)
		return 0;
	h->g = g;
	h->conn_id = s->m.id;
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
	req = req_of(h);
	if (gw_admission_hold(s->node->admission, &req,
			      gw_wall_ms() + (uint64_t)ms) != GW_OK) {
		unlink_held(g, h);
		held_free(h);
		return 0;
	}
	h->frame = gw_buf_ref(frame);
	g->n++;
	return 1;
}

int gw_grace_take(gw_grace_t *g, const char *lobby, size_t lobby_len,
		  const char *user, size_t user_len)
{
	char key[KEY_MAX];
	held_t *h;

	if (!g || !g->n || lobby_len + 1 + user_len > sizeof(key))
		return 0;
	memcpy(key, lobby, lobby_len);
	key[lobby_len] = '\t';
	memcpy(key + lobby_len + 1, user, user_len);
	h = gw_map_get(g->map, key, lobby_len + 1 + user_len);
	if (!h)
		return 0;
	unlink_held(g, h);
	g->n--;
	held_free(h);
	return 1;
}

typedef struct {
	held_t **v;
	size_t n;
} collect_t;

static int collect(void *value, void *ud)
{
	collect_t *c = ud;
	held_t *h;

	for (h = value; h; h = h->next)
		c->v[c->n++] = h;
	return 0;
}

void gw_grace_flush(gw_grace_t *g)
{
	collect_t c = { NULL, 0 };
	size_t i;

	if (!g || !gw_map_count(g->map))
		return;
	c.v = gw_calloc(g->n, sizeof(*c.v));
	if (!c.v)
		return; /* their timers settle them within the grace */
	gw_map_each(g->map, collect, &c);
	for (i = 0; i < c.n; i++)
		settle(g, c.v[i]);
	gw_free(c.v);
}

size_t gw_grace_held(const gw_grace_t *g)
{
	return g ? g->n : 0;
}
