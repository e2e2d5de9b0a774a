/*
 * gw_peers.h — who is connecting: per-IP connection counts, handshakes in
 * flight, and the client address behind a trusted proxy.
 *
 * gw_server calls gw_peers_accept() for every accepted TCP connection,
 * gw_peers_request() once its first request's headers are read, and
 * gw_peers_release() when the connection is destroyed, whatever happened
 * in between. Each returns a verdict; anything but GW_PEER_OK means
 * gw_server refuses the connection at the HTTP level with the verdict's
 * status (docs/protocol.md, "Refused before the upgrade"). All bookkeeping
 * is O(1) per call: a map from address to count, and per connection a
 * record that points at its count.
 *
 * The charged address is the TCP peer, unless the peer is in
 * --trusted-proxies: then it is the right-most X-Forwarded-For entry that
 * is not itself a trusted proxy (entries left of it were written by the
 * client and prove nothing), charged when the headers arrive. An
 * X-Forwarded-For that cannot be read or parsed refuses; a trusted proxy's
 * request without one (a health check) is charged to the proxy.
 *
 * Loop thread only.
 */
#ifndef GW_PEERS_H
#define GW_PEERS_H

#include "gw_config.h"
#include "gw_ipnet.h"

typedef struct gw_peers gw_peers_t;
typedef struct gw_peer gw_peer_t;

typedef enum {
	GW_PEER_OK = 0,
	GW_PEER_PER_IP,        /* --max-conns-per-ip reached: 429 */
	GW_PEER_HANDSHAKES,    /* --max-handshakes reached: 503 */
	GW_PEER_BAD_FORWARDED, /* unreadable X-Forwarded-For from a proxy: 400 */
	GW_PEER_UNKNOWN,       /* the TCP peer's address cannot be read: 400 */
	GW_PEER_BAD_VERSION,   /* an upgrade without Sec-WebSocket-Version 13: 426 */
	GW_PEER_N_VERDICTS
} gw_peer_verdict_t;

/* NULL with a message in `err` when --trusted-proxies does not parse. */
gw_peers_t *gw_peers_create(const gw_config_t *cfg, char *err, size_t errlen);
/* Every record must have been released. NULL is a no-op. */
void gw_peers_free(gw_peers_t *p);

/*
 * A new TCP connection from `tcp_peer` (NULL: unreadable). `*out` gets the
 * connection's record (the caller's, until gw_peers_release) even when the
 * verdict refuses; it is NULL only when out of memory (then refuse too).
 */
gw_peer_verdict_t gw_peers_accept(gw_peers_t *p, const gw_ip_t *tcp_peer,
				  gw_peer_t **out);

/*
 * The first request's headers are in. `xff` is the X-Forwarded-For value
 * (`xff_len` bytes; 0: absent; negative: present but unreadable). Only
 * consulted when the TCP peer is a trusted proxy. Later calls for the same
 * record return GW_PEER_OK and change nothing.
 */
gw_peer_verdict_t gw_peers_request(gw_peers_t *p, gw_peer_t *c, const char *xff,
				   int xff_len);

/* The connection is gone. Frees `c`; NULL is a no-op. */
void gw_peers_release(gw_peers_t *p, gw_peer_t *c);

/* 1 when the record's TCP peer is a trusted proxy (read X-Forwarded-For). */
int gw_peer_behind_proxy(const gw_peer_t *c);
/* The address charged (or, before that, the TCP peer), as text, in a
 * buffer of this module's that the next call overwrites. */
const char *gw_peer_addr(const gw_peer_t *c);

size_t gw_peers_handshakes(const gw_peers_t *p);
/* Connections currently charged to `ip` (for tests and logs). */
size_t gw_peers_count(const gw_peers_t *p, const gw_ip_t *ip);

/* "per_ip", "handshakes", ...: the metric label and log reason. */
const char *gw_peer_verdict_name(gw_peer_verdict_t v);
/* The HTTP status a refusal answers with (429, 503, 400). */
int gw_peer_verdict_status(gw_peer_verdict_t v);
/* One sentence for the refusal's body. */
const char *gw_peer_verdict_message(gw_peer_verdict_t v);

#endif
