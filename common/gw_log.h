/*
 * gw_log.h — structured logging (logfmt or JSON lines).
 *
 * A line is an event name plus typed fields:
 *
 *     GW_LOG(GW_LOG_INFO, "connect", GW_S("conn", id), GW_S("user", user),
 *            GW_I("code", 4002));
 *
 * The level is checked before any argument is evaluated. Secrets (tokens)
 * must never be passed as fields. Not thread-safe: the daemon is one thread.
 *
 * Each write(2) carries whole lines, so lines from several processes sharing
 * a file or a pipe never interleave. By default every line is its own write.
 * With gw_log_batch() (the daemon's loop), debug and info lines wait in a
 * buffer of at most GW_LOG_BATCH_MAX bytes (PIPE_BUF: a pipe writes it
 * atomically) until the loop flushes it (the daemon: 20 ms after the first
 * waiting line), so a connect storm costs one write per 4 KiB of lines
 * instead of one per connection; a warn or error line flushes at once, with
 * the lines before it, in order. A crash can lose the last 20 ms of info
 * lines.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include "gw_common.h"

typedef enum {
	GW_LOG_DEBUG = 0,
	GW_LOG_INFO,
	GW_LOG_WARN,
	GW_LOG_ERROR,
	GW_LOG_OFF,
} gw_log_level_t;

typedef enum { GW_LOG_LOGFMT = 0, GW_LOG_JSON } gw_log_format_t;

typedef struct {
	const char *key;
	const char *str; /* NULL for numbers */
	long long num;
} gw_field_t;

static inline const char *gw__nz(const char *s)
{
	return s ? s : "";
}

#define GW_S(k, v) ((gw_field_t){ (k), gw__nz(v), 0 })
#define GW_I(k, v) ((gw_field_t){ (k), NULL, (long long)(v) })

extern gw_log_level_t gw_log_level;

#define GW_LOG(lvl, event, ...)                                              \
	do {                                                                 \
		if ((lvl) >= gw_log_level) {                                 \
			const gw_field_t gw__f[] = { { NULL, NULL, 0 },      \
						     __VA_ARGS__ };          \
			gw_log_emit((lvl), (event), gw__f + 1,               \
				    GW_ARRAY_LEN(gw__f) - 1);                \
		}                                                            \
	} while (0)

/* Opens `path` for appending (NULL or "" or "-" means stderr). */
int gw_log_open(const char *path, gw_log_level_t level, gw_log_format_t fmt);
/* Reopens the same path (SIGHUP, after log rotation). */
int gw_log_reopen(void);
void gw_log_close(void);

void gw_log_emit(gw_log_level_t lvl, const char *event, const gw_field_t *f,
		 size_t n);

#define GW_LOG_BATCH_MAX 4096

/*
 * Turns batching on: `arm(ud)` is called when the first line waits in an
 * empty buffer, and the caller must then call gw_log_flush() soon (the
 * daemon: 20 ms later, from a timer). arm NULL turns batching off, flushing
 * first. gw_log_reopen() and gw_log_close() flush too.
 */
void gw_log_batch(void (*arm)(void *ud), void *ud);
void gw_log_flush(void);

const char *gw_log_level_name(gw_log_level_t lvl);

#endif
