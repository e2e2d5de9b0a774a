/*
 * gw_held.c — held leaves (--leave-grace-ms) in Redis: the cluster's
 * hold and settle operations of gw_admission_ops_t, and what the
 * admissions (gw_cluster.c, gw_admit_shards.c) need to resume one.
 * docs/redis-schema.md, Held leaves, is the contract; the scripts are
 * admit.lua, admit_lobby.lua, admit_user.lua (resume) and settle.lua.
 */
#include "gw_cluster_int.h"
#include "gw_alloc.h"
#include "gw_auth.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

int gw_cluster__resumed(const redisReply *reply, const char **conn,
			const char **value, size_t *first)
{
	const redisReply *e;
	size_t i;

	*first = 1;
	if (strcmp(reply->element[0]->str, "resumed"))
		return 0;
	if (reply->elements < 3)
		return -1;
	for (i = 1; i < 3; i++) {
		e = reply->element[i];
		if (e->type != REDIS_REPLY_STRING || e->len == 0 ||
		    e->len >= GW_KEY_MAX || strlen(e->str) != e->len)
			return -1;
	}
	*conn = reply->element[1]->str;
	*value = reply->element[2]->str;
	*first = 3;
	return 1;
}

void gw_cluster__give_back(gw_cluster_t *c, const char *lobby, const char *conn,
			   const char *value)
{
	char key[GW_KEY_MAX];
	const char *argv[4] = { "HSET", key, conn, value };
	size_t lens[4];
	int klen = gw_key_held(&c->keys, lobby, strlen(lobby), key);

	if (klen < 0)
		return;
	lens[0] = 4;
	lens[1] = (size_t)klen;
	lens[2] = strlen(conn);
	lens[3] = strlen(value);
	gw_redis_command(gw_cluster__link_lobby(c, lobby, strlen(lobby)), NULL, NULL,
			 4, argv, lens);
}

/* How long past its deadline a held leave may still be resumed: its node
 * settles it at the deadline, so only a record whose settle was lost (the
 * lobby's shard was down then) gets that old; one lease period. */
void gw_cluster__held_margin(const gw_cluster_t *c, char out[24])
{
	snprintf(out, 24, "%ld", c->node->cfg->lease_ttl * 1000);
}

/* A request's names, NUL-terminated; GW_EINVAL when too long. */
static int req_names(const gw_cluster_t *c, const gw_admit_req_t *req,
		     char conn[GW_CONN_ID_MAX], char user[GW_AUTH_SUB_MAX + 1],
		     char lobby[GW_LOBBY_MAX + 1])
{
	if (req->user_len > GW_AUTH_SUB_MAX || req->lobby_len > GW_LOBBY_MAX)
		return GW_EINVAL;
	gw_conn_id_format(c->node->cfg->node_id, req->conn_id, conn);
	memcpy(user, req->user, req->user_len);
	user[req->user_len] = '\0';
	memcpy(lobby, req->lobby, req->lobby_len);
	lobby[req->lobby_len] = '\0';
	return GW_OK;
}

/*
 * Held leaves (docs/redis-schema.md, Held leaves): the connection's
 * entries stay; {P}:held:LOBBY on the lobby's shard records the pending
 * leave, "USER\tDEADLINE_MS", where any node's admission finds it.
 * Without the lobby's shard the leave is not held (told now).
 */
int gw_cluster__hold(void *impl, const gw_admit_req_t *req, uint64_t deadline_ms)
{
	gw_cluster_t *c = impl;
	char conn[GW_CONN_ID_MAX], user[GW_AUTH_SUB_MAX + 1], lobby[GW_LOBBY_MAX + 1];
	char key[GW_KEY_MAX], value[GW_AUTH_SUB_MAX + 32];
	const char *argv[4] = { "HSET", key, conn, value };
	size_t lens[4];
	gw_redis_t *link;
	int klen;

	if (req_names(c, req, conn, user, lobby))
		return GW_EINVAL;
	link = gw_cluster__link_lobby(c, lobby, req->lobby_len);
	klen = gw_key_held(&c->keys, lobby, req->lobby_len, key);
	if (klen < 0)
		return klen;
	if (!gw_redis_ready(link))
		return GW_EUNAVAIL;
	snprintf(value, sizeof(value), "%s\t%llu", user, (unsigned long long)deadline_ms);
	lens[0] = 4;
	lens[1] = (size_t)klen;
	lens[2] = strlen(conn);
	lens[3] = strlen(value);
	return gw_redis_command(link, NULL, NULL, 4, argv, lens);
}

typedef struct {
	gw_cluster_t *c;
	gw_settle_done_fn done;
	gw_redis_t *link;
	uint64_t conn_id;
	char conn[GW_CONN_ID_MAX];
	char user[GW_AUTH_SUB_MAX + 1];
	char lobby[GW_LOBBY_MAX + 1];
} settle_t;

/* settle.lua's answer: 1 (announce) or 0; anything else is refused, and
 * the leave is announced, as when the shard could not be asked. */
static void on_settle(void *ud, redisReply *reply)
{
	settle_t *st = ud;
	gw_cluster_t *c = st->c;
	gw_redis_t *u = gw_cluster__link_user(c, st->user, strlen(st->user));
	int announce = 1;

	if (reply && reply->type == REDIS_REPLY_INTEGER &&
	    (reply->integer == 0 || reply->integer == 1))
		announce = (int)reply->integer;
	else if (reply)
		gw_redis_refuse(st->link, "settle");
	if (u != st->link)
		gw_cluster__release_user_part(c, st->conn, st->user, u);
	st->done(c->node, st->conn_id, announce);
	gw_free(st);
}

int gw_cluster__settle(void *impl, const gw_admit_req_t *req, gw_settle_done_fn done)
{
	gw_cluster_t *c = impl;
	settle_t *st = gw_calloc(1, sizeof(*st));
	const char *argv[5];
	int rc;

	if (!st)
		return GW_ENOMEM;
	if (req_names(c, req, st->conn, st->user, st->lobby)) {
		gw_free(st);
		return GW_EINVAL;
	}
	st->c = c;
	st->done = done;
	st->conn_id = req->conn_id;
	st->link = gw_cluster__link_lobby(c, st->lobby, req->lobby_len);
	if (!gw_redis_ready(st->link)) {
		/* Our entries there go with the restore; the record, past its
		 * deadline, with the next admission that meets it. */
		gw_free(st);
		return GW_EUNAVAIL;
	}
	argv[0] = c->prefix;
	argv[1] = c->node->cfg->node_id;
	argv[2] = st->conn;
	argv[3] = st->user;
	argv[4] = st->lobby;
	rc = gw_cluster__script(c, st->link, S_SETTLE, on_settle, st, 5, argv);
	if (rc != GW_OK)
		gw_free(st);
	return rc;
}
