/*
 * gw_log.c — one log line per event; every write(2) carries whole lines, so
 * lines from several processes sharing a file never interleave. Batching:
 * gw_log.h.
 */
#include "gw_log.h"
#include "gw_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

gw_log_level_t gw_log_level = GW_LOG_INFO;

static int log_fd = 2;
static char *log_path;
static gw_log_format_t log_fmt = GW_LOG_LOGFMT;

/* Batching (gw_log_batch): whole lines waiting for gw_log_flush(). */
static char batch[GW_LOG_BATCH_MAX];
static size_t batch_len;
static void (*batch_arm)(void *ud);
static void *batch_ud;

static const char *level_names[] = { "debug", "info", "warn", "error", "off" };

const char *gw_log_level_name(gw_log_level_t lvl)
{
	return (unsigned)lvl < GW_ARRAY_LEN(level_names) ? level_names[lvl] : "?";
}

static int open_path(void)
{
	int fd;

	if (!log_path)
		return 2;
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	return fd < 0 ? -1 : fd;
}

int gw_log_open(const char *path, gw_log_level_t level, gw_log_format_t fmt)
{
	int fd;

	gw_log_close();
	gw_log_level = level;
	log_fmt = fmt;
	if (path && *path && strcmp(path, "-") != 0) {
		log_path = gw_strdup(path);
		if (!log_path)
			return GW_ENOMEM;
	}
	fd = open_path();
	if (fd < 0)
		return GW_EIO;
	log_fd = fd;
	return GW_OK;
}

static void write_all(const char *p, size_t n)
{
	ssize_t w;

	do
		w = write(log_fd, p, n);
	while (w < 0 && errno == EINTR);
}

void gw_log_flush(void)
{
	if (batch_len)
		write_all(batch, batch_len);
	batch_len = 0;
}

void gw_log_batch(void (*arm)(void *ud), void *ud)
{
	gw_log_flush();
	batch_arm = arm;
	batch_ud = ud;
}

int gw_log_reopen(void)
{
	int fd;

	gw_log_flush();
	if (!log_path)
		return GW_OK;
	fd = open_path();
	if (fd < 0)
		return GW_EIO;
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
	return GW_OK;
}

void gw_log_close(void)
{
	gw_log_flush();
	if (log_fd > 2)
		close(log_fd);
	log_fd = 2;
	gw_free(log_path);
	log_path = NULL;
}

/* A tiny bounded line builder: output past the end is cut, never overrun. */
typedef struct {
	char *p;
	size_t len, cap;
} line_t;

static void put(line_t *l, const char *s, size_t n)
{
	if (l->len + n > l->cap)
		n = l->cap - l->len;
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void puts_(line_t *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Values are cut at this many bytes, so a line always closes properly. */
#define VALUE_MAX 1024

static void put_json_str(line_t *l, const char *s)
{
	const char *end = s + strnlen(s, VALUE_MAX);
	char esc[8];

	put(l, "\"", 1);
	for (; s < end; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(l, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(l, esc, 6);
		} else {
			put(l, (const char *)&c, 1);
		}
	}
	put(l, "\"", 1);
}

static int needs_quotes(const char *s)
{
	if (!*s)
		return 1;
	for (; *s; s++)
		if (*s <= ' ' || *s == '=' || *s == '"' || *s == '\\')
			return 1;
	return 0;
}

static void put_value(line_t *l, const gw_field_t *f)
{
	char num[32];

	if (!f->str) {
		snprintf(num, sizeof(num), "%lld", f->num);
		puts_(l, num);
	} else if (log_fmt == GW_LOG_JSON || needs_quotes(f->str)) {
		put_json_str(l, f->str);
	} else {
		put(l, f->str, strnlen(f->str, VALUE_MAX));
	}
}

void gw_log_emit(gw_log_level_t lvl, const char *event, const gw_field_t *f,
		 size_t n)
{
	/* Room for ~14 maximal values: every GW_LOG call has fewer fields. */
	char buf[16384], ts[40];
	line_t l = { buf, 0, sizeof(buf) - 1 };
	struct timespec now;
	struct tm tm;
	size_t i, tl;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + tl, sizeof(ts) - tl, ".%03ldZ", now.tv_nsec / 1000000);

	if (log_fmt == GW_LOG_JSON) {
		puts_(&l, "{\"ts\":\"");
		puts_(&l, ts);
		puts_(&l, "\",\"level\":\"");
		puts_(&l, gw_log_level_name(lvl));
		puts_(&l, "\",\"event\":");
		put_json_str(&l, event);
		for (i = 0; i < n; i++) {
			puts_(&l, ",");
			put_json_str(&l, f[i].key);
			puts_(&l, ":");
			put_value(&l, &f[i]);
		}
		puts_(&l, "}");
	} else {
		puts_(&l, "ts=");
		puts_(&l, ts);
		puts_(&l, " level=");
		puts_(&l, gw_log_level_name(lvl));
		puts_(&l, " event=");
		puts_(&l, event);
		for (i = 0; i < n; i++) {
			puts_(&l, " ");
			puts_(&l, f[i].key);
			puts_(&l, "=");
			put_value(&l, &f[i]);
		}
	}
	buf[l.len++] = '\n';
	if (!batch_arm || l.len > sizeof(batch)) {
		gw_log_flush(); /* keep the order */
		write_all(buf, l.len);
		return;
	}
	if (batch_len + l.len > sizeof(batch))
		gw_log_flush();
	memcpy(batch + batch_len, buf, l.len);
	batch_len += l.len;
	if (lvl >= GW_LOG_WARN)
		gw_log_flush();
	else if (batch_len == l.len)
		batch_arm(batch_ud);
}
