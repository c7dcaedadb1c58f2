"""pchatctl migrate (issue 5): a single server's SQLite installation moves into
a PostgreSQL database with everything, and pchatd serves it from there.

The source is always SQLite (whatever PCHAT_TEST_DB says) and the target a
database of the session's PostgreSQL cluster (conftest.PgCluster). What the
users saw before the move (history with its msgids, private messages,
search, followed rooms, a pending invitation, read markers, the compliance
queue) is compared with what they see after it.
"""
import glob
import json
import os
import sqlite3
import subprocess
import time

import pytest

import conftest
from conftest import PCHATCTL  # noqa: F401  (the binary the Server uses)

CAPS = ("draft/chathistory", "batch", "server-time", "message-tags", "echo-message",
        "soju.im/search", "draft/read-marker", "invite-notify", "draft/message-redaction",
        "draft/event-playback")
MARK = "timestamp=2026-01-02T03:04:05.678Z"
EXIT_EXISTS, EXIT_DATABASE, EXIT_INUSE = 3, 5, 8


def batch(c, line):
    c.send(line)
    return c.collect(lambda m: (m.command == "BATCH" and m.params[0].startswith("-")) or
                     m.command == "FAIL")


def msgs(lines):
    """(msgid, sender, text) of the PRIVMSGs in a batch, in order."""
    return [(m.tags.get("msgid"), m.nick, m.params[-1]) for m in lines
            if m.command == "PRIVMSG" and "batch" in m.tags]


def observe(s):
    """What users see: history of both rooms, the private conversation, a search."""
    alice = s.client("alice", caps=CAPS)
    seen = {
        "pub": msgs(batch(alice, "CHATHISTORY LATEST #pub * 100")),
        "proj": msgs(batch(alice, "CHATHISTORY LATEST #proj * 100")),
        "pm": msgs(batch(alice, "CHATHISTORY LATEST bob * 100")),
        "search": sorted(msgs(batch(alice, "SEARCH text=release"))),
    }
    alice.close()
    return seen


def service(c, line):
    c.send("PRIVMSG pchat :" + line)
    return c.expect(lambda m: m.command == "NOTICE" and m.nick == "pchat").params[-1]


def build_installation(s):
    """Accounts, groups, categories, rooms, add-in, messages and the rest, through pchatd."""
    s.ctl("room", "list")
    for name in ("alice", "bob", "carol"):
        s.add_user(name, "pw-" + name + "-secret", live=True)
    s.add_user("boss", "pw-boss-secret", admin=True, live=True)
    s.ctl("group", "add", "team", "--members", "alice,bob")
    s.ctl("category", "add", "eng", "--allowed", "*", "--denied", "carol", "--creators",
          "alice", "--file-upload", "off", "--invitations", "on")
    s.ctl("addin", "add", "wiki", "https://wiki.example.com/pchat")
    s.ctl("room", "add", "pub", "--privacy", "open", "--description", "the lobby")
    s.ctl("room", "add", "proj", "--category", "eng", "--privacy", "closed", "--members",
          "group:team", "--managers", "alice", "--addin", "wiki", "--type", "auditorium",
          "--presenters", "bob")
    s.ctl("room", "add", "inv", "--members", "alice", "--managers", "alice")
    s.start()
    alice = s.client("alice", caps=CAPS)
    bob = s.client("bob", caps=CAPS)
    boss = s.client("boss", caps=CAPS)
    for c in (alice, bob, boss):
        c.join("#pub")
    alice.join("#proj")
    bob.join("#proj")
    for target, text in (("#pub", "hello everyone"), ("#pub", "the release is friday"),
                         ("#pub", "oops my password is hunter2"), ("#pub", "secret plan"),
                         ("#proj", "release notes drafted"), ("bob", "a private release word"),
                         ("#pub", "caf\u00e9 and \U0001F600 unicode")):
        alice.send("PRIVMSG %s :%s" % (target, text))
        alice.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == text)
    bob.send("@+draft/reply=x;+example.com/tag=a\\sb PRIVMSG #pub :reply with tags")
    bob.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "reply with tags")
    mid = [m for m in msgs(batch(alice, "CHATHISTORY LATEST #pub * 10"))
           if "hunter2" in m[2]][0][0]
    boss.send("REDACT #pub %s" % mid)  # removed
    alice.expect(lambda m: m.command == "REDACT")
    s.ctl("message", "replace", "--room", "pub", "--text", "secret", "--with", "[redacted]")
    alice.send("PART #proj :bye")  # a history event
    alice.expect(lambda m: m.command == "PART")
    alice.send("MARKREAD #pub " + MARK)
    alice.expect(lambda m: m.command == "MARKREAD" and m.params[1] == MARK)
    assert "Following" in service(bob, "follow #pub")
    assert "updated" in service(alice, "members add #inv carol")  # carol is offline
    time.sleep(1.0)  # JOIN/PART/SEARCH events are written by jobs of their own
    for c in (alice, bob, boss):
        c.close()


