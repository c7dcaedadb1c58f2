"""The fence (issue 6, docs/architecture.md): once the pool's state moved to the
backup database, no pchat server writes into the old primary again.

Two databases of the session cluster stand for the two data centers' (the
failover itself — promotion, log shipping — has tests of its own); the
"failover" here is `pchatctl pool state failed-over`, which writes the new
generation into the backup. PostgreSQL only.
"""
import subprocess
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
