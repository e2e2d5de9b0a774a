/*
 * gw_registry.c — lobby/user/connection maps (see gw_registry.h).
 */
#include "gw_registry.h"
#include "gw_alloc.h"
#include "gw_map.h"

#include <string.h>

struct gw_registry {
	gw_map_t *conns;   /* id bytes → gw_member_t */
	gw_map_t *lobbies; /* name → gw_lobby_t */
	gw_map_t *users;   /* name → gw_user_t */
	size_t joined;
	uint64_t mark;
};

gw_registry_t *gw_registry_create(void)
{
	gw_registry_t *r = gw_calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->conns = gw_map_create(1024);
	r->lobbies = gw_map_create(256);
	r->users = gw_map_create(1024);
	if (!r->conns || !r->lobbies || !r->users) {
		gw_registry_free(r);
		return NULL;
	}
	return r;
}

static int free_value(void *v, void *ud)
{
	GW_UNUSED(ud);
	gw_free(v);
	return 0;
}

void gw_registry_free(gw_registry_t *r)
{
	if (!r)
		return;
	if (r->lobbies)
		gw_map_each(r->lobbies, free_value, NULL);
	if (r->users)
		gw_map_each(r->users, free_value, NULL);
	gw_map_free(r->conns);
	gw_map_free(r->lobbies);
	gw_map_free(r->users);
	gw_free(r);
}

int gw_registry_add(gw_registry_t *r, gw_member_t *m)
{
	if (gw_map_get(r->conns, &m->id, sizeof(m->id)))
		return GW_EEXIST;
	m->lobby = NULL;
	m->user = NULL;
	gw_list_init(&m->lobby_link);
	gw_list_init(&m->user_link);
	return gw_map_put(r->conns, &m->id, sizeof(m->id), m);
}

gw_member_t *gw_registry_find(const gw_registry_t *r, uint64_t id)
{
	return gw_map_get(r->conns, &id, sizeof(id));
}

void gw_registry_remove(gw_registry_t *r, gw_member_t *m)
{
	gw_registry_leave(r, m);
	if (gw_map_get(r->conns, &m->id, sizeof(m->id)) == m)
		gw_map_del(r->conns, &m->id, sizeof(m->id));
}

gw_lobby_t *gw_registry_lobby(const gw_registry_t *r, const char *name,
			      size_t len)
{
	return gw_map_get(r->lobbies, name, len);
}

gw_user_t *gw_registry_user(const gw_registry_t *r, const char *name,
			    size_t len)
{
	return gw_map_get(r->users, name, len);
}

static gw_lobby_t *lobby_get_or_add(gw_registry_t *r, const char *name,
				    size_t len)
{
	gw_lobby_t *l = gw_map_get(r->lobbies, name, len);

	if (l)
		return l;
	l = gw_calloc(1, sizeof(*l) + len + 1);
	if (!l)
		return NULL;
	gw_list_init(&l->members);
	memcpy(l->name, name, len);
	l->name_len = (uint32_t)len;
	if (gw_map_put(r->lobbies, l->name, len, l)) {
		gw_free(l);
		return NULL;
	}
	return l;
}

static gw_user_t *user_get_or_add(gw_registry_t *r, const char *name,
				  size_t len)
{
	gw_user_t *u = gw_map_get(r->users, name, len);

	if (u)
		return u;
	u = gw_calloc(1, sizeof(*u) + len + 1);
	if (!u)
		return NULL;
	gw_list_init(&u->conns);
	memcpy(u->name, name, len);
	u->name_len = (uint32_t)len;
	if (gw_map_put(r->users, u->name, len, u)) {
		gw_free(u);
		return NULL;
	}
	return u;
}

static void lobby_put(gw_registry_t *r, gw_lobby_t *l)
{
	if (l->count == 0) {
		gw_map_del(r->lobbies, l->name, l->name_len);
		gw_free(l);
	}
}

static void user_put(gw_registry_t *r, gw_user_t *u)
{
	if (u->count == 0) {
		gw_map_del(r->users, u->name, u->name_len);
		gw_free(u);
	}
}

int gw_registry_join(gw_registry_t *r, gw_member_t *m, const char *user,
		     size_t user_len, const char *lobby, size_t lobby_len)
{
	gw_lobby_t *l;
	gw_user_t *u;

	if (m->lobby)
		return GW_EEXIST;
	l = lobby_get_or_add(r, lobby, lobby_len);
	if (!l)
		return GW_ENOMEM;
	u = user_get_or_add(r, user, user_len);
	if (!u) {
		lobby_put(r, l);
		return GW_ENOMEM;
	}
	m->lobby = l;
	m->user = u;
	gw_list_add_tail(&l->members, &m->lobby_link);
	gw_list_add_tail(&u->conns, &m->user_link);
	l->count++;
	u->count++;
	r->joined++;
	return GW_OK;
}

void gw_registry_leave(gw_registry_t *r, gw_member_t *m)
{
	gw_lobby_t *l = m->lobby;
	gw_user_t *u = m->user;

	if (!l)
		return;
	gw_list_del(&m->lobby_link);
	gw_list_del(&m->user_link);
	l->count--;
	u->count--;
	r->joined--;
	m->lobby = NULL;
	m->user = NULL;
	lobby_put(r, l);
	user_put(r, u);
}

size_t gw_registry_conns(const gw_registry_t *r)
{
	return gw_map_count(r->conns);
}

size_t gw_registry_joined(const gw_registry_t *r)
{
	return r->joined;
}

size_t gw_registry_lobbies(const gw_registry_t *r)
{
	return gw_map_count(r->lobbies);
}

size_t gw_registry_users(const gw_registry_t *r)
{
	return gw_map_count(r->users);
}

uint64_t gw_registry_next_mark(gw_registry_t *r)
{
	return ++r->mark;
}

typedef struct {
	int (*lobby_fn)(gw_lobby_t *, void *);
	int (*member_fn)(gw_member_t *, void *);
	void *ud;
} walk_t;

static int walk_lobby(void *v, void *ud)
{
	walk_t *w = ud;

	return w->lobby_fn(v, w->ud);
}

static int walk_member(void *v, void *ud)
{
	walk_t *w = ud;

	return w->member_fn(v, w->ud);
}

int gw_registry_each_lobby(const gw_registry_t *r,
			   int (*fn)(gw_lobby_t *l, void *ud), void *ud)
{
	walk_t w = { fn, NULL, ud };

	return gw_map_each(r->lobbies, walk_lobby, &w);
}

int gw_registry_each_member(const gw_registry_t *r,
			    int (*fn)(gw_member_t *m, void *ud), void *ud)
{
	walk_t w = { NULL, fn, ud };

	return gw_map_each(r->conns, walk_member, &w);
}
