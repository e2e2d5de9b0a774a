/*
 * gatewayctl_redis.c — gatewayctl's Redis link (see gatewayctl.h).
 */
#include "gatewayctl.h"
#include "gw_alloc.h"
#include "gw_scripts.h"
#include "gw_shard.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Sends one command and checks the reply's type (nil passes for a string).
 * Returns the reply, which the caller frees (freeReplyObject), or NULL
 * after printing why.
 */
redisReply *ctl_redis(ctl_t *c, int type, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c->redis, fmt, ap);
	va_end(ap);
	if (!r)
		fprintf(stderr, "gatewayctl: lost the Redis connection: %s\n", c->redis->errstr);
	else if (r->type == type || (type == REDIS_REPLY_STRING && r->type == REDIS_REPLY_NIL))
		return r;
	else
		fprintf(stderr, "gatewayctl: Redis error: %s\n",
			r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply type");
	freeReplyObject(r);
	return NULL;
}

/*
 * A sentinel URL: asks each sentinel in turn where the master is and
 * points `a` at it (the daemon does the same, asynchronously, in
 * gw_sentinel). GW_EUNAVAIL, said, when none answers.
 */
int ctl_resolve(gw_redis_url_t *a)
{
	struct timeval tv = { 1, 0 };

	for (int i = 0; i < a->nsentinels; i++) {
		redisContext *s = redisConnectWithTimeout(a->sentinels[i].host,
							  a->sentinels[i].port, tv);
		redisReply *r = NULL;

		if (s && !s->err) {
			redisSetTimeout(s, tv);
			if (a->sentinel_pass[0])
				freeReplyObject(a->sentinel_user[0]
					? redisCommand(s, "AUTH %s %s", a->sentinel_user, a->sentinel_pass)
					: redisCommand(s, "AUTH %s", a->sentinel_pass));
			r = redisCommand(s, "SENTINEL get-master-addr-by-name %s", a->master);
		}
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING &&
		    r->element[0]->len < sizeof(a->host)) {
			snprintf(a->host, sizeof(a->host), "%s", r->element[0]->str);
			a->port = atoi(r->element[1]->str);
			freeReplyObject(r);
			redisFree(s);
			return GW_OK;
		}
		freeReplyObject(r);
		if (s)
			redisFree(s);
	}
	fprintf(stderr, "gatewayctl: no sentinel knows where master '%s' is\n", a->master);
	return GW_EUNAVAIL;
}

/* Connects, then sends AUTH and SELECT if the URL asks; one failure path. */
int ctl_connect(ctl_t *c, const gw_redis_url_t *a)
{
	struct timeval tv = { 2, 0 }, cmd_tv = { 10, 0 };
	int auth = a->user[0] || a->pass[0];
	const char *why = NULL;
	redisReply *r = NULL;

	c->redis = a->path[0] ? redisConnectUnixWithTimeout(a->path, tv)
			      : redisConnectWithTimeout(a->host, a->port, tv);
	if (!c->redis || c->redis->err) {
		why = c->redis ? c->redis->errstr : "out of memory";
	} else {
		redisSetTimeout(c->redis, cmd_tv);
		if (auth)
			r = a->user[0] ? redisCommand(c->redis, "AUTH %s %s", a->user, a->pass)
				       : redisCommand(c->redis, "AUTH %s", a->pass);
		if (a->db && (!auth || (r && r->type != REDIS_REPLY_ERROR))) {
			freeReplyObject(r);
			r = redisCommand(c->redis, "SELECT %d", a->db);
		}
		if ((auth || a->db) && (!r || r->type == REDIS_REPLY_ERROR))
			why = r ? r->str : c->redis->errstr;
	}
	if (why && a->path[0])
		fprintf(stderr, "gatewayctl: cannot connect to Redis at %s: %s\n", a->path, why);
	else if (why)
		fprintf(stderr, "gatewayctl: cannot connect to Redis at %s:%d: %s\n",
			a->host, a->port, why);
	freeReplyObject(r);
	return why ? GW_EUNAVAIL : GW_OK;
}

int ctl_user_conns(ctl_t *c, const char *user, const char *only, redisReply **reply,
		   gw_user_conn_t **out, size_t *n)
{
	char P[80], now[24];
	redisReply *r, *conns, *live;
	gw_ustr_t *cs, *ls;
	size_t i;

	snprintf(P, sizeof(P), "{%s}", c->prefix);
	snprintf(now, sizeof(now), "%lld", (long long)c->now);
	r = ctl_redis(c, REDIS_REPLY_ARRAY, "EVAL %s 0 %s %s %s", gw_lua_user_conns, P, user, now);
	if (!r)
		return GW_EIO;
	if (r->elements != 2 || r->element[0]->type != REDIS_REPLY_ARRAY ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		fprintf(stderr, "gatewayctl: unexpected reply to the user lookup\n");
		freeReplyObject(r);
		return GW_EIO;
	}
	conns = r->element[0];
	live = r->element[1];
	cs = gw_calloc(conns->elements + 1, sizeof(*cs));
	ls = gw_calloc(live->elements + 1, sizeof(*ls));
	*out = gw_calloc(conns->elements + 1, sizeof(**out));
	if (!cs || !ls || !*out) {
		gw_free(cs);
		gw_free(ls);
		gw_free(*out);
		freeReplyObject(r);
		return GW_ENOMEM;
	}
	for (i = 0; i < conns->elements; i++)
		if (conns->element[i]->type == REDIS_REPLY_STRING)
			cs[i] = (gw_ustr_t){ conns->element[i]->str, conns->element[i]->len };
	for (i = 0; i < live->elements; i++)
		if (live->element[i]->type == REDIS_REPLY_STRING)
			ls[i] = (gw_ustr_t){ live->element[i]->str, live->element[i]->len };
	*n = gw_user_conns(cs, conns->elements, ls, live->elements, only, *out);
	gw_free(cs);
	gw_free(ls);
	*reply = r;
	return GW_OK;
}

int ctl_use(ctl_t *c, uint32_t idx)
{
	gw_redis_url_t addr;
	char why[300];
	int rc = GW_OK;

	if (!c->link[idx] && !c->failed[idx]) {
		if (gw_redis_url_parse(c->shards->url[idx], &addr, why, sizeof(why))) {
			fprintf(stderr, "gatewayctl: %s\n", why);
			rc = GW_EINVAL;
		}
		if (!rc && addr.sentinel)
			rc = ctl_resolve(&addr);
		if (!rc)
			rc = ctl_connect(c, &addr);
		if (rc) {
			if (c->redis)
				redisFree(c->redis);
			c->failed[idx] = 1;
		} else {
			c->link[idx] = c->redis;
		}
		c->redis = NULL;
	}
	c->redis = c->link[idx];
	return c->redis ? GW_OK : GW_EUNAVAIL;
}

int ctl_use_name(ctl_t *c, const char *name)
{
	return ctl_use(c, gw_shard_of(name, strlen(name), (uint32_t)c->shards->n));
}
