/*
 * gw_peers.c — per-IP connection counts and handshakes in flight
 * (gw_peers.h).
 *
 * One `ip_count` per address with at least one charged connection, in a
 * gw_map keyed by the address's 16 bytes (the key lives in the value);
 * each connection's record points at its count, so release never looks
 * anything up. The map's hash is the map's business: keys here are
 * attacker-chosen only in the proxied case, and gw_map is the one place
 * that defends against colliding keys.
 */
#include "gw_peers.h"
#include "gw_alloc.h"
#include "gw_map.h"

#include <stdio.h>
#include <string.h>

struct ip_count {
	gw_ip_t ip; /* the map's key */
	uint32_t n;
};

/* One per connection, for its whole life: kept small (text made on demand). */
struct gw_peer {
	gw_ip_t ip;               /* the TCP peer; once charged, the address charged */
	struct ip_count *charged; /* NULL until charged */
	uint8_t known;            /* the TCP peer's address could be read */
	uint8_t handshaking;      /* counted in handshakes until headers are in */
	uint8_t requested;        /* gw_peers_request() has run */
	uint8_t proxied;          /* the TCP peer is a trusted proxy */
};

struct gw_peers {
	long max_per_ip;     /* 0: off */
	long max_handshakes; /* 0: off */
	size_t handshakes;
	size_t n_proxies;
	gw_map_t *counts;
	gw_ipnet_t proxies[GW_IPNET_MAX];
};

static const struct {
	const char *name;
	int status;
	const char *message;
} verdicts[GW_PEER_N_VERDICTS] = {
	[GW_PEER_OK] = { "ok", 200, "" },
	[GW_PEER_PER_IP] = { "per_ip", 429, "too many connections from this address" },
	[GW_PEER_HANDSHAKES] = { "handshakes", 503, "too many connections opening; retry later" },
	[GW_PEER_BAD_FORWARDED] = { "bad_forwarded_for", 400, "unreadable X-Forwarded-For" },
	[GW_PEER_UNKNOWN] = { "unknown_peer", 400, "unreadable peer address" },
	[GW_PEER_BAD_VERSION] = { "websocket_version", 426,
				  "Sec-WebSocket-Version must be 13" },
};

