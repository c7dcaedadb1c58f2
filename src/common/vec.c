/*
 * vec.c — pointer vector.
 */
#include "common/vec.h"
#include "common/xmalloc.h"

#include <stdlib.h>

void ptrvec_push(struct ptrvec *pv, void *p)
{
	if (pv->n == pv->cap) {
		pv->cap = pv->cap ? pv->cap * 2 : 4;
		pv->v = xrealloc(pv->v, pv->cap * sizeof(*pv->v));
	}
	pv->v[pv->n++] = p;
}

bool ptrvec_remove(struct ptrvec *pv, void *p)
{
	for (size_t i = 0; i < pv->n; i++) {
		if (pv->v[i] == p) {
			pv->v[i] = pv->v[--pv->n];
			return true;
		}
	}
	return false;
}

bool ptrvec_contains(const struct ptrvec *pv, const void *p)
{
	for (size_t i = 0; i < pv->n; i++)
		if (pv->v[i] == p)
			return true;
	return false;
}

void ptrvec_free(struct ptrvec *pv)
{
	free(pv->v);
	pv->v = NULL;
	pv->n = pv->cap = 0;
}
