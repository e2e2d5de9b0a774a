/*
 * gw_history.c — lobby history on the Redis bus (--history-size > 0;
 * docs/redis-schema.md, "Lobby history"; docs/protocol.md, "Resume").
 *
 * Everything here goes to the lobby's shard (gw_cluster__link_lobby): its
 * history keys, like its channel, live there.
 *
 * Writing: a lobby broadcast is one script call (history_publish.lua) that
 * takes the lobby's next offset, appends the completed frame to the
 * lobby's stream, publishes it and refreshes the TTL -- so offsets are
 * gap-free, cluster-wide, and every node receives them in the order they
 * were assigned. The sending node does not deliver locally at once: its
 * own publication comes back on the lobby channel like everyone else's
 * and is delivered then, so its members see the cluster's order.
 *
 * Reading: a joining connection's welcome waits for history_read.lua
 * (epoch, offset and, for a resume, the frames it missed); the router
 * holds that connection's traffic meanwhile (gw_session_hold).
 *
 * Order on this node: offer() delivers a lobby's history frames in offset
 * order. A jump (the pub/sub stream lost messages, or this node
 * subscribed late) is repaired: the missing offsets are fetched from the
 * stream (XRANGE) while later frames wait, then delivered first; only what
 * the stream no longer holds becomes a `gap` event. An offset at or below
 * the last one means a new epoch (the history expired or was lost): it is
 * delivered and becomes the new position.
 */
#include "gw_cluster_int.h"
#include "gw_alloc.h"
#include "gw_log.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Frames waiting for one repair fetch; past this they are reported lost. */
#define PENDING_MAX 4096

/* A history frame held back while a repair fetch is in flight. */
typedef struct {
	gw_buf_t *frame;
	uint64_t off;
	uint64_t exclude;     /* local connection id, 0: nobody */
} pending_t;

/*
 * A lobby state's history part (st->hist): the last offset delivered here
 * (when placed), the repair fetch in flight (0: none) and what waits for
 * it. Allocated by the first history frame or history read answer for the
 * lobby (so never without --history-size), freed by forget() with the
 * lobby state; out of memory, the lobby stays unplaced (frames are
 * delivered as they come, as before a node knows a lobby's position).
 */
struct lobby_history {
	uint64_t offset;
	uint64_t repair;
	pending_t *pending;
	uint32_t n_pending, cap_pending;
	int placed;
};

static lobby_history_t *hist_of(lobby_state_t *st)
{
	if (!st->hist)
		st->hist = gw_calloc(1, sizeof(*st->hist));
	return st->hist;
}

/* --- epochs ------------------------------------------------------------------ */

void gw_cluster__history_seed(gw_cluster_t *c)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, &c->rng, sizeof(c->rng)) != (ssize_t)sizeof(c->rng))
		c->rng = gw_wall_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
	if (fd >= 0)
		close(fd);
	if (!c->rng)
		c->rng = 0x9e3779b97f4a7c15ULL;
}

/* An epoch for a lobby that has none (used by the script only then). */
static void epoch_candidate(gw_cluster_t *c, char out[17])
{
	uint64_t x = c->rng; /* xorshift64* */

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	snprintf(out, 17, "%016llx", (unsigned long long)(x * 0x2545F4914F6CDD1DULL));
}

static int history_keys(gw_cluster_t *c, const char *lobby, char *meta, char *hist)
{
	size_t len = strlen(lobby);

	return gw_key_history_meta(&c->keys, lobby, len, meta) < 0 ||
	       gw_key_history(&c->keys, lobby, len, hist) < 0 ? GW_ETOOBIG : GW_OK;
}

/* --- writing ------------------------------------------------------------------- */

static void on_published(void *ud, redisReply *reply)
{
	gw_cluster_t *c = ud;

	if (reply && reply->type == REDIS_REPLY_INTEGER)
		return;
	c->hist_failed++;
	GW_LOG(GW_LOG_WARN, "history_publish_failed",
	       GW_S("error", reply && reply->type == REDIS_REPLY_ERROR ? reply->str
								     : "no reply"));
}