gw_peers_t *gw_peers_create(const gw_config_t *cfg, char *err, size_t errlen)
{
	gw_peers_t *p = gw_calloc(1, sizeof(*p));

	if (!p || !(p->counts = gw_map_create(64))) {
		gw_free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->max_per_ip = cfg->max_conns_per_ip;
	p->max_handshakes = cfg->max_handshakes;
	if (gw_ipnet_parse_list(cfg->trusted_proxies ? cfg->trusted_proxies : "",
				p->proxies, GW_ARRAY_LEN(p->proxies), &p->n_proxies)) {
		snprintf(err, errlen, "bad --trusted-proxies");
		gw_peers_free(p);
		return NULL;
	}
	return p;
}

void gw_peers_free(gw_peers_t *p)
{
	if (!p)
		return;
	gw_map_free(p->counts);
	gw_free(p);
}

/* Charges `ip` one connection, unless that would pass the limit. */
static gw_peer_verdict_t charge(gw_peers_t *p, gw_peer_t *c, const gw_ip_t *ip)
{
	struct ip_count *ic = gw_map_get(p->counts, ip->b, sizeof(ip->b));

	c->ip = *ip;
	if (p->max_per_ip == 0)
		return GW_PEER_OK;
	if (ic && ic->n >= (uint32_t)p->max_per_ip)
		return GW_PEER_PER_IP;
	if (!ic) {
		if (!(ic = gw_calloc(1, sizeof(*ic))))
			return GW_PEER_PER_IP; /* cannot count it: refuse */
		ic->ip = *ip;
		if (gw_map_put(p->counts, ic->ip.b, sizeof(ic->ip.b), ic) != GW_OK) {
			gw_free(ic);
			return GW_PEER_PER_IP;
		}
	}
	ic->n++;
	c->charged = ic;
	return GW_PEER_OK;
}

static void end_handshake(gw_peers_t *p, gw_peer_t *c)
{
	if (c->handshaking) {
		c->handshaking = 0;
		p->handshakes--;
	}
}

gw_peer_verdict_t gw_peers_accept(gw_peers_t *p, const gw_ip_t *tcp_peer,
				  gw_peer_t **out)
{
	gw_peer_t *c = gw_calloc(1, sizeof(*c));

	*out = c;
	if (!c)
		return GW_PEER_HANDSHAKES;
	c->handshaking = 1;
	p->handshakes++;
	if (!tcp_peer)
		return GW_PEER_UNKNOWN;
	c->known = 1;
	c->ip = *tcp_peer;
	if (p->max_handshakes && p->handshakes > (size_t)p->max_handshakes)
		return GW_PEER_HANDSHAKES;
	c->proxied = (uint8_t)gw_ipnet_match(p->proxies, p->n_proxies, tcp_peer);
	return c->proxied ? GW_PEER_OK : charge(p, c, tcp_peer);
}

/*
 * The client behind a chain of proxies: walking X-Forwarded-For from the
 * right, the first entry that is not a trusted proxy. If every entry is
 * one, the left-most. Any entry that does not parse refuses.
 */
static int forwarded_client(const gw_peers_t *p, const char *xff, size_t len,
			    gw_ip_t *out)
{
	size_t end = len;

	for (;;) {
		size_t start = end;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		if (gw_ip_parse(xff + start, end - start, out))
			return GW_EINVAL;
		if (start == 0 || !gw_ipnet_match(p->proxies, p->n_proxies, out))
			return GW_OK;
		end = start - 1;
	}
}

gw_peer_verdict_t gw_peers_request(gw_peers_t *p, gw_peer_t *c, const char *xff,
				   int xff_len)
{
	gw_ip_t client;

	if (c->requested)
		return GW_PEER_OK;
	c->requested = 1;
	end_handshake(p, c);
	if (!c->proxied)
		return GW_PEER_OK;
	if (xff_len < 0)
		return GW_PEER_BAD_FORWARDED;
	if (xff_len == 0)
		return charge(p, c, &c->ip); /* still the TCP peer */
	if (forwarded_client(p, xff, (size_t)xff_len, &client))
		return GW_PEER_BAD_FORWARDED;
	return charge(p, c, &client);
}

void gw_peers_release(gw_peers_t *p, gw_peer_t *c)
{
	if (!c)
		return;
	end_handshake(p, c);
	if (c->charged && --c->charged->n == 0) {
		gw_map_del(p->counts, c->charged->ip.b, sizeof(c->charged->ip.b));
		gw_free(c->charged);
	}
	gw_free(c);
}

int gw_peer_behind_proxy(const gw_peer_t *c)
{
	return c->proxied;
}

const char *gw_peer_addr(const gw_peer_t *c)
{
	static char text[GW_IP_TEXT_MAX];

	if (!c->known)
		return "unknown";
	gw_ip_format(&c->ip, text);
	return text;
}

size_t gw_peers_handshakes(const gw_peers_t *p)
{
	return p->handshakes;
}

size_t gw_peers_count(const gw_peers_t *p, const gw_ip_t *ip)
{
	const struct ip_count *ic = gw_map_get(p->counts, ip->b, sizeof(ip->b));

	return ic ? ic->n : 0;
}

const char *gw_peer_verdict_name(gw_peer_verdict_t v)
{
	return (unsigned)v < GW_PEER_N_VERDICTS ? verdicts[v].name : "unknown";
}

int gw_peer_verdict_status(gw_peer_verdict_t v)
{
	return (unsigned)v < GW_PEER_N_VERDICTS ? verdicts[v].status : 400;
}

const char *gw_peer_verdict_message(gw_peer_verdict_t v)
{
	return (unsigned)v < GW_PEER_N_VERDICTS ? verdicts[v].message : "refused";
}
