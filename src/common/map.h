/*
 * map.h — a hash map from NUL-terminated string keys to pointers.
 *
 * The map copies keys and does not own values. Keys are compared exactly:
 * callers fold case first where names are case-insensitive (str_lower).
 */
#ifndef PCHAT_COMMON_MAP_H
#define PCHAT_COMMON_MAP_H

#include <stddef.h>

struct map_entry {
	struct map_entry *next; /* chain in the bucket */
	void *value;            /* not owned */
	char key[];             /* copied key */
};

struct map {
	struct map_entry **buckets; /* n_buckets chains */
	size_t n_buckets;           /* power of two */
	size_t n_entries;           /* entries stored */
};

void map_init(struct map *m);
/* Free the entries (not the values). */
void map_clear(struct map *m);
/* Value for key, or NULL. */
void *map_get(const struct map *m, const char *key);
/* Insert or replace; returns the previous value or NULL. */
void *map_put(struct map *m, const char *key, void *value);
/* Remove; returns the removed value or NULL. */
void *map_del(struct map *m, const char *key);

/* Iterate: for (e = map_first(m, &i); e; e = map_next(m, e, &i)). */
struct map_entry *map_first(const struct map *m, size_t *iter);
struct map_entry *map_next(const struct map *m, struct map_entry *e, size_t *iter);

#endif