int gw_cluster__publish_history(void *impl, const char *lobby, gw_buf_t *head,
				uint64_t exclude)
{
	gw_cluster_t *c = impl;
	const gw_config_t *cfg = c->node->cfg;
	char meta[GW_KEY_MAX], hist[GW_KEY_MAX], ch[CH_MAX], maxlen[24], ttl[24];
	char epoch[17], conn[GW_CONN_ID_MAX] = "";
	gw_envelope_t e = { .type = GW_ENV_MSG, .version = 1 };
	const char *argv[9];
	size_t lens[9];
	char *env;
	size_t env_len;
	gw_redis_t *link = gw_cluster__link_lobby(c, lobby, strlen(lobby));
	int i, rc;

	if (!gw_redis_ready(link))
		return GW_EUNAVAIL;
	if (history_keys(c, lobby, meta, hist))
		return GW_ETOOBIG;
	gw_cluster__lobby_channel(c, lobby, ch);
	if (exclude)
		gw_conn_id_format(cfg->node_id, exclude, conn);
	e.origin = cfg->node_id;
	e.origin_len = strlen(cfg->node_id);
	e.lobby = lobby;
	e.lobby_len = strlen(lobby);
	e.conn = conn;
	e.conn_len = strlen(conn);
	if ((rc = gw_envelope_encode_head(&e, &env, &env_len)) != GW_OK)
		return rc;
	snprintf(maxlen, sizeof(maxlen), "%ld", cfg->history_size);
	snprintf(ttl, sizeof(ttl), "%ld", cfg->history_ttl);
	epoch_candidate(c, epoch);
	argv[0] = meta; argv[1] = hist; argv[2] = ch;
	argv[3] = (const char *)gw_buf_data(head); argv[4] = env;
	argv[5] = maxlen; argv[6] = ttl; argv[7] = epoch; argv[8] = conn;
	for (i = 0; i < 9; i++) /* the heads are no C strings */
		lens[i] = i == 3 ? head->len : i == 4 ? env_len : strlen(argv[i]);
	rc = gw_redis_script(link, S_HIST_PUBLISH, on_published, c, 2, 9, argv, lens);
	gw_free(env);
	if (rc == GW_OK)
		c->pubsub_out++;
	return rc;
}

/* --- order on this node ----------------------------------------------------------- */

static void deliver(gw_cluster_t *c, lobby_state_t *st, gw_buf_t *frame,
		    uint64_t exclude)
{
	c->sink.deliver_lobby(c->sink.ud, st->lobby->name, st->lobby->name_len, frame,
			     exclude);
}

static void lost(gw_cluster_t *c, lobby_state_t *st, uint64_t missed)
{
	c->hist_unrepaired += missed;
	c->sink.gap(c->sink.ud, st->lobby->name, st->lobby->name_len, missed);
}

static void hold(gw_cluster_t *c, lobby_state_t *st, gw_buf_t *frame, uint64_t off,
		 uint64_t exclude)
{
	lobby_history_t *h = st->hist;
	void *nv;

	if (h->n_pending == h->cap_pending) {
		uint32_t cap = h->cap_pending ? h->cap_pending * 2 : 16;

		nv = h->n_pending < PENDING_MAX
			     ? gw_realloc(h->pending, cap * sizeof(*h->pending)) : NULL;
		if (!nv) {
			lost(c, st, 1);
			return;
		}
		h->pending = nv;
		h->cap_pending = cap;
	}
	h->pending[h->n_pending++] = (pending_t){ gw_buf_ref(frame), off, exclude };
}

/* Offers what waited, in order; a new jump among them starts a new repair. */
static void drain(gw_cluster_t *c, lobby_state_t *st)
{
	pending_t *p = st->hist->pending;
	size_t n = st->hist->n_pending, i;

	st->hist->pending = NULL;
	st->hist->n_pending = st->hist->cap_pending = 0;
	for (i = 0; i < n; i++) {
		gw_cluster__history_offer(c, st, p[i].frame, p[i].off, p[i].exclude);
		gw_buf_unref(p[i].frame);
	}
	gw_free(p);
}

typedef struct {
	gw_cluster_t *c;
	uint64_t id, from, to;
	char lobby[GW_LOBBY_MAX + 1];
} repair_t;

