"""pchatctl for the rooms issue: groups, categories, rooms (every setting),
add-ins, room clear / eligible, message remove / replace.

Every command with and without --json, exit codes, and bad input (unknown
principals, categories, rooms, add-ins; bad values and dates), checking that
nothing changed after an error and that every write lands in the change
feed a running pchatd polls.

Runs the real binary from $PCHAT_BUILD (default /work/main/build) against a
fresh data directory per test.
Run: PCHAT_BUILD=/work/main/build /usr/bin/python3 -m pytest tests/integration/test_pchatctl_rooms.py
"""
import json
import os
import sqlite3
import subprocess

import pytest

# These drive pchatctl on a data directory of their own and read its SQLite
# file directly; against PostgreSQL, pchatctl is exercised by the server
# tests (test_live_admin.py, test_compliance.py, test_operations.py).
pytestmark = pytest.mark.skipif(os.environ.get("PCHAT_TEST_DB", "sqlite") != "sqlite",
                                reason="reads the SQLite files of its own data directory")

BUILD = os.environ.get("PCHAT_BUILD", "/work/main/build")
PCHATCTL = os.path.join(BUILD, "pchatctl")

(EXIT_OK, EXIT_USAGE, EXIT_NOTFOUND, EXIT_EXISTS, EXIT_INVALID, EXIT_DATABASE, EXIT_CONFIG,
 EXIT_SYSTEM, EXIT_INUSE) = range(9)

DEFAULT_REPLACEMENT = "This message was removed by an administrator."
DAY = 86400000
T0 = 1714521600000  # 2024-05-01T00:00:00Z


class Ctl:
    def __init__(self, tmp_path):
        self.data = tmp_path / "data"
        self.config = tmp_path / "pchat.ini"
        self.config.write_text(
            "[server]\n"
            f"data_dir = {self.data}\n"
            "[auth]\n"
            "scram_iterations = 4096\n"
            "argon2_opslimit = 1\n"
            "argon2_memlimit_kib = 8192\n"
        )

    def run(self, *args):
        return subprocess.run([PCHATCTL, "-c", str(self.config)] + list(args),
                              capture_output=True, text=True, timeout=60)

    def ok(self, *args):
        p = self.run(*args)
        assert p.returncode == 0, (args, p.returncode, p.stderr)
        return p

    def json(self, *args):
        return json.loads(self.ok("--json", *args).stdout)

    def fails(self, code, *args):
        p = self.run(*args)
        assert p.returncode == code, (args, p.returncode, p.stdout, p.stderr)
        assert any(l.startswith("pchatctl: ") for l in p.stderr.splitlines()), p.stderr
        assert p.stdout == "" or code == EXIT_OK, p.stdout
        return p

    @property
    def db(self):
        return str(self.data / "pchat.db")

    def changes(self):
        con = sqlite3.connect(self.db)
        try:
            return [(k, n) for (k, n) in con.execute("SELECT kind, name FROM changes ORDER BY id")]
        finally:
            con.close()

    def users(self, *names):
        for n in names:
            self.ok("user", "add", n)


@pytest.fixture
def ctl(tmp_path):
    c = Ctl(tmp_path)
    c.users("alice", "bob", "carol", "mallory", "quinn")
    return c


def insert_messages(ctl, room, msgs):
    """Write room messages (sender, text, ts) straight into the database, as pchatd would."""
    con = sqlite3.connect(ctl.db)
    (room_id, last) = con.execute("SELECT id, last_seq FROM rooms WHERE name = ?",
                                  (room,)).fetchone()
    for i, (sender, text, ts) in enumerate(msgs, 1):
        con.execute("INSERT INTO messages (room_id, seq, msgid, ts_ms, sender, kind, text)"
                    " VALUES (?, ?, ?, ?, ?, 'PRIVMSG', ?)",
                    (room_id, last + i, f"M{room_id:03d}{last + i:05d}", ts, sender, text))
    con.execute("UPDATE rooms SET last_seq = ? WHERE id = ?", (last + len(msgs), room_id))
    con.commit()
    con.close()


# --- groups -------------------------------------------------------------------

