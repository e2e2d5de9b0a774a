/*
 * gw_admission.c — the admission seam and its standalone implementation.
 */
#include "gw_admission.h"
#include "gw_alloc.h"

struct gw_admission {
	const gw_admission_ops_t *ops;
	void *impl;
};

gw_admission_t *gw_admission_create(const gw_admission_ops_t *ops, void *impl)
{
	gw_admission_t *a = gw_calloc(1, sizeof(*a));

	if (!a) {
		if (ops->free)
			ops->free(impl);
		return NULL;
	}
	a->ops = ops;
	a->impl = impl;
	return a;
}

void gw_admission_free(gw_admission_t *a)
{
	if (!a)
		return;
	if (a->ops->free)
		a->ops->free(a->impl);
	gw_free(a);
}

int gw_admission_admit(gw_admission_t *a, const gw_admit_req_t *req,
		       gw_admit_done_fn done)
{
	return a->ops->admit(a->impl, req, done);
}

void gw_admission_release(gw_admission_t *a, const gw_admit_req_t *req)
{
	if (a->ops->release)
		a->ops->release(a->impl, req);
}

int gw_admission_hold(gw_admission_t *a, const gw_admit_req_t *req, uint64_t deadline_ms)
{
	return a->ops->hold ? a->ops->hold(a->impl, req, deadline_ms) : GW_OK;
}

int gw_admission_settle(gw_admission_t *a, const gw_admit_req_t *req,
			gw_settle_done_fn done)
{
	return a->ops->settle ? a->ops->settle(a->impl, req, done) : GW_ENOENT;
}

const char *gw_admission_name(const gw_admission_t *a)
{
	return a->ops->name;
}

/*
 * With --user-policy=replace the user's existing connections here are
 * about to be closed, so they do not count against the new one.
 */
gw_admit_t gw_admission_check_local(gw_node_t *node, const gw_admit_req_t *req)
{
	const gw_config_t *cfg = node->cfg;
	gw_user_t *u = gw_registry_user(node->reg, req->user, req->user_len);
	gw_lobby_t *l = gw_registry_lobby(node->reg, req->lobby, req->lobby_len);
	size_t total = gw_registry_joined(node->reg);
	size_t in_lobby = l ? l->count : 0;
	size_t mine = u ? u->count : 0;

	if (mine) {
		switch (cfg->user_policy) {
		case GW_POLICY_REJECT:
			return GW_ADMIT_USER_LIMIT;
		case GW_POLICY_MULTI:
			if ((long)mine >= cfg->max_per_user)
				return GW_ADMIT_USER_LIMIT;
			break;
		case GW_POLICY_REPLACE: {
			gw_list_t *pos;

			total -= mine;
			for (pos = u->conns.next; pos != &u->conns; pos = pos->next)
				if (GW_MEMBER_OF(pos, user_link)->lobby == l)
					in_lobby--;
			break;
		}
		}
	}
	if ((long)total >= cfg->max_connections)
		return GW_ADMIT_SERVER_FULL;
	if ((long)total >= cfg->node_max_connections)
		return GW_ADMIT_NODE_FULL;
	if ((long)in_lobby >= cfg->max_per_lobby)
		return GW_ADMIT_LOBBY_FULL;
	return GW_ADMIT_OK;
}

static int local_admit(void *impl, const gw_admit_req_t *req,
		       gw_admit_done_fn done)
{
	gw_node_t *node = impl;
	gw_admit_t v = gw_admission_check_local(node, req);
	int resumed = v == GW_ADMIT_OK && node->held_take &&
		      node->held_take(node, req->lobby, req->lobby_len,
				      req->user, req->user_len);

	done(node, req->conn_id, v, resumed);
	return GW_OK;
}

/* Standalone, the held leave lives only in gw_grace: it is announced
 * unless a local rejoin took it (node->held_take) before its grace ended. */
static int local_settle(void *impl, const gw_admit_req_t *req, gw_settle_done_fn done)
{
	done(impl, req->conn_id, 1);
	return GW_OK;
}

static const gw_admission_ops_t local_ops = {
	.name = "local",
	.admit = local_admit,
	.settle = local_settle,
};

gw_admission_t *gw_admission_local(gw_node_t *node)
{
	return gw_admission_create(&local_ops, node);
}
