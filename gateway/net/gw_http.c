/*
 * gw_http.c — /healthz and /stats bodies. The lws plumbing that writes them
 * is in gw_server.c; this file only decides what to say.
 */
#include "gw_http.h"
#include "gw_auth.h"
#include "gw_bus.h"
#include "gw_session.h"
#include "gw_static.h"

#include <stdio.h>
#include <string.h>

static gw_buf_t *body(const char *s)
{
	gw_buf_t *b = gw_buf_new(strlen(s));

	if (b && gw_buf_append_str(&b, s)) {
		gw_buf_unref(b);
		return NULL;
	}
	return b;
}

static gw_buf_t *stats(gw_node_t *node)
{
	const gw_stats_t *st = &node->stats;
	const gw_config_t *cfg = node->cfg;
	size_t total = gw_registry_joined(node->reg);
	uint64_t rejected = 0;
	char tmp[2048];
	size_t i;

	for (i = 0; i < GW_ARRAY_LEN(st->rejected); i++)
		rejected += st->rejected[i];
	snprintf(tmp, sizeof(tmp),
		 "{\"node\":\"%s\",\"mode\":\"%s\",\"total\":%zu,\"max\":%ld,"
		 "\"capacity_percent\":%.2f,\"active_lobbies\":%zu,\"users\":%zu,"
		 "\"connecting\":%zu,\"max_connections\":%ld,\"max_per_lobby\":%ld,"
		 "\"uptime_s\":%llu,\"draining\":%s,"
		 "\"admitted\":%llu,\"rejected\":%llu,"
		 "\"rejected_server_full\":%llu,\"rejected_node_full\":%llu,"
		 "\"rejected_lobby_full\":%llu,\"rejected_unauthorized\":%llu,"
		 "\"messages_in\":%llu,\"messages_out\":%llu,\"bytes_in\":%llu,"
		 "\"bytes_out\":%llu,\"broadcasts\":%llu,\"directs\":%llu,"
		 "\"rate_limited\":%llu,\"rate_limited_bytes\":%llu,\"dropped\":%llu,"
		 "\"slow_consumer_closes\":%llu,\"stale_closes\":%llu,"
		 "\"avg_rtt_ms\":%.2f}",
		 cfg->node_id, gw_bus_kind(node->bus), total,
		 cfg->node_max_connections,
		 cfg->node_max_connections ? 100.0 * (double)total /
			 (double)cfg->node_max_connections : 0.0,
		 gw_registry_lobbies(node->reg), gw_registry_users(node->reg),
		 gw_registry_conns(node->reg) - total, cfg->max_connections,
		 cfg->max_per_lobby,
		 (unsigned long long)((gw_wall_ms() - node->started_ms) / 1000),
		 node->draining ? "true" : "false",
		 (unsigned long long)st->admitted, (unsigned long long)rejected,
		 (unsigned long long)st->rejected[GW_CLOSE_SERVER_FULL],
		 (unsigned long long)st->rejected[GW_CLOSE_NODE_FULL],
		 (unsigned long long)st->rejected[GW_CLOSE_LOBBY_FULL],
		 (unsigned long long)st->rejected[GW_CLOSE_UNAUTHORIZED],
		 (unsigned long long)st->messages_in,
		 (unsigned long long)st->messages_out,
		 (unsigned long long)st->bytes_in, (unsigned long long)st->bytes_out,
		 (unsigned long long)st->broadcasts, (unsigned long long)st->directs,
		 (unsigned long long)st->rate_limited,
		 (unsigned long long)st->rate_limited_bytes,
		 (unsigned long long)st->dropped,
		 (unsigned long long)st->closed[GW_CLOSE_SLOW_CONSUMER],
		 (unsigned long long)st->closed[GW_CLOSE_STALE],
		 st->rtt_count ? (double)st->rtt_sum_ms / (double)st->rtt_count : 0.0);
	return body(tmp);
}

gw_buf_t *gw_http_route(gw_node_t *node, const char *method, const char *path,
			int *status)
{
	if (strcmp(method, "GET") != 0) {
		*status = 405;
		return body("{\"error\":\"method_not_allowed\"}");
	}
	if (strcmp(path, "/healthz") == 0) {
		*status = 200;
		return body("{\"status\":\"ok\"}");
	}
	if (strcmp(path, "/stats") == 0) {
		*status = 200;
		return stats(node);
	}
	/* Every node's address and admin address: not for anyone who asks. */
	if (strcmp(path, "/cluster") == 0 && node->cfg->public_cluster_info) {
		*status = 200;
		return gw_http_cluster_json(node);
	}
	*status = 404;
	return body("{\"error\":\"not_found\"}");
}

gw_buf_t *gw_http_cluster_json(gw_node_t *node)
{
	const gw_config_t *cfg = node->cfg;
	size_t total = gw_registry_joined(node->reg);
	gw_buf_t *b;
	char tmp[1024];

	if ((b = gw_bus_snapshot(node->bus)))
		return b;
	snprintf(tmp, sizeof(tmp),
		 "{\"mode\":\"%s\",\"node\":\"%s\",\"total\":%zu,\"max_connections\":%ld,"
		 "\"capacity_percent\":%.2f,\"active_lobbies\":%zu,\"nodes\":[{\"id\":\"%s\","
		 "\"addr\":\"%s\",\"conns\":%zu,\"load\":%.4f,\"messages_in\":%llu,"
		 "\"messages_out\":%llu,\"started\":%llu,\"heartbeat\":%llu}]}",
		 gw_bus_kind(node->bus), cfg->node_id, total,
		 cfg->max_connections,
		 100.0 * (double)total / (double)cfg->max_connections,
		 gw_registry_lobbies(node->reg), cfg->node_id, cfg->listen, total,
		 (double)total / (double)cfg->node_max_connections,
		 (unsigned long long)node->stats.messages_in,
		 (unsigned long long)node->stats.messages_out,
		 (unsigned long long)node->started_ms, (unsigned long long)gw_wall_ms());
	return body(tmp);
}

const unsigned char *gw_http_static(const char *path, const char **type,
				    size_t *len)
{
	size_t i;

	for (i = 0; gw_static[i].path; i++) {
		if (strcmp(gw_static[i].path, path) == 0) {
			*type = gw_static[i].type;
			*len = gw_static[i].len;
			return gw_static[i].data;
		}
	}
	return NULL;
}

gw_buf_t *gw_http_dev_token(gw_node_t *node, const char *user, int *status)
{
	char tok[GW_AUTH_TOKEN_MAX + 1];
	int64_t now = (int64_t)(gw_wall_ms() / 1000);
	gw_buf_t *b;

	if (!node->cfg->dev_tokens) {
		*status = 404;
		return body("{\"error\":\"not_found\"}");
	}
	if (!user || !*user ||
	    gw_auth_sign(node->auth, user, now, now + 3600, tok, sizeof(tok)) != GW_OK) {
		*status = 400;
		return body("{\"error\":\"bad_request\",\"message\":\"?user= must be a valid user id\"}");
	}
	*status = 200;
	b = gw_buf_new(strlen(tok) + 16);
	if (b && (gw_buf_append_str(&b, "{\"token\":\"") || gw_buf_append_str(&b, tok) ||
		  gw_buf_append_str(&b, "\"}"))) {
		gw_buf_unref(b);
		return NULL;
	}
	return b;
}