def test_group_add_show_list_members_remove(ctl):
    assert "created group 'eng'" in ctl.ok("group", "add", "eng", "--members", "alice, bob").stdout
    j = ctl.json("group", "add", "qa", "--members", "quinn,group:eng")
    assert j["name"] == "qa" and j["members"] == ["quinn", "group:eng"]
    j = ctl.json("group", "show", "qa")
    assert j["accounts"] == ["alice", "bob", "quinn"]
    assert "accounts: alice,bob,quinn" in ctl.ok("group", "show", "qa").stdout
    j = ctl.json("group", "members", "add", "eng", "carol", "ALICE")
    assert j["members"] == ["alice", "bob", "carol"]
    j = ctl.json("group", "members", "remove", "eng", "bob,nobody")
    assert j["members"] == ["alice", "carol"]
    assert [g["name"] for g in ctl.json("group", "list")] == ["eng", "qa"]
    assert "eng" in ctl.ok("group", "list").stdout
    assert ctl.json("group", "remove", "qa") == {"name": "qa", "removed": True}
    ctl.fails(EXIT_NOTFOUND, "group", "show", "qa")
    assert ("group", "eng") in ctl.changes() and ("group", "qa") in ctl.changes()


def test_group_errors_change_nothing(ctl):
    ctl.ok("group", "add", "eng", "--members", "alice")
    ctl.ok("group", "add", "qa", "--members", "group:eng")
    ctl.fails(EXIT_EXISTS, "group", "add", "ENG")
    p = ctl.fails(EXIT_NOTFOUND, "group", "add", "x", "--members", "alice,ghost,group:nope")
    assert "'ghost'" in p.stderr and "'group:nope'" in p.stderr
    ctl.fails(EXIT_NOTFOUND, "group", "show", "x")
    ctl.fails(EXIT_INVALID, "group", "add", "bad name")
    ctl.fails(EXIT_INVALID, "group", "add", "y", "--members", "b@d")
    ctl.fails(EXIT_INVALID, "group", "add", "y", "--members", "*")
    p = ctl.fails(EXIT_INVALID, "group", "members", "add", "eng", "group:qa")
    assert "group:eng -> group:qa -> group:eng" in p.stderr
    ctl.fails(EXIT_INVALID, "group", "members", "add", "eng", "group:eng")
    ctl.fails(EXIT_NOTFOUND, "group", "members", "add", "eng", "ghost")
    ctl.fails(EXIT_NOTFOUND, "group", "members", "add", "nope", "alice")
    ctl.fails(EXIT_USAGE, "group", "members", "add", "eng")
    ctl.fails(EXIT_USAGE, "group", "members", "remove", "eng", ",")
    assert ctl.json("group", "show", "eng")["members"] == ["alice"]
    assert [g["name"] for g in ctl.json("group", "list")] == ["eng", "qa"]


def test_group_nesting_limit(ctl):
    ctl.ok("group", "add", "g8", "--members", "alice")
    for i in range(7, 0, -1):
        ctl.ok("group", "add", f"g{i}", "--members", f"group:g{i + 1}")
    assert ctl.json("group", "show", "g1")["accounts"] == ["alice"]
    p = ctl.fails(EXIT_INVALID, "group", "add", "g0", "--members", "group:g1")
    assert "8 levels" in p.stderr
    ctl.fails(EXIT_NOTFOUND, "group", "show", "g0")


# --- categories ------------------------------------------------------------------

def test_category_add_set_show_list_remove(ctl):
    ctl.ok("group", "add", "eng", "--members", "alice,bob")
    j = ctl.json("category", "add", "eng", "--allowed", "group:eng,quinn", "--denied", "mallory",
                 "--creators", "alice", "--invitations", "off", "--file-upload", "off",
                 "--history", "off")
    assert j["allowed"] == ["group:eng", "quinn"] and j["denied"] == ["mallory"]
    assert j["creators"] == ["alice"]
    assert (j["invitations"], j["file_upload"], j["history"]) == (False, False, False)
    j = ctl.json("category", "add", "plain")
    assert j["allowed"] == ["*"] and j["denied"] == [] and j["creators"] == []
    assert (j["invitations"], j["file_upload"], j["history"]) == (True, True, True)
    j = ctl.json("category", "set", "eng", "--denied", "+bob", "--creators", "carol,quinn",
                 "--history", "on")
    assert j["denied"] == ["mallory", "bob"] and j["creators"] == ["carol", "quinn"]
    assert j["history"] is True and j["invitations"] is False
    j = ctl.json("category", "set", "eng", "--denied", "-mallory,-bob")
    assert j["denied"] == []
    assert [c["name"] for c in ctl.json("category", "list")] == ["eng", "general", "plain"]
    assert "general" in ctl.ok("category", "list").stdout
    ctl.ok("room", "add", "r1", "--category", "eng")
    j = ctl.json("category", "show", "eng")
    assert j["rooms"] == ["r1"]
    assert "rooms: #r1" in ctl.ok("category", "show", "eng").stdout
    assert ctl.json("category", "remove", "plain") == {"name": "plain", "removed": True}
    assert ("category", "eng") in ctl.changes() and ("category", "plain") in ctl.changes()


