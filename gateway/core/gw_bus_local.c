/*
 * gw_bus_local.c — the standalone bus: one node, no Redis.
 *
 * The core has already served this node when it calls the bus, and there
 * is no other node: publishing is a no-op, a user found nowhere here is
 * offline, and every question (presence, lookups) is declined so the core
 * answers from its own registry. It keeps no history: --history-size
 * needs --redis (refused at start-up), so publish_history and history are
 * absent from its table (gw_bus.c answers for them).
 */
#include "gw_bus.h"

static void local_lobby(void *impl, gw_session_t *s, gw_buf_t *event)
{
	GW_UNUSED(impl);
	GW_UNUSED(s);
	GW_UNUSED(event);
}

static int local_publish(void *impl, const char *lobby, gw_buf_t *frame)
{
	GW_UNUSED(impl);
	GW_UNUSED(lobby);
	GW_UNUSED(frame);
	return GW_OK;
}

static int local_send_user(void *impl, const char *user, size_t len,
			   const char *conn, gw_buf_t *frame, const char *kick,
			   gw_bus_sent_fn done, void *ud)
{
	GW_UNUSED(impl);
	GW_UNUSED(user);
	GW_UNUSED(len);
	GW_UNUSED(conn);
	GW_UNUSED(frame);
	GW_UNUSED(kick);
	done(ud, GW_OK, 0); /* nobody beyond this node */
	return GW_OK;
}

static int local_presence_query(void *impl, gw_session_t *s)
{
	GW_UNUSED(impl);
	GW_UNUSED(s);
	return GW_ENOENT;
}

static int local_inbound(void *impl, gw_session_t *s, const char *type,
			 const char *raw, size_t len)
{
	GW_UNUSED(impl);
	GW_UNUSED(s);
	GW_UNUSED(type);
	GW_UNUSED(raw);
	GW_UNUSED(len);
	return GW_ENOENT; /* no backends without a cluster */
}

static void local_status(void *impl, gw_bus_status_t *out)
{
	GW_UNUSED(impl);
	out->ready = 1;
}

static gw_buf_t *local_snapshot(void *impl)
{
	GW_UNUSED(impl);
	return NULL;
}

static int local_lookup(void *impl, int lobby, const char *name,
			gw_bus_lookup_fn done, void *ud)
{
	GW_UNUSED(impl);
	GW_UNUSED(lobby);
	GW_UNUSED(name);
	GW_UNUSED(done);
	GW_UNUSED(ud);
	return GW_ENOENT;
}

static void local_shutdown(void *impl)
{
	GW_UNUSED(impl);
}

static const gw_bus_ops_t local_ops = {
	.kind = "standalone",
	.lobby_joined = local_lobby,
	.lobby_left = local_lobby,
	.publish = local_publish,
	.send_user = local_send_user,
	.presence_query = local_presence_query,
	.inbound = local_inbound,
	.status = local_status,
	.snapshot = local_snapshot,
	.lookup = local_lookup,
	.shutdown = local_shutdown,
	.free = NULL, /* no state */
};

gw_bus_t *gw_bus_local(void)
{
	return gw_bus_create(&local_ops, NULL);
}
