/*
 * gw_registry.h — who is connected to this node: lobby ↔ connection ↔ user.
 *
 * Every map is O(1): connection id → member, lobby name → lobby (with its
 * members in an intrusive list and a count), user id → user (with that
 * user's connections here). A gw_member_t is embedded in each session; the
 * registry never allocates per connection, only per lobby and per user,
 * and frees a lobby or user when its last member leaves.
 *
 * Pure bookkeeping: no I/O, no event loop, no libwebsockets.
 */
#ifndef GW_REGISTRY_H
#define GW_REGISTRY_H

#include "gw_list.h"
#include "gw_common.h"
#include "gw_ratelimit.h"

typedef struct gw_lobby {
	gw_list_t members;  /* gw_member_t.lobby_link */
	uint32_t count;     /* connections */
	uint32_t name_len;
	/* The bus's per-lobby state (gw_cluster: lobby_state_t), NULL: none.
	 * The bus sets and frees it; it clears it before the last member
	 * leaves (gw_bus_lobby_left comes before gw_registry_leave). */
	void *bus;
	char name[];
} gw_lobby_t;

typedef struct gw_user {
	gw_list_t conns;    /* gw_member_t.user_link */
	uint32_t count;
	uint32_t name_len;
	uint64_t mark;      /* scratch for de-duplicating walks */
	gw_bucket_t inbound; /* gw_cluster: the user's inbound-stream budget here */
	uint8_t inbound_armed; /* `inbound` initialised (users start zeroed) */
	char name[];
} gw_user_t;

typedef struct gw_member {
	uint64_t id;        /* connection id, unique in the cluster */
	gw_lobby_t *lobby;  /* NULL until joined */
	gw_user_t *user;
	gw_list_t lobby_link;
	gw_list_t user_link;
} gw_member_t;

typedef struct gw_registry gw_registry_t;

gw_registry_t *gw_registry_create(void);
/* Frees the maps, lobbies and users; members are the caller's. */
void gw_registry_free(gw_registry_t *r);

/* Connection ids: registered from accept to close, joined or not. */
int gw_registry_add(gw_registry_t *r, gw_member_t *m);
gw_member_t *gw_registry_find(const gw_registry_t *r, uint64_t id);
void gw_registry_remove(gw_registry_t *r, gw_member_t *m); /* leaves first */

/* Joins `m` to a lobby as a user (both created on demand). */
int gw_registry_join(gw_registry_t *r, gw_member_t *m, const char *user,
		     size_t user_len, const char *lobby, size_t lobby_len);
/* Leaves the lobby; no-op if not joined. */
void gw_registry_leave(gw_registry_t *r, gw_member_t *m);

gw_lobby_t *gw_registry_lobby(const gw_registry_t *r, const char *name,
			      size_t len);
gw_user_t *gw_registry_user(const gw_registry_t *r, const char *name,
			    size_t len);

size_t gw_registry_conns(const gw_registry_t *r);   /* registered */
size_t gw_registry_joined(const gw_registry_t *r);  /* joined a lobby */
size_t gw_registry_lobbies(const gw_registry_t *r);
size_t gw_registry_users(const gw_registry_t *r);

/* A fresh mark for de-duplicating walks over users (gw_user_t.mark). */
uint64_t gw_registry_next_mark(gw_registry_t *r);

/* Visits every lobby / every registered member; the callback must not
 * change the registry. A non-zero return stops the walk. */
int gw_registry_each_lobby(const gw_registry_t *r,
			   int (*fn)(gw_lobby_t *l, void *ud), void *ud);
int gw_registry_each_member(const gw_registry_t *r,
			    int (*fn)(gw_member_t *m, void *ud), void *ud);

#define GW_MEMBER_OF(link, field) GW_CONTAINER_OF(link, gw_member_t, field)

#endif
