/*
 * sql.c — the text of every statement the SQLite backend prepares (once per
 * connection, sq_stmt()), indexed by enum sq_stmt_id.
 *
 * Only SQL lives here; binding and stepping are in sqlite.c, rooms.c and
 * history.c. History statements name their index (INDEXED BY) so that the
 * planner never trades the ordered range scan for a sort; parameter
 * numbers are shared between the variants of one operation so that one
 * binding function serves them all (unused numbers are allowed by SQLite).
 */
#include "store/sqlite/sqlite_int.h"

#define ACCOUNT_COLS "id, name, pw_hash, scram, admin, chat_enabled, created_ms"
#define CATEGORY_COLS                                                                              \
	"id, name, allowed, created_ms, denied, creators, invitations, file_upload, history "      \
	"FROM categories"
#define ROOM_COLS                                                                                  \
	"r.id, r.name, c.name, r.description, r.created_ms, r.last_seq, r.privacy, r.type, "       \
	"r.invitations_off, r.disabled, r.addin, r.members, r.managers, r.presenters FROM rooms "  \
	"r "                                                                                       \
	"JOIN categories c ON c.id = r.category_id"

/* History: ?1 room id or pm_a, ?2 pm_b, ?3/?4 id bounds, ?5/?6 time bounds, ?7 limit. */
#define HIST_BOUNDS                                                                                \
	" AND m.id > ?3 AND m.id < ?4 AND m.ts_ms > ?5 AND m.ts_ms < ?6 AND m.redacted <> 1 "      \
	" AND (?8 = 0 OR m.kind IN ('PRIVMSG', 'NOTICE', 'TAGMSG')) "
#define HIST_ROOM(index)                                                                           \
	"SELECT " SQ_MSG_COLS " FROM messages m INDEXED BY " index                                 \
	" WHERE m.room_id = ?1" HIST_BOUNDS
/* A room in seq order: ?3/?4 are seq bounds here (history.c turns the id bounds into them). */
#define HIST_ROOM_SEQ                                                                              \
	"SELECT " SQ_MSG_COLS " FROM messages m INDEXED BY messages_room_seq"                      \
	" WHERE m.room_id = ?1 AND m.seq > ?3 AND m.seq < ?4 AND m.ts_ms > ?5 AND m.ts_ms < ?6"    \
	" AND m.redacted <> 1 AND (?8 = 0 OR m.kind IN ('PRIVMSG', 'NOTICE', 'TAGMSG')) "
#define HIST_PM(index)                                                                             \
	"SELECT " SQ_MSG_COLS " FROM messages m INDEXED BY " index                                 \
	" WHERE m.pm_a = ?1 AND m.pm_b = ?2" HIST_BOUNDS
#define BY_ID_NEW " ORDER BY m.id DESC LIMIT ?7"
#define BY_ID_OLD " ORDER BY m.id ASC LIMIT ?7"
#define BY_TS_NEW " ORDER BY m.ts_ms DESC, m.id DESC LIMIT ?7"
#define BY_TS_OLD " ORDER BY m.ts_ms ASC, m.id ASC LIMIT ?7"

/*
 * Search: ?1 FTS5 query, ?2 id cursor (exclusive), ?3 room ids (JSON array),
 * ?4 lower-cased account, ?5 sender, ?6/?7 time bounds, ?8 limit.
 */
#define SEARCH_FILTER                                                                              \
	" AND (m.room_id IN (SELECT value FROM json_each(?3))"                                     \
	" OR m.pm_a = ?4 OR m.pm_b = ?4) AND (?5 IS NULL OR m.sender = ?5 COLLATE NOCASE)"         \
	" AND m.ts_ms > ?6 AND m.ts_ms < ?7 AND m.redacted <> 1"

/* Redaction: ?1 FTS5 query, ?2..?3 room id range, ?4 sender, ?5/?6 inclusive times. */
#define REDACT_FILTER                                                                              \
	" m.room_id >= ?2 AND m.room_id <= ?3 AND (?4 IS NULL OR m.sender = ?4 COLLATE NOCASE)"    \
	" AND m.ts_ms >= ?5 AND m.ts_ms <= ?6 AND m.redacted <> 1 ORDER BY m.id"

