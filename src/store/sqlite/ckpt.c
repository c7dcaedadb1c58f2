/*
 * ckpt.c — the checkpointer: copies the writer's WAL back into the database
 * file from a thread and a connection of its own.
 *
 * With SQLite's own automatic checkpoint the commit that crosses the
 * threshold copies the WAL into the database (read the frames, write the
 * pages, fsync the file) before it returns, on the writer thread: every
 * group commit waits for it. Here the writer's WAL hook only tells this
 * thread how long the WAL has grown; the thread runs a PASSIVE checkpoint,
 * which never blocks the writer nor a reader, while the writer goes on
 * committing. Measured with 2,000 clients in 400 rooms of 5 (throughput
 * mode): 167,000-243,000 deliveries/s with the writer checkpointing,
 * 284,000-298,000 with this thread, 310,000-317,000 with no checkpoint at
 * all during the run.
 *
 * SQLite starts the WAL over from its beginning only when a write
 * transaction begins while every frame is already in the database. Behind a
 * writer that never pauses that moment may not come, so when the WAL passes
 * SQ_CKPT_WRITER_PAGES the writer's hook checkpoints the little that is left
 * itself (PASSIVE too), and the next transaction starts the WAL over;
 * journal_size_limit (conn.c) then truncates the file.
 *
 * The thread belongs to the writer thread's connection (STORE_CONN_GROUP):
 * opened with it, stopped and joined before it closes. Checkpointing is
 * SQLite's own business, so the thread lives in the backend, not in
 * store.c.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/log.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define SQ_CKPT_PAGES        1024  /* WAL pages (4 KiB) that start a background checkpoint */
#define SQ_CKPT_WRITER_PAGES 16384 /* WAL pages past which the writer checkpoints too */

struct sq_ckpt {
	pthread_t thread;     /* "store-ckpt" */
	pthread_mutex_t lock; /* guards pages and stop */
	pthread_cond_t wake;  /* pages grew past SQ_CKPT_PAGES, or stop */
	sqlite3 *db;          /* the checkpointer's own connection */
	char path[256];       /* the database, for messages */
	int pages;            /* WAL pages after the writer's last commit, not yet taken */
	bool stop;            /* sq_ckpt_stop() was called */
	bool failed;          /* the thread's checkpoint failed (logged once until one succeeds) */
	bool writer_failed;   /* the same for the writer's (wal_hook, on the writer thread) */
};

/* Run one PASSIVE checkpoint on db; log a failure once per run of them. */
static void checkpoint(sqlite3 *db, const char *path, bool *failed)
{
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	if (rc == SQLITE_OK) {
		*failed = false;
	} else if (rc != SQLITE_BUSY && !*failed) {
		/* BUSY: another checkpoint runs now; it does the same work */
		log_error("store", "%s: checkpoint: %s (the WAL grows until one succeeds)", path,
		          sqlite3_errmsg(db));
		*failed = true;
	}
}

static void *ckpt_main(void *arg)
{
	struct sq_ckpt *ck = arg;

	pthread_setname_np(pthread_self(), "store-ckpt");
	pthread_mutex_lock(&ck->lock);
	for (;;) {
		while (!ck->stop && ck->pages < SQ_CKPT_PAGES)
			pthread_cond_wait(&ck->wake, &ck->lock);
		if (ck->stop)
			break;
		ck->pages = 0;
		pthread_mutex_unlock(&ck->lock);
		checkpoint(ck->db, ck->path, &ck->failed);
		pthread_mutex_lock(&ck->lock);
	}
	pthread_mutex_unlock(&ck->lock);
	return NULL;
}

/*
 * The writer connection's WAL hook, after each commit (SQLite calls it
 * with the write lock released): wake the thread, or help it when the WAL
 * is long. Replaces SQLite's automatic checkpoint.
 */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq_ckpt *ck = arg;

	(void)name;
	if (pages >= SQ_CKPT_WRITER_PAGES) {
		checkpoint(db, ck->path, &ck->writer_failed);
		return SQLITE_OK;
	}
	if (pages >= SQ_CKPT_PAGES) {
		pthread_mutex_lock(&ck->lock);
		ck->pages = pages;
		pthread_cond_signal(&ck->wake);
		pthread_mutex_unlock(&ck->lock);
	}
	return SQLITE_OK;
}

int sq_ckpt_start(struct sq_conn *sc, char *err, size_t errlen)
{
	struct sq_ckpt *ck = xcalloc(1, sizeof(*ck));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;

	snprintf(ck->path, sizeof(ck->path), "%s", sc->path);
	if (sqlite3_open_v2(sc->path, &ck->db, flags, NULL) != SQLITE_OK ||
	    sqlite3_exec(ck->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database %s: checkpointer: %s", sc->path,
		         ck->db ? sqlite3_errmsg(ck->db) : "out of memory");
		sqlite3_close(ck->db);
		free(ck);
		return STORE_EIO;
	}
	pthread_mutex_init(&ck->lock, NULL);
	pthread_cond_init(&ck->wake, NULL);
	if (pthread_create(&ck->thread, NULL, ckpt_main, ck) != 0) {
		snprintf(err, errlen, "database %s: cannot start the checkpointer thread",
		         sc->path);
		pthread_cond_destroy(&ck->wake);
		pthread_mutex_destroy(&ck->lock);
		sqlite3_close(ck->db);
		free(ck);
		return STORE_EIO;
	}
	sqlite3_wal_hook(sc->db, wal_hook, ck);
	sc->ckpt = ck;
	return 0;
}

void sq_ckpt_stop(struct sq_conn *sc)
{
	struct sq_ckpt *ck = sc->ckpt;

	if (!ck)
		return;
	/* back to SQLite's automatic checkpoint for whatever the writer still commits */
	sqlite3_wal_autocheckpoint(sc->db, SQ_CKPT_PAGES);
	pthread_mutex_lock(&ck->lock);
	ck->stop = true;
	pthread_cond_signal(&ck->wake);
	pthread_mutex_unlock(&ck->lock);
	pthread_join(ck->thread, NULL);
	if (sqlite3_close(ck->db) != SQLITE_OK)
		log_error("store", "%s: checkpointer close: %s", ck->path, sqlite3_errmsg(ck->db));
	pthread_cond_destroy(&ck->wake);
	pthread_mutex_destroy(&ck->lock);
	free(ck);
	sc->ckpt = NULL;
}