def test_category_remove_in_use(ctl):
    ctl.ok("category", "add", "eng")
    ctl.ok("room", "add", "r1", "--category", "eng")
    p = ctl.fails(EXIT_INUSE, "category", "remove", "eng")
    assert "still has rooms" in p.stderr
    assert [c["name"] for c in ctl.json("category", "list")] == ["eng", "general"]
    ctl.ok("room", "remove", "r1")
    ctl.ok("category", "remove", "eng")


def test_category_errors_change_nothing(ctl):
    ctl.ok("category", "add", "eng", "--allowed", "alice")
    before = ctl.json("category", "show", "eng")
    n_changes = len(ctl.changes())
    p = ctl.fails(EXIT_NOTFOUND, "category", "set", "eng", "--allowed", "+ghost", "--history",
                  "off")
    assert "'ghost'" in p.stderr and "nothing was changed" in p.stderr
    ctl.fails(EXIT_NOTFOUND, "category", "set", "eng", "--denied", "group:nope")
    ctl.fails(EXIT_INVALID, "category", "set", "eng", "--creators", "a b")
    ctl.fails(EXIT_INVALID, "category", "set", "eng", "--allowed", "+bob,carol")
    ctl.fails(EXIT_INVALID, "category", "set", "eng", "--history", "maybe")
    ctl.fails(EXIT_USAGE, "category", "set", "eng")
    ctl.fails(EXIT_NOTFOUND, "category", "set", "nope", "--history", "off")
    ctl.fails(EXIT_NOTFOUND, "category", "show", "nope")
    ctl.fails(EXIT_NOTFOUND, "category", "remove", "nope")
    ctl.fails(EXIT_EXISTS, "category", "add", "ENG")
    ctl.fails(EXIT_INVALID, "category", "add", "bad/name")
    ctl.fails(EXIT_NOTFOUND, "category", "add", "x", "--allowed", "ghost")
    ctl.fails(EXIT_USAGE, "category", "add", "x", "--bogus", "1")
    assert ctl.json("category", "show", "eng") == before
    assert len(ctl.changes()) == n_changes
    assert [c["name"] for c in ctl.json("category", "list")] == ["eng", "general"]


# --- rooms -------------------------------------------------------------------------

def test_room_add_every_setting(ctl):
    ctl.ok("group", "add", "eng", "--members", "alice,bob")
    ctl.ok("category", "add", "eng", "--allowed", "group:eng,carol,quinn")
    ctl.ok("addin", "add", "quotes", "https://example.com/quotes")
    j = ctl.json("room", "add", "#standup", "--category", "eng", "--description", "Daily",
                 "--privacy", "secret", "--type", "auditorium", "--members", "group:eng,carol",
                 "--managers", "alice", "--presenters", "bob", "--invitations", "off",
                 "--addin", "quotes", "--disabled", "no")
    assert j["name"] == "standup" and j["category"] == "eng" and j["description"] == "Daily"
    assert (j["privacy"], j["type"], j["invitations"], j["addin"], j["disabled"]) == \
        ("secret", "auditorium", "off", "quotes", False)
    assert j["members"] == ["group:eng", "carol"] and j["managers"] == ["alice"]
    assert j["presenters"] == ["bob"] and j["dropped"] == {}
    s = ctl.json("room", "show", "standup")
    for k in ("privacy", "type", "members", "managers", "presenters", "addin", "invitations"):
        assert s[k] == j[k]
    assert s["messages"] == 0 and s["invitations_on"] is False and s["history"] is True
    out = ctl.ok("room", "show", "standup").stdout
    assert "privacy:      secret" in out and "type:         auditorium" in out
    j = ctl.json("room", "add", "defaults")
    assert (j["privacy"], j["type"], j["invitations"], j["category"]) == \
        ("closed", "normal", "inherit", "general")
    assert [r["name"] for r in ctl.json("room", "list", "--category", "eng")] == ["standup"]
    assert len(ctl.json("room", "list")) == 2
    assert "secret" in ctl.ok("room", "list").stdout
    assert ("room", "standup") in ctl.changes()


