/*
 * gw_json.c — counting JSON values before parsing (see gw_json.h).
 *
 * A byte loop with one bit of state, "inside a string", and a skip for
 * the character after a backslash there, so "\"," neither ends the string
 * nor counts. It neither allocates nor recurses, so it costs the same for
 * hostile input as for any other.
 */
#include "gw_json.h"

size_t gw_json_count_values(const char *in, size_t len, size_t max)
{
	size_t n = 1, i;
	int in_str = 0;

	for (i = 0; i < len; i++) {
		char c = in[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == ',' || c == '[' || c == '{') {
			if (++n > max)
				return max + 1;
		}
	}
	return n;
}
