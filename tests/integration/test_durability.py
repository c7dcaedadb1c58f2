"""Durability: what a client saw (echoed or delivered) survives kill -9.

Four clients with echo-message send bursts into one room as fast as they
can; once some echoes have arrived pchatd is killed with SIGKILL, then
restarted on the same data directory. Every message any client received or
saw echoed (msgid and text) must be in the history read with pchatctl.
Three rounds on the same data directory."""

import select
import time

N_CLIENTS = 4
BURST = 40
KILL_AFTER = 300  # distinct messages seen before the kill


def _round(s, room, users, rnd):
    clients = []
    for name, pw in users:
        c = s.connect(name=name)
        c.register(name, pw, caps=("echo-message", "message-tags", "server-time"))
        c.join(room)
        clients.append(c)
    for c in clients:
        c.drain(0.05)  # history replay and joins
    seen = {}  # msgid -> text
    counters = [0] * len(clients)
    deadline = time.monotonic() + 30
    n_seen = 0

    def take(c):
        nonlocal n_seen
        c._take_lines()
        while c.pending:
            m = c.pending.pop(0)
            if m.command == "PRIVMSG" and m.params[0] == room and m.last.startswith("r%d " % rnd):
                mid = m.tags.get("msgid")
                assert mid, m.raw
                assert seen.get(mid, m.last) == m.last, (mid, seen[mid], m.last)
                seen[mid] = m.last
                n_seen += 1

    while len(seen) < KILL_AFTER and time.monotonic() < deadline:
        for i, c in enumerate(clients):
            burst = []
            for _ in range(BURST):
                burst.append("PRIVMSG %s :r%d c%d n%d" % (room, rnd, i, counters[i]))
                counters[i] += 1
            c.send_raw(("\r\n".join(burst) + "\r\n").encode())
        r, _, _ = select.select([c.sock for c in clients], [], [], 0.5)
        for c in clients:
            if c.sock in r:
                try:
                    c._fill(time.monotonic() + 0.01)
                except Exception:
                    pass
                take(c)
    assert len(seen) >= KILL_AFTER, "only %d messages seen before the deadline" % len(seen)
    s.kill9_keep_clients()
    # whatever reached the clients' sockets before the kill counts as seen
    for c in clients:
        while True:
            try:
                if not c._fill(time.monotonic() + 1.0):
                    break
            except Exception:
                break
        take(c)
        c.close()
    return seen, sum(counters)


def test_messages_seen_survive_kill9(make_server):
    s = make_server(limits={"flood_rate": 0, "sendq": 8 * 1024 * 1024}, n_users=N_CLIENTS,
                    n_rooms=1)
    room = s.add_room()
    users = [s.add_user() for _ in range(N_CLIENTS)]
    total_seen = 0
    for rnd in range(3):
        if rnd:
            s.start()
        seen, sent = _round(s, room, users, rnd)
        total_seen += len(seen)
        # restart on the same data directory, then read the history
        s.start()
        hist = s.history(room)
        stored = {h["msgid"]: h for h in hist}
        assert len(stored) == len(hist), "duplicate msgids in history"
        missing = [(mid, t) for mid, t in seen.items() if mid not in stored]
        assert not missing, "round %d: %d of %d seen messages lost, e.g. %r" % (
            rnd, len(missing), len(seen), missing[:5])
        wrong = [(mid, t, stored[mid]["text"]) for mid, t in seen.items()
                 if stored[mid]["text"] != t]
        assert not wrong, wrong[:5]
        assert all(stored[mid]["sender"] == users[int(t.split()[1][1:])][0]
                   for mid, t in seen.items())
        print("round %d: sent %d, seen %d, stored %d" % (rnd, sent, len(seen), len(hist)))
        s.stop()
    assert total_seen >= 3 * KILL_AFTER