def test_room_set_edits_and_replaces(ctl):
    ctl.ok("room", "add", "ops", "--members", "alice,bob")
    j = ctl.json("room", "set", "ops", "--members", "+carol,-alice")
    assert j["members"] == ["bob", "carol"]
    j = ctl.json("room", "set", "ops", "--members", "quinn")
    assert j["members"] == ["quinn"]
    j = ctl.json("room", "set", "ops", "--members", "", "--privacy", "open", "--type",
                 "auditorium", "--presenters", "+alice", "--description", "new topic",
                 "--disabled", "yes", "--invitations", "off")
    assert j["members"] == [] and j["presenters"] == ["alice"] and j["disabled"] is True
    assert (j["privacy"], j["type"], j["description"], j["invitations"]) == \
        ("open", "auditorium", "new topic", "off")
    j = ctl.json("room", "set", "ops", "--disabled", "no", "--invitations", "inherit")
    assert j["disabled"] is False and j["invitations"] == "inherit"
    assert j["description"] == "new topic"
    assert "changed room '#ops'" in ctl.ok("room", "set", "#ops", "--managers", "bob").stdout


def test_room_move_drops_out_of_scope(ctl):
    ctl.ok("group", "add", "eng", "--members", "alice,bob")
    ctl.ok("category", "add", "legal", "--allowed", "group:eng,carol", "--denied", "bob")
    ctl.ok("room", "add", "ops", "--members", "alice,bob,carol,quinn,group:eng,*",
           "--managers", "mallory,alice", "--presenters", "bob")
    j = ctl.json("room", "set", "ops", "--category", "legal")
    assert j["category"] == "legal"
    assert j["members"] == ["alice", "carol", "group:eng", "*"]
    assert j["managers"] == ["alice"] and j["presenters"] == []
    assert j["dropped"] == {"members": ["bob", "quinn"], "managers": ["mallory"],
                            "presenters": ["bob"]}
    ctl.ok("room", "add", "r2", "--members", "quinn")
    p = ctl.ok("room", "set", "r2", "--category", "legal")
    assert "dropped from members (outside the scope of category 'legal'): quinn" in p.stdout


def test_room_errors_change_nothing(ctl):
    ctl.ok("room", "add", "ops", "--members", "alice")
    before = ctl.json("room", "show", "ops")
    n_changes = len(ctl.changes())
    p = ctl.fails(EXIT_NOTFOUND, "room", "set", "ops", "--members", "+ghost,+bob",
                  "--privacy", "open")
    assert "'ghost'" in p.stderr
    ctl.fails(EXIT_NOTFOUND, "room", "set", "ops", "--managers", "group:nope")
    ctl.fails(EXIT_NOTFOUND, "room", "set", "ops", "--category", "nope")
    ctl.fails(EXIT_NOTFOUND, "room", "set", "ops", "--addin", "nope")
    ctl.fails(EXIT_INVALID, "room", "set", "ops", "--privacy", "private")
    ctl.fails(EXIT_INVALID, "room", "set", "ops", "--type", "webinar")
    ctl.fails(EXIT_INVALID, "room", "set", "ops", "--invitations", "on")
    ctl.fails(EXIT_INVALID, "room", "set", "ops", "--disabled", "perhaps")
    ctl.fails(EXIT_INVALID, "room", "set", "ops", "--members", "+bob,carol")
    ctl.fails(EXIT_INVALID, "room", "set", "ops", "--presenters", "b@d")
    ctl.fails(EXIT_INVALID, "room", "set", "ops", "--description", "two\nlines")
    ctl.fails(EXIT_USAGE, "room", "set", "ops")
    ctl.fails(EXIT_NOTFOUND, "room", "set", "nope", "--privacy", "open")
    ctl.fails(EXIT_NOTFOUND, "room", "add", "x", "--members", "ghost")
    ctl.fails(EXIT_NOTFOUND, "room", "add", "x", "--category", "nope")
    ctl.fails(EXIT_INVALID, "room", "add", "x", "--privacy", "bogus")
    assert ctl.json("room", "show", "ops") == before
    assert [r["name"] for r in ctl.json("room", "list")] == ["ops"]
    assert len(ctl.changes()) == n_changes


