/*
 * gw_metrics.c — renders the node's counters for Prometheus.
 */
#include "gw_metrics.h"
#include "gw_build.h"
#include "gw_bus.h"
#include "gw_health.h"
#include "gw_peers.h"
#include "gw_session.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct {
	gw_buf_t *b;
	int rc;
	const char *node;
} out_t;

static void emit(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(out_t *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (o->rc)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		o->rc = gw_buf_append(&o->b, line, (size_t)GW_MIN(n, (int)sizeof(line) - 1));
}

static void head(out_t *o, const char *name, const char *type, const char *help)
{
	emit(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void simple(out_t *o, const char *name, const char *type, const char *help,
		   unsigned long long v)
{
	head(o, name, type, help);
	emit(o, "%s{node=\"%s\"} %llu\n", name, o->node, v);
}

static void by_reason(out_t *o, const char *name, const char *help,
		      const uint64_t *counts)
{
	int i;

	head(o, name, "counter", help);
	for (i = 0; i < GW_CLOSE__COUNT; i++)
		if (counts[i])
			emit(o, "%s{node=\"%s\",reason=\"%s\"} %llu\n", name, o->node,
			     gw_close_name((gw_close_t)i), (unsigned long long)counts[i]);
}

gw_buf_t *gw_metrics_render(gw_node_t *node)
{
	const gw_stats_t *st = &node->stats;
	gw_bus_status_t bus;
	out_t o = { gw_buf_new(4096), 0, node->cfg->node_id };
	unsigned long long cum = 0;
	size_t i;

	if (!o.b)
		return NULL;
	/* gw_build's strings are printable and quote-free: no label escaping. */
	head(&o, "gw_build_info", "gauge",
	     "Always 1; the labels say what this node runs (version, commit, libwebsockets revision).");
	emit(&o, "gw_build_info{node=\"%s\",version=\"%s\",commit=\"%s\",lws=\"%s\"} 1\n",
	     o.node, gw_build_version(), gw_build_commit(), gw_build_lws());
	simple(&o, "gw_connections", "gauge", "Admitted connections on this node.",
	       gw_registry_joined(node->reg));
	simple(&o, "gw_connecting", "gauge", "Upgraded connections awaiting admission.",
	       gw_registry_conns(node->reg) - gw_registry_joined(node->reg));
	simple(&o, "gw_lobbies", "gauge", "Lobbies with local members.",
	       gw_registry_lobbies(node->reg));
	simple(&o, "gw_admissions_total", "counter", "Connections admitted.", st->admitted);
	by_reason(&o, "gw_rejections_total", "Connections refused before admission.",
		  st->rejected);
	by_reason(&o, "gw_disconnects_total", "Connections closed after admission.",
		  st->closed);
	/* Every reason, zeros included: an alert on a rate needs the series. */
	head(&o, "gw_connections_refused_total", "counter",
	     "TCP connections refused at the HTTP level (per-IP and handshake limits).");
	for (i = 1; i < GW_PEER_N_VERDICTS; i++)
		emit(&o, "gw_connections_refused_total{node=\"%s\",reason=\"%s\"} %llu\n",
		     o.node, gw_peer_verdict_name((gw_peer_verdict_t)i),
		     (unsigned long long)st->conns_refused[i]);
	simple(&o, "gw_handshakes", "gauge",
	       "Accepted connections whose request headers have not arrived yet.",
	       node->peers ? gw_peers_handshakes(node->peers) : 0);
	simple(&o, "gw_messages_in_total", "counter", "Messages from clients.", st->messages_in);
	simple(&o, "gw_messages_out_total", "counter", "Frames queued to clients.",
	       st->messages_out);
	simple(&o, "gw_bytes_in_total", "counter", "Bytes from clients.", st->bytes_in);
	simple(&o, "gw_bytes_out_total", "counter", "Bytes written to clients.", st->bytes_out);
	head(&o, "gw_drops_total", "counter", "Messages dropped, by reason.");
	emit(&o, "gw_drops_total{node=\"%s\",reason=\"rate_limited\"} %llu\n", o.node,
	     (unsigned long long)st->rate_limited);
	emit(&o, "gw_drops_total{node=\"%s\",reason=\"rate_limited_bytes\"} %llu\n", o.node,
	     (unsigned long long)st->rate_limited_bytes);
	emit(&o, "gw_drops_total{node=\"%s\",reason=\"queue\"} %llu\n", o.node,
	     (unsigned long long)st->dropped);
	gw_bus_status(node->bus, &bus);
	if (bus.link) {
		emit(&o, "gw_drops_total{node=\"%s\",reason=\"inbound_too_big\"} %llu\n",
		     o.node, (unsigned long long)bus.inbound_too_big);
		emit(&o, "gw_drops_total{node=\"%s\",reason=\"inbound_rate_limited\"} %llu\n",
		     o.node, (unsigned long long)bus.inbound_rate_limited);
	}
	simple(&o, "gw_slow_consumer_disconnects_total", "counter",
	       "Connections closed as slow consumers (4007).",
	       st->closed[GW_CLOSE_SLOW_CONSUMER]);
	head(&o, "gw_ping_rtt_ms", "histogram", "Heartbeat round-trip time in milliseconds.");
	for (i = 0; i < GW_ARRAY_LEN(gw_health_rtt_bounds); i++) {
		cum += st->rtt_buckets[i];
		emit(&o, "gw_ping_rtt_ms_bucket{node=\"%s\",le=\"%u\"} %llu\n", o.node,
		     gw_health_rtt_bounds[i], cum);
	}
	cum += st->rtt_buckets[GW_ARRAY_LEN(gw_health_rtt_bounds)];
	emit(&o, "gw_ping_rtt_ms_bucket{node=\"%s\",le=\"+Inf\"} %llu\n", o.node, cum);
	emit(&o, "gw_ping_rtt_ms_sum{node=\"%s\"} %llu\n", o.node,
	     (unsigned long long)st->rtt_sum_ms);
	emit(&o, "gw_ping_rtt_ms_count{node=\"%s\"} %llu\n", o.node,
	     (unsigned long long)st->rtt_count);
	if (bus.link) {
		simple(&o, "gw_redis_up", "gauge", "1 when the Redis link is ready.",
		       (unsigned long long)bus.link_up);
		head(&o, "gw_redis_state", "gauge", "1 for the Redis link's current state.");
		for (i = 0; i < bus.n_link_states; i++)
			emit(&o, "gw_redis_state{node=\"%s\",state=\"%s\"} %d\n", o.node,
			     bus.link_states[i], i == bus.link_state);
		simple(&o, "gw_redis_shards", "gauge", "Redis shards in --redis.", bus.shards);
		simple(&o, "gw_redis_shards_up", "gauge",
		       "Redis shards whose link is ready (with a fresh pub/sub probe).",
		       bus.shards_up);
		simple(&o, "gw_redis_latency_ms", "gauge", "Last Redis PING round trip.",
		       bus.latency_ms);
		simple(&o, "gw_redis_reconnects_total", "counter", "Redis link failures.",
		       bus.reconnects);
		simple(&o, "gw_redis_bad_replies_total", "counter",
		       "Redis replies refused as malformed (each drops the link).",
		       bus.bad_replies);
		simple(&o, "gw_inbound_total", "counter",
		       "Client messages appended to the inbound stream.", bus.inbound);
		head(&o, "gw_history_repairs_total", "counter",
		     "Lobby messages after a pub/sub gap: fetched from history, or lost (sent as gap).");
		emit(&o, "gw_history_repairs_total{node=\"%s\",outcome=\"repaired\"} %llu\n",
		     o.node, (unsigned long long)bus.history_repaired);
		emit(&o, "gw_history_repairs_total{node=\"%s\",outcome=\"lost\"} %llu\n",
		     o.node, (unsigned long long)bus.history_unrepaired);
		simple(&o, "gw_history_publish_failures_total", "counter",
		       "History broadcasts the Redis script refused (not delivered).",
		       bus.history_failed);
		head(&o, "gw_redis_master", "gauge",
		     "1 for the Redis server in use (after Sentinel failovers: the current master).");
		emit(&o, "gw_redis_master{node=\"%s\",addr=\"%s\",port=\"%d\"} 1\n", o.node,
		     bus.master ? bus.master : "", bus.master_port);
		simple(&o, "gw_redis_master_switches_total", "counter",
		       "Changes of Redis master (Sentinel failovers followed).", bus.master_switches);
		simple(&o, "gw_redis_master_switched_ms", "gauge",
		       "Wall-clock ms of the last change of master; 0: none.", bus.master_switched_ms);
	}
	head(&o, "gw_pubsub_messages_total", "counter", "Pub/sub envelopes.");
	emit(&o, "gw_pubsub_messages_total{node=\"%s\",direction=\"in\"} %llu\n", o.node,
	     (unsigned long long)bus.pubsub_in);
	emit(&o, "gw_pubsub_messages_total{node=\"%s\",direction=\"out\"} %llu\n", o.node,
	     (unsigned long long)bus.pubsub_out);
	simple(&o, "gw_pubsub_gaps_total", "counter", "Pub/sub gaps detected.", st->gaps);
	simple(&o, "gw_direct_writes_total", "counter",
	       "Frames written whole straight to the socket (the fast path).", st->direct_writes);
	simple(&o, "gw_partial_writes_total", "counter",
	       "Fast-path writes the socket took only part of (the rest went to lws).",
	       st->partial_writes);
	simple(&o, "gw_write_batches_total", "counter",
	       "Writes that carried several queued frames at once.", st->batches);
	simple(&o, "gw_batched_frames_total", "counter",
	       "Frames carried by those batched writes.", st->batched_frames);
	if (o.rc) {
		gw_buf_unref(o.b);
		return NULL;
	}
	return o.b;
}
