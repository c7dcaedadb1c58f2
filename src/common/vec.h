/*
 * vec.h — a growable array of pointers.
 */
#ifndef PCHAT_COMMON_VEC_H
#define PCHAT_COMMON_VEC_H

#include <stdbool.h>
#include <stddef.h>

struct ptrvec {
	void **v;   /* elements */
	size_t n;   /* elements in use */
	size_t cap; /* elements allocated */
};

/* Append p. */
void ptrvec_push(struct ptrvec *pv, void *p);
/* Remove the first element equal to p (order not kept); true if found. */
bool ptrvec_remove(struct ptrvec *pv, void *p);
/* Whether p is in the vector. */
bool ptrvec_contains(const struct ptrvec *pv, const void *p);
/* Free the array (not the elements). */
void ptrvec_free(struct ptrvec *pv);

#endif
