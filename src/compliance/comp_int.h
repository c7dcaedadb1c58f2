/*
 * comp_int.h — internals shared by the compliance adapter's files:
 * grouping events into conversations, time formats, a buffered file
 * writer, text clean-up, and the two format writers.
 *
 * Not for use outside src/compliance/ (the public interface is
 * compliance.h). Nothing here talks to the store.
 */
#ifndef PCHAT_COMPLIANCE_COMP_INT_H
#define PCHAT_COMPLIANCE_COMP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compliance/compliance.h"
#include "store/store.h"

/* .NET ticks (100 ns since 0001-01-01) of the Unix epoch. */
#define COMP_TICKS_EPOCH 621355968000000000LL

/* Room for "2008-06-04T20:15:40.9530000Z" and its NUL. */
#define COMP_NET_ISO_LEN 32

enum comp_conv_kind {
	COMP_CONV_ROOM = 0,    /* events of one room (room_id > 0) */
	COMP_CONV_PRIVATE = 1, /* private messages of one unordered pair of names */
	COMP_CONV_SYSTEM = 2,  /* everything else */
};

/* One conversation of a set of events. */
struct comp_conv {
	int kind;               /* enum comp_conv_kind */
	int64_t room_id;        /* COMP_CONV_ROOM: the room */
	char a[STORE_NAME_MAX]; /* COMP_CONV_PRIVATE: the smaller lower-cased name */
	char b[STORE_NAME_MAX]; /* COMP_CONV_PRIVATE: the larger lower-cased name */
	const size_t *idx;      /* indices into the events, by id (points into groups) */
	size_t n;               /* events in the conversation */
	int private_ordinal;    /* COMP_CONV_PRIVATE: 1, 2, ... by first event, else 0 */
};

/* The conversations of a set of events, ordered by their first event id. */
struct comp_groups {
	struct comp_conv *conv; /* n_conv conversations; owned */
	size_t n_conv;          /* conversations */
	size_t *idx;            /* every event index, grouped per conversation; owned */
};

/*
 * Group n events into conversations (SPEC §5 / README: rooms, private
 * pairs, system). ev need not be ordered. Fills g (comp_groups_free).
 */
void comp_group(const struct store_cevent *ev, size_t n, struct comp_groups *g);
void comp_groups_free(struct comp_groups *g);

/* Indices 0..n-1 of ev ordered by event id (xmalloc'd; the caller frees). */
size_t *comp_id_order(const struct store_cevent *ev, size_t n);

/* .NET ticks of a Unix time in milliseconds. */
int64_t comp_ticks(int64_t ms);

/* Format ms as .NET "o" UTC: "2008-06-04T20:15:40.9530000Z" (7 fraction digits). */
void comp_fmt_net_iso(int64_t ms, char *out, size_t outlen);

/* A buffered writer to a file descriptor (a few large writes per file). */
struct comp_out {
	int fd;     /* where bytes go (not owned) */
	char *buf;  /* pending bytes; owned */
	size_t len; /* bytes pending */
	size_t cap; /* buf size */
	int err;    /* errno of the first failed write, 0 = none */
};

/* Start writing to fd (allocates the buffer; comp_out_free). */
void comp_out_init(struct comp_out *w, int fd);
/* Append bytes; 0, or -1 once any write failed (w->err). */
int comp_out_write(struct comp_out *w, const void *p, size_t n);
/* Write everything pending; 0 or -1 (w->err). */
int comp_out_flush(struct comp_out *w);
/* Free the buffer (does not flush or close fd). */
void comp_out_free(struct comp_out *w);

/* A growable byte buffer reused across events. */
struct comp_buf {
	char *p;    /* bytes, NUL-terminated; owned */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
};

/* Free b's bytes and leave it empty (reusable). */
void comp_buf_free(struct comp_buf *b);

/*
 * s with every invalid UTF-8 sequence replaced by U+FFFD, and with xml
 * also every character XML 1.0 does not allow (controls other than TAB,
 * LF, CR; U+FFFE, U+FFFF). Returns s itself when nothing had to change
 * (the common case, no copy), else tmp->p. NULL s reads as "".
 */
const char *comp_clean_text(const char *s, bool xml, struct comp_buf *tmp);

/* The format writers behind comp_write_events (0, or -1 with errno set). */
int comp_xml_write(int fd, const struct store_cevent *ev, size_t n, const struct comp_options *o);
int comp_jsonl_write(int fd, const struct store_cevent *ev, size_t n, const struct comp_options *o);

#endif
