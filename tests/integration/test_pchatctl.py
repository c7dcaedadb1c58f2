"""pchatctl end to end: every command, --json, exit codes, bad input.

Runs the real binary from $PCHAT_BUILD (default /work/main/build) against a
fresh data directory per test, with cheap password parameters.
Run: PCHAT_BUILD=/work/main/build /usr/bin/python3 -m pytest tests/integration/test_pchatctl.py
"""
import json
import os
import sqlite3
import stat
import subprocess

import pytest

# These drive pchatctl on a data directory of their own and read its SQLite
# file directly; against PostgreSQL, pchatctl is exercised by the server
# tests (test_live_admin.py, test_compliance.py, test_operations.py).
pytestmark = pytest.mark.skipif(os.environ.get("PCHAT_TEST_DB", "sqlite") != "sqlite",
                                reason="reads the SQLite files of its own data directory")

BUILD = os.environ.get("PCHAT_BUILD", "/work/main/build")
PCHATCTL = os.path.join(BUILD, "pchatctl")

EXIT_OK, EXIT_USAGE, EXIT_NOTFOUND, EXIT_EXISTS, EXIT_INVALID, EXIT_DATABASE, EXIT_CONFIG = range(7)


class Ctl:
    def __init__(self, tmp_path):
        self.dir = tmp_path
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

    def run(self, *args, stdin=None, config=True):
        cmd = [PCHATCTL] + (["-c", str(self.config)] if config else []) + list(args)
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)
        return p

    def ok(self, *args, stdin=None):
        p = self.run(*args, stdin=stdin)
        assert p.returncode == 0, (args, p.returncode, p.stderr)
        return p

    def json(self, *args, stdin=None):
        p = self.ok("--json", *args, stdin=stdin)
        return json.loads(p.stdout)

    def fails(self, code, *args, stdin=None):
        p = self.run(*args, stdin=stdin)
        assert p.returncode == code, (args, p.returncode, p.stdout, p.stderr)
        # store errors are also logged by the store; pchatctl's own line says what to do
        assert any(l.startswith("pchatctl: ") for l in p.stderr.splitlines()), p.stderr
        return p

    @property
    def db(self):
        return str(self.data / "pchat.db")


@pytest.fixture
def ctl(tmp_path):
    if not os.access(PCHATCTL, os.X_OK):
        pytest.skip(f"{PCHATCTL} not built")
    return Ctl(tmp_path)


def insert_messages(ctl, room, texts):
    """Write room messages straight into the SQLite file, as pchatd would."""
    con = sqlite3.connect(ctl.db)
    (room_id, last) = con.execute(
        "SELECT id, last_seq FROM rooms WHERE name = ?", (room,)).fetchone()
    for i, text in enumerate(texts, start=1):
        con.execute(
            "INSERT INTO messages (room_id, seq, msgid, ts_ms, sender, kind, text)"
            " VALUES (?, ?, ?, ?, ?, 'PRIVMSG', ?)",
            (room_id, last + i, f"MSGID{room_id:04d}{last + i:08d}", 1700000000000 + i,
             "alice", text))
    con.execute("UPDATE rooms SET last_seq = ? WHERE id = ?", (last + len(texts), room_id))
    con.commit()
    con.close()


# --- users ---------------------------------------------------------------

def test_user_add_generates_password(ctl):
    p = ctl.ok("user", "add", "alice")
    assert "created account 'alice'" in p.stdout
    line = [l for l in p.stdout.splitlines() if l.startswith("password: ")][0]
    pw = line.split(": ", 1)[1]
    assert len(pw) == 20 and pw.isalnum()
    st = os.stat(ctl.data)
    assert stat.S_IMODE(st.st_mode) == 0o700
    con = sqlite3.connect(ctl.db)
    pw_hash, scram, admin = con.execute(
        "SELECT pw_hash, scram, admin FROM accounts WHERE name = 'alice'").fetchone()
    assert pw_hash.startswith("$argon2id$v=19$m=8192,t=1")
    assert scram.startswith("SCRAM-SHA-256$4096:")
    assert admin == 0


