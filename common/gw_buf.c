/*
 * gw_buf.c — reference-counted payload buffers and their JSON appenders.
 */
#include "gw_buf.h"
#include "gw_alloc.h"

#include <string.h>

gw_buf_t *gw_buf_new(size_t cap)
{
	gw_buf_t *b;

	if (cap > UINT32_MAX - GW_BUF_HEADROOM)
		return NULL;
	b = gw_malloc(sizeof(*b) + GW_BUF_HEADROOM + cap);
	if (!b)
		return NULL;
	b->refs = 1;
	b->len = 0;
	b->cap = (uint32_t)cap;
	return b;
}

gw_buf_t *gw_buf_ref(gw_buf_t *b)
{
	b->refs++;
	return b;
}

void gw_buf_unref(gw_buf_t *b)
{
	if (b && --b->refs == 0)
		gw_free(b);
}

static int reserve(gw_buf_t **bp, size_t extra)
{
	gw_buf_t *b = *bp, *nb;
	size_t want, cap;

	if (b->len + extra <= b->cap)
		return GW_OK;
	want = (size_t)b->len + extra;
	if (want > UINT32_MAX - GW_BUF_HEADROOM)
		return GW_ETOOBIG;
	cap = (size_t)b->cap * 2;
	if (cap < want)
		cap = want;
	if (cap < 64)
		cap = 64;
	if (cap > UINT32_MAX - GW_BUF_HEADROOM)
		cap = UINT32_MAX - GW_BUF_HEADROOM;
	nb = gw_realloc(b, sizeof(*b) + GW_BUF_HEADROOM + cap);
	if (!nb)
		return GW_ENOMEM;
	nb->cap = (uint32_t)cap;
	*bp = nb;
	return GW_OK;
}

int gw_buf_append(gw_buf_t **bp, const void *p, size_t n)
{
	int rc = reserve(bp, n);

	if (rc)
		return rc;
	memcpy(gw_buf_data(*bp) + (*bp)->len, p, n);
	(*bp)->len += (uint32_t)n;
	return GW_OK;
}

int gw_buf_append_str(gw_buf_t **bp, const char *s)
{
	return gw_buf_append(bp, s, strlen(s));
}

int gw_buf_append_json_str(gw_buf_t **bp, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *o;
	size_t i;
	int rc;

	/* Worst case every byte becomes \u00XX. */
	rc = reserve(bp, n * 6 + 2);
	if (rc)
		return rc;
	o = gw_buf_data(*bp) + (*bp)->len;
	*o++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"': *o++ = '\\'; *o++ = '"'; break;
		case '\\': *o++ = '\\'; *o++ = '\\'; break;
		case '\n': *o++ = '\\'; *o++ = 'n'; break;
		case '\r': *o++ = '\\'; *o++ = 'r'; break;
		case '\t': *o++ = '\\'; *o++ = 't'; break;
		default:
			if (c < 0x20) {
				memcpy(o, "\\u00", 4);
				o[4] = (unsigned char)hex[c >> 4];
				o[5] = (unsigned char)hex[c & 15];
				o += 6;
			} else {
				*o++ = c;
			}
		}
	}
	*o++ = '"';
	(*bp)->len = (uint32_t)(o - gw_buf_data(*bp));
	return GW_OK;
}

/* Digits are formatted on the stack, then appended in one call, so a
 * failed append leaves the buffer unchanged (no stray sign). */
static int append_digits(gw_buf_t **bp, uint64_t v, int neg)
{
	char tmp[24];
	int i = (int)sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		tmp[--i] = '-';
	return gw_buf_append(bp, tmp + i, sizeof(tmp) - (size_t)i);
}

int gw_buf_append_u64(gw_buf_t **bp, uint64_t v)
{
	return append_digits(bp, v, 0);
}

int gw_buf_append_i64(gw_buf_t **bp, int64_t v)
{
	if (v >= 0)
		return append_digits(bp, (uint64_t)v, 0);
	return append_digits(bp, (uint64_t)0 - (uint64_t)v, 1);
}
