/*
 * main.c — the gateway daemon: owns the one event loop.
 *
 * Start-up: config (fail fast), logging, the event_base, the node's
 * modules, the cluster link when --redis is set, then libwebsockets on the
 * same base. Shutdown (SIGTERM/SIGINT) is a small state machine: RUNNING →
 * DRAINING (refuse new connections, close everyone with 1001, drop our
 * presence from the cluster) → STOPPING (when all are gone or
 * --shutdown-timeout passes: destroy lws, free events, let the loop end).
 * SIGHUP reopens the log file and re-reads the TLS certificate and key.
 */
#include "gw_admin.h"
#include "gw_admission.h"
#include "gw_alloc.h"
#include "gw_auth.h"
#include "gw_build.h"
#include "gw_bus.h"
#include "gw_cluster.h"
#include "gw_config.h"
#include "gw_grace.h"
#include "gw_health.h"
#include "gw_log.h"
#include "gw_node.h"
#include "gw_router.h"
#include "gw_server.h"
#include "gw_session.h"
#include "gw_workers.h"
#include "gw_tls.h"

#include <event2/event.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { RUNNING = 0, DRAINING, STOPPING } run_state_t;
static const char *run_state_names[] = { "running", "draining", "stopping" };

typedef struct {
	gw_node_t node;
	gw_admin_t *admin;
	run_state_t state;
	uint64_t drain_deadline;
	struct event *sigterm, *sigint, *sighup, *drain_timer;
	struct event *log_flush; /* lives until cleanup(): logs outlast stop() */
} daemon_t;

static void set_state(daemon_t *d, run_state_t st)
{
	GW_LOG(GW_LOG_INFO, "state", GW_S("from", run_state_names[d->state]),
	       GW_S("to", run_state_names[st]),
	       GW_I("connections", gw_registry_conns(d->node.reg)));
	d->state = st;
}

static void free_events(daemon_t *d)
{
	struct event **evs[] = { &d->sigterm, &d->sigint, &d->sighup,
				 &d->drain_timer };
	size_t i;

	for (i = 0; i < GW_ARRAY_LEN(evs); i++) {
		if (*evs[i]) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	}
}

static void stop(daemon_t *d)
{
	set_state(d, STOPPING);
	free_events(d);
	gw_health_free(d->node.health);
	d->node.health = NULL;
	gw_server_stop(&d->node);
	/* With its events gone the loop ends once lws has let go too. */
	event_base_loopexit(d->node.base, NULL);
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
	daemon_t *d = arg;

	GW_UNUSED(fd);
	GW_UNUSED(what);
	/* Held leaves settling (gw_grace_flush) are told before the node goes. */
	if ((gw_registry_conns(d->node.reg) == 0 && gw_grace_held(d->node.grace) == 0) ||
	    gw_now_ms() >= d->drain_deadline)
		stop(d);
}

static void log_cert(const char *event, const gw_tls_t *tls)
{
	gw_tls_info_t ti;

	gw_tls_info(tls, &ti);
	GW_LOG(ti.expired ? GW_LOG_WARN : GW_LOG_INFO, event, GW_S("subject", ti.subject),
	       GW_S("serial", ti.serial), GW_S("not_after", ti.not_after),
	       GW_S("expired", ti.expired ? "yes" : "no"));
}

/* SIGHUP: a bad new file is logged and the old certificate kept. */
static void reload_tls(daemon_t *d)
{
	char err[512];

	if (gw_tls_reload(d->node.tls, err, sizeof(err)) == GW_OK)
		log_cert("tls_reloaded", d->node.tls);
	else
		GW_LOG(GW_LOG_ERROR, "tls_reload_failed", GW_S("error", err),
		       GW_S("kept", "the previous certificate"));
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	daemon_t *d = arg;
	struct timeval tv = { 0, 50 * 1000 };


	GW_UNUSED(what);
	if (sig == SIGHUP) {
		gw_log_reopen();
		GW_LOG(GW_LOG_INFO, "log_reopened");
		if (d->node.tls)
			reload_tls(d);
		return;
	}
	if (d->state != RUNNING) {
		if (d->state == DRAINING)
			stop(d); /* a second signal: stop now */
		return;
	}
	set_state(d, DRAINING);
	d->node.draining = 1;
	d->drain_deadline = gw_now_ms() +
			    (uint64_t)d->node.cfg->shutdown_timeout * 1000;
	/* Before the bus's shutdown, whose last sweep drops our entries: the
	 * settles reach Redis first on the same links. */
	gw_grace_flush(d->node.grace);
	gw_bus_shutdown(d->node.bus);
	gw_router_close_all(&d->node, GW_CLOSE_GOING_AWAY);
	d->drain_timer = event_new(d->node.base, -1, EV_PERSIST, drain_tick, d);
	if (!d->drain_timer || event_add(d->drain_timer, &tv))
		stop(d);
}

