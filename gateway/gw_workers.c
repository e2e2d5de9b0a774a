/*
 * gw_workers.c — the supervisor of --workers (see gw_workers.h).
 *
 * The supervisor is deliberately not an event loop: it blocks the signals
 * it handles and takes them one at a time with sigtimedwait(), so a signal
 * can never arrive in the middle of a fork or a restart. Workers restore
 * the signal mask before they become nodes.
 */
#include "gw_workers.h"
#include "gw_alloc.h"
#include "gw_log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64

typedef struct {
	pid_t pid;          /* 0: not running */
	uint64_t started;   /* monotonic ms */
	uint64_t restart_at; /* monotonic ms; 0: none pending */
} worker_t;

long gw_workers_count(const gw_config_t *cfg)
{
	const char *v = cfg->workers;
	long n;

	if (!v || !*v)
		return 1;
	if (!strcmp(v, "auto")) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		return n < 1 ? 1 : GW_MIN(n, MAX_WORKERS);
	}
	n = strtol(v, NULL, 10);
	return n < 1 ? 1 : GW_MIN(n, MAX_WORKERS);
}

/* Makes `cfg` worker k's: node id NODE-k, admin port + k - 1. */
static int become(gw_config_t *cfg, long k)
{
	size_t n = strlen(cfg->node_id) + 8;
	char *id = gw_malloc(n), *admin = NULL;

	if (!id)
		return GW_ENOMEM;
	snprintf(id, n, "%s-%ld", cfg->node_id, k);
	gw_free(cfg->node_id);
	cfg->node_id = id;
	if (cfg->admin_listen && *cfg->admin_listen) {
		const char *colon = strrchr(cfg->admin_listen, ':');
		long port = strtol(colon + 1, NULL, 10) + k - 1;

		n = strlen(cfg->admin_listen) + 8;
		if (port > 65535 || !(admin = gw_malloc(n)))
			return GW_EINVAL;
		snprintf(admin, n, "%.*s:%ld", (int)(colon - cfg->admin_listen),
			 cfg->admin_listen, port);
		gw_free(cfg->admin_listen);
		cfg->admin_listen = admin;
	}
	return GW_OK;
}

/* Forks worker k; 0 in the child (cfg is then the worker's). */
static pid_t spawn(gw_config_t *cfg, worker_t *w, long k, const sigset_t *old)
{
	pid_t pid = fork();

	if (pid == 0) {
		/*
		 * The signals stay blocked until the worker's loop has its
		 * handlers (gw_workers_signals_ready): a SIGTERM that came
		 * during start-up waits for them instead of killing the
		 * worker with the default action.
		 */
		GW_UNUSED(old);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (become(cfg, k)) {
			fprintf(stderr, "gateway: worker %ld: bad node id or admin address\n", k);
			_exit(2);
		}
		return 0;
	}
	if (pid < 0) {
		GW_LOG(GW_LOG_ERROR, "worker_fork_failed", GW_I("worker", k),
		       GW_S("error", strerror(errno)));
		w->restart_at = gw_now_ms() + 1000;
		return -1;
	}
	w->pid = pid;
	w->started = gw_now_ms();
	w->restart_at = 0;
	GW_LOG(GW_LOG_INFO, "worker_started", GW_I("worker", k), GW_I("pid", pid));
	return pid;
}

static void forward(worker_t *ws, long n, int sig)
{
	for (long k = 0; k < n; k++)
		if (ws[k].pid > 0)
			kill(ws[k].pid, sig);
}

int gw_workers_supervise(gw_config_t *cfg)
{
	long n = gw_workers_count(cfg), alive = 0;
	worker_t ws[MAX_WORKERS] = { 0 };
	sigset_t set, old;
	int stopping = 0, failed = 0;

	if (n <= 1)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	GW_LOG(GW_LOG_INFO, "supervisor", GW_S("node", cfg->node_id), GW_I("workers", n),
	       GW_S("listen", cfg->listen));
	for (long k = 0; k < n; k++) {
		pid_t pid = spawn(cfg, &ws[k], k + 1, &old);

		if (pid == 0)
			return -1;
		alive += pid > 0;
	}
	while (!stopping || alive > 0) {
		struct timespec tick = { 0, 200 * 1000 * 1000 };
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &tick);
		uint64_t now = gw_now_ms();
		pid_t pid;
		int status;

		if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping)
				GW_LOG(GW_LOG_INFO, "supervisor_draining", GW_I("workers", alive));
			stopping = 1;
			forward(ws, n, sig);
		} else if (sig == SIGHUP) {
			gw_log_reopen();
			forward(ws, n, SIGHUP);
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (long k = 0; k < n; k++) {
				if (ws[k].pid != pid)
					continue;
				ws[k].pid = 0;
				alive--;
				/* The exit status says how the drain went; a crash
				 * before it was logged and repaired. */
				if (stopping && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
					failed = 1;
				GW_LOG(stopping ? GW_LOG_INFO : GW_LOG_WARN, "worker_exited",
				       GW_I("worker", k + 1), GW_I("pid", pid),
				       GW_I("status", WIFEXITED(status) ? WEXITSTATUS(status)
									: 128 + WTERMSIG(status)));
				if (!stopping) /* a crash loop waits a second between tries */
					ws[k].restart_at = now - ws[k].started < 1000 ? now + 1000 : now;
			}
		}
		for (long k = 0; !stopping && k < n; k++) {
			if (ws[k].pid || !ws[k].restart_at || ws[k].restart_at > now)
				continue;
			pid = spawn(cfg, &ws[k], k + 1, &old);
			if (pid == 0)
				return -1;
			alive += pid > 0;
		}
	}
	GW_LOG(GW_LOG_INFO, "supervisor_stopped", GW_I("failed", failed));
	return failed ? 1 : 0;
}

void gw_workers_signals_ready(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}