def test_user_add_json_and_stdin(ctl):
    j = ctl.json("user", "add", "bob", "--admin", "--password-stdin", stdin="s3cret\n")
    assert j["name"] == "bob" and j["admin"] is True and j["chat_enabled"] is True
    assert "password" not in j
    assert j["has_password"] and j["has_scram"]
    j = ctl.json("user", "add", "carol")
    assert len(j["password"]) == 20
    # leaf-level --json works too
    p = ctl.ok("user", "show", "carol", "--json")
    assert json.loads(p.stdout)["name"] == "carol"


def test_user_never_prints_hashes(ctl):
    ctl.ok("user", "add", "alice", "--password-stdin", stdin="pw\n")
    for args in (("user", "show", "alice"), ("--json", "user", "show", "alice"),
                 ("--json", "user", "list"), ("user", "list")):
        out = ctl.ok(*args).stdout
        assert "argon2" not in out and "SCRAM-SHA-256$" not in out


def test_user_duplicate_and_case(ctl):
    ctl.ok("user", "add", "alice", "--password-stdin", stdin="x\n")
    p = ctl.fails(EXIT_EXISTS, "user", "add", "alice")
    assert "already exists" in p.stderr
    ctl.fails(EXIT_EXISTS, "user", "add", "ALICE")


@pytest.mark.parametrize("name", ["1abc", "a b", "pchat", "ChanServ", "x" * 33, "é", "-a", ""])
def test_user_bad_names(ctl, name):
    p = ctl.fails(EXIT_INVALID, "user", "add", "--", name)
    assert "invalid account name" in p.stderr


def test_user_bad_password_stdin(ctl):
    ctl.fails(EXIT_INVALID, "user", "add", "alice", "--password-stdin", stdin="")
    ctl.fails(EXIT_INVALID, "user", "add", "alice", "--password-stdin", stdin="\n")
    ctl.fails(EXIT_INVALID, "user", "add", "alice", "--password-stdin", stdin="x" * 600 + "\n")
    assert ctl.json("user", "list") == []


def test_user_list_show(ctl):
    ctl.ok("user", "add", "bob", "--password-stdin", stdin="x\n")
    ctl.ok("user", "add", "alice", "--password-stdin", stdin="x\n")
    users = ctl.json("user", "list")
    assert [u["name"] for u in users] == ["alice", "bob"]
    text = ctl.ok("user", "list").stdout.splitlines()
    assert text[0].split()[:3] == ["NAME", "ADMIN", "CHAT-ENABLED"]
    assert text[1].startswith("alice")
    out = ctl.ok("user", "show", "bob").stdout
    assert "name:         bob" in out and "password:     set" in out
    ctl.fails(EXIT_NOTFOUND, "user", "show", "nobody")


def test_user_set(ctl):
    ctl.ok("user", "add", "alice", "--password-stdin", stdin="x\n")
    j = ctl.json("user", "set", "alice", "--admin", "yes", "--chat-enabled", "no")
    assert j["admin"] is True and j["chat_enabled"] is False
    j = ctl.json("user", "show", "alice")
    assert j["admin"] is True and j["chat_enabled"] is False
    ctl.ok("user", "set", "alice", "--chat-enabled", "yes")
    assert ctl.json("user", "show", "alice")["chat_enabled"] is True
    ctl.fails(EXIT_USAGE, "user", "set", "alice")
    ctl.fails(EXIT_INVALID, "user", "set", "alice", "--admin", "maybe")
    ctl.fails(EXIT_NOTFOUND, "user", "set", "nobody", "--admin", "no")


def test_user_passwd(ctl):
    ctl.ok("user", "add", "alice", "--password-stdin", stdin="old\n")
    con = sqlite3.connect(ctl.db)
    before = con.execute("SELECT pw_hash, scram FROM accounts").fetchone()
    ctl.ok("user", "passwd", "alice", "--password-stdin", stdin="new\n")
    after = con.execute("SELECT pw_hash, scram FROM accounts").fetchone()
    assert before[0] != after[0] and before[1] != after[1]
    j = ctl.json("user", "passwd", "alice")
    assert len(j["password"]) == 20
    ctl.fails(EXIT_NOTFOUND, "user", "passwd", "nobody", "--password-stdin", stdin="x\n")