@pytest.fixture
def source(make_server, tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "DB_BACKEND", "sqlite")
    out = tmp_path / "archive"
    out.mkdir()
    s = make_server(start=False, limits={"flood_rate": 0},
                    extra="[compliance]\nenabled = yes\nformat = jsonl\noutput_dir = %s\n" % out)
    s.out = str(out)
    s.db = os.path.join(s.data_dir, "pchat.db")
    build_installation(s)
    return s


def migrate(s, *args, json_out=True):
    return s.ctl(*(("migrate", "--from", "sqlite:" + s.db) + args), json_out=json_out,
                 check=False)


def test_migrate_sqlite_to_postgresql(source):
    s = source
    before = observe(s)
    assert len(before["pub"]) >= 5 and before["pm"] and before["search"]
    assert all(mid for mid, _, _ in before["pub"])
    assert "[redacted]" in [t for _, _, t in before["pub"]]
    assert not any("hunter2" in t for _, _, t in before["pub"])
    queued = s.ctl("compliance", "status", json_out=True)["queued"]
    assert queued > 0
    url = conftest.pg_cluster().new_database()

    # pchatd still has the file open: refused, nothing written into the target.
    p = migrate(s, "--to", url, json_out=False)
    assert p.returncode == EXIT_INUSE and "stop pchatd" in p.stderr, p.stderr
    s.stop()

    db = sqlite3.connect(s.db)
    kinds = {k for (k,) in db.execute("SELECT DISTINCT kind FROM messages")}
    src_msgs = db.execute("SELECT id, msgid, seq, ts_ms, redacted, tags FROM messages"
                          " ORDER BY id").fetchall()
    db.close()
    assert {"PRIVMSG", "JOIN", "PART"} <= kinds
    assert {r[4] for r in src_msgs} >= {0, 1, 2}  # as sent, removed, replaced
    assert any(r[5] and "example.com/tag" in r[5] for r in src_msgs)

    rep = migrate(s, "--to", url)
    assert rep["ok"] is True, rep
    cdb = sqlite3.connect(s.db[:-3] + "-compliance.db")  # the outbox was moved into it
    src_events = [i for (i,) in cdb.execute("SELECT id FROM events")]
    cdb.close()
    assert len(src_events) == queued
    tables = {t["table"]: t for t in rep["tables"]}
    for name, t in tables.items():
        assert t["ok"] and t["source_rows"] == t["target_rows"], t
        assert t["source_sha256"] == t["target_sha256"] and len(t["source_sha256"]) == 64
    assert tables["accounts"]["source_rows"] == 4  # alice bob carol boss (an administrator)
    assert tables["messages"]["source_rows"] == len(src_msgs)
    assert tables["follows"]["source_rows"] == 1 and tables["invitations"]["source_rows"] == 1
    assert tables["markers"]["source_rows"] >= 1 and tables["groups"]["source_rows"] == 1
    assert tables["addins"]["source_rows"] == 1 and tables["categories"]["source_rows"] == 2
    assert tables["compliance_events"]["source_rows"] == queued
    assert tables["settings"]["source_rows"] >= 1 and tables["changes"]["source_rows"] > 0

    # The target now holds data: a second move is refused and changes nothing.
    p = migrate(s, "--to", url, json_out=False)
    assert p.returncode == EXIT_EXISTS and "--force" in p.stderr, p.stderr

    # pchatd on the PostgreSQL database.
    with open(s.config, "a") as f:
        f.write("\n[database]\nurl = %s\n" % url)
    s.start()
    assert s.ctl("db", "check", json_out=True)["ok"]
    after = observe(s)
    assert after == before

    # Followed room joined at login; the pending invitation delivered; marker kept.
    bob = s.client("bob", caps=CAPS)
    bob.expect(lambda m: m.command == "JOIN" and m.params[0] == "#pub", timeout=5)
    carol = s.client("carol", caps=CAPS)
    assert carol.expect(lambda m: m.command == "INVITE", timeout=5).params == ["carol", "#inv"]
    alice = s.client("alice", caps=CAPS)
    alice.send("JOIN #pub")
    m = alice.expect(lambda m: m.command == "MARKREAD" and m.params[0] == "#pub")
    assert m.params[1] == MARK
    # New rows continue after the copied ids (sequences and counters moved past them).
    alice.send("PRIVMSG #pub :after the move")
    alice.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "after the move")
    hist = msgs(batch(alice, "CHATHISTORY LATEST #pub * 100"))
    assert hist[:-1] == before["pub"] and hist[-1][2] == "after the move"
    s.ctl("room", "add", "later", "--privacy", "open")
    s.ctl("user", "add", "dave", "--password-stdin", input="pw-dave-secret\n")

    # The migrated compliance queue is exported, event ids kept, nothing twice.
    p = s.ctl("compliance", "run")
    assert "exported" in p.stdout
    events = []
    for path in sorted(glob.glob(os.path.join(s.out, "pchat-*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            events += [json.loads(line) for line in f]
    ids = [int(e["id"]) for e in events]
    assert len(ids) == len(set(ids)) and set(src_events) <= set(ids)
    chat = {e["content"] for e in events if e["type"] == "CHAT"}
    assert {"hello everyone", "a private release word", "after the move"} <= chat
    assert s.ctl("compliance", "status", json_out=True)["queued"] == 0


def test_migrate_text_report_force_and_refusals(source, tmp_path):
    s = source
    s.stop()
    url = conftest.pg_cluster().new_database()
    p = migrate(s, "--to", url, json_out=False)
    assert p.returncode == 0, p.stderr
    # pchatd may have left compliance events in the outbox: moved first, said so
    lines = [ln for ln in p.stdout.splitlines() if not ln.startswith("moved ")]
    assert lines[0].split()[:3] == ["TABLE", "SOURCE", "TARGET"]
    rows = {ln.split()[0]: ln.split() for ln in lines[1:-1]}
    assert len(rows) == 15 and all(r[-1] == "ok" for r in rows.values())
    assert rows["messages"][1] == rows["messages"][2] and rows["messages"][-1] == "ok"
    assert "every table agrees" in p.stdout
    # --force replaces what the target holds, and verifies again.
    p = migrate(s, "--to", url, "--force")
    assert p["ok"]
    # Usage: a SQLite target, a missing source, the same database twice.
    bad = migrate(s, "--to", "sqlite:" + str(tmp_path / "x.db"), json_out=False)
    assert bad.returncode == 4 and not os.path.exists(str(tmp_path / "x.db"))
    missing = s.ctl("migrate", "--from", "sqlite:" + str(tmp_path / "none.db"), "--to", url,
                    check=False)
    assert missing.returncode == EXIT_DATABASE and not os.path.exists(str(tmp_path / "none.db"))
    assert s.ctl("migrate", "--to", url, check=False).returncode == 1


def psql(url, sql):
    return subprocess.run(["psql", "-qAt", url, "-c", sql], check=True, capture_output=True,
                          text=True, timeout=60).stdout.strip()


def test_migrate_mismatch_is_rolled_back(source):
    """A target that changes a value on the way fails verification: exit 5, nothing kept."""
    s = source
    s.stop()
    url = conftest.pg_cluster().new_database()
    s.ctl("--database", url, "db", "version")  # the schema, so that a trigger can be added
    psql(url, "CREATE FUNCTION mangle() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
              " NEW.text := NEW.text || '!'; RETURN NEW; END $$;"
              "CREATE TRIGGER mangle BEFORE INSERT ON messages FOR EACH ROW"
              " EXECUTE FUNCTION mangle();")
    p = migrate(s, "--to", url, json_out=False)
    assert p.returncode == EXIT_DATABASE and "rolled back" in p.stderr, p.stderr
    bad = [ln.split()[0] for ln in p.stdout.splitlines() if ln.endswith("MISMATCH")]
    assert bad == ["messages"], p.stdout
    assert psql(url, "SELECT count(*) FROM accounts") == "0"
    assert psql(url, "SELECT count(*) FROM messages") == "0"
    psql(url, "DROP TRIGGER mangle ON messages")
    assert migrate(s, "--to", url)["ok"]  # empty again: accepted without --force