def test_room_eligible(ctl):
    ctl.users("zed")
    ctl.ok("user", "set", "zed", "--chat-enabled", "no")
    ctl.ok("group", "add", "eng", "--members", "alice,bob,mallory")
    ctl.ok("category", "add", "eng", "--allowed", "group:eng,carol,zed", "--denied", "mallory")
    ctl.ok("room", "add", "open", "--category", "eng", "--privacy", "open")
    elig = ctl.json("room", "eligible", "open")
    assert "alice" in elig and "bob" in elig and "carol" in elig
    assert "mallory" not in elig and "quinn" not in elig  # the wall; out of scope
    assert "zed" not in elig  # in scope, but not enabled for chat
    ctl.ok("room", "add", "closed", "--category", "eng", "--members", "group:eng",
           "--presenters", "carol", "--managers", "quinn")
    assert ctl.json("room", "eligible", "closed") == ["alice", "bob", "carol"]
    assert ctl.ok("room", "eligible", "#closed").stdout.split() == ["alice", "bob", "carol"]
    ctl.ok("room", "set", "closed", "--disabled", "yes")
    p = ctl.ok("--json", "room", "eligible", "closed")
    assert json.loads(p.stdout) == [] and "disabled" in p.stderr
    ctl.ok("room", "add", "every", "--privacy", "open")
    assert set(ctl.json("room", "eligible", "every")) >= {"alice", "bob", "carol", "mallory",
                                                          "quinn"}
    ctl.fails(EXIT_NOTFOUND, "room", "eligible", "nope")
    ctl.fails(EXIT_USAGE, "room", "eligible")


def test_room_remove_records_change(ctl):
    ctl.ok("room", "add", "gone")
    assert ctl.json("room", "remove", "gone") == {"name": "gone", "removed": True}
    assert ctl.changes()[-1] == ("room", "gone")
    ctl.fails(EXIT_NOTFOUND, "room", "remove", "gone")


# --- add-ins -------------------------------------------------------------------------

def test_addin_add_list_remove(ctl):
    j = ctl.json("addin", "add", "quotes", "https://example.com/q?a=1")
    assert j == {"name": "quotes", "url": "https://example.com/q?a=1"}
    ctl.ok("addin", "add", "wiki", "http://wiki.local:8080/")
    assert ctl.json("addin", "list") == [{"name": "quotes", "url": "https://example.com/q?a=1"},
                                         {"name": "wiki", "url": "http://wiki.local:8080/"}]
    assert "wiki" in ctl.ok("addin", "list").stdout
    ctl.fails(EXIT_EXISTS, "addin", "add", "quotes", "https://other")
    for bad in ("ftp://x", "https://", "javascript:alert(1)", "https://a b", "example.com"):
        ctl.fails(EXIT_INVALID, "addin", "add", "bad", bad)
    ctl.fails(EXIT_INVALID, "addin", "add", "bad name", "https://x")
    ctl.fails(EXIT_USAGE, "addin", "add", "only-name")
    ctl.ok("room", "add", "ops", "--addin", "quotes")
    p = ctl.fails(EXIT_INUSE, "addin", "remove", "quotes")
    assert "attached" in p.stderr
    ctl.ok("room", "set", "ops", "--addin", "")
    assert ctl.json("room", "show", "ops")["addin"] == ""
    assert ctl.json("addin", "remove", "quotes") == {"name": "quotes", "removed": True}
    ctl.fails(EXIT_NOTFOUND, "addin", "remove", "quotes")
    assert [a["name"] for a in ctl.json("addin", "list")] == ["wiki"]
    assert ("addin", "quotes") in ctl.changes()


# --- room clear, message remove / replace -----------------------------------------

@pytest.fixture
def chat(ctl):
    ctl.ok("room", "add", "ops")
    ctl.ok("room", "add", "dev")
    insert_messages(ctl, "ops", [
        ("alice", "hello world", T0),
        ("bob", "Project Falcon is secret", T0 + DAY),
        ("alice", "falcon project news", T0 + 2 * DAY),
        ("carol", "the password is hunter2", T0 + 3 * DAY),
        ("bob", "bye", T0 + 4 * DAY),
    ])
    insert_messages(ctl, "dev", [("bob", "project falcon in dev", T0 + DAY)])
    return ctl


def texts(ctl, room):
    return [m["text"] for m in ctl.json("message", "list", "--room", room)]


def test_room_clear(chat):
    j = chat.json("room", "clear", "ops", "--before", "2024-05-03")
    assert j["removed"] == 2 and j["room"] == "ops"
    assert texts(chat, "ops") == ["falcon project news", "the password is hunter2", "bye"]
    p = chat.ok("room", "clear", "#ops", "--before", "2024-05-03T12:00:00Z")
    assert "removed 1 message of '#ops'" in p.stdout
    assert texts(chat, "dev") == ["project falcon in dev"]
    assert chat.changes()[-1] == ("room", "ops")
    chat.fails(EXIT_INVALID, "room", "clear", "ops", "--before", "last week")
    chat.fails(EXIT_INVALID, "room", "clear", "ops", "--before", "2024-02-30")
    chat.fails(EXIT_USAGE, "room", "clear", "ops")
    chat.fails(EXIT_NOTFOUND, "room", "clear", "nope", "--before", "2024-05-03")
    assert len(texts(chat, "ops")) == 2


