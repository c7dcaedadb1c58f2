"""Operating pchatd: first start, reload on SIGHUP, a store that fails.

- The first start on an empty data directory creates the administrator
  account with its password in DATA_DIR/admin.password (0600), and that
  password logs in.
- SIGHUP reloads the configuration (MOTD) and the TLS certificate without
  dropping connections: an existing client keeps talking, a new TLS client
  sees the new certificate.
- SIGUSR1 logs one line on memory: RSS, anonymous memory, the database
  page caches (SQLite's, filled by the messages just written), connections
  and clients, and the group commits with the write jobs they held; the
  server goes on.
- When the database cannot store a message (its file system is full), the
  sender gets FAIL ... MESSAGE_NOT_STORED, nobody sees the message, and the
  server keeps serving; once space is back, messages flow again.
"""
import hashlib
import os
import re
import shutil
import signal
import ssl
import stat
import subprocess
import time

import pytest

from conftest import DB_BACKEND, Server, requires_sqlite


def _cert_fingerprint(port):
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def test_first_start_creates_admin_with_private_password_file(make_server):
    s = make_server()
    path = os.path.join(s.data_dir, "admin.password")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600, oct(mode)
    assert stat.S_IMODE(os.stat(s.data_dir).st_mode) == 0o700
    password = open(path).read().strip()
    assert len(password) >= 16
    assert path in s.log_text()
    assert password not in s.log_text()
    c = s.connect()
    c.register("admin", password)
    c.send("WHOIS admin")
    c.expect(lambda m: m.command == "313")  # administrators are shown as operators


def _two_in_a_room(make_server):
    """A server, a room, and two clients in it (the first with echo-message)."""
    s = make_server(n_users=2, n_rooms=1)
    room = s.add_room()
    a = s.client(caps=("echo-message",))
    b = s.client()
    a.join(room)
    b.join(room)
    return s, room, a, b


def test_sighup_reloads_motd_and_certificate_without_dropping(make_server, tmp_path):
    s, room, a, b = _two_in_a_room(make_server)
    before = _cert_fingerprint(s.tls_port)

    # New MOTD through the configuration file, new certificate files.
    motd = tmp_path / "motd.txt"
    motd.write_text("reloaded motd line\n")
    with open(s.config, "a") as f:
        f.write("\n[server]\nmotd_file = %s\n" % motd)
    tls_dir = os.path.join(s.data_dir, "tls")
    shutil.rmtree(tls_dir)  # missing files: a new pair is generated on reload
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while _cert_fingerprint(s.tls_port) == before:
        assert time.monotonic() < deadline, s.log_text()[-2000:]
        time.sleep(0.1)

    # The existing connections were kept and still talk.
    a.send("PRIVMSG %s :after reload" % room)
    b.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "after reload")
    a.send("MOTD")
    a.expect(lambda m: m.command == "372" and "reloaded motd line" in m.params[-1])
    assert s.alive()


def test_sighup_with_a_broken_file_keeps_the_configuration(make_server):
    s = make_server(n_users=1)
    c = s.client()
    with open(s.config, "a") as f:
        f.write("\n[server]\nno_such_key = 1\n")
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "keeping the configuration" not in s.log_text():
        assert time.monotonic() < deadline, s.log_text()[-2000:]
        time.sleep(0.05)
    assert "no_such_key" in s.log_text()
    assert c.ping()
    assert s.alive()


def test_sigusr1_logs_where_the_memory_is(make_server):
    s, room, a, b = _two_in_a_room(make_server)
    for i in range(50):
        a.send("PRIVMSG %s :memory report %d" % (room, i))
    b.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "memory report 49")
    s.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while "memory: RSS" not in s.log_text():
        assert time.monotonic() < deadline, s.log_text()[-2000:]
        time.sleep(0.05)
    line = [l for l in s.log_text().splitlines() if "memory: RSS" in l][-1]
    m = re.search(r"RSS ([0-9.]+) MiB, anonymous ([0-9.]+) MiB, "
                  r"database page caches ([0-9.]+) MiB; (\d+) connections, (\d+) clients; "
                  r"(\d+) group commits of (\d+) write jobs, (\d+) upkeep steps", line)
    assert m, line
    rss, anon, caches = (float(m.group(i)) for i in (1, 2, 3))
    assert 0 < anon < rss, line
    if DB_BACKEND == "sqlite":
        assert 0 < caches < anon, line  # the writer's and readers' page caches
    assert int(m.group(4)) >= 2 and int(m.group(5)) >= 2, line
    # the 50 messages went through the writer thread, several to a commit or one each
    commits, jobs, steps = int(m.group(6)), int(m.group(7)), int(m.group(8))
    assert jobs >= 50 and 1 <= commits <= jobs, line
    # SQLite indexes for search in upkeep steps (the accounts' and joins' commits
    # came well over 25 ms earlier); PostgreSQL indexes in the insert itself
    assert steps >= 1 if DB_BACKEND == "sqlite" else steps == 0, line
    assert a.ping() and s.alive()


@pytest.fixture
def small_fs(tmp_path):
    """A 4 MiB tmpfs (we are root in tests), unmounted at the end."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + r.stderr.strip())
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@requires_sqlite  # fills the file system under the SQLite file (PostgreSQL: test_pg_outage.py)
def test_store_failure_fails_the_message_and_nothing_is_delivered(tmp_path, small_fs, request):
    (tmp_path / "srv").mkdir()
    s = Server(tmp_path / "srv", limits={"flood_rate": 0, "sendq": 4194304})
    s.data_dir = str(small_fs / "data")
    with open(s.config) as f:
        text = f.read().replace("data_dir = " + str(tmp_path / "srv" / "data"),
                                "data_dir = " + s.data_dir)
    with open(s.config, "w") as f:
        f.write(text)
    s.prefill(2, 1)
    s.start()
    try:
        room = s.add_room()
        a = s.client(caps=("echo-message",))
        b = s.client()
        a.join(room)
        b.join(room)
        a.send("PRIVMSG %s :fits" % room)
        b.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "fits")

        # Fill the file system, then send.
        filler = small_fs / "filler"
        with open(filler, "wb", buffering=0) as f:  # unbuffered: close has nothing left to write
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        big = "x" * 400
        failed = None
        for i in range(200):
            a.send("PRIVMSG %s :%d %s" % (room, i, big))
            m = a.expect(lambda m: m.command in ("PRIVMSG", "FAIL"), timeout=10)
            if m.command == "FAIL":
                failed = (i, m)
                break
        assert failed, "the store never failed on a full file system"
        i, m = failed
        assert m.params[:2] == ["PRIVMSG", "MESSAGE_NOT_STORED"], m
        # The failed message reached nobody.
        seen = b.drain(0.5)
        assert not any(x.command == "PRIVMSG" and x.params[-1].startswith("%d " % i)
                       for x in seen), seen
        assert a.ping() and b.ping()

        # Space comes back: messages flow again, nothing committed was lost.
        os.unlink(filler)
        a.send("PRIVMSG %s :after space is back" % room)
        b.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "after space is back",
                 timeout=10)
        texts = [h["text"] for h in s.history(room)]
        assert "fits" in texts and "after space is back" in texts
        assert not any(t.startswith("%d " % i) for t in texts)
    finally:
        rc = s.stop()
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(s.log_text()[-4000:])
        assert rc in (0, None)
