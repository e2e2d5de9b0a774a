/*
 * gwbench_ws.c — the loop-free parts of gwbench: the client side of RFC 6455
 * (upgrade response check, masked frames out, server frames in), the
 * latency histogram, close-code slots and the population layout. Pure
 * functions over caller-owned memory; nothing here allocates.
 */
#include "gwbench.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *const gwb_scenario_names[GWB_SC__COUNT] = {
	[GWB_SC_IDLE] = "idle",       [GWB_SC_CONNECT] = "connect",
	[GWB_SC_FANOUT] = "fanout",   [GWB_SC_CHURN] = "churn",
	[GWB_SC_SLOW] = "slow",
};

uint64_t gwb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- histogram ------------------------------------------------------------- */

void gwb_hist_init(gwb_hist_t *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static size_t hist_index(uint64_t v)
{
	unsigned e;
	size_t idx;

	if (v < 2 * GWB_HIST_SUB)
		return (size_t)v;
	e = 63u - (unsigned)__builtin_clzll(v);           /* >= 6 */
	idx = (size_t)(e - 5) * GWB_HIST_SUB + (size_t)(v >> (e - 5)); /* m in [32,63] */
	return idx < GWB_HIST_BUCKETS ? idx : GWB_HIST_BUCKETS - 1;
}

/* The middle of bucket `idx`. */
static uint64_t hist_value(size_t idx)
{
	unsigned e;
	uint64_t m;

	if (idx < 2 * GWB_HIST_SUB)
		return idx;
	e = (unsigned)(idx / GWB_HIST_SUB) + 4;
	m = idx % GWB_HIST_SUB + GWB_HIST_SUB;
	return (m << (e - 5)) + ((1ull << (e - 5)) >> 1);
}

void gwb_hist_add(gwb_hist_t *h, uint64_t ns)
{
	h->b[hist_index(ns)]++;
	h->count++;
	h->sum += ns;
	if (ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
}

void gwb_hist_merge(gwb_hist_t *into, const gwb_hist_t *from)
{
	size_t i;

	if (!from->count)
		return;
	for (i = 0; i < GWB_HIST_BUCKETS; i++)
		into->b[i] += from->b[i];
	into->count += from->count;
	into->sum += from->sum;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t gwb_hist_pct(const gwb_hist_t *h, double p)
{
	uint64_t rank, seen = 0, v;
	size_t i;

	if (!h->count)
		return 0;
	rank = (uint64_t)(p / 100.0 * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank >= h->count)
		return h->max;
	for (i = 0; i < GWB_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			break;
	}
	v = hist_value(i < GWB_HIST_BUCKETS ? i : GWB_HIST_BUCKETS - 1);
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

/* --- close codes ------------------------------------------------------------ */

int gwb_close_index(unsigned code)
{
	if (code >= 1000 && code < 1016)
		return (int)(code - 1000);
	if (code >= 4000 && code < 4015)
		return (int)(code - 4000) + 16;
	return GWB_CLOSE_SLOTS - 1;
}

unsigned gwb_close_code_at(int idx)
{
	if (idx < 16)
		return 1000u + (unsigned)idx;
	if (idx < GWB_CLOSE_SLOTS - 1)
		return 4000u + (unsigned)(idx - 16);
	return 0; /* anything else */
}

/* --- population layout -------------------------------------------------------- */

long gwb_nlobbies(const gwb_opts_t *o)
{
	if (o->lobbies > 0)
		return o->lobbies < o->conns ? o->lobbies : o->conns;
	return (o->conns + o->lobby_size - 1) / o->lobby_size;
}

long gwb_lobby_of(const gwb_opts_t *o, long gi)
{
	return o->lobbies > 0 ? gi % gwb_nlobbies(o) : gi / o->lobby_size;
}

long gwb_rank_in_lobby(const gwb_opts_t *o, long gi)
{
	return o->lobbies > 0 ? gi / gwb_nlobbies(o) : gi % o->lobby_size;
}

/* --- RFC 6455 ------------------------------------------------------------------ */

void gwb_ws_accept_for(const char *key, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char in[128], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t kl = strlen(key);

	memcpy(in, key, kl);
	memcpy(in + kl, guid, sizeof(guid) - 1);
	EVP_Digest(in, kl + sizeof(guid) - 1, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen); /* 28 + NUL */
}

int gwb_ws_check_response(const char *head, size_t len, const char *accept)
{
	static const char name[] = "\r\nsec-websocket-accept:";
	size_t i, nl = sizeof(name) - 1, al = strlen(accept);

	if (len < 12 || memcmp(head, "HTTP/1.1 101", 12) != 0)
		return -1;
	for (i = 0; i + nl <= len; i++) {
		const char *v;

		if (strncasecmp(head + i, name, nl) != 0)
			continue;
		v = head + i + nl;
		while (v < head + len && (*v == ' ' || *v == '\t'))
			v++;
		return (size_t)(head + len - v) >= al && memcmp(v, accept, al) == 0
			       ? 0 : -1;
	}
	return -1;
}

size_t gwb_ws_frame(uint8_t *out, int opcode, const void *payload, size_t len,
		    uint32_t mask)
{
	const uint8_t *in = payload;
	uint8_t m[4];
	size_t h = 0, i;

	out[h++] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		out[h++] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		out[h++] = 0x80 | 126;
		out[h++] = (uint8_t)(len >> 8);
		out[h++] = (uint8_t)len;
	} else {
		out[h++] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			out[h++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	memcpy(m, &mask, 4);
	memcpy(out + h, m, 4);
	h += 4;
	for (i = 0; i < len; i++)
		out[h + i] = in[i] ^ m[i & 3];
	return h + len;
}

int gwb_ws_parse(uint8_t *buf, size_t len, uint64_t max, gwb_frame_t *f,
		 uint64_t *need)
{
	size_t h = 2, i;
	uint64_t plen;
	int masked;

	if (len < 2)
		return 0;
	f->fin = !!(buf[0] & 0x80);
	f->opcode = buf[0] & 0x0f;
	masked = !!(buf[1] & 0x80);
	plen = buf[1] & 0x7f;
	if (plen == 126) {
		if (len < 4)
			return 0;
		plen = (uint64_t)buf[2] << 8 | buf[3];
		h = 4;
	} else if (plen == 127) {
		if (len < 10)
			return 0;
		plen = 0;
		for (i = 0; i < 8; i++)
			plen = plen << 8 | buf[2 + i];
		h = 10;
	}
	if (masked)
		h += 4;
	if (plen > max)
		return -1;
	if (need)
		*need = h + plen;
	if (len < h + plen)
		return 0;
	if (masked) {
		/* Servers must not mask; accept it anyway and unmask in place. */
		const uint8_t *m = buf + h - 4;

		for (i = 0; i < plen; i++)
			buf[h + i] ^= m[i & 3];
	}
	f->payload = buf + h;
	f->len = plen;
	f->frame_len = h + (size_t)plen;
	return 1;
}
