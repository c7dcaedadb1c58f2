"""A pool (issue 5): several pchatd over one PostgreSQL database are one chat
network. Messages sent through one server reach members connected to the
others (LISTEN/NOTIFY, at commit); NAMES, WHO, WHOIS, away and presence agree
across servers; an account connected to two servers gets its messages on
both; when a server dies the others drop its users within seconds.

PostgreSQL only (PCHAT_TEST_DB=postgresql).
"""
import subprocess
import time

import pytest

from conftest import DB_BACKEND, make_pool_server, pg_cluster, wait_for, write_topology

pytestmark = pytest.mark.skipif(DB_BACKEND != "postgresql",
                                reason="a pool needs PostgreSQL (PCHAT_TEST_DB=postgresql)")


def make_pool(make_server, tmp_path, names, db=None):
    """Servers named names (one data center), one topology, one database; started."""
    topo = write_topology(str(tmp_path / "topology.ini"), [(n, "dc-a") for n in names],
                          db or pg_cluster().new_database(),
                          "postgresql://pchat@127.0.0.1:1/nowhere", name="testpool")
    servers = [make_pool_server(make_server, topo, n, start=False) for n in names]
    servers[0].ctl("room", "list")  # one server creates the schema first
    for s in servers:
        s.start()
    return servers


def names_of(c, room):
    c.send("NAMES " + room)
    lines = c.collect(lambda m: m.command == "366")
    return {n.lstrip("@+") for m in lines if m.command == "353" for n in m.params[-1].split()}


CAPS = ("echo-message", "message-tags", "server-time", "away-notify", "extended-join")


def test_two_servers_are_one_network(make_server, tmp_path):
    a, b = make_pool(make_server, tmp_path, ("a1", "b1"))
    room = a.add_room(live=True)
    alice_pw = a.add_user("alice", "pw-alice", live=True)[1]
    b.passwords["alice"] = alice_pw
    b.add_user("bob", "pw-bob", live=True)
    time.sleep(0.6)  # both servers learn the new room through the change feed
    alice = a.client("alice", caps=CAPS)
    bob = b.client("bob", caps=CAPS)
    alice.join(room)
    bob.join(room)
    alice.expect(lambda m: m.command == "JOIN" and m.nick == "bob", what="bob's JOIN on a1")
    wait_for(lambda: names_of(bob, room) >= {"alice", "bob"}, what="alice in NAMES on b1")
    assert names_of(alice, room) >= {"alice", "bob"}
    # cross-server delivery, same msgid, after the commit
    alice.send("PRIVMSG %s :hello from a1" % room)
    echo = alice.expect(lambda m: m.command == "PRIVMSG" and m.nick == "alice")
    got = bob.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "hello from a1")
    assert got.nick == "alice" and got.tags["msgid"] == echo.tags["msgid"]
    bob.send("PRIVMSG %s :hello from b1" % room)
    alice.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "hello from b1")
    # private messages across servers
    bob.send("PRIVMSG alice :psst")
    alice.expect(lambda m: m.command == "PRIVMSG" and m.params == ["alice", "psst"])
    # WHOIS and WHO of a user connected elsewhere
    bob.send("WHOIS alice")
    lines = bob.collect(lambda m: m.command == "318")
    assert any(m.command == "311" and m.params[1] == "alice" for m in lines), lines
    bob.send("WHO " + room)
    lines = bob.collect(lambda m: m.command == "315")
    assert {m.params[5] for m in lines if m.command == "352"} >= {"alice", "bob"}, lines
    # away
    alice.send("AWAY :at lunch")
    bob.expect(lambda m: m.command == "AWAY" and m.nick == "alice" and m.params == ["at lunch"])
    # the same account on both servers: its messages reach both connections
    alice2 = b.client("alice", caps=CAPS)
    alice2.join(room)
    alice.send("PRIVMSG %s :seen twice" % room)
    alice2.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "seen twice")
    alice2.send("PRIVMSG %s :from my other connection" % room)
    alice.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "from my other connection")
    # alice leaves a1 but is still connected through b1: no QUIT for bob
    alice.close()
    bob.expect_nothing(lambda m: m.command == "QUIT", timeout=1.0)
    assert "alice" in names_of(bob, room)
    # PART through b1 applies everywhere
    bob.send("PART %s :bye" % room)
    alice2.expect(lambda m: m.command == "PART" and m.nick == "bob")
    history = a.history(room[1:])
    assert {"hello from a1", "hello from b1", "seen twice"} <= {h["text"] for h in history}


def test_a_server_started_later_learns_who_is_where(make_server, tmp_path):
    a, b = make_pool(make_server, tmp_path, ("a1", "b1"))
    b.stop()
    room = a.add_room(live=True)
    a.add_user("carol", "pw-carol", live=True)
    b.passwords["dave"] = a.add_user("dave", "pw-dave", live=True)[1]
    carol = a.client("carol", caps=CAPS)
    carol.join(room)
    b.start()
    dave = b.client("dave", caps=CAPS)
    dave.join(room)
    wait_for(lambda: "carol" in names_of(dave, room), what="carol in NAMES on the late server")
    carol.expect(lambda m: m.command == "JOIN" and m.nick == "dave")


