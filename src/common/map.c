/*
 * map.c — chained hash map with FNV-1a, doubling at load factor 1.
 */
#include "common/map.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void map_init(struct map *m)
{
	m->n_buckets = 16;
	m->n_entries = 0;
	m->buckets = xcalloc(m->n_buckets, sizeof(*m->buckets));
}

void map_clear(struct map *m)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct map_entry *e = m->buckets[i];

		while (e) {
			struct map_entry *next = e->next;

			free(e);
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->n_buckets = 0;
	m->n_entries = 0;
}

static struct map_entry **slot(const struct map *m, const char *key)
{
	struct map_entry **pp = &m->buckets[hash(key) & (m->n_buckets - 1)];

	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

void *map_get(const struct map *m, const char *key)
{
	struct map_entry *e = *slot(m, key);

	return e ? e->value : NULL;
}

static void grow(struct map *m)
{
	size_t n = m->n_buckets * 2;
	struct map_entry **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < m->n_buckets; i++) {
		struct map_entry *e = m->buckets[i];

		while (e) {
			struct map_entry *next = e->next;
			size_t h = hash(e->key) & (n - 1);

			e->next = b[h];
			b[h] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

void *map_put(struct map *m, const char *key, void *value)
{
	struct map_entry **pp = slot(m, key);
	struct map_entry *e;
	size_t klen;

	if (*pp) {
		void *old = (*pp)->value;

		(*pp)->value = value;
		return old;
	}
	klen = strlen(key);
	e = xmalloc(sizeof(*e) + klen + 1);
	memcpy(e->key, key, klen + 1);
	e->value = value;
	e->next = NULL;
	*pp = e;
	if (++m->n_entries > m->n_buckets)
		grow(m);
	return NULL;
}

void *map_del(struct map *m, const char *key)
{
	struct map_entry **pp = slot(m, key);
	struct map_entry *e = *pp;
	void *v;

	if (!e)
		return NULL;
	*pp = e->next;
	v = e->value;
	free(e);
	m->n_entries--;
	return v;
}

struct map_entry *map_first(const struct map *m, size_t *iter)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		if (m->buckets[i]) {
			*iter = i;
			return m->buckets[i];
		}
	}
	return NULL;
}

struct map_entry *map_next(const struct map *m, struct map_entry *e, size_t *iter)
{
	if (e->next)
		return e->next;
	for (size_t i = *iter + 1; i < m->n_buckets; i++) {
		if (m->buckets[i]) {
			*iter = i;
			return m->buckets[i];
		}
	}
	return NULL;
}
