"""The fence (issue 6, docs/architecture.md): once the pool's state moved to the
backup database, no pchat server writes into the old primary again.

Two databases of the session cluster stand for the two data centers' (the
failover itself — promotion, log shipping — has tests of its own); the
"failover" here is `pchatctl pool state failed-over`, which writes the new
generation into the backup. PostgreSQL only.
"""
import calendar
import socket
import subprocess
import threading
import time

import pytest

from conftest import (DB_BACKEND, PCHATCTL, guest_registers, make_pool_server, pg_cluster,
                      unique_name, wait_for, write_topology)

pytestmark = pytest.mark.skipif(DB_BACKEND != "postgresql",
                                reason="the fence is PostgreSQL's (PCHAT_TEST_DB=postgresql)")

GUESTS = {"allow_guests": "yes"}
UNREACHABLE = "postgresql://pchat@127.0.0.1:1/nowhere"


def psql(url, sql):
    p = subprocess.run(["psql", "-qtA", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def pool(topology, *args):
    p = subprocess.run([PCHATCTL, "pool"] + list(args) + ["--topology", topology],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def dr_topology(tmp_path, backup):
    """The topology as seen from data center B when A is lost."""
    return write_topology(str(tmp_path / "dr.ini"), [("a1", "dc-a"), ("b1", "dc-b")],
                          UNREACHABLE, backup)


def test_a_failed_over_pool_fences_the_old_primary_and_servers_move(make_server, tmp_path):
    primary, backup = pg_cluster().new_database(), pg_cluster().new_database()
    topo = write_topology(str(tmp_path / "topology.ini"), [("a1", "dc-a"), ("b1", "dc-b")],
                          primary, backup)
    a1 = make_pool_server(make_server, topo, "a1", auth=GUESTS, unconfirmed=None)
    b1 = make_pool_server(make_server, topo, "b1", auth=GUESTS, unconfirmed=None)
    assert guest_registers(a1) == "001"  # both databases readable: confirmed
    pid = a1.proc.pid
    guest = a1.connect(name="before")
    guest.send("NICK " + unique_name("g"))
    guest.send("USER g 0 * :g")
    guest.expect(lambda m: m.command == "001")
    # the failover's state step, run in data center B while A is cut off: generation + 1,
    # failed-over, written into the backup only
    pool(dr_topology(tmp_path, backup), "state", "failed-over")
    # the watch of each server fences the old primary and restarts onto the backup
    m = guest.expect(lambda m: m.command == "ERROR", timeout=10)
    assert "restarting onto the backup database" in m.last, m.last
    rc, out, _ = psql(primary, "SELECT fenced, fenced_generation FROM pool_state")
    assert out.startswith("t|"), out
    rc, out, _ = psql(primary, "SHOW default_transaction_read_only")
    assert out == "on"
    rc, _, err = psql(primary, "INSERT INTO changes VALUES (999999, 'x', 'x', 0)")
    assert rc != 0 and "read-only" in err
    wait_for(lambda: "using the backup database" in a1.log_text(), timeout=15,
             what="a1 restarted onto the backup")
    assert a1.proc.pid == pid and a1.proc.poll() is None  # the same process, exec'd again
    wait_for(lambda: "using the backup database" in b1.log_text(), timeout=15,
             what="b1 restarted onto the backup")
    # both beat into the backup now, and serve (the active list is empty: every server)
    def beating():
        sql = ("SELECT string_agg(name || ':' || database, ',' ORDER BY name) FROM servers WHERE"
               " seen_ms > (extract(epoch from now()) * 1000)::bigint - 3000")
        return psql(backup, sql)[1] == "a1:backup,b1:backup"
    wait_for(beating, timeout=10, what="a1 and b1 beating into the backup")
    pool(dr_topology(tmp_path, backup), "active", "set", "b1")  # the runbook's last step
    wait_for(lambda: guest_registers(b1) == "001", timeout=10, what="b1 serving")
    assert guest_registers(a1) != "001"  # not active: a1 is in data center A


def test_an_old_configuration_never_writes_into_the_fenced_primary(make_server, tmp_path):
    primary, backup = pg_cluster().new_database(), pg_cluster().new_database()
    topo = write_topology(str(tmp_path / "topology.ini"), [("a1", "dc-a"), ("b1", "dc-b")],
                          primary, backup)
    pool(dr_topology(tmp_path, backup), "state", "failed-over")
    pool(topo, "status")  # pchatctl fences too, as soon as it reads both
    _, out, _ = psql(primary, "SELECT fenced FROM pool_state")
    assert out == "t"
    # data center A comes back with its old topology: only the old primary reachable
    old = write_topology(str(tmp_path / "old.ini"), [("a1", "dc-a"), ("b1", "dc-b")],
                         primary, UNREACHABLE)
    before = psql(primary, "SELECT count(*) FROM servers")[1]
    for unconfirmed in ("serve", None):
        a1 = make_pool_server(make_server, old, "a1", auth=GUESTS, unconfirmed=unconfirmed,
                              start=False)
        with pytest.raises(RuntimeError) as e:
            a1.start()
        assert "primary database of pool chat was fenced by generation 1" in str(e.value)
        assert "not starting" in str(e.value)
    # nothing landed there
    assert psql(primary, "SELECT count(*) FROM servers")[1] == before
    rc, _, err = psql(primary, "INSERT INTO changes VALUES (999999, 'x', 'x', 0)")
    assert rc != 0 and "read-only" in err


def test_fail_closed_start_waits_for_the_backup(make_server, tmp_path):
    primary = pg_cluster().new_database()
    topo = write_topology(str(tmp_path / "topology.ini"), [("a1", "dc-a")], primary,
                          UNREACHABLE)
    a1 = make_pool_server(make_server, topo, "a1", auth=GUESTS, unconfirmed=None)
    answer = guest_registers(a1)
    assert "cannot be confirmed" in answer and "unreachable" in answer, answer
    a2 = make_pool_server(make_server, topo, "a1", auth=GUESTS, unconfirmed="serve")
    assert guest_registers(a2) == "001"


class Partition:
    """A TCP proxy in front of a database that can be cut as a partition cuts a data
    center: its sessions die (reset) and new connections are never answered — the proxy
    stops accepting and its full accept queue makes the kernel drop their SYNs, so a
    client waits its whole connect timeout instead of being refused."""

    BACKLOG = 8

    def __init__(self, url):
        head, tail = url.split("@127.0.0.1:", 1)
        self.target = int(tail.split("/", 1)[0])
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(self.BACKLOG)
        self.url = "%s@127.0.0.1:%d/%s" % (head, self.sock.getsockname()[1],
                                           tail.split("/", 1)[1])
        self.cut_now = threading.Event()
        self.open, self.fillers = [], []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            c, _ = self.sock.accept()
            if self.cut_now.is_set():
                c.close()
                return
            up = socket.create_connection(("127.0.0.1", self.target))
            self.open += [c, up]
            for a, b in ((c, up), (up, c)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.cut_now.set()
        self.fillers.append(socket.create_connection(self.sock.getsockname()))  # wakes accept
        for s in self.open:  # reset, as a killed server's sessions are
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            s.close()
        for _ in range(self.BACKLOG + 2):  # fill the accept queue: SYNs dropped from now on
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(self.sock.getsockname())
            self.fillers.append(f)
        time.sleep(0.2)

    def close(self):
        for s in self.fillers + [self.sock]:
            s.close()


def timed_pool(topology, *args):
    t = time.monotonic()
    out = pool(topology, *args)
    return out, time.monotonic() - t


def test_a_partitioned_primary_costs_about_a_second_not_a_connect_timeout(make_server,
                                                                          tmp_path):
    """Data center A cut off (its packets dropped, not refused): libpq would wait its
    connect_timeout (5 s) at every attempt. The failover's pool state steps and b1's move
    onto the backup each wait about POOL_PEER_WAIT_MS (1 s) for A instead."""
    primary, backup = pg_cluster().new_database(), pg_cluster().new_database()
    a = Partition(primary)
    try:
        topo = write_topology(str(tmp_path / "topology.ini"), [("a1", "dc-a"), ("b1", "dc-b")],
                              a.url, backup)
        b1 = make_pool_server(make_server, topo, "b1", auth=GUESTS)
        wait_for(lambda: " ready (data in " in b1.log_text(), what="b1 ready")
        assert "using the primary database" in b1.log_text()
        a.cut()
        t_cut = time.time()
        out, took = timed_pool(topo, "state", "failed-over")
        assert "written to the backup database)" in out, out  # not into the cut-off primary
        assert took < 4, took  # libpq alone waits 5 s
        out, took = timed_pool(topo, "active", "set", "b1")
        assert took < 4, took
        assert "no answer within 1.0 s" in pool(topo, "status")
        # b1's watch does not wait for the primary, its restart leaves the store threads
        # stuck connecting to it, and its start reads only the backup
        wait_for(lambda: "using the backup database" in b1.log_text(), timeout=15,
                 what="b1 restarted onto the backup")
        line = next(l for l in b1.log_text().splitlines() if "using the backup database" in l)
        moved = calendar.timegm(time.strptime(line[:19], "%Y-%m-%dT%H:%M:%S")) + \
            float(line[19:23]) - t_cut
        assert moved < 5, moved  # ~15 s when every attempt waited 5 s
        assert guest_registers(b1) == "001"
    finally:
        a.close()
