/*
 * gwbench_probe.c — what gwbench reads besides its own workers: a
 * process's RSS and CPU ticks and the machine's per-CPU jiffies from /proc,
 * Redis INFO (commands, per-command calls), and a node's GET /stats.
 * Blocking calls with short timeouts; only the parent uses them, between
 * phases or once a progress interval.
 */
#include "gwbench.h"
#include "gw_common.h"
#include "gw_redis_url.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* --- /proc ------------------------------------------------------------------------- */

long gwb_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* utime + stime in clock ticks; -1 when the process is gone. */
long long gwb_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* Per-CPU jiffies from /proc/stat: softirq work on loopback is often
 * charged to no process, so the machine view completes the per-pid one. */
void gwb_machine_snap(gwb_cpu_snap_t *s)
{
	char line[512];
	FILE *f = fopen("/proc/stat", "r");

	s->ncpu = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && s->ncpu < GWB_MAX_CPUS) {
		long long v[10] = { 0 };
		int id;

		if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(line, "cpu%d %lld %lld %lld %lld %lld %lld %lld %lld", &id, &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 9)
			continue;
		s->total[s->ncpu] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		s->busy[s->ncpu] = s->total[s->ncpu] - v[3] - v[4];
		s->softirq[s->ncpu] = v[6];
		s->ncpu++;
	}
	fclose(f);
}

/* --- Redis -------------------------------------------------------------------- */

redisContext *gwb_redis_open(const char *url)
{
	struct timeval tv = { 3, 0 };
	gw_redis_url_t a;
	redisContext *r;
	redisReply *rep = NULL;
	int ok = 1;

	if (gw_redis_url_parse(url, &a, NULL, 0) != GW_OK)
		return NULL;
	r = a.path[0] ? redisConnectUnixWithTimeout(a.path, tv)
		      : redisConnectWithTimeout(a.host, a.port, tv);
	if (!r || r->err) {
		if (r)
			redisFree(r);
		return NULL;
	}
	redisSetTimeout(r, tv);
	if (a.pass[0])
		rep = a.user[0] ? redisCommand(r, "AUTH %s %s", a.user, a.pass)
				: redisCommand(r, "AUTH %s", a.pass);
	if (a.pass[0])
		ok = rep && rep->type != REDIS_REPLY_ERROR;
	if (rep)
		freeReplyObject(rep);
	rep = NULL;
	if (ok && a.db) {
		rep = redisCommand(r, "SELECT %d", a.db);
		ok = rep && rep->type != REDIS_REPLY_ERROR;
		if (rep)
			freeReplyObject(rep);
	}
	if (!ok) {
		redisFree(r);
		return NULL;
	}
	return r;
}

long long gwb_redis_info(redisContext *r, const char *section_, const char *field)
{
	redisReply *rep = redisCommand(r, "INFO %s", section_);
	long long v = -1;
	char *p;

	if (rep && rep->type == REDIS_REPLY_STRING && (p = strstr(rep->str, field)))
		v = strtoll(p + strlen(field) + 1, NULL, 10);
	if (rep)
		freeReplyObject(rep);
	return v;
}

/* Calls per command from INFO commandstats ("cmdstat_get:calls=12,..."). */
void gwb_redis_cmdstats(redisContext *r, gwb_cmdstats_t *cs)
{
	redisReply *rep = redisCommand(r, "INFO commandstats");
	const char *p;

	cs->n = 0;
	if (rep && rep->type == REDIS_REPLY_STRING) {
		for (p = rep->str; (p = strstr(p, "cmdstat_")) && cs->n < GWB_MAX_CMDS; p++) {
			if (sscanf(p, "cmdstat_%31[^:]:calls=%lld", cs->name[cs->n],
				   &cs->calls[cs->n]) == 2)
				cs->n++;
		}
	}
	if (rep)
		freeReplyObject(rep);
}


/* --- HTTP /stats ------------------------------------------------------------------------ */

json_t *gwb_fetch_stats(const gwb_target_t *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { 3, 0 };
	char req[256], buf[16384];
	size_t have = 0;
	json_t *j = NULL;
	char *body;
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;

	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	a.sin_addr.s_addr = t->ip;
	a.sin_port = htons(t->port);
	n = snprintf(req, sizeof(req), "GET /stats HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
		     t->host);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    write(fd, req, (size_t)n) != n) {
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *cl;

		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = '\0';
		body = strstr(buf, "\r\n\r\n");
		cl = strcasestr(buf, "content-length:");
		if (body && cl && (size_t)(buf + have - (body + 4)) >= (size_t)atol(cl + 15))
			break;
		if (have >= sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[have] = '\0';
	if ((body = strstr(buf, "\r\n\r\n")))
		j = json_loads(body + 4, JSON_DISABLE_EOF_CHECK, NULL);
	return j;
}
