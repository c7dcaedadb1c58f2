"""PostgreSQL outages (issue 5): the database restarts, or is killed, in the
middle of traffic. Clients stay connected; a message that could not be
stored gets FAIL MESSAGE_NOT_STORED and reaches no one; pchatd reconnects by
itself and goes on; nothing that was acknowledged is lost.

Runs in the PostgreSQL pass of make check (PCHAT_TEST_DB=postgresql), on a
cluster of its own so that the outage touches no other test.
"""
import subprocess
import time

import pytest

from conftest import DB_BACKEND, PGTMP, PgCluster

pytestmark = pytest.mark.skipif(DB_BACKEND != "postgresql",
                                reason="PostgreSQL outages (PCHAT_TEST_DB=postgresql)")


@pytest.fixture
def own_cluster():
    c = PgCluster()
    yield c
    c.stop()


def pg(cluster, action):
    subprocess.run([PGTMP, action, cluster.dir], check=True, timeout=120)


@pytest.mark.parametrize("how", ["restart", "kill"])
def test_database_outage_fails_messages_then_recovers(make_server, own_cluster, how):
    url = own_cluster.new_database()
    s = make_server(start=False, limits={"flood_rate": 0}, extra="[database]\nurl = %s" % url)
    # The extra [database] section comes after the conftest one: point both at our cluster.
    with open(s.config) as f:
        text = f.read()
    if s.db_url:
        text = text.replace("url = " + s.db_url + "\n", "", 1)
    with open(s.config, "w") as f:
        f.write(text)
    s.start()
    room = s.add_room(live=True)
    alice = s.client(caps=("echo-message", "message-tags"))
    bob = s.client(caps=("message-tags",))
    alice.join(room)
    bob.join(room)
    acked, failed = set(), 0
    for i in range(20):
        alice.send("PRIVMSG %s :before %d" % (room, i))
        m = alice.expect(lambda m: m.command == "PRIVMSG")
        acked.add(m.tags["msgid"])
    if how == "kill":
        pg(own_cluster, "kill")
    else:
        subprocess.Popen([PGTMP, "restart", own_cluster.dir])  # while we keep sending
    deadline = time.monotonic() + 30
    recovered = False
    i = 0
    while time.monotonic() < deadline:
        alice.send("PRIVMSG %s :during %d" % (room, i))
        m = alice.expect(lambda m: (m.command == "PRIVMSG" and m.nick == alice.nick) or
                         m.command == "FAIL", timeout=15)
        if m.command == "FAIL":
            assert m.params[:2] == ["PRIVMSG", "MESSAGE_NOT_STORED"], m
            failed += 1
            if how == "kill" and failed == 3:
                pg(own_cluster, "restart")  # the database comes back
        else:
            acked.add(m.tags["msgid"])
            if failed:
                recovered = True
                break
        i += 1
        time.sleep(0.05)
    assert failed > 0, "no message failed while the database was down"
    assert recovered, "pchatd did not recover after the database came back:\n" + s.log_text()[-3000:]
    alice.ping()
    bob.ping()  # both still connected
    seen = {m.tags.get("msgid") for m in bob.drain(0.5) if m.command == "PRIVMSG"}
    stored = {h["msgid"] for h in s.history(room)}
    assert acked <= stored, "acknowledged but lost: %r" % sorted(acked - stored)[:5]
    assert seen <= stored, "delivered but not stored: %r" % sorted(seen - stored)[:5]
    assert "lost connection" in s.log_text() and "reconnected" in s.log_text()


def test_multi_host_conninfo_finds_the_writable_server(make_server, own_cluster):
    """A libpq multi-host URL with target_session_attrs=read-write: the first
    host is down, pchatd uses the next one that accepts writes."""
    url = own_cluster.new_database()
    host_port, db = url.split("@", 1)[1].split("/", 1)
    multi = "postgresql://pchat@127.0.0.1:1,%s/%s?target_session_attrs=read-write" % (host_port, db)
    s = make_server(start=False)
    with open(s.config) as f:
        text = f.read()
    if s.db_url:
        text = text.replace("url = " + s.db_url + "\n", "url = " + multi + "\n", 1)
    else:
        text += "\n[database]\nurl = %s\n" % multi
    with open(s.config, "w") as f:
        f.write(text)
    s.start()
    room = s.add_room(live=True)
    c = s.client(caps=("echo-message", "message-tags"))
    c.join(room)
    c.send("PRIVMSG %s :through the second host" % room)
    mid = c.expect(lambda m: m.command == "PRIVMSG").tags["msgid"]
    assert mid in {h["msgid"] for h in s.history(room)}