def test_user_remove(ctl):
    ctl.ok("user", "add", "alice", "--password-stdin", stdin="x\n")
    j = ctl.json("user", "remove", "alice")
    assert j == {"name": "alice", "removed": True}
    assert ctl.json("user", "list") == []
    ctl.fails(EXIT_NOTFOUND, "user", "remove", "alice")


# --- rooms -----------------------------------------------------------------

def test_room_add_list_show_remove(ctl):
    out = ctl.ok("room", "add", "#ops", "--description", "Operations").stdout
    assert "created room '#ops' in category 'general'" in out
    j = ctl.json("room", "add", "dev.build")
    assert j["name"] == "dev.build" and j["category"] == "general"
    rooms = ctl.json("room", "list")
    assert [r["name"] for r in rooms] == ["dev.build", "ops"]
    assert rooms[1]["description"] == "Operations"
    j = ctl.json("room", "show", "#ops")
    assert j["messages"] == 0 and j["last_seq"] == 0
    assert "#ops" in ctl.ok("room", "list").stdout
    assert ctl.json("room", "remove", "ops") == {"name": "ops", "removed": True}
    ctl.fails(EXIT_NOTFOUND, "room", "show", "ops")
    ctl.fails(EXIT_NOTFOUND, "room", "remove", "#ops")


def test_room_errors(ctl):
    ctl.ok("room", "add", "ops")
    ctl.fails(EXIT_EXISTS, "room", "add", "#OPS")
    for bad in ("a b", "#", "x" * 51, "a,b"):
        ctl.fails(EXIT_INVALID, "room", "add", bad)
    ctl.fails(EXIT_INVALID, "room", "add", "x", "--description", "two\nlines")
    p = ctl.fails(EXIT_NOTFOUND, "room", "add", "x", "--category", "nope")
    assert "no category 'nope'" in p.stderr
    ctl.fails(EXIT_USAGE, "room", "add")
    ctl.fails(EXIT_USAGE, "room", "add", "a", "b")


# --- messages --------------------------------------------------------------

def test_message_list(ctl):
    ctl.ok("room", "add", "ops")
    insert_messages(ctl, "ops", [f"hello {i}" for i in range(1, 61)])
    msgs = ctl.json("message", "list", "--room", "#ops")
    assert len(msgs) == 50
    assert msgs[0]["seq"] == 11 and msgs[-1]["seq"] == 60
    m = msgs[-1]
    assert set(m) == {"seq", "msgid", "ts", "time", "sender", "kind", "text"}
    assert m["text"] == "hello 60" and m["sender"] == "alice" and m["kind"] == "PRIVMSG"
    assert m["time"].endswith("Z") and m["ts"] == 1700000000060
    msgs = ctl.json("message", "list", "--room", "ops", "--limit", "5", "--before", "10")
    assert [x["seq"] for x in msgs] == [5, 6, 7, 8, 9]
    lines = ctl.ok("message", "list", "--room", "ops", "--limit", "2").stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith("60 ") and lines[1].endswith("hello 60")
    assert ctl.json("room", "show", "ops")["messages"] == 60


def test_message_list_errors(ctl):
    ctl.ok("room", "add", "ops")
    assert ctl.json("message", "list", "--room", "ops") == []
    ctl.fails(EXIT_USAGE, "message", "list")
    ctl.fails(EXIT_NOTFOUND, "message", "list", "--room", "nope")
    ctl.fails(EXIT_INVALID, "message", "list", "--room", "ops", "--limit", "0")
    ctl.fails(EXIT_INVALID, "message", "list", "--room", "ops", "--limit", "10001")
    ctl.fails(EXIT_INVALID, "message", "list", "--room", "ops", "--before", "x")


