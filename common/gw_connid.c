/*
 * gw_connid.c — connection ids as text (see gw_connid.h).
 */
#include "gw_connid.h"

#include <stdio.h>
#include <string.h>

char *gw_conn_id_format(const char *node_id, uint64_t id, char *buf)
{
	snprintf(buf, GW_CONN_ID_MAX, "%s.%llx", node_id, (unsigned long long)id);
	return buf;
}

size_t gw_conn_id_node_len(const char *conn, size_t len)
{
	size_t i = len;

	while (i > 0 && conn[i - 1] != '.')
		i--;
	return i ? i - 1 : 0;
}

uint64_t gw_conn_id_counter(const char *conn, size_t len)
{
	size_t i = gw_conn_id_node_len(conn, len) + 1;
	uint64_t id = 0;

	if (i >= len || len - i > 16)
		return 0;
	for (; i < len; i++) {
		char ch = conn[i];
		unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0')
			   : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
			   : 16;

		if (d == 16)
			return 0;
		id = id << 4 | d;
	}
	return id;
}

uint64_t gw_conn_id_local(const char *node_id, const char *conn, size_t len)
{
	size_t nl = gw_conn_id_node_len(conn, len);

	if (nl != strlen(node_id) || memcmp(conn, node_id, nl) != 0)
		return 0;
	return gw_conn_id_counter(conn, len);
}
