/*
 * gw_json.h — a look at JSON text before anything parses it.
 *
 * jansson builds a tree: every value costs an allocation of tens of bytes,
 * so two bytes of input ("0,") become ~30 bytes of heap and a
 * microsecond of loop time. A 4 MiB document of small values cost 82 MB
 * and over half a second before any limit of ours was checked. Callers
 * that take JSON from outside count its values first, in one pass that
 * allocates nothing, and refuse what is too big before json_loadb().
 */
#ifndef GW_JSON_H
#define GW_JSON_H

#include "gw_common.h"

/*
 * An upper bound on the number of values jansson would create for the
 * `len` bytes at `in`: one, plus one per '[', '{' and ',' outside strings
 * (an empty array or object counts one too many). Counting stops once it
 * passes `max`, so the result is min(count, max + 1) and a caller refuses
 * the input when the result is > max. Nothing is validated: malformed
 * input is the parser's to refuse. Reads exactly `len` bytes; `in` need
 * not be NUL-terminated.
 */
size_t gw_json_count_values(const char *in, size_t len, size_t max);

#endif
