/*
 * gw_ipnet.h — IP addresses and CIDR lists: parse, match, format.
 *
 * One grammar for every place that reads an address from outside: the
 * --trusted-proxies list (config), the TCP peer and X-Forwarded-For
 * entries (gw_peers), the loopback test behind --dev-tokens. Every address
 * is held as 16 bytes, IPv4 as ::ffff:a.b.c.d, so one comparison serves
 * both families and an IPv4 client reached over an IPv6 socket is the
 * same client. Pure functions; no allocation.
 */
#ifndef GW_IPNET_H
#define GW_IPNET_H

#include "gw_common.h"

#include <sys/socket.h>

#define GW_IP_TEXT_MAX 46  /* INET6_ADDRSTRLEN */
#define GW_IPNET_MAX 64    /* entries in one CIDR list */

typedef struct {
	uint8_t b[16];
} gw_ip_t;

typedef struct {
	gw_ip_t net;  /* host bits cleared */
	uint8_t bits; /* prefix length over the 16-byte form (IPv4: 96 + n) */
} gw_ipnet_t;

/*
 * Parses `len` bytes: a.b.c.d, an IPv6 address, [IPv6], and — as some
 * proxies write X-Forwarded-For entries — a.b.c.d:PORT or [IPv6]:PORT.
 * Surrounding blanks are ignored. GW_OK or GW_EINVAL.
 */
int gw_ip_parse(const char *s, size_t len, gw_ip_t *out);

/* From an AF_INET or AF_INET6 sockaddr; GW_EINVAL for any other family. */
int gw_ip_from_sockaddr(const struct sockaddr *sa, socklen_t len, gw_ip_t *out);

/* Canonical text (IPv4 dotted when mapped) into `buf` (GW_IP_TEXT_MAX). */
void gw_ip_format(const gw_ip_t *ip, char buf[GW_IP_TEXT_MAX]);

/* 127.0.0.0/8 or ::1. */
int gw_ip_is_loopback(const gw_ip_t *ip);

/*
 * Parses a comma- or blank-separated list of CIDRs (a.b.c.d/n, v6/n) or
 * bare addresses (a host route) into `out` (`cap` entries; NULL only
 * validates). An empty list is valid (*n = 0). GW_EINVAL for a bad entry
 * or a host part left set (10.0.0.1/8 is a typo more often than intent),
 * GW_EFULL past `cap` (or GW_IPNET_MAX when `out` is NULL).
 */
int gw_ipnet_parse_list(const char *s, gw_ipnet_t *out, size_t cap, size_t *n);

/* 1 when `ip` lies in one of the `n` networks. */
int gw_ipnet_match(const gw_ipnet_t *list, size_t n, const gw_ip_t *ip);

#endif
