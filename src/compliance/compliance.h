/*
 * compliance.h — the compliance adapter: takes events out of the store's
 * compliance queue (store.h "compliance") and writes them, exactly once,
 * as Lync XmlAdapter XML or as JSON Lines files in an output directory.
 *
 * Capture is not here: the chat layer and pchatctl add events inside their
 * own write transactions (store_cevent_add, store_admin_change). This module
 * reads and purges only through store.h, and knows neither IRC nor SQL.
 *
 * One run (comp_run) repeats until the queue is empty or an error stops it:
 *   claim a range (store_comp_claim) → wait until the claim has reached the
 *   backup by log shipping (store_comp_shipped; at once without it) → fetch
 *   it → write each file to a temporary name, fsync it → rename it to its
 *   final name → fsync the directory → store_comp_done (purge the range,
 *   one transaction).
 * File names derive from the claimed range, and a claim resumed after a crash
 * keeps the params it was made with, so a re-written file has the same name
 * and the same bytes: the union of all files holds each event once.
 */
#ifndef PCHAT_COMPLIANCE_COMPLIANCE_H
#define PCHAT_COMPLIANCE_COMPLIANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_conn;
struct store_cevent;

enum comp_format {
	COMP_FORMAT_XML = 0,   /* Lync XmlAdapter format (docs/compliance.xsd) */
	COMP_FORMAT_JSONL = 1, /* one JSON object per event and line */
};

#define COMP_DEFAULT_MAX_EVENTS    100000 /* events per claimed range (and file) */
#define COMP_DEFAULT_LEASE_MS      60000  /* a claim's lease, renewed while writing */
#define COMP_DEFAULT_SHIP_STALL_MS 30000  /* waiting for log shipping without progress */

/* How r->error and status begin while a claim waits for log shipping. */
#define COMP_SHIP_WAITING "waiting for log shipping of segment "

/* What a run writes, and how (the parts that shape the files are kept with each claim). */
struct comp_options {
	const char *output_dir;      /* where files go (must exist; never created here) */
	int format;                  /* enum comp_format */
	bool one_room_per_file;      /* one file per conversation of a range */
	bool add_room_details;       /* Channel gets id, category and logged details */
	bool add_user_details;       /* Sender gets the client's address */
	const char *uri_host;        /* host part of channel and user URIs (the network name) */
	int max_events;              /* events per claim, 0 = COMP_DEFAULT_MAX_EVENTS */
	int64_t lease_ms;            /* claim lease, 0 = COMP_DEFAULT_LEASE_MS */
	const char *owner;           /* this adapter's name in claims ("pchatd@host:pid") */
	int64_t ship_stall_ms;       /* give up a wait for log shipping that makes no progress this
	                                long (plus archive_timeout while the segment is written);
	                                0 = COMP_DEFAULT_SHIP_STALL_MS */
	bool (*stopping)(void *arg); /* polled while waiting: true = give up the run now */
	void *stopping_arg;          /* for stopping */
};

/* What a run did. */
struct comp_result {
	int64_t events;      /* events exported (purged after their files were durable) */
	int files;           /* files put in place */
	int64_t resumed;     /* claims resumed from an adapter that died */
	char last_file[512]; /* the last file put in place, "" = none */
	char error[512];     /* why the run stopped, "" when it emptied the queue */
};

/*
 * Export every event queued now. Returns 0 when the queue was emptied (or
 * was empty), or -1 with r->error set (also noted in the store for status;
 * not logged here, the caller reports it): the events stay queued and the
 * next run retries. Waiting for log shipping is bounded: when the archiver
 * makes no progress for o->ship_stall_ms (see there), or o->stopping says
 * so, the run stops with r->error beginning with COMP_SHIP_WAITING (or
 * "stopped while waiting"); while a wait lasts over two seconds, status
 * shows it as the last error.
 * c is a direct connection owned by the calling thread, outside any
 * transaction.
 */
int comp_run(struct store_conn *c, const struct comp_options *o, struct comp_result *r);

/*
 * Write the events of one file (already grouped as the file holds them) to
 * fd, in the format and with the options of o. Deterministic: the same
 * events and options give the same bytes. Returns 0 or -1 (errno set by the
 * failed write). Exposed for the golden-file tests.
 */
int comp_write_events(int fd, const struct store_cevent *ev, size_t n,
                      const struct comp_options *o);

/*
 * Test hook: when the environment variable PCHAT_TEST_COMPLIANCE_CRASH
 * names step (claimed, written, synced, renamed, dirsynced), the process
 * kills itself with SIGKILL at that point of comp_run. Does nothing
 * otherwise. (PCHAT_TEST_COMPLIANCE_SHIP_STALL_MS, when o->ship_stall_ms
 * is 0, shortens the wait for log shipping in tests.)
 */
void comp_test_hook(const char *step);

/* Name of a format ("xml", "jsonl") and back (-1 when unknown). */
const char *comp_format_name(int format);
int comp_format_parse(const char *s);

#endif
