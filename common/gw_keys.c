/*
 * gw_keys.c — Redis key and channel names (see gw_keys.h).
 */
#include "gw_keys.h"
#include "gw_common.h"

#include <string.h>

int gw_keys_init(gw_keys_t *k, const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	if (n == 0 || n > 64)
		return GW_EINVAL;
	k->tag[0] = '{';
	memcpy(k->tag + 1, prefix, n);
	k->tag[n + 1] = '}';
	k->tag[n + 2] = '\0';
	k->tag_len = n + 2;
	return GW_OK;
}

/* "{P}" + mid + name[0..len) into out, or GW_ETOOBIG. */
static int build(const gw_keys_t *k, const char *mid, const char *name,
		 size_t len, char *out)
{
	size_t ml = strlen(mid), n = k->tag_len + ml + len;

	if (n >= GW_KEY_MAX) {
		out[0] = '\0';
		return GW_ETOOBIG;
	}
	memcpy(out, k->tag, k->tag_len);
	memcpy(out + k->tag_len, mid, ml);
	if (len)
		memcpy(out + k->tag_len + ml, name, len);
	out[n] = '\0';
	return (int)n;
}

int gw_key_total(const gw_keys_t *k, char *out) { return build(k, ":total", NULL, 0, out); }
int gw_key_nodes(const gw_keys_t *k, char *out) { return build(k, ":nodes", NULL, 0, out); }
int gw_key_lobbies(const gw_keys_t *k, char *out) { return build(k, ":lobbies", NULL, 0, out); }
int gw_key_inbound(const gw_keys_t *k, char *out) { return build(k, ":inbound", NULL, 0, out); }
int gw_ch_cluster(const gw_keys_t *k, char *out) { return build(k, ":ch:cluster", NULL, 0, out); }

int gw_key_node(const gw_keys_t *k, const char *node, size_t len, char *out)
{
	return build(k, ":node:", node, len, out);
}

int gw_key_node_conns(const gw_keys_t *k, const char *node, size_t len, char *out)
{
	int n = build(k, ":node:", node, len, out);

	if (n < 0 || (size_t)n + 6 >= GW_KEY_MAX)
		return n < 0 ? n : GW_ETOOBIG;
	memcpy(out + n, ":conns", 7);
	return n + 6;
}

int gw_key_node_users(const gw_keys_t *k, const char *node, size_t len, char *out)
{
	int n = build(k, ":node:", node, len, out);

	if (n < 0 || (size_t)n + 6 >= GW_KEY_MAX)
		return n < 0 ? n : GW_ETOOBIG;
	memcpy(out + n, ":users", 7);
	return n + 6;
}

int gw_key_lobby(const gw_keys_t *k, const char *lobby, size_t len, char *out)
{
	return build(k, ":lobby:", lobby, len, out);
}

int gw_key_user(const gw_keys_t *k, const char *user, size_t len, char *out)
{
	return build(k, ":user:", user, len, out);
}

int gw_key_history(const gw_keys_t *k, const char *lobby, size_t len, char *out)
{
	return build(k, ":hist:", lobby, len, out);
}

int gw_key_history_meta(const gw_keys_t *k, const char *lobby, size_t len, char *out)
{
	return build(k, ":hmeta:", lobby, len, out);
}

int gw_key_held(const gw_keys_t *k, const char *lobby, size_t len, char *out)
{
	return build(k, ":held:", lobby, len, out);
}

int gw_ch_lobby(const gw_keys_t *k, const char *lobby, size_t len, char *out)
{
	return build(k, ":ch:lobby:", lobby, len, out);
}

int gw_ch_node(const gw_keys_t *k, const char *node, size_t len, char *out)
{
	return build(k, ":ch:node:", node, len, out);
}

int gw_ch_probe(const gw_keys_t *k, const char *node, size_t len, char *out)
{
	return build(k, ":ch:probe:", node, len, out);
}

const char *gw_ch_lobby_name(const gw_keys_t *k, const char *ch, size_t chlen,
			     size_t *len)
{
	static const char mid[] = ":ch:lobby:";
	size_t head = k->tag_len + sizeof(mid) - 1;

	if (chlen <= head || memcmp(ch, k->tag, k->tag_len) ||
	    memcmp(ch + k->tag_len, mid, sizeof(mid) - 1))
		return NULL;
	*len = chlen - head;
	return ch + head;
}