const char *const sq_sql[SQ_N_STMTS] = {
    [SQ_BEGIN] = "BEGIN",
    [SQ_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_SAVEPOINT] = "SAVEPOINT job",
    [SQ_RELEASE] = "RELEASE job",
    [SQ_ROLLBACK_TO] = "ROLLBACK TO job",
    [SQ_ACCOUNT_ADD] = "INSERT INTO accounts (name, pw_hash, scram, admin, chat_enabled, "
                       "created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQ_ACCOUNT_GET] = "SELECT " ACCOUNT_COLS " FROM accounts WHERE name = ?1",
    [SQ_ACCOUNT_UPDATE] = "UPDATE accounts SET name = ?1, pw_hash = ?2, scram = ?3, admin = ?4, "
                          "chat_enabled = ?5 WHERE id = ?6",
    [SQ_ACCOUNT_REMOVE] = "DELETE FROM accounts WHERE name = ?1",
    [SQ_ACCOUNT_LIST] = "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY name",
    [SQ_CATEGORY_ADD] = "INSERT INTO categories (name, allowed, created_ms, denied, creators, "
                        "invitations, file_upload, history) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [SQ_CATEGORY_GET] = "SELECT " CATEGORY_COLS " WHERE name = ?1",
    [SQ_CATEGORY_ID] = "SELECT id FROM categories WHERE name = ?1",
    [SQ_CATEGORY_UPDATE] = "UPDATE categories SET allowed = coalesce(?3, allowed), "
                           "denied = coalesce(?4, denied), creators = coalesce(?5, creators), "
                           "invitations = ?6, file_upload = ?7, history = ?8 "
                           "WHERE id = ?1 OR name = ?2",
    [SQ_CATEGORY_REMOVE] = "DELETE FROM categories WHERE name = ?1",
    [SQ_CATEGORY_LIST] = "SELECT " CATEGORY_COLS " ORDER BY name",
    [SQ_ROOM_ADD] = "INSERT INTO rooms (name, category_id, description, created_ms, privacy, "
                    "type, invitations_off, disabled, addin, members, managers, presenters) "
                    "SELECT ?1, id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 "
                    "FROM categories WHERE name = ?2",
    [SQ_ROOM_GET] = "SELECT " ROOM_COLS " WHERE r.name = ?1",
    [SQ_ROOM_UPDATE] = "UPDATE rooms SET description = coalesce(?3, description), "
                       "category_id = coalesce(?4, category_id), privacy = ?5, type = ?6, "
                       "invitations_off = ?7, disabled = ?8, addin = ?9, "
                       "members = coalesce(?10, members), managers = coalesce(?11, managers), "
                       "presenters = coalesce(?12, presenters) WHERE id = ?1 OR name = ?2",
    [SQ_ROOM_REMOVE] = "DELETE FROM rooms WHERE name = ?1",
    [SQ_ROOM_LIST] = "SELECT " ROOM_COLS " ORDER BY r.name",
    [SQ_ROOM_SET_SEQ] = "UPDATE rooms SET last_seq = ?2 WHERE id = ?1",
    [SQ_MSG_INSERT] = "INSERT INTO messages (room_id, pm_a, pm_b, peer, seq, msgid, ts_ms, "
                      "sender, kind, text, tags) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [SQ_MSG_LATEST_ROOM] = "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.room_id = ?1 "
                           "AND m.seq < ?2 AND m.redacted <> 1 ORDER BY m.seq DESC LIMIT ?3",
    [SQ_MSG_LATEST_PM] =
        "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.pm_a = ?1 "
        "AND m.pm_b = ?2 AND m.id < ?3 AND m.redacted <> 1 ORDER BY m.id DESC LIMIT ?4",
    [SQ_MSG_COUNT_ROOM] = "SELECT count(*) FROM messages WHERE room_id = ?1",
    [SQ_MSG_COUNT_ALL] = "SELECT count(*) FROM messages",
    [SQ_ADDIN_CHECK] = "SELECT 1 FROM addins WHERE name = ?1",
    [SQ_GROUP_ADD] = "INSERT INTO groups (name, members, created_ms) VALUES (?1, ?2, ?3)",
    [SQ_GROUP_GET] = "SELECT id, name, members, created_ms FROM groups WHERE name = ?1",
    [SQ_GROUP_UPDATE] = "UPDATE groups SET members = ?2 WHERE name = ?1",
    [SQ_GROUP_REMOVE] = "DELETE FROM groups WHERE name = ?1",
    [SQ_GROUP_LIST] = "SELECT id, name, members, created_ms FROM groups ORDER BY name",
    [SQ_ADDIN_ADD] = "INSERT INTO addins (name, url) VALUES (?1, ?2)",
    [SQ_ADDIN_GET] = "SELECT name, url FROM addins WHERE name = ?1",
    [SQ_ADDIN_USED] = "SELECT 1 FROM rooms WHERE addin = ?1 LIMIT 1",
    [SQ_ADDIN_REMOVE] = "DELETE FROM addins WHERE name = ?1",
    [SQ_ADDIN_LIST] = "SELECT name, url FROM addins ORDER BY name",
    [SQ_FOLLOW_ADD] = "INSERT INTO follows (account_id, room_id) SELECT a.id, r.id "
                      "FROM accounts a, rooms r WHERE a.name = ?1 AND r.name = ?2",
    [SQ_FOLLOW_REMOVE] = "DELETE FROM follows WHERE account_id = "
                         "(SELECT id FROM accounts WHERE name = ?1) AND room_id = "
                         "(SELECT id FROM rooms WHERE name = ?2)",
    [SQ_FOLLOW_LIST] = "SELECT r.name FROM follows f JOIN rooms r ON r.id = f.room_id "
                       "WHERE f.account_id = ?1 ORDER BY r.name",
    [SQ_INVITE_ADD] = "INSERT OR REPLACE INTO invitations (account_id, room_id, inviter, ts_ms) "
                      "SELECT a.id, r.id, ?3, ?4 FROM accounts a, rooms r "
                      "WHERE a.name = ?1 AND r.name = ?2",
    [SQ_INVITE_LIST] = "SELECT a.name, r.name, i.inviter, i.ts_ms FROM invitations i "
                       "JOIN accounts a ON a.id = i.account_id JOIN rooms r ON r.id = i.room_id "
                       "WHERE i.account_id = ?1 ORDER BY i.ts_ms, i.rowid",
    [SQ_INVITE_DELETE] = "DELETE FROM invitations WHERE account_id = ?1",
    [SQ_MARKER_SET] = "INSERT INTO markers (account_id, target, ts_ms) "
                      "SELECT id, ?2, ?3 FROM accounts WHERE name = ?1 "
                      "ON CONFLICT (account_id, target) DO UPDATE "
                      "SET ts_ms = max(ts_ms, excluded.ts_ms)",
    [SQ_MARKER_GET] = "SELECT m.ts_ms FROM markers m JOIN accounts a ON a.id = m.account_id "
                      "WHERE a.name = ?1 AND m.target = ?2",
    [SQ_ACCOUNT_ID] = "SELECT id FROM accounts WHERE name = ?1",
    [SQ_ROOM_ID] = "SELECT id FROM rooms WHERE name = ?1",
    [SQ_CHANGE_ADD] = "INSERT INTO changes (kind, name, ts_ms) VALUES (?1, ?2, ?3)",
    [SQ_CHANGE_TRIM] = "DELETE FROM changes WHERE id <= ?1",
    [SQ_CHANGE_SINCE] = "SELECT id, kind, name, ts_ms FROM changes WHERE id > ?1 "
                        "ORDER BY id LIMIT ?2",
    [SQ_CHANGE_LAST] = "SELECT coalesce(max(id), 0) FROM changes",
    [SQ_HIST_ROOM_ID_NEW] = HIST_ROOM_SEQ " ORDER BY m.seq DESC LIMIT ?7",
    [SQ_HIST_ROOM_ID_OLD] = HIST_ROOM_SEQ " ORDER BY m.seq ASC LIMIT ?7",
    [SQ_SEQ_OF_ID] = "SELECT room_id, seq FROM messages WHERE id = ?1",
    [SQ_SEQ_PROBE] = "SELECT seq, id FROM messages INDEXED BY messages_room_seq "
                     "WHERE room_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT 1",
    [SQ_ROOM_LAST_SEQ] = "SELECT last_seq FROM rooms WHERE id = ?1",
    [SQ_HIST_ROOM_TS_NEW] = HIST_ROOM("messages_room_ts") BY_TS_NEW,
    [SQ_HIST_ROOM_TS_OLD] = HIST_ROOM("messages_room_ts") BY_TS_OLD,
    [SQ_HIST_PM_ID_NEW] = HIST_PM("messages_pm") BY_ID_NEW,
    [SQ_HIST_PM_ID_OLD] = HIST_PM("messages_pm") BY_ID_OLD,
    [SQ_HIST_PM_TS_NEW] = HIST_PM("messages_pm_ts") BY_TS_NEW,
    [SQ_HIST_PM_TS_OLD] = HIST_PM("messages_pm_ts") BY_TS_OLD,
    [SQ_MSG_BY_MSGID] = "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.msgid = ?1",
    [SQ_TARGET_ROOM] = "SELECT r.name, m.ts_ms FROM rooms r JOIN messages m INDEXED BY "
                       "messages_room_ts ON m.room_id = r.id WHERE r.id = ?1 "
                       "AND m.ts_ms > ?2 AND m.ts_ms < ?3 AND m.redacted <> 1 "
                       "ORDER BY m.ts_ms DESC LIMIT 1",
    [SQ_TARGET_PM] = "SELECT coalesce((SELECT a.name FROM accounts a WHERE a.name = t.other), "
                     "t.other), t.last FROM (SELECT CASE WHEN m.pm_a = ?1 THEN m.pm_b "
                     "ELSE m.pm_a END AS other, max(m.ts_ms) AS last FROM messages m "
                     "WHERE (m.pm_a = ?1 OR m.pm_b = ?1) AND m.ts_ms > ?2 AND m.ts_ms < ?3 "
                     "AND m.redacted <> 1 GROUP BY m.pm_a, m.pm_b) t",
    [SQ_SEARCH_FTS] = "SELECT " SQ_MSG_COLS " FROM messages_fts f CROSS JOIN messages m "
                      "ON m.id = f.rowid WHERE messages_fts MATCH ?1 AND f.rowid < ?2" SEARCH_FILTER
                      " ORDER BY f.rowid DESC LIMIT ?8",
    [SQ_SEARCH_ALL] = "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.id < ?2" SEARCH_FILTER
                      " ORDER BY m.id DESC LIMIT ?8",
    [SQ_REDACT_FTS] = "SELECT " SQ_MSG_COLS " FROM messages_fts f CROSS JOIN messages m "
                      "ON m.id = f.rowid WHERE messages_fts MATCH ?1 AND" REDACT_FILTER,
    [SQ_REDACT_ALL] = "SELECT " SQ_MSG_COLS " FROM messages m WHERE" REDACT_FILTER,
    [SQ_REDACT_SET] = "UPDATE messages SET redacted = ?2, text = ?3 WHERE id = ?1",
    [SQ_ROOM_CLEAR] = "DELETE FROM messages WHERE room_id = ?1 AND ts_ms < ?2",
    [SQ_FTS_LAST] = "SELECT last_id FROM fts_state",
    [SQ_FTS_RANGE] = "SELECT COALESCE(MAX(id), 0), COUNT(*) FROM (SELECT id FROM messages"
                     " WHERE id > ?1 ORDER BY id LIMIT ?2)",
    [SQ_FTS_INDEX] = "INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages"
                     " WHERE id > ?1 AND id <= ?2",
    [SQ_FTS_MARK] = "UPDATE fts_state SET last_id = ?2 WHERE ?1 >= 0",
    [SQ_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [SQ_SYNC_FULL] = "PRAGMA synchronous = FULL",
    [SQ_CEVENT_ADD] = "INSERT INTO compliance_outbox (ts_ms, type, actor, actor_id, address, "
                      "room_id, room, category, logged, peer, msgid, content, detail) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [SQ_OUTBOX_ANY] = "SELECT 1 FROM compliance_outbox LIMIT 1",
    [SQ_OUTBOX_READ] = "SELECT " SQ_CEVENT_COLS " FROM compliance_outbox WHERE id > ?1 "
                       "ORDER BY id LIMIT ?2",
    [SQ_OUTBOX_DELETE] = "DELETE FROM compliance_outbox WHERE id <= ?1",
    [SQ_OUTBOX_STATS] = "SELECT count(*), coalesce(min(ts_ms), 0) FROM compliance_outbox "
                        "WHERE id > ?1",
    [SQ_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
    [SQ_SETTING_SET] = "INSERT INTO settings (key, value) VALUES (?1, ?2) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [SQ_POOL_GET] = "SELECT generation, state, active, fenced, fenced_generation, changed_ms,"
                    " changed_by FROM pool_state WHERE id = 1",
    [SQ_POOL_SET] =
        "INSERT INTO pool_state (id, generation, state, active, fenced, fenced_generation,"
        " changed_ms, changed_by) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        " ON CONFLICT (id) DO UPDATE SET generation = excluded.generation,"
        " state = excluded.state, active = excluded.active, fenced = excluded.fenced,"
        " fenced_generation = excluded.fenced_generation, changed_ms = excluded.changed_ms,"
        " changed_by = excluded.changed_by WHERE pool_state.generation < excluded.generation",
    [SQ_POOL_FENCE] =
        "INSERT INTO pool_state (id, generation, state, active, fenced, fenced_generation,"
        " changed_ms, changed_by) VALUES (1, 0, 'normal', '', 1, ?1, ?2, ?3)"
        " ON CONFLICT (id) DO UPDATE SET fenced = 1, fenced_generation = "
        "excluded.fenced_generation,"
        " changed_ms = excluded.changed_ms, changed_by = excluded.changed_by"
        " WHERE pool_state.generation < excluded.fenced_generation",
    [SQ_SERVER_BEAT] =
        "INSERT INTO servers (name, started_ms, seen_ms, clients, active, generation, database)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (name) DO UPDATE SET"
        " started_ms = excluded.started_ms, seen_ms = excluded.seen_ms,"
        " clients = excluded.clients, active = excluded.active,"
        " generation = excluded.generation, database = excluded.database",
    [SQ_SERVER_LIST] = "SELECT name, started_ms, seen_ms, clients, active, generation, database"
                       " FROM servers ORDER BY name COLLATE NOCASE",
    [SQ_SERVER_FORGET] = "DELETE FROM servers WHERE name = ?1",
};

/* The compliance database (one statement cache per connection, sq_conn.cstmts). */
const char *const sqc_sql[SQC_N_STMTS] = {
    [SQC_BEGIN] = "BEGIN",
    [SQC_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [SQC_COMMIT] = "COMMIT",
    [SQC_ROLLBACK] = "ROLLBACK",
    [SQC_MARK] = "SELECT moved_upto FROM state WHERE id = 1",
    [SQC_MARK_SET] = "UPDATE state SET moved_upto = max(moved_upto, ?1) WHERE id = 1",
    [SQC_EVENT_INSERT] = "INSERT INTO events (" SQ_CEVENT_COLS ") "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [SQC_CLAIM_EXPIRED] = "SELECT lo, hi, params FROM claims WHERE expires_ms < ?1 "
                          "ORDER BY lo LIMIT 1",
    [SQC_CLAIM_TAKE] = "UPDATE claims SET owner = ?2, expires_ms = ?3 WHERE lo = ?1",
    [SQC_CLAIM_DELETE] = "DELETE FROM claims WHERE lo = ?1",
    [SQC_EVENT_NEXT] = "SELECT min(id) FROM events WHERE id > ?1",
    [SQC_CLAIM_COVERING] = "SELECT hi FROM claims WHERE lo <= ?1 ORDER BY lo DESC LIMIT 1",
    [SQC_CLAIM_NEXT_LO] = "SELECT min(lo) FROM claims WHERE lo > ?1",
    [SQC_RANGE] = "SELECT max(id), count(*) FROM (SELECT id FROM events "
                  "WHERE id >= ?1 AND id <= ?2 ORDER BY id LIMIT ?3)",
    [SQC_RANGE_COUNT] = "SELECT count(*) FROM events WHERE id >= ?1 AND id <= ?2",
    [SQC_CLAIM_INSERT] = "INSERT INTO claims (lo, hi, owner, expires_ms, params) "
                         "VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQC_FETCH] = "SELECT " SQ_CEVENT_COLS " FROM events WHERE id >= ?1 AND id <= ?2 "
                  "ORDER BY id",
    [SQC_RENEW] = "UPDATE claims SET expires_ms = ?4 WHERE lo = ?1 AND hi = ?2 AND owner = ?3",
    [SQC_PURGE] = "DELETE FROM events WHERE id >= ?1 AND id <= ?2",
    [SQC_CLAIM_DONE] = "DELETE FROM claims WHERE lo = ?1 AND hi = ?2",
    [SQC_CLAIM_RELEASE] = "DELETE FROM claims WHERE lo = ?1 AND hi = ?2 AND owner = ?3",
    [SQC_STATE_DONE] = "UPDATE state SET exported = exported + ?1, last_run_ms = ?2, "
                       "last_file = ?3, last_error_ms = 0, last_error = '' WHERE id = 1",
    [SQC_STATE_ERROR] = "UPDATE state SET last_error_ms = ?1, last_error = ?2 WHERE id = 1",
    [SQC_STATE] = "SELECT moved_upto, exported, last_run_ms, last_file, last_error_ms, "
                  "last_error FROM state WHERE id = 1",
    [SQC_EVENT_STATS] = "SELECT count(*), coalesce(min(ts_ms), 0) FROM events",
    [SQC_CLAIM_COUNT] = "SELECT count(*) FROM claims",
};
