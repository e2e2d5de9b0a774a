/*
 * gw_list.h — intrusive circular doubly linked lists (O(1) insert/remove).
 *
 * Embed a gw_list_t in the object; a list head is a gw_list_t initialised
 * with gw_list_init(). Use GW_CONTAINER_OF to get back to the object.
 */
#ifndef GW_LIST_H
#define GW_LIST_H

#include <stddef.h>

typedef struct gw_list {
	struct gw_list *next, *prev;
} gw_list_t;

#define GW_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void gw_list_init(gw_list_t *h)
{
	h->next = h->prev = h;
}

static inline int gw_list_empty(const gw_list_t *h)
{
	return h->next == h;
}

/* Whether a node (initialised with gw_list_init) is linked into a list. */
static inline int gw_list_linked(const gw_list_t *n)
{
	return n->next != n && n->next != NULL;
}

static inline void gw_list_add_tail(gw_list_t *h, gw_list_t *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void gw_list_del(gw_list_t *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

/* Iterate safely against removal of the current node. */
#define gw_list_each_safe(pos, tmp, head)                                   \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);      \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif
