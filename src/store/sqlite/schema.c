/*
 * schema.c — the SQLite schema as a list of migrations.
 *
 * sq_migrations[i] takes a database from version i to version i + 1
 * (PRAGMA user_version); sq_migrate() applies the missing ones in one
 * transaction. Never edit a released step: append a new one and bump
 * STORE_SCHEMA_VERSION. Column types stay portable to PostgreSQL (INTEGER
 * ids become BIGINT identity columns there, COLLATE NOCASE becomes a unique
 * index on lower(name)); this file does not hold the PostgreSQL schema.
 *
 * Dependencies, decided here: removing a room removes its messages
 * (ON DELETE CASCADE: Lync's Remove-CsPersistentChatRoom deletes content);
 * a category with rooms cannot be removed (RESTRICT, SPEC §3 "only when
 * empty"); the two message indexes are partial (a room message has no
 * entry in the conversation index and the reverse); messages name their sender as text, so removing
 * an account keeps its history.
 *
 * Version 2 (rooms issue): follows, invitations and markers hang on account
 * and room ids with ON DELETE CASCADE; markers name their target as text, so
 * a trigger drops a removed room's markers ("#name" or "name"). A room names
 * its add-in as text (checked by the backend, ENOTEMPTY on removal). The
 * FTS5 index is external-content over messages.text, kept in step by
 * triggers (a removed message has text '' and so no tokens; a room removal
 * or clear deletes its rows through the delete trigger). The change feed is a
 * plain rowid table trimmed by the backend.
 *
 * Version 3 (compliance): compliance_outbox holds events written in the
 * chat transaction until store_comp_move() carries them into the compliance
 * database (a second file, never ATTACHed: its schema is sqc_migrations
 * below); AUTOINCREMENT so that an id is never handed out twice, even after
 * the outbox was emptied. settings is a small key/value table
 * ('compliance.enabled' = '1' or '0', absent = off). A room id in an event
 * is no foreign key: the record outlives the room.
 *
 * Version 4 (pool): pool_state is the pool's control row (at most one row;
 * none means generation 0, "normal", no active list) and servers the
 * heartbeat rows (docs/architecture.md "Pool, pool state and the fence").
 *
 * Version 6: messages_room_id is gone. In a room id order is seq order (a
 * message takes the room's next seq and the next id in one transaction of
 * the one writer), so history by id bounds reads messages_room_seq
 * (history.c turns the id bounds into seq bounds); every insert then
 * writes one index leaf per room less, which a group commit over many
 * rooms pays for per room (2,000 clients in 400 rooms of 5: +10%).
 */
#include "store/sqlite/sqlite_int.h"

/* The columns of a compliance event after its id (outbox and events alike). */
#define COMP_EVENT_COLUMNS                                                                         \
	" ts_ms INTEGER NOT NULL,"                                                                 \
	" type TEXT NOT NULL,"                                                                     \
	" actor TEXT NOT NULL DEFAULT '',"                                                         \
	" actor_id INTEGER NOT NULL DEFAULT 0,"                                                    \
	" address TEXT NOT NULL DEFAULT '',"                                                       \
	" room_id INTEGER NOT NULL DEFAULT 0,"                                                     \
	" room TEXT NOT NULL DEFAULT '',"                                                          \
	" category TEXT NOT NULL DEFAULT '',"                                                      \
	" logged INTEGER NOT NULL DEFAULT 0,"                                                      \
	" peer TEXT NOT NULL DEFAULT '',"                                                          \
	" msgid TEXT NOT NULL DEFAULT '',"                                                         \
	" content TEXT NOT NULL DEFAULT '',"                                                       \
	" detail TEXT"

