/*
 * gw_bus.h — the one seam between the node's core and the cluster.
 *
 * The core (router, presence, admin, http, metrics) delivers to this
 * node's sessions itself, then tells the bus what other nodes must hear:
 * a lobby joined or left, a frame published to a lobby or to everyone, a
 * message or a kick for a user wherever they are, an unhandled client
 * message for the backends. It asks the bus, not Redis, for presence,
 * lookups, readiness and the cluster overview.
 *
 * Two implementations stand behind one table, as gw_admission_ops_t does:
 * the local bus (gw_bus_local.c: one node, no Redis: nothing to tell,
 * nobody else to ask) and the Redis bus (gw_cluster.c, gw_fanout.c, gw_admit_shards.c and gw_stats.c).
 * main.c alone chooses; node->bus is never NULL.
 *
 * What other nodes publish comes back up through a gw_bus_sink_t the core
 * hands the bus at creation (built by gw_router_sink()). The cluster code
 * never includes the router or presence modules: the sink is its only way
 * into the core, and every frame a client sees (gap, presence, error) is
 * built on the core side of the sink.
 *
 * Callbacks: if a call that takes a callback fails, the callback is never
 * called; otherwise it is called exactly once, possibly before the call
 * returns (the local bus answers at once). Asynchronous answers name a
 * connection by id, never by pointer: it may be gone by then.
 */
#ifndef GW_BUS_H
#define GW_BUS_H

#include "gw_session.h"

typedef struct gw_bus gw_bus_t;

/* A name handed up by the bus: borrowed for the call, not NUL-terminated. */
typedef struct {
	const char *str;
	size_t len;
} gw_bus_str_t;

/*
 * The way back up, implemented by the core (gw_router_sink). Every pointer
 * argument is borrowed for the call; a frame passed down is not consumed
 * (the sink takes its own references for the send queues).
 */
typedef struct gw_bus_sink {
	void *ud;
	/* Queues `frame` to the lobby's local members except `exclude` (0:
	 * nobody). Returns the number of receivers. */
	size_t (*deliver_lobby)(void *ud, const char *lobby, size_t len,
				gw_buf_t *frame, uint64_t exclude);
	/* Queues `frame` to every local member of every lobby. */
	size_t (*deliver_all)(void *ud, gw_buf_t *frame);
	/* Queues `frame` to every local connection of `user`. */
	size_t (*deliver_user)(void *ud, const char *user, size_t len,
			       gw_buf_t *frame);
	/* Closes `user`'s local connections (all when conn_id is 0) with
	 * `reason` ("replaced" or "kicked"). Returns how many. */
	size_t (*kick)(void *ud, const char *user, size_t len, uint64_t conn_id,
		       const char *reason);
	/* `missed` messages for `lobby` (NUL-terminated) were lost (0:
	 * unknown, after a reconnect): the core counts and logs it, builds
	 * the gap frame and tells the local members. */
	void (*gap)(void *ud, const char *lobby, size_t len, uint64_t missed);
	/* A connection of a dead node left `lobby`: the core builds the
	 * presence_leave frame (reason node_lost) and delivers it locally.
	 * Returns it for the bus to publish (a new reference), or NULL when
	 * --presence-events=false. Arguments are NUL-terminated. */
	gw_buf_t *(*member_lost)(void *ud, const char *lobby, const char *user,
				 const char *conn);
	/* The answer to presence_query for connection `conn_id`: the lobby's
	 * users, one entry per connection (duplicates allowed), or users NULL
	 * when the cluster could not be asked (the core answers locally). */
	void (*presence_reply)(void *ud, uint64_t conn_id, const char *lobby,
			       const gw_bus_str_t *users, size_t n);
	/* Visits every admitted local connection (Redis restore). A non-zero
	 * return from `fn` stops the walk. */
	int (*each_conn)(void *ud,
			 int (*fn)(void *fud, uint64_t id, const char *user,
				   const char *lobby, uint64_t since_ms),
			 void *fud);
} gw_bus_sink_t;

