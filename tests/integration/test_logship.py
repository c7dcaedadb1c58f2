"""Log shipping (issue 6, SPEC §6): PostgreSQL's WAL archive as Lync's log
shipping, driven by `pchatctl logship`.

One primary cluster with 1 MB WAL segments (PGTMP_INITDB_ARGS) and a topology
whose share and copy destination are temporary directories of the postgres
user; `logship setup` (run as postgres, the owner of the data directories)
turns archiving on and seeds the backup standby, which the test then starts.
Checked: files and their .sha256 on the share; archiving the same file
again succeeds and a different file of the same name is refused; copy --all
and restore --all bring rows to the backup, which stays read-only; a file
deleted from the copy destination stops restore --all, which names it and
goes on with --accept-data-loss; a corrupt file on the share is never copied
and status shows it; status --json; remove-secondary stops the copy daemon
and pauses restore.

The cluster tests run in the PostgreSQL pass (PCHAT_TEST_DB=postgresql),
about 40 s; the topology's [postgresql] section and the file jobs on fake
segments (no cluster) run in every pass.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import DB_BACKEND, PCHATCTL, PGTMP, free_port, wait_for

needs_pg = pytest.mark.skipif(DB_BACKEND != "postgresql",
                              reason="log shipping needs PostgreSQL (PCHAT_TEST_DB=postgresql)")

PGBIN = "/usr/lib/postgresql/15/bin"
ROOT = os.getuid() == 0


def as_pg(cmd):
    """cmd run as the postgres user (PostgreSQL's programs refuse root)."""
    return (["runuser", "-u", "postgres", "--"] + cmd) if ROOT else cmd


def chown_pg(path):
    if ROOT:
        shutil.chown(path, "postgres", "postgres")


def psql(url, sql, check=True):
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url,
                        "-c", sql], capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("psql %s: %s" % (sql, p.stderr))
    return p


