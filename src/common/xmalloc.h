/*
 * xmalloc.h — allocation that never returns NULL.
 *
 * Out of memory is not a condition pchat recovers from: these abort with a
 * message instead. Nothing here knows project types.
 */
#ifndef PCHAT_COMMON_XMALLOC_H
#define PCHAT_COMMON_XMALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc/strdup/strndup; abort() on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
