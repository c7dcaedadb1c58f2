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
 */
#include "store/sqlite/sqlite_int.h"

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
};

const int sq_n_migrations = (int)(sizeof(sq_migrations) / sizeof(sq_migrations[0]));

_Static_assert(sizeof(sq_migrations) / sizeof(sq_migrations[0]) == STORE_SCHEMA_VERSION,
               "one migration per schema version");
