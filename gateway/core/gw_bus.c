/*
 * gw_bus.c — the bus seam (see gw_bus.h): one table, forwarded.
 */
#include "gw_bus.h"
#include "gw_alloc.h"

struct gw_bus {
	const gw_bus_ops_t *ops;
	void *impl;
};

gw_bus_t *gw_bus_create(const gw_bus_ops_t *ops, void *impl)
{
	gw_bus_t *b = gw_calloc(1, sizeof(*b));

	if (!b) {
		if (ops->free)
			ops->free(impl);
		return NULL;
	}
	b->ops = ops;
	b->impl = impl;
	return b;
}

void gw_bus_free(gw_bus_t *b)
{
	if (!b)
		return;
	if (b->ops->free)
		b->ops->free(b->impl);
	gw_free(b);
}

void gw_bus_lobby_joined(gw_bus_t *b, gw_session_t *s, gw_buf_t *event)
{
	b->ops->lobby_joined(b->impl, s, event);
}

void gw_bus_lobby_left(gw_bus_t *b, gw_session_t *s, gw_buf_t *event)
{
	b->ops->lobby_left(b->impl, s, event);
}

int gw_bus_publish(gw_bus_t *b, const char *lobby, gw_buf_t *frame)
{
	return b->ops->publish(b->impl, lobby, frame);
}

int gw_bus_publish_history(gw_bus_t *b, const char *lobby, gw_buf_t *head,
			   uint64_t exclude)
{
	if (!b->ops->publish_history)
		return GW_EUNAVAIL;
	return b->ops->publish_history(b->impl, lobby, head, exclude);
}

int gw_bus_history(gw_bus_t *b, const char *lobby, uint64_t since, const char *epoch,
		   size_t max_n, size_t max_bytes, gw_bus_history_fn done, void *ud)
{
	if (!b->ops->history)
		return GW_ENOENT;
	return b->ops->history(b->impl, lobby, since, epoch, max_n, max_bytes, done, ud);
}

int gw_bus_send_user(gw_bus_t *b, const char *user, size_t len, const char *conn,
		     gw_buf_t *frame, const char *kick, gw_bus_sent_fn done, void *ud)
{
	return b->ops->send_user(b->impl, user, len, conn, frame, kick, done, ud);
}

int gw_bus_presence_query(gw_bus_t *b, gw_session_t *s)
{
	return b->ops->presence_query(b->impl, s);
}

int gw_bus_inbound(gw_bus_t *b, gw_session_t *s, const char *type, const char *raw,
		   size_t len)
{
	return b->ops->inbound(b->impl, s, type, raw, len);
}

void gw_bus_status(gw_bus_t *b, gw_bus_status_t *out)
{
	*out = (gw_bus_status_t){ .kind = b->ops->kind, .ready = 1 };
	b->ops->status(b->impl, out);
}

gw_buf_t *gw_bus_snapshot(gw_bus_t *b)
{
	return b->ops->snapshot(b->impl);
}

int gw_bus_lookup(gw_bus_t *b, int lobby, const char *name, gw_bus_lookup_fn done,
		  void *ud)
{
	return b->ops->lookup(b->impl, lobby, name, done, ud);
}

void gw_bus_shutdown(gw_bus_t *b)
{
	b->ops->shutdown(b->impl);
}

const char *gw_bus_kind(const gw_bus_t *b)
{
	return b->ops->kind;
}