def test_a_dead_server_s_users_leave_within_seconds(make_server, tmp_path):
    a, b, c = make_pool(make_server, tmp_path, ("a1", "b1", "c1"))
    room = a.add_room(live=True)
    users = [s.add_user("u%s" % s_name, "pw-%s" % s_name, live=True)
             for s, s_name in ((a, "a"), (b, "b"), (c, "c"))]
    for s in (a, b, c):
        s.passwords.update(dict(users))
    time.sleep(0.6)
    ca, cb, cc = (s.client(n, caps=CAPS) for s, (n, _) in zip((a, b, c), users))
    for cl in (ca, cb, cc):
        cl.join(room)
    wait_for(lambda: names_of(ca, room) >= {"ua", "ub", "uc"}, what="all three in NAMES")
    cc.send("PRIVMSG %s :three servers" % room)
    ca.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "three servers")
    cb.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "three servers")
    t0 = time.monotonic()
    c.kill9()
    ca.expect(lambda m: m.command == "QUIT" and m.nick == "uc", timeout=15)
    cb.expect(lambda m: m.command == "QUIT" and m.nick == "uc", timeout=15)
    took = time.monotonic() - t0
    assert took < 10, "took %.1f s" % took
    assert "uc" not in names_of(ca, room)


def test_an_event_too_large_for_notify_still_arrives_in_order(make_server, tmp_path):
    """A message whose announcement outgrows NOTIFY (8000 bytes) goes by reference
    (store_notify_fetch) and keeps its place among the events around it."""
    a, b = make_pool(make_server, tmp_path, ("a1", "b1"))
    room = a.add_room(live=True)
    b.passwords["fay"] = a.add_user("fay", "pw-fay", live=True)[1]
    a.passwords["gus"] = b.add_user("gus", "pw-gus", live=True)[1]
    time.sleep(0.6)
    fay = a.client("fay", caps=CAPS)
    gus = b.client("gus", caps=CAPS)
    fay.join(room)
    gus.join(room)
    wait_for(lambda: "fay" in names_of(gus, room), what="fay in NAMES on b1")
    # control characters are escaped six-fold in JSON: ~20 KB announced
    value = "\x01" * 3500
    fay.send("@+example.org/blob=%s PRIVMSG %s :before" % (value, room))
    fay.send("PRIVMSG %s :after" % room)
    first = gus.expect(lambda m: m.command == "PRIVMSG" and m.nick == "fay")
    second = gus.expect(lambda m: m.command == "PRIVMSG" and m.nick == "fay")
    assert first.params[-1] == "before" and second.params[-1] == "after"
    assert first.tags.get("+example.org/blob") == value


def sql(url, statement):
    """Run statement as the cluster's superuser on the database of url."""
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", statement], check=True,
                   capture_output=True, timeout=30)


def test_what_happened_while_a_server_was_deaf_is_swept(make_server, tmp_path):
    """a1's listener is cut off and cannot reconnect while dave quits and erin
    leaves the room on b1; when it is back, a1 asks for the pool's state and
    drops what was not confirmed (mark and sweep) within seconds."""
    db = pg_cluster().new_database()
    dbname = db.rsplit("/", 1)[1]
    admin = db.rsplit("/", 1)[0] + "/postgres"
    a, b = make_pool(make_server, tmp_path, ("a1", "b1"), db=db)
    room = a.add_room(live=True)
    b.passwords["carol"] = a.add_user("carol", "pw-carol", live=True)[1]
    for n in ("dave", "erin"):
        a.passwords[n] = b.add_user(n, "pw-" + n, live=True)[1]
    time.sleep(0.6)
    carol = a.client("carol", caps=CAPS)
    dave, erin = b.client("dave", caps=CAPS), b.client("erin", caps=CAPS)
    for c in (carol, dave, erin):
        c.join(room)
    wait_for(lambda: names_of(carol, room) >= {"carol", "dave", "erin"}, what="all in NAMES")
    sql(admin, "ALTER DATABASE %s ALLOW_CONNECTIONS false" % dbname)
    try:
        sql(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE application_name = 'pchatd a1 bus'")
        time.sleep(0.5)
        dave.send("QUIT :gone")
        erin.send("PART %s :later" % room)
        erin.expect(lambda m: m.command == "PART" and m.nick == "erin")
        time.sleep(1.0)
        assert names_of(carol, room) >= {"dave", "erin"}, "a1 heard it: not deaf"
    finally:
        sql(admin, "ALTER DATABASE %s ALLOW_CONNECTIONS true" % dbname)
    t0 = time.monotonic()
    carol.expect(lambda m: m.command == "PART" and m.nick == "erin", timeout=15)
    carol.expect(lambda m: m.command == "QUIT" and m.nick == "dave", timeout=15)
    assert time.monotonic() - t0 < 12
    assert names_of(carol, room) & {"dave", "erin"} == set()
    # still one network afterwards
    erin.join(room)
    carol.expect(lambda m: m.command == "JOIN" and m.nick == "erin")