/* What /ready, /stats, /metrics and the logs need to know. */
typedef struct {
	const char *kind;          /* "standalone" or "cluster" */
	int ready;                 /* can carry messages now */
	const char *why;           /* when not ready: a short reason */
	int link;                  /* 1: there is a Redis link; the fields below say how it is */
	int link_up;
	size_t link_state;         /* index in link_states */
	const char *link_states[12]; /* every state's name, for /metrics */
	size_t n_link_states;
	uint32_t latency_ms;
	uint64_t reconnects;
	uint64_t inbound;          /* client messages appended to the inbound stream */
	uint64_t inbound_too_big;  /* refused: over --inbound-max-message */
	uint64_t inbound_rate_limited; /* refused: the user over --inbound-rate */
	uint64_t pubsub_in;        /* envelopes received / published */
	uint64_t pubsub_out;
	uint64_t bad_replies;      /* Redis replies refused as malformed */
	uint64_t history_repaired;   /* lobby messages fetched from history after a gap */
	uint64_t history_unrepaired; /* ... the history no longer held (sent as gap) */
	uint64_t history_failed;     /* history broadcasts Redis refused */
	const char *master;        /* the Redis server in use (host or socket), or NULL */
	int master_port;
	uint64_t master_switched_ms; /* wall ms of the last change of master; 0: none */
	uint64_t master_switches;
	size_t shards;             /* Redis shards (--redis), and how many are ready */
	size_t shards_up;
} gw_bus_status_t;

/* send_user's answer: status GW_OK, or an error when the cluster could not
 * be asked; `remote` connections of the user on other nodes were sent to. */
typedef void (*gw_bus_sent_fn)(void *ud, int status, size_t remote);

/* lookup's answer: status GW_OK with (connection id, value) pairs, or an
 * error. Values: the user of each connection (lobby lookup) or a JSON
 * object describing it (user lookup). Borrowed for the call. */
typedef void (*gw_bus_lookup_fn)(void *ud, int status, const gw_bus_str_t *pairs,
				 size_t npairs);

/*
 * history's answer: status GW_OK with the lobby's epoch (borrowed, NUL-
 * terminated) and current offset and, when the resume can be served
 * (recovered), the n frames after `since` in offset order (borrowed for
 * the call); or an error when the history could not be read.
 */
typedef struct {
	const char *epoch;
	uint64_t offset;
	int recovered;
	const gw_bus_str_t *frames;
	size_t n;
} gw_bus_history_t;
typedef void (*gw_bus_history_fn)(void *ud, int status, const gw_bus_history_t *h);