const char *const sq_migrations[] = {
    /* 0 -> 1: accounts, categories (with "general"), rooms, messages */
    "CREATE TABLE accounts ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " pw_hash TEXT,"
    " scram TEXT,"
    " admin INTEGER NOT NULL DEFAULT 0,"
    " chat_enabled INTEGER NOT NULL DEFAULT 1,"
    " created_ms INTEGER NOT NULL);"
    "CREATE TABLE categories ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " allowed TEXT NOT NULL DEFAULT '*',"
    " created_ms INTEGER NOT NULL);"
    "INSERT INTO categories (name, allowed, created_ms)"
    " VALUES ('general', '*', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));"
    "CREATE TABLE rooms ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " category_id INTEGER NOT NULL REFERENCES categories (id) ON DELETE RESTRICT,"
    " description TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL,"
    " last_seq INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX rooms_category ON rooms (category_id);"
    "CREATE TABLE messages ("
    " id INTEGER PRIMARY KEY,"
    " room_id INTEGER REFERENCES rooms (id) ON DELETE CASCADE,"
    " pm_a TEXT,"
    " pm_b TEXT,"
    " peer TEXT,"
    " seq INTEGER NOT NULL DEFAULT 0,"
    " msgid TEXT NOT NULL UNIQUE,"
    " ts_ms INTEGER NOT NULL,"
    " sender TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " text TEXT NOT NULL,"
    " tags TEXT,"
    " CHECK ((room_id IS NULL) = (pm_a IS NOT NULL AND pm_b IS NOT NULL)));"
    "CREATE UNIQUE INDEX messages_room_seq ON messages (room_id, seq)"
    " WHERE room_id IS NOT NULL;"
    "CREATE INDEX messages_pm ON messages (pm_a, pm_b, id) WHERE pm_a IS NOT NULL;",

    /* 1 -> 2: rooms issue (settings, roles, groups, add-ins, follows, invitations,
       markers, change feed, redaction, history and search indexes) */
    "ALTER TABLE categories ADD COLUMN denied TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE categories ADD COLUMN creators TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE categories ADD COLUMN invitations INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE categories ADD COLUMN file_upload INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE categories ADD COLUMN history INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE rooms ADD COLUMN privacy INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rooms ADD COLUMN type INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rooms ADD COLUMN invitations_off INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rooms ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE rooms ADD COLUMN addin TEXT NOT NULL COLLATE NOCASE DEFAULT '';"
    "ALTER TABLE rooms ADD COLUMN members TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE rooms ADD COLUMN managers TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE rooms ADD COLUMN presenters TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX rooms_addin ON rooms (addin) WHERE addin <> '';"
    "ALTER TABLE messages ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX messages_room_id ON messages (room_id, id) WHERE room_id IS NOT NULL;"
    "CREATE INDEX messages_room_ts ON messages (room_id, ts_ms) WHERE room_id IS NOT NULL;"
    "CREATE INDEX messages_pm_ts ON messages (pm_a, pm_b, ts_ms) WHERE pm_a IS NOT NULL;"
    "CREATE INDEX messages_pm_b ON messages (pm_b) WHERE pm_a IS NOT NULL;"
    "CREATE TABLE groups ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " members TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL);"
    "CREATE TABLE addins ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    " url TEXT NOT NULL);"
    "CREATE TABLE follows ("
    " account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,"
    " room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,"
    " PRIMARY KEY (account_id, room_id)) WITHOUT ROWID;"
    "CREATE INDEX follows_room ON follows (room_id);"
    "CREATE TABLE invitations ("
    " account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,"
    " room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,"
    " inviter TEXT NOT NULL DEFAULT '',"
    " ts_ms INTEGER NOT NULL,"
    " PRIMARY KEY (account_id, room_id));"
    "CREATE INDEX invitations_room ON invitations (room_id);"
    "CREATE TABLE markers ("
    " account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,"
    " target TEXT NOT NULL COLLATE NOCASE,"
    " ts_ms INTEGER NOT NULL,"
    " PRIMARY KEY (account_id, target)) WITHOUT ROWID;"
    "CREATE INDEX markers_target ON markers (target);"
    "CREATE TRIGGER rooms_markers AFTER DELETE ON rooms BEGIN"
    " DELETE FROM markers WHERE target IN (old.name, '#' || old.name); END;"
    "CREATE TABLE changes ("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " ts_ms INTEGER NOT NULL);"
    "CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content = 'messages',"
    " content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');"
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');"
    /* Indexing is deferred (sq_fts_catch_up): rows up to last_id are indexed. */
    "CREATE TABLE fts_state (id INTEGER PRIMARY KEY CHECK (id = 1), last_id INTEGER NOT NULL);"
    "INSERT INTO fts_state VALUES (1, (SELECT COALESCE(MAX(id), 0) FROM messages));"
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages"
    " WHEN old.id <= (SELECT last_id FROM fts_state) BEGIN"
    " INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    " END;"
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages"
    " WHEN old.id <= (SELECT last_id FROM fts_state) BEGIN"
    " INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    " INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text); END;",

    /* 2 -> 3: compliance outbox (ids never reused: AUTOINCREMENT) and settings */
    "CREATE TABLE compliance_outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT," COMP_EVENT_COLUMNS ");"
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",

    /* 3 -> 4: the pool's control row (none = generation 0) and heartbeats */
    "CREATE TABLE pool_state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " generation INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " active TEXT NOT NULL,"
    " fenced INTEGER NOT NULL DEFAULT 0,"
    " fenced_generation INTEGER NOT NULL DEFAULT 0,"
    " changed_ms INTEGER NOT NULL,"
    " changed_by TEXT NOT NULL);"
    "CREATE TABLE servers ("
    " name TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,"
    " started_ms INTEGER NOT NULL,"
    " seen_ms INTEGER NOT NULL,"
    " clients INTEGER NOT NULL,"
    " active INTEGER NOT NULL,"
    " generation INTEGER NOT NULL,"
    " database TEXT NOT NULL) WITHOUT ROWID;",

    /* 4 -> 5: nothing here (PostgreSQL's pool bus got a table for large payloads) */
    "SELECT 1;",

    /* 5 -> 6: (room_id, id) repeats (room_id, seq): one index less for every insert */
    "DROP INDEX messages_room_id;",
};

const int sq_n_migrations = (int)(sizeof(sq_migrations) / sizeof(sq_migrations[0]));

/*
 * The compliance database (compliance.c): its own PRAGMA user_version and
 * steps. events keeps the outbox id; claims are ranges [lo, hi] of event
 * ids; state is one row (the move mark and what status shows).
 */
const char *const sqc_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE events (id INTEGER PRIMARY KEY," COMP_EVENT_COLUMNS ");"
    "CREATE TABLE claims ("
    " lo INTEGER PRIMARY KEY,"
    " hi INTEGER NOT NULL,"
    " owner TEXT NOT NULL,"
    " expires_ms INTEGER NOT NULL,"
    " params TEXT NOT NULL);"
    "CREATE TABLE state ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " moved_upto INTEGER NOT NULL,"
    " exported INTEGER NOT NULL,"
    " last_run_ms INTEGER NOT NULL,"
    " last_file TEXT NOT NULL,"
    " last_error_ms INTEGER NOT NULL,"
    " last_error TEXT NOT NULL);"
    "INSERT INTO state VALUES (1, 0, 0, 0, '', 0, '');",
};

const int sqc_n_migrations = (int)(sizeof(sqc_migrations) / sizeof(sqc_migrations[0]));

_Static_assert(sizeof(sq_migrations) / sizeof(sq_migrations[0]) == STORE_SCHEMA_VERSION,
               "one migration per schema version");
