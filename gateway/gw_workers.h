/*
 * gw_workers.h — --workers N: every core of a host.
 *
 * A node is one thread on one loop. With --workers N (or `auto`, one per
 * CPU) main() calls gw_workers_supervise() before it creates anything:
 * this process becomes a small supervisor and forks N worker processes,
 * each a whole node that listens on the same port (SO_REUSEPORT, so the
 * kernel spreads new connections across them) and joins the cluster as its
 * own member, NODE-k (k = 1..N), with its own admin listener on the admin
 * port + k - 1 (so /metrics is per worker). Workers of one host share
 * nothing but the port: lobbies span them through Redis, which is why
 * --workers > 1 needs --redis.
 *
 * The supervisor forwards SIGTERM/SIGINT (drain: it exits when every worker
 * has) and SIGHUP to every worker, and restarts a worker that dies (at once,
 * or after a second when it died within a second of starting). Workers get
 * SIGTERM if the supervisor dies.
 */
#ifndef GW_WORKERS_H
#define GW_WORKERS_H

#include "gw_config.h"

/* The number of workers --workers asks for: `auto` is the CPU count. */
long gw_workers_count(const gw_config_t *cfg);

/*
 * With one worker, returns -1 at once: run the node in this process. Else
 * forks the workers and supervises them: in a worker it returns -1 with
 * `cfg` made that worker's (node id, admin address); in the supervisor it
 * returns only at the end, with the exit status for main().
 */
int gw_workers_supervise(gw_config_t *cfg);

/*
 * A worker starts with SIGTERM, SIGINT, SIGHUP and SIGCHLD blocked (so a
 * signal during start-up is not lost to the default action); main calls
 * this once its loop handles them. Harmless without workers.
 */
void gw_workers_signals_ready(void);

#endif