/* "0-N" (the ids history_publish.lua gives) as N; 0 when it is not one. */
static uint64_t entry_offset(const redisReply *id)
{
	uint64_t v = 0;
	size_t i;

	if (id->type != REDIS_REPLY_STRING || id->len < 3 || id->len > 22 ||
	    id->str[0] != '0' || id->str[1] != '-')
		return 0;
	for (i = 2; i < id->len; i++) {
		if (id->str[i] < '0' || id->str[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(id->str[i] - '0');
	}
	return v;
}

/* An XRANGE entry: [id, [f, FRAME, x, CONN]]. 0 when malformed. */
static uint64_t entry_read(const redisReply *e, const redisReply **frame,
			   const redisReply **conn)
{
	const redisReply *kv;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
		return 0;
	kv = e->element[1];
	if (kv->type != REDIS_REPLY_ARRAY || kv->elements != 4 ||
	    kv->element[1]->type != REDIS_REPLY_STRING ||
	    kv->element[3]->type != REDIS_REPLY_STRING)
		return 0;
	*frame = kv->element[1];
	*conn = kv->element[3];
	return entry_offset(e->element[0]);
}

static void on_repair(void *ud, redisReply *r)
{
	repair_t *rp = ud;
	gw_cluster_t *c = rp->c;
	lobby_state_t *st = gw_cluster__lobby_state(c, rp->lobby, strlen(rp->lobby));
	const char *me = c->node->cfg->node_id;
	uint64_t next = rp->from, off;
	size_t i;

	if (!st || !st->hist || st->hist->repair != rp->id) {
		gw_free(rp); /* the lobby was left, or its position reset */
		return;
	}
	st->hist->repair = 0;
	if (r && r->type != REDIS_REPLY_ARRAY) {
		gw_redis_refuse(gw_cluster__link_lobby(c, rp->lobby, strlen(rp->lobby)),
				"history range");
		r = NULL;
	}
	for (i = 0; r && i < r->elements && next <= rp->to; i++) {
		const redisReply *frame, *conn;
		gw_buf_t *b;

		off = entry_read(r->element[i], &frame, &conn);
		if (!off || off < next || off > rp->to)
			continue; /* not one we asked for: never delivered */
		if (off > next)
			lost(c, st, off - next);
		b = gw_buf_new(frame->len);
		if (b && gw_buf_append(&b, frame->str, frame->len) == GW_OK) {
			deliver(c, st, b, conn->len ? gw_conn_id_local(me, conn->str, conn->len) : 0);
			c->hist_repaired++;
		}
		gw_buf_unref(b);
		next = off + 1;
	}
	if (next <= rp->to)
		lost(c, st, rp->to - next + 1);
	GW_LOG(GW_LOG_INFO, "history_repair", GW_S("lobby", st->lobby->name),
	       GW_I("from", rp->from), GW_I("to", rp->to),
	       GW_I("missing", next <= rp->to ? rp->to - next + 1 : 0));
	st->hist->offset = rp->to;
	gw_free(rp);
	drain(c, st);
}

/* Fetches offsets from..to; GW_OK or an error (nothing in flight then). */
static int repair(gw_cluster_t *c, lobby_state_t *st, uint64_t from, uint64_t to)
{
	char meta[GW_KEY_MAX], hist[GW_KEY_MAX], lo[32], hi[32];
	const char *argv[4] = { "XRANGE", hist, lo, hi };
	size_t lens[4];
	gw_redis_t *link = gw_cluster__link_lobby(c, st->lobby->name, st->lobby->name_len);
	repair_t *rp;
	int i;

	if (!gw_redis_ready(link) || history_keys(c, st->lobby->name, meta, hist))
		return GW_EUNAVAIL;
	rp = gw_calloc(1, sizeof(*rp));
	if (!rp)
		return GW_ENOMEM;
	*rp = (repair_t){ c, ++c->repair_seq, from, to, "" };
	snprintf(rp->lobby, sizeof(rp->lobby), "%s", st->lobby->name);
	snprintf(lo, sizeof(lo), "0-%llu", (unsigned long long)from);
	snprintf(hi, sizeof(hi), "0-%llu", (unsigned long long)to);
	for (i = 0; i < 4; i++)
		lens[i] = strlen(argv[i]);
	if (gw_redis_command(link, on_repair, rp, 4, argv, lens) != GW_OK) {
		gw_free(rp);
		return GW_EUNAVAIL;
	}
	st->hist->repair = rp->id;
	return GW_OK;
}

void gw_cluster__history_offer(gw_cluster_t *c, lobby_state_t *st, gw_buf_t *frame,
			       uint64_t off, uint64_t exclude)
{
	lobby_history_t *h = hist_of(st);

	if (!h) { /* out of memory: unplaced */
		deliver(c, st, frame, exclude);
		return;
	}
	if (h->repair) {
		hold(c, st, frame, off, exclude);
		return;
	}
	if (h->placed && off > h->offset + 1) {
		GW_LOG(GW_LOG_WARN, "history_gap", GW_S("lobby", st->lobby->name),
		       GW_I("from", h->offset + 1), GW_I("to", off - 1));
		hold(c, st, frame, off, exclude);
		if (repair(c, st, h->offset + 1, off - 1) != GW_OK) {
			lost(c, st, off - 1 - h->offset);
			h->offset = off - 1;
			drain(c, st);
		}
		return;
	}
	deliver(c, st, frame, exclude);
	h->offset = off;
	h->placed = 1;
}

void gw_cluster__history_reset(gw_cluster_t *c, lobby_state_t *st)
{
	if (!st->hist)
		return; /* no position to forget */
	st->hist->offset = 0;
	st->hist->placed = 0;
	st->hist->repair = 0; /* a fetch in flight is ignored when it answers */
	drain(c, st);
}

void gw_cluster__history_forget(lobby_state_t *st)
{
	lobby_history_t *h = st->hist;
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n_pending; i++)
		gw_buf_unref(h->pending[i].frame);
	gw_free(h->pending);
	gw_free(h);
	st->hist = NULL;
}

/* --- reading ------------------------------------------------------------------------ */

typedef struct {
	gw_cluster_t *c;
	gw_bus_history_fn done;
	void *ud;
	size_t max_bytes;
	char lobby[GW_LOBBY_MAX + 1];
} read_t;

/* {epoch, offset, recovered, (frame, conn)*} as history_read.lua returns it. */
static int read_reply_ok(const redisReply *r)
{
	size_t i;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->elements % 2 == 0 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len == 0 ||
	    r->element[0]->len > GW_EPOCH_MAX ||
	    r->element[1]->type != REDIS_REPLY_INTEGER || r->element[1]->integer < 0 ||
	    r->element[2]->type != REDIS_REPLY_INTEGER)
		return 0;
	for (i = 3; i < r->elements; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return 0;
	return 1;
}

static void on_read(void *ud, redisReply *r)
{
	read_t *rd = ud;
	gw_cluster_t *c = rd->c;
	gw_bus_history_t h = { NULL, 0, 0, NULL, 0 };
	gw_bus_str_t *frames = NULL;
	lobby_state_t *st;
	lobby_history_t *lh;
	size_t i, bytes = 0;

	if (r && !read_reply_ok(r)) {
		gw_redis_refuse(gw_cluster__link_lobby(c, rd->lobby, strlen(rd->lobby)),
				"history");
		r = NULL;
	}
	if (!r) {
		rd->done(rd->ud, GW_EUNAVAIL, &h);
		gw_free(rd);
		return;
	}
	h.epoch = r->element[0]->str;
	h.offset = (uint64_t)r->element[1]->integer;
	h.recovered = r->element[2]->integer == 1;
	h.n = (r->elements - 3) / 2;
	if (h.n && !(frames = gw_calloc(h.n, sizeof(*frames))))
		h.recovered = 0;
	for (i = 0; frames && i < h.n; i++) {
		frames[i] = (gw_bus_str_t){ r->element[3 + 2 * i]->str,
					    r->element[3 + 2 * i]->len };
		bytes += frames[i].len;
	}
	if (bytes > rd->max_bytes)
		h.recovered = 0; /* over the replay's byte bound */
	if (!h.recovered)
		h.n = 0;
	h.frames = frames;
	/* The first member's answer is where this node's lobby starts. */
	st = gw_cluster__lobby_state(c, rd->lobby, strlen(rd->lobby));
	if (st && (lh = hist_of(st)) && !lh->placed && !lh->repair) {
		lh->offset = h.offset;
		lh->placed = 1;
	}
	rd->done(rd->ud, GW_OK, &h);
	gw_free(frames);
	gw_free(rd);
}

int gw_cluster__history(void *impl, const char *lobby, uint64_t since,
			const char *epoch, size_t max_n, size_t max_bytes,
			gw_bus_history_fn done, void *ud)
{
	gw_cluster_t *c = impl;
	char meta[GW_KEY_MAX], hist[GW_KEY_MAX], cand[17], ttl[24], s[24], n[24];
	const char *argv[7];
	size_t lens[7];
	gw_redis_t *link = gw_cluster__link_lobby(c, lobby, strlen(lobby));
	read_t *rd;
	int i;

	if (!gw_redis_ready(link))
		return GW_EUNAVAIL;
	if (history_keys(c, lobby, meta, hist) || strlen(lobby) > GW_LOBBY_MAX)
		return GW_ETOOBIG;
	rd = gw_calloc(1, sizeof(*rd));
	if (!rd)
		return GW_ENOMEM;
	*rd = (read_t){ c, done, ud, max_bytes, "" };
	memcpy(rd->lobby, lobby, strlen(lobby));
	epoch_candidate(c, cand);
	snprintf(ttl, sizeof(ttl), "%ld", c->node->cfg->history_ttl);
	snprintf(s, sizeof(s), "%llu", (unsigned long long)since);
	snprintf(n, sizeof(n), "%zu", max_n);
	argv[0] = meta; argv[1] = hist; argv[2] = cand; argv[3] = ttl;
	argv[4] = epoch ? s : ""; argv[5] = epoch ? epoch : ""; argv[6] = n;
	for (i = 0; i < 7; i++)
		lens[i] = strlen(argv[i]);
	if (gw_redis_script(link, S_HIST_READ, on_read, rd, 2, 7, argv, lens) != GW_OK) {
		gw_free(rd);
		return GW_EUNAVAIL;
	}
	return GW_OK;
}
