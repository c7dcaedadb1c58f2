"""The pool's state and active servers (issue 5, SPEC §6): several pchatd
over one PostgreSQL database described by one topology file.

`pchatctl pool status` sees every server; `pool active ...` makes servers
idle or active within 2 seconds without a restart (an idle server refuses
new clients, its connected clients stay); a server started later obeys the
current list; the data-center rule and --low-latency-link; swap; `pool
state failed-over` refused while the backup database is unreachable; bad
topology files are refused naming the line.

The pool tests run in the PostgreSQL pass (PCHAT_TEST_DB=postgresql), like
test_pg_outage.py; the topology-file tests run in every pass.
"""
import os
import subprocess
import time

import pytest

from conftest import (DB_BACKEND, PCHATCTL, guest_registers, make_pool_server, pg_cluster,
                      write_topology)

needs_pg = pytest.mark.skipif(DB_BACKEND != "postgresql",
                              reason="a pool shares PostgreSQL (PCHAT_TEST_DB=postgresql)")

UNREACHABLE = "postgresql://pchat@127.0.0.1:1/none"  # nothing listens on port 1
IDLE = "this server is idle in pool chat (not an active server)"


@pytest.fixture
def topology(tmp_path):
    """A topology over a fresh database: a1, a2 in dc-a (the primary's), b1 in dc-b."""
    return write_topology(str(tmp_path / "topology.ini"),
                          [("a1", "dc-a"), ("a2", "dc-a"), ("b1", "dc-b")],
                          pg_cluster().new_database(), UNREACHABLE)