class Shipping:
    """A primary, its topology, the share, the copy destination and the backup standby."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="pchat-logship-")
        os.chmod(self.base, 0o755)
        self.share = os.path.join(self.base, "share")
        self.dest = os.path.join(self.base, "copy")
        self.backup_dir = os.path.join(self.base, "backup")
        for d in (self.share, self.dest, self.backup_dir):
            os.mkdir(d, 0o750)
            chown_pg(d)
        self.backup_data = os.path.join(self.backup_dir, "data")
        self.primary_dir = os.path.join(self.base, "primary")
        env = dict(os.environ, PGTMP_INITDB_ARGS="--wal-segsize=1")
        self.url = subprocess.run([PGTMP, "start", self.primary_dir], check=True,
                                  capture_output=True, text=True, env=env,
                                  timeout=120).stdout.strip()
        self.backup_port = free_port()
        self.backup_url = "postgresql://pchat@127.0.0.1:%d/pchat" % self.backup_port
        self.topology = os.path.join(self.base, "topology.ini")
        with open(self.topology, "w") as f:
            f.write("\n".join([
                "[pool]", "name = ship", "",
                "[server a1]", "datacenter = dc-a", "",
                "[database primary]", "datacenter = dc-a", "url = " + self.url, "",
                "[database backup]", "datacenter = dc-b", "url = " + self.backup_url,
                "data_dir = " + self.backup_data, "",
                "[logship]", "share = " + self.share, "copy_destination = " + self.dest,
                "backup_threshold = 5m", "restore_threshold = 15m", "",
                "[postgresql]", "bindir = " + PGBIN, ""]))
        os.chmod(self.topology, 0o644)
        self.standby_started = False
        self.daemon = None

    def ctl(self, *args, pg=True, json_out=False):
        cmd = [PCHATCTL] + (["--json"] if json_out else []) + ["logship"] + list(args) + \
              ["--topology", self.topology]
        p = subprocess.run(as_pg(cmd) if pg else cmd, capture_output=True, text=True,
                           timeout=120)
        if json_out and p.stdout.strip():
            p.json = json.loads(p.stdout)
        return p

    def start_standby(self):
        subprocess.run(as_pg([PGBIN + "/pg_ctl", "-D", self.backup_data, "-l",
                              os.path.join(self.backup_dir, "log"), "-w", "-t", "60", "-o",
                              "-p %d -k %s -c listen_addresses=127.0.0.1" %
                              (self.backup_port, self.backup_dir), "start"]),
                       check=True, capture_output=True, timeout=90)
        self.standby_started = True

    def switch(self, text):
        """Insert a row, end the WAL segment; the name of the segment just finished."""
        psql(self.url, "INSERT INTO shipped(v) VALUES ('%s')" % text)
        return psql(self.url, "SELECT pg_walfile_name(pg_switch_wal())").stdout.strip()

    def on_share(self, name, timeout=20):
        wait_for(lambda: os.path.exists(os.path.join(self.share, name + ".sha256")),
                 timeout=timeout, what=name + " on the share")

    def stop(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.kill()
        if self.standby_started:
            subprocess.run(as_pg([PGBIN + "/pg_ctl", "-D", self.backup_data, "-m", "immediate",
                                  "-w", "stop"]), capture_output=True, timeout=60)
        subprocess.run([PGTMP, "stop", self.primary_dir], capture_output=True, timeout=120)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def ship():
    s = Shipping()
    try:
        psql(s.url, "CREATE TABLE shipped(id serial PRIMARY KEY, v text)")
        p = s.ctl("setup")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "RESTART NEEDED" in p.stdout and "seeded" in p.stdout
        assert os.path.exists(os.path.join(s.backup_data, "standby.signal"))
        with open(os.path.join(s.backup_data, "postgresql.auto.conf")) as f:
            auto = f.read()
        assert "restore_command = '%s logship restore-file --topology %s %%f %%p'" % (
            os.path.realpath(PCHATCTL), s.topology) in auto
        # setup again: the seeded directory is left alone, archive_mode now pending
        p = s.ctl("setup")
        assert p.returncode == 0 and "left alone" in p.stdout, p.stdout + p.stderr
        subprocess.run([PGTMP, "restart", s.primary_dir], check=True, timeout=120)
        assert psql(s.url, "SHOW archive_mode").stdout.strip() == "on"
        assert psql(s.url, "SHOW archive_timeout").stdout.strip() == "1min"
        s.start_standby()
        yield s
    finally:
        s.stop()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@needs_pg
def test_archive_puts_files_and_checksums_on_the_share(ship):
    name = ship.switch("one")
    ship.on_share(name)
    path = os.path.join(ship.share, name)
    assert os.path.getsize(path) == 1 << 20
    assert os.stat(path).st_mode & 0o777 == 0o640
    with open(path + ".sha256") as f:
        assert f.read() == "%s  %s\n" % (sha256(path), name)
    assert not [n for n in os.listdir(ship.share) if ".tmp." in n]


@needs_pg
def test_archive_is_idempotent_and_refuses_other_content(ship):
    name = ship.switch("two")
    ship.on_share(name)
    path = os.path.join(ship.share, name)
    before = sha256(path)
    same = os.path.join(ship.base, "same")  # readable by postgres
    shutil.copy(path, same)
    os.chmod(same, 0o644)
    p = ship.ctl("archive", same, name)
    assert p.returncode == 0, p.stderr
    other = os.path.join(ship.base, "other")
    data = bytearray(open(path, "rb").read())
    data[100] ^= 0xFF
    with open(other, "wb") as f:
        f.write(bytes(data))
    os.chmod(other, 0o644)
    p = ship.ctl("archive", other, name)
    assert p.returncode == 3, p.stderr
    assert before in p.stderr and hashlib.sha256(data).hexdigest() in p.stderr
    assert sha256(path) == before


@needs_pg
def test_copy_and_restore_bring_rows_to_a_read_only_backup(ship):
    name = ship.switch("three")
    ship.on_share(name)
    p = ship.ctl("copy", "--all")
    assert p.returncode == 0, p.stdout + p.stderr
    assert os.path.exists(os.path.join(ship.dest, name + ".sha256"))
    p = ship.ctl("restore", "--all", "--timeout", "60", json_out=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.json["last_applied"] >= name and p.json["recovery_point"]
    rows = psql(ship.backup_url, "SELECT v FROM shipped ORDER BY id").stdout.split()
    assert rows[:3] == ["one", "two", "three"]
    w = psql(ship.backup_url, "INSERT INTO shipped(v) VALUES ('x')", check=False)
    assert w.returncode != 0 and "read-only" in w.stderr


@needs_pg
def test_status_json(ship):
    p = ship.ctl("status", json_out=True)
    st = p.json
    assert p.returncode in (0, 9)
    assert st["share"] == ship.share and st["copy_destination"] == ship.dest
    for k in ("last_file", "time", "latency_s", "threshold_s", "alert"):
        assert k in st["backup"]
    assert st["backup"]["threshold_s"] == 300 and st["restore"]["threshold_s"] == 900
    assert st["backup"]["last_file"] and st["backup"]["alert"] is False
    assert st["copy"]["last_file"] and st["copy"]["corrupt"] == []
    assert st["restore"]["last_file"] and st["restore"]["waiting_for"]
    assert st["restore"]["paused"] is False
    assert st["first_missing"] is None and st["alert"] is False
    assert p.returncode == 0


@needs_pg
def test_remove_secondary_stops_the_daemon_and_pauses_restore(ship):
    ship.daemon = subprocess.Popen(as_pg([PCHATCTL, "logship", "copy", "--watch", "--interval",
                                          "1", "--topology", ship.topology]),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pidfile = os.path.join(ship.dest, ".copy.pid")
    wait_for(lambda: os.path.exists(pidfile), timeout=10, what="the copy daemon's pid file")
    # the daemon copies a new segment by itself
    name = ship.switch("four")
    ship.on_share(name)
    wait_for(lambda: os.path.exists(os.path.join(ship.dest, name + ".sha256")), timeout=10,
             what="the daemon's copy")
    p = ship.ctl("remove-secondary")
    assert p.returncode == 0, p.stderr
    assert "copy daemon: stopped" in p.stdout and "paused now" in p.stdout
    assert ship.daemon.wait(timeout=10) == 0
    assert not os.path.exists(pidfile)
    assert os.path.exists(os.path.join(ship.dest, ".paused"))
    p = ship.ctl("remove-secondary")
    assert p.returncode == 0 and "was not running" in p.stdout and "already paused" in p.stdout
    # paused: restore-file hands over nothing, the plain copy job does nothing
    target = os.path.join(ship.backup_dir, "probe")
    p = ship.ctl("restore-file", name, target)
    assert p.returncode == 1 and not os.path.exists(target)
    after = ship.switch("five")
    ship.on_share(after)
    p = ship.ctl("copy")
    assert p.returncode == 0 and "paused" in p.stdout
    assert not os.path.exists(os.path.join(ship.dest, after))
    # runbook steps 2 and 3
    p = ship.ctl("copy", "--all")
    assert p.returncode == 0 and os.path.exists(os.path.join(ship.dest, after))
    p = ship.ctl("restore", "--all", "--timeout", "60")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "resumed" in p.stdout and not os.path.exists(os.path.join(ship.dest, ".paused"))
    assert "five" in psql(ship.backup_url, "SELECT v FROM shipped").stdout.split()


@needs_pg
def test_gap_stops_restore_unless_data_loss_is_accepted(ship):
    assert ship.ctl("remove-secondary").returncode == 0
    gap = ship.switch("six")
    last = ship.switch("seven")
    ship.on_share(last)
    ship.on_share(gap)
    assert ship.ctl("copy", "--all").returncode == 0
    os.unlink(os.path.join(ship.dest, gap + ".sha256"))
    os.unlink(os.path.join(ship.dest, gap))
    st = ship.ctl("status", json_out=True)
    assert st.returncode == 9 and st.json["first_missing"] == gap
    assert st.json["gap_in"] == "copy" and st.json["alert"] is True
    p = ship.ctl("restore", "--all", "--timeout", "30")
    assert p.returncode == 9 and gap in p.stderr, p.stdout + p.stderr
    p = ship.ctl("restore", "--all", "--accept-data-loss", "--timeout", "60", json_out=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.json["first_missing"] == gap and p.json["not_applied"] >= 1
    assert p.json["last_applied"] < gap
    rows = psql(ship.backup_url, "SELECT v FROM shipped").stdout.split()
    assert "five" in rows and "six" not in rows and "seven" not in rows
    # the file found again (copied from the share): the standby goes on
    assert ship.ctl("copy", "--all").returncode == 0
    p = ship.ctl("restore", "--all", "--timeout", "60")
    assert p.returncode == 0, p.stdout + p.stderr
    wait_for(lambda: "seven" in psql(ship.backup_url, "SELECT v FROM shipped").stdout.split(),
             timeout=10, what="row seven on the backup")


@needs_pg
def test_corrupt_file_is_never_copied_nor_restored(ship):
    assert ship.ctl("remove-secondary").returncode == 0
    name = ship.switch("eight")
    ship.on_share(name)
    path = os.path.join(ship.share, name)
    good = open(path, "rb").read()
    with open(path, "r+b") as f:
        f.seek(4096)
        f.write(b"\xde\xad\xbe\xef")
    p = ship.ctl("copy", "--all")
    assert p.returncode == 9 and name in p.stdout + p.stderr
    assert not os.path.exists(os.path.join(ship.dest, name))
    assert not [n for n in os.listdir(ship.dest) if ".tmp." in n]
    st = ship.ctl("status", json_out=True)
    assert st.returncode == 9 and st.json["copy"]["corrupt"] == [name]
    assert "CORRUPT" in ship.ctl("status").stdout
    # repaired on the share: copied; then damaged in the copy destination: never restored
    with open(path, "wb") as f:
        f.write(good)
    assert ship.ctl("copy", "--all").returncode == 0
    with open(os.path.join(ship.dest, name), "r+b") as f:
        f.seek(4096)
        f.write(b"\xde\xad\xbe\xef")
    os.unlink(os.path.join(ship.dest, ".paused"))
    target = os.path.join(ship.backup_dir, "probe")
    p = ship.ctl("restore-file", name, target)
    assert p.returncode == 1 and not os.path.exists(target)
    assert "corrupt" in p.stderr


# ---- without a cluster ------------------------------------------------------

def small_topology(tmp_path, extra=""):
    share, dest = tmp_path / "share", tmp_path / "copy"
    share.mkdir()
    dest.mkdir()
    path = tmp_path / "topology.ini"
    path.write_text("\n".join([
        "[pool]", "name = ship", "[server a1]", "datacenter = dc-a",
        "[database primary]", "datacenter = dc-a", "url = postgresql://pchat@127.0.0.1:1/x",
        "[database backup]", "datacenter = dc-b", "url = postgresql://pchat@127.0.0.1:1/y",
        "[logship]", "share = %s" % share, "copy_destination = %s" % dest,
        "backup_threshold = 1m"]) + "\n" + extra)
    return str(path), str(share), str(dest)


def lctl(topology, *args):
    return subprocess.run([PCHATCTL, "logship"] + list(args) + ["--topology", topology],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("extra,line,message", [
    ("[postgresql]\nport = 5\n", 16, "unknown key 'port' in [postgresql] (bindir)"),
    ("[postgresql]\nbindir = /x\n[postgresql]\n", 17, "[postgresql] appears twice"),
])
def test_postgresql_section_of_the_topology(tmp_path, extra, line, message):
    path, _, _ = small_topology(tmp_path, extra)
    p = lctl(path, "status")
    assert p.returncode == 6, p.stderr
    assert "%s:%d: " % (path, line) in p.stderr and message in p.stderr, p.stderr


def test_file_jobs_on_fake_segments(tmp_path):
    path, share, dest = small_topology(tmp_path, "[postgresql]\nbindir = /opt/pg/bin\n")
    segs = ["0000000100000000000000FF", "000000010000000100000000", "000000010000000100000001"]
    for i, name in enumerate(segs):
        src = tmp_path / name
        with open(src, "wb") as f:
            f.write(b"%d" % i)
            f.truncate(16 << 20)  # sparse 16 MB: FF is the last segment of LOG 0
        assert lctl(path, "archive", str(src), name).returncode == 0
    os.utime(os.path.join(share, segs[0]), (1577836800, 1577836800))  # archived 2020-01-01
    p = lctl(path, "copy")
    assert p.returncode == 0 and "copied 3 file(s)" in p.stdout, p.stdout + p.stderr
    target = str(tmp_path / "RECOVERYXLOG")
    assert lctl(path, "restore-file", segs[0], target).returncode == 0
    with open(target, "rb") as f:
        assert f.read(1) == b"0"
    p = lctl(path, "restore-file", "000000010000000100000002", target)
    assert p.returncode == 1 and p.stderr == ""
    p = subprocess.run([PCHATCTL, "--json", "logship", "status", "--topology", path],
                       capture_output=True, text=True, timeout=30)
    st = json.loads(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr
    assert st["first_missing"] is None  # FF -> 1/00 with 16 MB segments
    assert st["restore"]["last_file"] == segs[0]
    assert st["restore"]["file_time"] == "2020-01-01T00:00:00.000Z"  # the recovery point
    assert st["restore"]["time"] > st["restore"]["file_time"]  # restored now
    assert st["restore"]["waiting_for"] == "000000010000000100000002"
    assert st["copy"]["last_file"] == segs[2]
    # a gap in the copy destination: status alerts (exit 9) and names it
    os.unlink(os.path.join(dest, segs[1] + ".sha256"))
    os.unlink(os.path.join(dest, segs[1]))
    p = subprocess.run([PCHATCTL, "--json", "logship", "status", "--topology", path],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 9 and json.loads(p.stdout)["first_missing"] == segs[1]
    assert "ALERT gap: %s" % segs[1] in p.stderr
    # the same as metrics, written atomically for a textfile collector
    prom = str(tmp_path / "pchat_logship.prom")
    p = lctl(path, "status", "--prometheus", prom)
    assert p.returncode == 9 and p.stdout == ""
    with open(prom) as f:
        metrics = dict(line.rsplit(" ", 1) for line in f.read().splitlines()
                       if not line.startswith("#"))
    pool = '{pool="ship"}'
    assert float(metrics["pchat_logship_gap" + pool]) == 1
    assert float(metrics["pchat_logship_alert" + pool]) == 1
    assert float(metrics["pchat_logship_restore_point_timestamp_seconds" + pool]) == 1577836800
    assert float(metrics["pchat_logship_copy_daemon_running" + pool]) == 0
    assert oct(os.stat(prom).st_mode & 0o777) == "0o644"
    p = lctl(path, "restore", "--all", "--timeout", "1")
    assert p.returncode == 9 and segs[1] in p.stderr


def test_setup_uses_the_bindir_of_the_topology(tmp_path):
    path, _, _ = small_topology(tmp_path, "[postgresql]\nbindir = /nonexistent/bin\n")
    p = lctl(path, "setup")
    assert p.returncode == 5 and "/nonexistent/bin/psql" in p.stderr, p.stderr