def test_message_remove_filters(chat):
    j = chat.json("message", "remove", "--text", "project falcon", "--match", "exact")
    assert j["action"] == "removed" and j["count"] == 2
    assert sorted(j["msgids"]) == ["M00100002", "M00200001"]
    assert texts(chat, "ops") == ["hello world", "falcon project news",
                                  "the password is hunter2", "bye"]
    assert ("message", "M00100002") in chat.changes()
    p = chat.ok("message", "remove", "--room", "ops", "--user", "alice", "--to", "2024-05-01")
    assert p.stdout.splitlines() == ["removed 1 message", "M00100001"]
    j = chat.json("message", "remove", "--room", "#ops", "--from", "2024-05-05",
                  "--to", "2024-05-05T00:00:00Z")
    assert j["msgids"] == ["M00100005"]
    assert texts(chat, "ops") == ["falcon project news", "the password is hunter2"]


def test_message_replace(chat):
    j = chat.json("message", "replace", "--room", "ops", "--text", "PASSWORD",
                  "--case-sensitive")
    assert j["count"] == 0
    j = chat.json("message", "replace", "--room", "ops", "--text", "password")
    assert j["action"] == "replaced" and j["msgids"] == ["M00100004"]
    assert texts(chat, "ops")[3] == DEFAULT_REPLACEMENT
    chat.ok("message", "replace", "--user", "bob", "--with", "[gone]", "--text", "bye hello",
            "--match", "any")
    assert texts(chat, "ops")[4] == "[gone]"
    assert texts(chat, "dev") == ["project falcon in dev"]


def test_message_remove_refusals(chat):
    before = texts(chat, "ops")
    n_changes = len(chat.changes())
    p = chat.fails(EXIT_USAGE, "message", "remove")
    assert "--all" in p.stderr
    chat.fails(EXIT_USAGE, "message", "replace")
    chat.fails(EXIT_USAGE, "message", "remove", "--room", "ops", "--with", "x")
    chat.fails(EXIT_USAGE, "message", "remove", "--room", "ops", "--match", "any")
    chat.fails(EXIT_INVALID, "message", "remove", "--text", "x", "--match", "some")
    chat.fails(EXIT_INVALID, "message", "remove", "--from", "2024-13-01")
    chat.fails(EXIT_INVALID, "message", "remove", "--to", "tomorrow")
    chat.fails(EXIT_INVALID, "message", "remove", "--from", "2024-05-03", "--to", "2024-05-01")
    chat.fails(EXIT_INVALID, "message", "remove", "--text", "")
    chat.fails(EXIT_INVALID, "message", "replace", "--room", "ops", "--with", "a\nb")
    chat.fails(EXIT_NOTFOUND, "message", "remove", "--room", "nope")
    chat.fails(EXIT_NOTFOUND, "message", "remove", "--user", "ghost")
    chat.fails(EXIT_INVALID, "message", "remove", "--user", "b@d")
    assert texts(chat, "ops") == before
    assert len(chat.changes()) == n_changes
    j = chat.json("message", "remove", "--all")
    assert j["count"] == 6
    assert texts(chat, "ops") == [] and texts(chat, "dev") == []


# --- help pages ---------------------------------------------------------------------

@pytest.mark.parametrize("words", [
    ["group", "add"], ["group", "remove"], ["group", "show"], ["group", "list"],
    ["group", "members", "add"], ["group", "members", "remove"],
    ["category", "add"], ["category", "set"], ["category", "show"], ["category", "list"],
    ["category", "remove"],
    ["room", "add"], ["room", "set"], ["room", "show"], ["room", "list"], ["room", "remove"],
    ["room", "clear"], ["room", "eligible"],
    ["addin", "add"], ["addin", "list"], ["addin", "remove"],
    ["message", "remove"], ["message", "replace"],
])
def test_help_pages(tmp_path, words):
    p = Ctl(tmp_path).ok(*words, "--help")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "EXIT STATUS"):
        assert section in p.stdout, (words, section)
    assert "8  still in use" in p.stdout
    assert not (tmp_path / "data").exists()  # help never creates a database