def ctl(topology, *args, check=True):
    p = subprocess.run([PCHATCTL, "pool"] + list(args) + ["--topology", topology],
                       capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("pool %s -> %d\n%s%s" % (args, p.returncode, p.stdout, p.stderr))
    return p


def status(topology):
    import json
    p = subprocess.run([PCHATCTL, "--json", "pool", "status", "--topology", topology],
                       capture_output=True, text=True, timeout=60, check=True)
    st = json.loads(p.stdout)
    return st, {s["name"]: s for s in st["servers"]}


def wait_for(pred, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def refused(server, timeout=3.0):
    """A new connection's NICK/USER gets ERROR :Closing link: <idle reason>."""
    return "Closing link: " + IDLE in guest_registers(server, timeout)


def accepted(server, timeout=3.0):
    """A new connection is not refused as idle (guests allowed: it registers)."""
    return guest_registers(server, timeout) == "001"


GUESTS = {"allow_guests": "yes"}


@needs_pg
def test_status_shows_every_server(make_server, topology):
    a1 = make_pool_server(make_server, topology, "a1", auth=GUESTS)
    b1 = make_pool_server(make_server, topology, "b1", auth=GUESTS)
    assert wait_for(lambda: all(status(topology)[1][n]["reachable"] for n in ("a1", "b1")))
    st, srv = status(topology)
    assert st["generation"] == 0 and st["state"] == "normal" and st["database"] == "primary"
    assert srv["a1"]["active"] and srv["b1"]["active"]  # a new pool: every server
    assert not srv["a2"]["reachable"]  # in the topology, never started
    assert srv["a1"]["database"] == "primary"
    assert st["databases"]["backup"]["reachable"] is False
    assert accepted(a1) and accepted(b1)
    text = ctl(topology, "status").stdout
    assert "a1" in text and "b1" in text and "reachable" in text


@needs_pg
def test_idle_server_refuses_new_clients_keeps_old(make_server, topology):
    a1 = make_pool_server(make_server, topology, "a1", auth=GUESTS)
    b1 = make_pool_server(make_server, topology, "b1", auth=GUESTS)
    name, password = b1.add_user()
    room = b1.add_room()
    old = b1.client(name, password=password, caps=("echo-message",))
    old.send("JOIN " + room)
    old.expect("366")

    out = ctl(topology, "active", "set", "a1").stdout
    assert "generation 0 -> 1" in out
    t0 = time.monotonic()
    assert wait_for(lambda: refused(b1, timeout=1.0), timeout=4.0)
    assert time.monotonic() - t0 < 3.0  # within 2 s (plus the probe itself)
    assert accepted(a1)
    # the client b1 had stays and can still talk
    old.send("PRIVMSG %s :still here" % room)
    m = old.expect("PRIVMSG")
    assert m.last == "still here"
    assert wait_for(lambda: not status(topology)[1]["b1"]["active"])
    st, srv = status(topology)
    assert st["active"] == "a1" and st["generation"] == 1
    assert srv["b1"]["reachable"] and srv["b1"]["generation"] == 1
    assert "is idle in pool chat" in b1.log_text()

    ctl(topology, "active", "add", "b1", "--low-latency-link")
    assert wait_for(lambda: accepted(b1, timeout=1.0), timeout=4.0)


@needs_pg
def test_server_started_later_obeys_current_list(make_server, topology):
    ctl(topology, "active", "set", "a1")
    a2 = make_pool_server(make_server, topology, "a2", auth=GUESTS)
    assert refused(a2)  # from its first connection on
    ctl(topology, "active", "add", "a2")
    assert wait_for(lambda: accepted(a2, timeout=1.0), timeout=4.0)


@needs_pg
def test_datacenter_rule_and_low_latency_link(topology):
    p = ctl(topology, "active", "set", "b1", check=False)
    assert p.returncode == 4
    assert "b1 is in data center dc-b" in p.stderr and "--low-latency-link" in p.stderr
    assert status(topology)[0]["generation"] == 0  # nothing written
    ctl(topology, "active", "set", "b1", "--low-latency-link")
    assert status(topology)[0]["active"] == "b1"
    p = ctl(topology, "active", "add", "zz", check=False)
    assert p.returncode == 2 and "zz is not a server of pool chat" in p.stderr


@needs_pg
def test_swap_remove_clear(topology):
    ctl(topology, "active", "set", "a1")
    p = ctl(topology, "active", "swap", check=False)
    assert p.returncode == 4  # b1 would become active outside dc-a
    ctl(topology, "active", "swap", "--low-latency-link")
    assert status(topology)[0]["active"] == "a2,b1"
    ctl(topology, "active", "remove", "b1")
    assert status(topology)[0]["active"] == "a2"
    ctl(topology, "active", "clear")
    st = status(topology)[0]
    assert st["active"] == "" and st["generation"] == 4


@needs_pg
def test_failed_over_refused_while_backup_unreachable(topology):
    p = ctl(topology, "state", "failed-over", check=False)
    assert p.returncode == 5
    assert "backup database is unreachable" in p.stderr
    st = status(topology)[0]
    assert st["state"] == "normal" and st["generation"] == 0
    p = ctl(topology, "state", "normal")
    assert "already normal" in p.stdout


@needs_pg
def test_pchatd_refuses_database_url_with_topology(make_server, topology):
    s = make_pool_server(make_server, topology, "a1", start=False)
    with open(s.config, "a") as f:
        f.write("\n[database]\nurl = postgresql://x/y\n")
    with pytest.raises(RuntimeError) as e:
        s.start(timeout=5)
    assert "[database] url and [pool] topology are both set" in str(e.value)


BAD = [
    ("[pool]\nname = chat\n[server a1]\ndatacenter = dc-a\ncolour = blue\n", 5,
     "unknown key 'colour' in [server a1]"),
    ("[pool]\nname = chat\n[servers]\n", 3, "unknown section [servers]"),
    ("[pool]\nname = chat\n[server a 1]\ndatacenter = dc-a\n", 3, "[server a 1]: a server name"),
    ("[pool]\nname = chat\n[server a1]\ndatacenter = dc-a\n[server a1]\n", 5,
     "server listed twice (first on line 3)"),
    ("[pool]\nname = chat\n[server a1]\ndatacenter = dc-c\n"
     "[database primary]\ndatacenter = dc-a\nurl = x\n[database backup]\ndatacenter = dc-b\n"
     "url = y\n", 3, "data center dc-c has no database"),
    ("[pool]\nname = chat\n[server a1]\ndatacenter = dc-a\n"
     "[database primary]\ndatacenter = dc-a\nurl = x\n[database backup]\ndatacenter = dc-a\n"
     "url = y\n", 8, "the backup must be in another data center"),
    ("[pool]\nname = chat\n[logship]\nbackup_interval = soon\n", 4,
     "[logship] backup_interval: expected a duration"),
    ("[pool]\nname = chat\nno equals sign\n", 3, "syntax error"),
]


@pytest.mark.parametrize("text,line,message", BAD)
def test_bad_topology_names_the_line(tmp_path, text, line, message):
    path = str(tmp_path / "bad.ini")
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([PCHATCTL, "pool", "status", "--topology", path], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 6, p.stderr
    assert "%s:%d: " % (path, line) in p.stderr, p.stderr
    assert message in p.stderr, p.stderr


def test_topology_without_servers(tmp_path):
    path = str(tmp_path / "t.ini")
    with open(path, "w") as f:
        f.write("[pool]\nname = chat\n")
    p = subprocess.run([PCHATCTL, "pool", "status", "--topology", path], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 6 and "a pool has at least one server" in p.stderr
    assert not os.path.exists(str(tmp_path / "pchat-data"))
