/*
 * gw_cluster.c — placeholder until the Redis link lands (issue #3): the
 * node refuses to start with --redis rather than pretend to be clustered.
 */
#include "gw_cluster.h"

#include <stdio.h>

gw_cluster_t *gw_cluster_create(gw_node_t *node, char *err, size_t errlen)
{
	GW_UNUSED(node);
	snprintf(err, errlen, "cluster mode (--redis) is not available in this build");
	return NULL;
}

void gw_cluster_free(gw_cluster_t *c) { GW_UNUSED(c); }
gw_admission_t *gw_cluster_admission(gw_cluster_t *c) { GW_UNUSED(c); return NULL; }
void gw_cluster_presence_join(gw_cluster_t *c, gw_session_t *s) { GW_UNUSED(c); GW_UNUSED(s); }
void gw_cluster_presence_leave(gw_cluster_t *c, gw_session_t *s, const char *r) { GW_UNUSED(c); GW_UNUSED(s); GW_UNUSED(r); }
int gw_cluster_presence_query(gw_cluster_t *c, gw_session_t *s) { GW_UNUSED(c); GW_UNUSED(s); return GW_EUNAVAIL; }
void gw_cluster_publish_lobby(gw_cluster_t *c, gw_lobby_t *l, const char *f, gw_buf_t *b) { GW_UNUSED(c); GW_UNUSED(l); GW_UNUSED(f); GW_UNUSED(b); }
void gw_cluster_send_user(gw_cluster_t *c, gw_session_t *s, const char *t, size_t n, gw_buf_t *b, size_t d) { GW_UNUSED(c); GW_UNUSED(s); GW_UNUSED(t); GW_UNUSED(n); GW_UNUSED(b); GW_UNUSED(d); }
void gw_cluster_shutdown(gw_cluster_t *c) { GW_UNUSED(c); }
int gw_cluster_ready(const gw_cluster_t *c) { GW_UNUSED(c); return 0; }
