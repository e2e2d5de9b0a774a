/*
 * gw_alloc.h — the one set of allocation wrappers.
 *
 * All project code allocates through these so tests can inject failures:
 * gw_alloc_fail_after(n) makes the (n+1)-th following allocation fail.
 * gw_free(NULL) is a no-op, as free(NULL) is.
 */
#ifndef GW_ALLOC_H
#define GW_ALLOC_H

#include <stddef.h>

void *gw_malloc(size_t size);
void *gw_calloc(size_t n, size_t size);
void *gw_realloc(void *p, size_t size);
char *gw_strdup(const char *s);
char *gw_strndup(const char *s, size_t n);
void gw_free(void *p);

/* Test hook: fail allocations after `n` more succeed; -1 disables. */
void gw_alloc_fail_after(long n);

#endif