typedef struct gw_bus_ops {
	const char *kind;
	/* `s` has joined its lobby (registry already updated). `event` is the
	 * presence frame already delivered locally, or NULL with
	 * --presence-events=false; borrowed, published as is. */
	void (*lobby_joined)(void *impl, gw_session_t *s, gw_buf_t *event);
	/* `s` is leaving its lobby (still linked); `event` as above. */
	void (*lobby_left)(void *impl, gw_session_t *s, gw_buf_t *event);
	/* `frame` (borrowed) to the other nodes serving `lobby`
	 * (NUL-terminated), or to every node (lobby NULL). The core delivers
	 * to this node itself, never the bus. GW_EUNAVAIL when it could not
	 * be sent. */
	int (*publish)(void *impl, const char *lobby, gw_buf_t *frame);
	/*
	 * --history-size: `head` (gw_proto_message_head, borrowed) goes to
	 * `lobby` through its history: the lobby's next offset is assigned,
	 * the completed frame kept and published in one step, and every node
	 * -- this one too -- delivers it when it comes back, in offset order
	 * (sink->deliver_lobby), skipping connection `exclude` (0: nobody).
	 * GW_EUNAVAIL: not sent (the core delivers it here, without offset).
	 */
	int (*publish_history)(void *impl, const char *lobby, gw_buf_t *head,
			       uint64_t exclude);
	/*
	 * --history-size: the lobby's epoch and offset for a connection that
	 * joins it and, when `epoch` is not NULL, the frames after `since`
	 * if that epoch is current and the history holds them all within
	 * `max_n` frames and `max_bytes` bytes ("replay lobby L since O").
	 * The answer (exactly once unless this fails) goes to `done`.
	 */
	int (*history)(void *impl, const char *lobby, uint64_t since, const char *epoch,
		       size_t max_n, size_t max_bytes, gw_bus_history_fn done, void *ud);
	/* `frame` (a reference taken if kept), or a kick with reason `kick`
	 * when frame is NULL, to `user`'s connections on other nodes — only
	 * connection `conn` (NUL-terminated text id) when it is not NULL.
	 * The caller has served this node already. */
	int (*send_user)(void *impl, const char *user, size_t len, const char *conn,
			 gw_buf_t *frame, const char *kick, gw_bus_sent_fn done,
			 void *ud);
	/* GW_OK: the answer comes through sink->presence_reply; an error: the
	 * core answers from this node. */
	int (*presence_query)(void *impl, gw_session_t *s);
	/* An unhandled client message for the backends (raw: the frame as
	 * received, borrowed). GW_ENOENT: there are no backends (the core
	 * answers unknown_type); another error: they could not be reached. */
	int (*inbound)(void *impl, gw_session_t *s, const char *type, const char *raw,
		       size_t len);
	void (*status)(void *impl, gw_bus_status_t *out);
	/* The cluster overview as JSON (a new reference), or NULL: the core
	 * describes this node alone. */
	gw_buf_t *(*snapshot)(void *impl);
	/* The connections in `name`, a lobby (lobby 1) or a user (lobby 0),
	 * across the cluster. GW_ENOENT: the core answers from this node. */
	int (*lookup)(void *impl, int lobby, const char *name, gw_bus_lookup_fn done,
		      void *ud);
	/* SIGTERM: take this node out of the cluster now. */
	void (*shutdown)(void *impl);
	void (*free)(void *impl);
} gw_bus_ops_t;

/* Takes ownership of `impl` (ops->free releases it). NULL without memory. */
gw_bus_t *gw_bus_create(const gw_bus_ops_t *ops, void *impl);
/* The standalone bus (gw_bus_local.c). */
gw_bus_t *gw_bus_local(void);
void gw_bus_free(gw_bus_t *b);

/* The core's calls; each forwards to the implementation (contracts above). */
void gw_bus_lobby_joined(gw_bus_t *b, gw_session_t *s, gw_buf_t *event);
void gw_bus_lobby_left(gw_bus_t *b, gw_session_t *s, gw_buf_t *event);
int gw_bus_publish(gw_bus_t *b, const char *lobby, gw_buf_t *frame);
int gw_bus_publish_history(gw_bus_t *b, const char *lobby, gw_buf_t *head,
			   uint64_t exclude);
int gw_bus_history(gw_bus_t *b, const char *lobby, uint64_t since, const char *epoch,
		   size_t max_n, size_t max_bytes, gw_bus_history_fn done, void *ud);
int gw_bus_send_user(gw_bus_t *b, const char *user, size_t len, const char *conn,
		     gw_buf_t *frame, const char *kick, gw_bus_sent_fn done, void *ud);
int gw_bus_presence_query(gw_bus_t *b, gw_session_t *s);
int gw_bus_inbound(gw_bus_t *b, gw_session_t *s, const char *type, const char *raw,
		   size_t len);
void gw_bus_status(gw_bus_t *b, gw_bus_status_t *out);
gw_buf_t *gw_bus_snapshot(gw_bus_t *b);
int gw_bus_lookup(gw_bus_t *b, int lobby, const char *name, gw_bus_lookup_fn done,
		  void *ud);
void gw_bus_shutdown(gw_bus_t *b);
const char *gw_bus_kind(const gw_bus_t *b);

#endif
