"""The database half of issue 6: the synchronous mirror, switchover with
zero loss, the runbook's database commands (who, kill, recover) and what
happens when the mirror is lost (block or degrade).

PostgreSQL only (PCHAT_TEST_DB=postgresql): real clusters from
tests/pg/pgtmp.sh, pg_basebackup, pg_ctl; a pchatd pool server on a
multi-host URL with target_session_attrs=read-write follows the primary
through the switchover by itself.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import (DB_BACKEND, PCHATCTL, PgCluster, free_port, make_pool_server, wait_for,
                      write_topology)

pytestmark = pytest.mark.skipif(DB_BACKEND != "postgresql",
                                reason="PostgreSQL mirror (PCHAT_TEST_DB=postgresql)")

PGBIN = "/usr/lib/postgresql/15/bin"
UNREACHABLE = "postgresql://pchat@127.0.0.1:1/none"


def as_postgres(cmd):
    return (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + cmd


def postgres_dir():
    """An empty directory the cluster's user owns (a mirror's parent)."""
    d = tempfile.mkdtemp(prefix="pchat-mirror-")
    os.chmod(d, 0o755)
    if os.geteuid() == 0:
        shutil.chown(d, "postgres", "postgres")
    return d


def ctl(*args, check=True, json_out=False, timeout=90):
    cmd = [PCHATCTL] + (["--json"] if json_out else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s -> %d\nstdout: %s\nstderr: %s" %
                             (" ".join(args), p.returncode, p.stdout, p.stderr))
    return json.loads(p.stdout) if json_out and p.returncode == 0 else p


def psql(url, sql):
    return subprocess.run(["psql", "-At", url, "-c", sql], capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()


def pg_ctl(datadir, *args):
    subprocess.run(as_postgres([PGBIN + "/pg_ctl", "-D", datadir, "-w"] + list(args)),
                   check=True, capture_output=True, timeout=60)


@pytest.fixture
def clusters():
    made, dirs = [], []

    def make():
        c = PgCluster()
        made.append(c)
        return c

    def pdir():
        d = postgres_dir()
        dirs.append(d)
        return d

    yield make, pdir
    for d in dirs:
        data = os.path.join(d, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run(as_postgres([PGBIN + "/pg_ctl", "-D", data, "-m", "immediate", "-w",
                                        "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(d, ignore_errors=True)
    for c in made:
        c.stop()


def send_acked(client, room, text, timeout=30):
    """Send until the message is stored (echo), retrying after FAIL; returns its msgid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.send("PRIVMSG %s :%s" % (room, text))
        m = client.expect(lambda m: (m.command == "PRIVMSG" and m.nick == client.nick) or
                          m.command == "FAIL", timeout=15)
        if m.command == "PRIVMSG":
            return m.tags["msgid"]
        time.sleep(0.2)
    raise AssertionError("message %r never stored" % text)


