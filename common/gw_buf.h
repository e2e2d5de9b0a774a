/*
 * gw_buf.h — reference-counted payload buffers.
 *
 * A message sent to many connections is encoded once into a gw_buf_t and
 * every send queue holds a reference; the bytes are never copied per
 * receiver. Each buffer reserves GW_BUF_HEADROOM bytes in front of the
 * payload, which libwebsockets uses to write the frame header in place
 * (LWS_PRE; gw_session.c checks the two agree at compile time). Frame
 * headers for the same payload are identical for every receiver, so the
 * shared headroom is safe on our single thread.
 *
 * While a buffer has one reference its owner may append to it (it is the
 * encoder's scratch); once shared it is read-only.
 */
#ifndef GW_BUF_H
#define GW_BUF_H

#include "gw_common.h"

#define GW_BUF_HEADROOM 16

typedef struct gw_buf {
	uint32_t refs;
	uint32_t len; /* payload bytes */
	uint32_t cap; /* payload capacity */
	unsigned char mem[]; /* GW_BUF_HEADROOM + cap bytes */
} gw_buf_t;

/* A new buffer with one reference and room for `cap` payload bytes. */
gw_buf_t *gw_buf_new(size_t cap);
/* Takes a reference; returns `b`. */
gw_buf_t *gw_buf_ref(gw_buf_t *b);
/* Drops a reference, freeing at zero. NULL is a no-op. */
void gw_buf_unref(gw_buf_t *b);

static inline unsigned char *gw_buf_data(gw_buf_t *b)
{
	return b->mem + GW_BUF_HEADROOM;
}

/*
 * Appenders: only while the caller holds the sole reference. They may move
 * the buffer (realloc), so they take gw_buf_t **. On failure the buffer is
 * unchanged and GW_ENOMEM (or GW_ETOOBIG past 4 GiB) is returned.
 */
int gw_buf_append(gw_buf_t **b, const void *p, size_t n);
int gw_buf_append_str(gw_buf_t **b, const char *s);
/* Appends `s` as a JSON string literal, quotes included, escaped. */
int gw_buf_append_json_str(gw_buf_t **b, const char *s, size_t n);
int gw_buf_append_u64(gw_buf_t **b, uint64_t v);
int gw_buf_append_i64(gw_buf_t **b, int64_t v);

#endif
