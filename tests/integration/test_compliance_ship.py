"""Compliance across an asynchronous failover (docs/compliance.md "Across a
failover"): when the PostgreSQL database archives its WAL (log shipping),
the adapter writes a claimed range only once the claim's commit has been
archived, so that the backup data center, which learns of claims only
through the archive, resumes that very range under the same file names.

A cluster of the test's own (archive_mode needs a restart; 1 MB segments)
archives with `false`: the adapter waits for the segment holding its claim
(ending it early unless the archiver already fails), gives up (exit 7), has
written nothing, and status says which segment it waits for. With archive_command fixed the next run exports every event,
once. Then pchatd's own adapter waits (archiving fails again), and stopping
pchatd ends the wait at once. PostgreSQL only; about 15 s.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import DB_BACKEND, PGTMP, wait_for
from test_compliance import all_events, assert_exactly_once, comp_server, run_adapter, status

pytestmark = pytest.mark.skipif(DB_BACKEND != "postgresql",
                                reason="log shipping needs PostgreSQL (PCHAT_TEST_DB=postgresql)")

STALL = {"PCHAT_TEST_COMPLIANCE_SHIP_STALL_MS": "1000"}


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "psql %s: %s" % (sql, p.stderr)
    return p.stdout.strip()


@pytest.fixture
def archiving():
    """A primary with archive_mode on and a failing archive_command; (url, archive dir)."""
    base = tempfile.mkdtemp(prefix="pchat-compship-")
    os.chmod(base, 0o755)
    cluster = os.path.join(base, "cluster")
    archive = os.path.join(base, "archive")
    os.mkdir(archive)
    if os.getuid() == 0:
        shutil.chown(archive, "postgres", "postgres")
    try:
        env = dict(os.environ, PGTMP_INITDB_ARGS="--wal-segsize=1")
        url = subprocess.run([PGTMP, "start", cluster], check=True, capture_output=True,
                             text=True, env=env, timeout=120).stdout.strip()
        psql(url, "ALTER SYSTEM SET archive_mode = on")
        psql(url, "ALTER SYSTEM SET archive_command = 'false'")
        subprocess.run([PGTMP, "restart", cluster], check=True, capture_output=True,
                       timeout=120)
        yield url, archive
    finally:
        subprocess.run([PGTMP, "stop", cluster], capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def test_a_range_is_written_only_once_its_claim_is_archived(archiving, make_server, tmp_path,
                                                            monkeypatch):
    url, archive = archiving
    s = comp_server(make_server, tmp_path, fmt="jsonl", start=False)
    with open(s.config) as f:
        text = f.read()
    with open(s.config, "w") as f:
        f.write(text.replace("url = " + s.db_url + "\n", "url = " + url + "\n", 1))
    # capture on as pchatd records it, without pchatd (its adapter would claim too)
    s.ctl("room", "list")
    psql(url, "INSERT INTO settings (key, value) VALUES ('compliance.enabled', '1')")
    for _ in range(2):
        s.add_room(live=True)  # ADMIN events
    queued = status(s)["queued"]
    assert queued >= 2
    # archiving fails: the run waits for the claim's segment and gives up
    p = run_adapter(s, env=STALL, check=False)
    assert p.returncode == 7, (p.returncode, p.stdout, p.stderr)
    m = re.search(r"waiting for log shipping of segment ([0-9A-F]{24}) \(.*archiving fails",
                  p.stderr)
    assert m and "stay queued" in p.stderr, p.stderr
    segment = m.group(1)
    assert psql(url, "SELECT last_failed_wal FROM pg_stat_archiver") <= segment
    assert not os.listdir(s.out)  # nothing written, not even a temporary
    st = status(s)
    assert st["waiting"] and segment in st["last_error"], st
    assert st["queued"] == queued and st["claims"] == 0, st  # nothing written: released
    assert "shipping:" in s.ctl("compliance", "status").stdout
    # archiving fixed: the next run exports every event, once
    psql(url, "ALTER SYSTEM SET archive_command = 'cp %%p %s/%%f'" % archive)
    psql(url, "SELECT pg_reload_conf()")
    p = run_adapter(s, env=STALL)
    assert p.stdout.startswith("exported %d events" % queued), p.stdout
    assert segment in os.listdir(archive)
    ids = assert_exactly_once(all_events(s.out, "jsonl"))
    assert len(ids) == queued
    st = status(s)
    assert st["queued"] == 0 and st["last_error"] == "" and not st["waiting"], st
    assert psql(url, "SELECT last_archived_wal FROM pg_stat_archiver") >= segment
    assert run_adapter(s, env=STALL).stdout.startswith("exported 0 events")
    # pchatd's own adapter waits (archiving fails again); stopping pchatd ends the wait
    psql(url, "ALTER SYSTEM SET archive_command = 'false'")
    psql(url, "SELECT pg_reload_conf()")
    monkeypatch.setenv("PCHAT_TEST_COMPLIANCE_INTERVAL", "1")
    s.start()
    s.add_room(live=True)
    wait_for(lambda: status(s)["waiting"], timeout=15, what="pchatd's adapter waiting")
    t0 = time.monotonic()
    assert s.stop() == 0
    assert time.monotonic() - t0 < 5  # not the 30 s the wait would last
    assert "stopped while waiting for log shipping of segment" in s.log_text()
    assert len(all_events(s.out, "jsonl")) == queued  # the new event was not written
