/*
 * gw_alloc.c — allocation wrappers with failure injection for tests.
 */
#include "gw_alloc.h"

#include <stdlib.h>
#include <string.h>

static long fail_after = -1;

static int should_fail(void)
{
	if (fail_after < 0)
		return 0;
	if (fail_after == 0)
		return 1;
	fail_after--;
	return 0;
}

void gw_alloc_fail_after(long n)
{
	fail_after = n;
}

void *gw_malloc(size_t size)
{
	return should_fail() ? NULL : malloc(size);
}

void *gw_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : calloc(n, size);
}

void *gw_realloc(void *p, size_t size)
{
	return should_fail() ? NULL : realloc(p, size);
}

char *gw_strndup(const char *s, size_t n)
{
	char *d = gw_malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *gw_strdup(const char *s)
{
	return gw_strndup(s, strlen(s));
}

void gw_free(void *p)
{
	free(p);
}