/*
 * epoll with a changelist: the add/remove-POLLOUT toggles lws makes within
 * one loop turn (one per frame written) collapse into at most one
 * epoll_ctl per socket per turn.
 */
static struct event_base *new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (!cfg)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static int split_listen(const char *listen, char *host, size_t cap, int *port)
{
	const char *colon = strrchr(listen, ':');
	size_t n;

	if (!colon)
		return GW_EINVAL;
	n = (size_t)(colon - listen);
	if (n && listen[0] == '[' && listen[n - 1] == ']') {
		listen++;
		n -= 2;
	}
	if (n >= cap)
		return GW_EINVAL;
	memcpy(host, listen, n);
	host[n] = '\0';
	*port = atoi(colon + 1);
	return GW_OK;
}

/*
 * Log lines go out in one write(2) per LOG_FLUSH_MS at most (gw_log.h): the
 * first line into an empty buffer arms the timer. A zero timeout would cost
 * an extra loop turn (and its epoll_wait) per logged turn at light load.
 */
#define LOG_FLUSH_MS 20

static void on_log_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	gw_log_flush();
}

static void arm_log_flush(void *ud)
{
	static const struct timeval soon = { 0, LOG_FLUSH_MS * 1000 };
	daemon_t *d = ud;

	if (event_add(d->log_flush, &soon))
		gw_log_flush();
}

static int start(daemon_t *d, char *err, size_t errlen)
{
	gw_node_t *node = &d->node;
	const gw_config_t *cfg = node->cfg;

	if (split_listen(cfg->listen, node->host, sizeof(node->host), &node->port)) {
		snprintf(err, errlen, "bad --listen %s", cfg->listen);
		return GW_EINVAL;
	}
	if (*cfg->tls_cert) {
		node->tls = gw_tls_create(cfg->tls_cert, cfg->tls_key, err, errlen);
		if (!node->tls)
			return GW_EINVAL;
		log_cert("tls_certificate", node->tls);
	}
	node->started_ms = gw_wall_ms();
	node->next_conn = (node->started_ms & 0xffffffffffull) << 20;
	node->base = new_base();
	node->reg = gw_registry_create();
	node->auth = gw_auth_create(cfg->jwt_secret, strlen(cfg->jwt_secret),
				    (int)cfg->jwt_leeway);
	if (!node->base || !node->reg || !node->auth ||
	    !(d->log_flush = evtimer_new(node->base, on_log_flush, d))) {
		snprintf(err, errlen, "out of memory at start-up");
		return GW_ENOMEM;
	}
	gw_log_batch(arm_log_flush, d);
	if (gw_router_init(node) || !(node->health = gw_health_create(node))) {
		snprintf(err, errlen, "out of memory at start-up");
		return GW_ENOMEM;
	}
	/* The one place that chooses: standalone, or the Redis bus and admission. */
	if (cfg->redis_url && *cfg->redis_url) {
		gw_bus_sink_t sink;
		gw_cluster_t *c;

		gw_router_sink(node, &sink);
		c = gw_cluster_create(node, &sink, err, errlen);
		if (!c)
			return GW_EINVAL;
		node->bus = gw_cluster_bus(c); /* owns c from here on */
		node->admission = node->bus ? gw_cluster_admission(c) : NULL;
	} else {
		node->bus = gw_bus_local();
		node->admission = gw_admission_local(node);
	}
	if (!node->bus || !node->admission) {
		snprintf(err, errlen, "out of memory at start-up");
		return GW_ENOMEM;
	}
	if (gw_server_start(node, err, errlen))
		return GW_EIO;
	if (cfg->admin_listen && *cfg->admin_listen &&
	    !(d->admin = gw_admin_create(node, err, errlen)))
		return GW_EIO;
	d->sigterm = evsignal_new(node->base, SIGTERM, on_signal, d);
	d->sigint = evsignal_new(node->base, SIGINT, on_signal, d);
	d->sighup = evsignal_new(node->base, SIGHUP, on_signal, d);
	if (!d->sigterm || !d->sigint || !d->sighup || evsignal_add(d->sigterm, NULL) ||
	    evsignal_add(d->sigint, NULL) || evsignal_add(d->sighup, NULL)) {
		snprintf(err, errlen, "cannot install signal handlers");
		return GW_ERROR;
	}
	gw_workers_signals_ready();
	return GW_OK;
}