def test_mirror_switchover_who_kill_and_mirror_lost(make_server, clusters, tmp_path):
    make, pdir = clusters
    p = make()
    p_port = int(p.url.split(":")[2].split("/")[0])
    m_port = free_port()
    mdir = os.path.join(pdir(), "data")
    p_url = "postgresql://pchat@127.0.0.1:%d/pchat" % p_port
    m_url = "postgresql://pchat@127.0.0.1:%d/pchat" % m_port
    multi = ("postgresql://pchat@127.0.0.1:%d,127.0.0.1:%d/pchat?target_session_attrs=read-write"
             % (p_port, m_port))
    topo = write_topology(str(tmp_path / "topology.ini"), [("a1", "dc-a")], multi, UNREACHABLE)
    with open(topo) as f:
        text = f.read()
    text = text.replace("[database primary]\n",
                        "[database primary]\n; the mirror is recorded below\n"
                        "data_dir = %s/data\n" % p.dir)
    with open(topo, "w") as f:
        f.write(text)

    # install-mirror: refused into a non-empty directory, then built and in sync
    busy = pdir()
    open(os.path.join(busy, "x"), "w").close()
    r = ctl("db", "install-mirror", "--database", "primary", "--mirror", m_url, "--data-dir",
            busy, "--topology", topo, check=False)
    assert r.returncode == 8 and "is not empty" in r.stderr
    out = ctl("db", "install-mirror", "--database", "primary", "--mirror", m_url, "--data-dir",
              mdir, "--start", "--topology", topo).stdout
    assert "installed, running, sync" in out
    with open(topo) as f:
        text = f.read()
    assert "; the mirror is recorded below\n" in text and "mirror = %s\n" % m_url in text
    assert "mirror_data_dir = %s\n" % mdir in text
    st = ctl("db", "status", "--topology", topo, json_out=True)
    assert st["primary"]["role"] == "primary" and st["primary"]["sync_state"] == "sync"
    assert st["primary"]["synchronous_standby_names"] == "pchat_mirror"
    assert st["backup"]["reachable"] is False
    r = ctl("db", "install-mirror", "--database", "primary", "--mirror", m_url, "--data-dir",
            os.path.join(pdir(), "data"), "--topology", topo, check=False)
    assert r.returncode == 8 and "in use" in r.stderr  # the slot is taken

    # a pool server on the multi-host URL; messages before the switchover
    s = make_pool_server(make_server, topo, "a1")
    room = s.add_room(live=True)
    alice = s.client(caps=("echo-message", "message-tags"))
    alice.join(room)
    before = [send_acked(alice, room, "before %d" % i) for i in range(20)]

    out = ctl("db", "switchover", "--topology", topo).stdout
    assert "switchover done" in out
    with open(topo) as f:
        text = f.read()
    assert "url = %s\n" % multi in text and "mirror = %s\n" % p_url in text
    assert "data_dir = %s\n" % mdir in text and "mirror_data_dir = %s/data\n" % p.dir in text
    assert psql(m_url, "SELECT pg_is_in_recovery()") == "f"
    assert psql(p_url, "SELECT pg_is_in_recovery()") == "t"
    stored = set(psql(m_url, "SELECT msgid FROM messages").split())
    assert set(before) <= stored  # zero loss
    after = send_acked(alice, room, "after the switchover")
    assert after in psql(m_url, "SELECT msgid FROM messages").split()
    alice.ping()  # still connected
    st = ctl("db", "status", "--topology", topo, json_out=True)
    assert st["primary"]["sync_state"] == "sync" and st["primary"]["mirror"] == p_url

    # who and kill --all: pchatd reconnects by itself
    who = ctl("db", "who", "--database", "primary", "--topology", topo, json_out=True)
    apps = {w["application_name"] for w in who}
    assert any(a.startswith("pchatd") for a in apps), apps
    assert "PID" in ctl("db", "who", "--database", m_url).stdout
    killed = ctl("db", "kill", "--all", "--database", "primary", "--topology", topo,
                 json_out=True)
    assert killed["killed"] >= 1
    assert ctl("db", "kill", "999999", "--database", m_url, check=False).returncode == 8
    send_acked(alice, room, "after kill")
    wait_for(lambda: any(w["application_name"].startswith("pchatd") for w in
                         ctl("db", "who", "--database", m_url, json_out=True)),
             timeout=10, what="pchatd back on the database")

    # mirror lost, block: writes would wait; status says so
    pg_ctl(p.dir + "/data", "-m", "immediate", "stop")
    state = str(tmp_path / "check.json")
    chk = ["db", "mirror-check", "--topology", topo, "--after", "1", "--state", state]
    r = ctl(*chk, json_out=True)
    assert r["action"] == "waiting" and not r["connected"]
    time.sleep(1.2)
    r = ctl(*chk, json_out=True)
    assert r["action"] == "blocking" and r["synchronous_standby_names"] == "pchat_mirror"
    st = ctl("db", "status", "--topology", topo, json_out=True)
    assert any("writes wait" in a for a in st["primary"]["alerts"]), st

    # degrade: asynchronous, an ALERT, writes go on
    with open(topo) as f:
        text = f.read()
    with open(topo, "w") as f:
        f.write(text.replace("[database primary]\n", "[database primary]\nmirror_lost = degrade\n"))
    p2 = subprocess.run([PCHATCTL, "db", "mirror-check", "--topology", topo, "--after", "1",
                         "--state", state], capture_output=True, text=True, timeout=30)
    assert p2.returncode == 0 and "ALERT" in p2.stderr and "degraded" in p2.stdout
    assert psql(m_url, "SHOW synchronous_standby_names") == ""
    send_acked(alice, room, "while degraded", timeout=10)
    st = ctl("db", "status", "--topology", topo, json_out=True)
    assert st["primary"]["mirror_lost"] == "degrade"
    assert any("asynchronous" in a for a in st["primary"]["alerts"]), st

    # the mirror comes back: synchronous again
    pg_ctl(p.dir + "/data", "-l", p.dir + "/data/log", "-o",
           "-p %d -k %s/data -c listen_addresses=127.0.0.1" % (p_port, p.dir), "start")
    wait_for(lambda: ctl(*chk, json_out=True)["action"] == "restored", timeout=20,
             what="synchronous mode restored")
    assert psql(m_url, "SHOW synchronous_standby_names") == "pchat_mirror"
    wait_for(lambda: ctl("db", "status", "--topology", topo, json_out=True)["primary"]
             ["sync_state"] == "sync", timeout=10, what="sync again")
    send_acked(alice, room, "synchronous again")


def test_recover_promotes_a_standby_and_prints_the_recovery_point(clusters):
    make, pdir = clusters
    src = make()
    ctl("--database", src.url, "db", "version")  # the chat schema
    psql(src.url, "INSERT INTO messages (pm_a, pm_b, msgid, ts_ms, sender, kind, text) VALUES "
                  "('a', 'b', 'recmsg1', 1700000000000, 'a', 'PRIVMSG', 'hi')")
    sdir = os.path.join(pdir(), "data")
    port = free_port()
    subprocess.run(as_postgres([PGBIN + "/pg_basebackup", "-D", sdir, "-X", "stream", "-R", "-c", "fast",
                                "-d", src.url]), check=True, capture_output=True, timeout=60)
    pg_ctl(sdir, "-l", sdir + "/log", "-o",
           "-p %d -k %s -c listen_addresses=127.0.0.1" % (port, sdir), "start")
    url = "postgresql://pchat@127.0.0.1:%d/pchat" % port
    assert psql(url, "SELECT pg_is_in_recovery()") == "t"
    # the standby refuses writes until recovered (a mirror installed on it now would be a
    # cascading one: test_drills.py's failback builds one)
    assert "read-only" in subprocess.run(
        ["psql", "-X", "-d", url, "-c", "CREATE TABLE t (x int)"], capture_output=True,
        text=True, timeout=30).stderr
    out = ctl("db", "recover", "--database", url).stdout
    assert "promoted: writable" in out and "msgid recmsg1" in out, out
    assert "last replayed transaction: " in out
    assert psql(url, "SELECT pg_is_in_recovery()") == "f"
    r = ctl("db", "recover", "--database", url, json_out=True)
    assert r["already_writable"] is True and r["msgid"] == "recmsg1"
    out = ctl("db", "recover", "--database", url).stdout
    assert "already writable" in out