# --- db ----------------------------------------------------------------------

def test_db_check_version(ctl):
    assert "ok" in ctl.ok("db", "check").stdout
    j = ctl.json("db", "check")
    assert j["ok"] is True
    j = ctl.json("db", "version")
    assert j["schema_version"] >= 1
    assert "schema version" in ctl.ok("db", "version").stdout


def test_db_check_corrupt(ctl):
    ctl.ok("room", "add", "ops")
    insert_messages(ctl, "ops", ["x" * 200] * 200)
    with open(ctl.db, "r+b") as f:
        f.seek(4096 * 3)
        f.write(b"\xa5" * 4096 * 3)
    p = ctl.run("db", "check")
    assert p.returncode == EXIT_DATABASE, (p.returncode, p.stdout, p.stderr)


def test_db_newer_schema_refused(ctl):
    ctl.ok("db", "version")
    con = sqlite3.connect(ctl.db)
    con.execute("PRAGMA user_version = 999")
    con.commit()
    con.close()
    ctl.fails(EXIT_DATABASE, "user", "list")


# --- global options, config, help -----------------------------------------------

def test_bad_config_line(ctl, tmp_path):
    ctl.config.write_text("[server]\nname = ok\n[limits]\nsendq = 5\n")
    p = ctl.fails(EXIT_CONFIG, "user", "list")
    assert f"{ctl.config}:4: [limits] sendq: expected an integer from 1024 to 1073741824" \
        in p.stderr
    ctl.config.write_text("[nope]\n")
    p = ctl.fails(EXIT_CONFIG, "user", "list")
    assert ":1: unknown section [nope]" in p.stderr
    p = ctl.run("-c", str(tmp_path / "missing.ini"), "user", "list", config=False)
    assert p.returncode == EXIT_CONFIG and "cannot open" in p.stderr


def test_data_dir_and_database_flags(ctl, tmp_path):
    other = tmp_path / "other" / "nested"
    p = ctl.run("--data-dir", str(other), "room", "add", "x", config=False)
    assert p.returncode == 0, p.stderr
    assert (other / "pchat.db").exists()
    assert stat.S_IMODE(os.stat(other).st_mode) == 0o700
    db2 = tmp_path / "explicit.db"
    p = ctl.run("--database", f"sqlite:{db2}", "room", "add", "y")
    assert p.returncode == 0, p.stderr
    assert db2.exists()
    assert [r["name"] for r in ctl.json("--database", f"sqlite:{db2}", "room", "list")] == ["y"]


def test_usage_errors(ctl):
    assert ctl.run().returncode == EXIT_USAGE
    p = ctl.fails(EXIT_USAGE, "bogus")
    assert "unknown command 'bogus'" in p.stderr and "--help" in p.stderr
    ctl.fails(EXIT_USAGE, "user")
    ctl.fails(EXIT_USAGE, "user", "frob")
    ctl.fails(EXIT_USAGE, "user", "add", "alice", "--frob")
    ctl.fails(EXIT_USAGE, "--frob", "user", "list")
    ctl.fails(EXIT_USAGE, "user", "add")
    assert not ctl.data.exists()  # usage errors never create anything


def test_help_pages(ctl):
    leaves = [("user", c) for c in ("add", "remove", "passwd", "set", "list", "show")] + \
             [("room", c) for c in ("add", "list", "show", "remove")] + \
             [("message", "list"), ("db", "check"), ("db", "version")]
    for leaf in leaves:
        p = ctl.run(*leaf, "--help", config=False)
        assert p.returncode == 0
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "EXAMPLES"):
            assert section + "\n" in p.stdout, (leaf, section)
        assert f"pchatctl {' '.join(leaf)} - " in p.stdout
    for node in (["user"], ["room"], ["message"], ["db"], []):
        p = ctl.run(*node, "--help", config=False)
        assert p.returncode == 0 and "COMMANDS" in p.stdout
    p = ctl.run("--version", config=False)
    assert p.returncode == 0 and p.stdout.startswith("pchatctl ")