static void cleanup(daemon_t *d)
{
	gw_node_t *node = &d->node;

	free_events(d);
	gw_health_free(node->health);
	node->health = NULL;
	gw_server_stop(node);
	gw_router_shutdown(node);
	gw_admission_free(node->admission);
	/* The bus first: its pending callbacks may still answer admin requests. */
	gw_bus_free(node->bus);
	gw_admin_free(d->admin);
	gw_registry_free(node->reg);
	gw_auth_free(node->auth);
	gw_tls_free(node->tls);
	gw_log_batch(NULL, NULL); /* flushes */
	if (d->log_flush)
		event_free(d->log_flush);
	d->log_flush = NULL;
	if (node->base)
		event_base_free(node->base);
}

int main(int argc, char **argv)
{
	extern char **environ;
	static daemon_t d;
	gw_config_t cfg;
	char err[512] = "";
	int rc;

	signal(SIGPIPE, SIG_IGN);
	rc = gw_config_load(&cfg, argc, argv, environ, err, sizeof(err));
	if (rc == GW_CONFIG_VERSION) {
		gw_build_print(stdout, "gateway");
		printf("libwebsockets %s (running)\n", lws_get_library_version());
	}
	if (rc == 1 || rc == GW_CONFIG_VERSION) {
		gw_config_free(&cfg);
		return 0;
	}
	if (rc != GW_OK) {
		fprintf(stderr, "gateway: %s\n", err);
		gw_config_free(&cfg);
		return 2;
	}
	if (gw_log_open(cfg.log_file, (gw_log_level_t)cfg.log_level,
			(gw_log_format_t)cfg.log_format)) {
		fprintf(stderr, "gateway: cannot open log file %s\n", cfg.log_file);
		gw_config_free(&cfg);
		return 2;
	}
	/* --workers: this process supervises; only workers go on. */
	if ((rc = gw_workers_supervise(&cfg)) >= 0) {
		gw_log_close();
		gw_config_free(&cfg);
		return rc;
	}
	d.node.cfg = &cfg;
	d.node.listen_share = gw_workers_count(&cfg) > 1;
	GW_LOG(GW_LOG_INFO, "build", GW_S("version", gw_build_version()),
	       GW_S("commit", gw_build_commit()), GW_S("lws", gw_build_lws()),
	       GW_S("lws_running", lws_get_library_version()));
	if (start(&d, err, sizeof(err)) != GW_OK) {
		GW_LOG(GW_LOG_ERROR, "startup_failed", GW_S("error", err));
		fprintf(stderr, "gateway: %s\n", err);
		cleanup(&d);
		gw_log_close();
		gw_config_free(&cfg);
		return 1;
	}
	GW_LOG(GW_LOG_INFO, "listening", GW_S("node", cfg.node_id),
	       GW_S("listen", cfg.listen), GW_S("scheme", d.node.tls ? "wss" : "ws"),
	       GW_S("mode", gw_bus_kind(d.node.bus)),
	       GW_S("admission", gw_admission_name(d.node.admission)),
	       GW_S("user_policy", gw_user_policy_name(cfg.user_policy)));
	event_base_dispatch(d.node.base);
	GW_LOG(GW_LOG_INFO, "stopped", GW_I("admitted", d.node.stats.admitted));
	cleanup(&d);
	gw_log_close();
	gw_config_free(&cfg);
	return 0;
}
