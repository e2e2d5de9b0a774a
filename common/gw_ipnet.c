/*
 * gw_ipnet.c — IP address and CIDR parsing and matching (gw_ipnet.h).
 *
 * inet_pton does the address grammar; this file only adds the brackets,
 * ports and prefixes around it, and never reads past the `len` it is given
 * (X-Forwarded-For entries are slices of a header, not C strings).
 */
#include "gw_ipnet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int is_v4(const gw_ip_t *ip)
{
	return memcmp(ip->b, v4_mapped, sizeof(v4_mapped)) == 0;
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/* An address without brackets or port, `len` bytes. */
static int parse_bare(const char *s, size_t len, gw_ip_t *out)
{
	char tmp[GW_IP_TEXT_MAX];
	struct in_addr a4;

	if (len == 0 || len >= sizeof(tmp))
		return GW_EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (memchr(tmp, ':', len))
		return inet_pton(AF_INET6, tmp, out->b) == 1 ? GW_OK : GW_EINVAL;
	if (inet_pton(AF_INET, tmp, &a4) != 1)
		return GW_EINVAL;
	memcpy(out->b, v4_mapped, sizeof(v4_mapped));
	memcpy(out->b + 12, &a4, 4);
	return GW_OK;
}

static int port_ok(const char *s, size_t len)
{
	if (len == 0 || len > 5)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int gw_ip_parse(const char *s, size_t len, gw_ip_t *out)
{
	const char *c;

	trim(&s, &len);
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		size_t rest;

		if (!close)
			return GW_EINVAL;
		rest = len - (size_t)(close + 1 - s);
		if (rest && (close[1] != ':' || !port_ok(close + 2, rest - 1)))
			return GW_EINVAL;
		if (!memchr(s + 1, ':', (size_t)(close - s - 1)))
			return GW_EINVAL; /* brackets are for IPv6 only */
		return parse_bare(s + 1, (size_t)(close - s - 1), out);
	}
	/* One colon: a.b.c.d:PORT. More: IPv6 (without a port). */
	c = memchr(s, ':', len);
	if (c && !memchr(c + 1, ':', len - (size_t)(c + 1 - s))) {
		if (!port_ok(c + 1, len - (size_t)(c + 1 - s)) ||
		    parse_bare(s, (size_t)(c - s), out) || !is_v4(out))
			return GW_EINVAL;
		return GW_OK;
	}
	return parse_bare(s, len, out);
}

int gw_ip_from_sockaddr(const struct sockaddr *sa, socklen_t len, gw_ip_t *out)
{
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		memcpy(out->b, v4_mapped, sizeof(v4_mapped));
		memcpy(out->b + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return GW_OK;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		memcpy(out->b, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return GW_OK;
	}
	return GW_EINVAL;
}

void gw_ip_format(const gw_ip_t *ip, char buf[GW_IP_TEXT_MAX])
{
	if (is_v4(ip))
		inet_ntop(AF_INET, ip->b + 12, buf, GW_IP_TEXT_MAX);
	else
		inet_ntop(AF_INET6, ip->b, buf, GW_IP_TEXT_MAX);
}

int gw_ip_is_loopback(const gw_ip_t *ip)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	return (is_v4(ip) && ip->b[12] == 127) ||
	       memcmp(ip->b, v6_loopback, 16) == 0;
}

static int in_net(const gw_ipnet_t *n, const gw_ip_t *ip)
{
	unsigned full = n->bits / 8, rest = n->bits % 8;

	if (memcmp(n->net.b, ip->b, full) != 0)
		return 0;
	return !rest || ((n->net.b[full] ^ ip->b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* One entry: ADDR or ADDR/BITS (no brackets, no port). */
static int parse_net(const char *s, size_t len, gw_ipnet_t *out)
{
	const char *slash = memchr(s, '/', len);
	long bits = -1;
	gw_ipnet_t n;

	if (parse_bare(s, slash ? (size_t)(slash - s) : len, &n.net))
		return GW_EINVAL;
	if (slash) {
		size_t blen = len - (size_t)(slash + 1 - s);

		if (blen == 0 || blen > 3)
			return GW_EINVAL;
		bits = 0;
		for (size_t i = 0; i < blen; i++) {
			if (slash[1 + i] < '0' || slash[1 + i] > '9')
				return GW_EINVAL;
			bits = bits * 10 + (slash[1 + i] - '0');
		}
	}
	if (is_v4(&n.net)) {
		if (bits > 32)
			return GW_EINVAL;
		n.bits = (uint8_t)(bits < 0 ? 128 : 96 + bits);
	} else {
		if (bits > 128)
			return GW_EINVAL;
		n.bits = (uint8_t)(bits < 0 ? 128 : bits);
	}
	/* The network address itself must match its own prefix exactly. */
	for (unsigned i = n.bits; i < 128; i++)
		if (n.net.b[i / 8] & (0x80 >> (i % 8)))
			return GW_EINVAL;
	*out = n;
	return GW_OK;
}

int gw_ipnet_parse_list(const char *s, gw_ipnet_t *out, size_t cap, size_t *n)
{
	size_t count = 0;

	if (!out)
		cap = GW_IPNET_MAX;
	while (*s) {
		size_t len;
		gw_ipnet_t net;

		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		len = strcspn(s, ", \t");
		if (parse_net(s, len, &net))
			return GW_EINVAL;
		if (count == cap)
			return GW_EFULL;
		if (out)
			out[count] = net;
		count++;
		s += len;
	}
	if (n)
		*n = count;
	return GW_OK;
}

int gw_ipnet_match(const gw_ipnet_t *list, size_t n, const gw_ip_t *ip)
{
	for (size_t i = 0; i < n; i++)
		if (in_net(&list[i], ip))
			return 1;
	return 0;
}
