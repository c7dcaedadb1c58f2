"""Crash test (issue 7): 20 rounds of SIGKILL under load on the same data
directory. After each round every message whose echo (the acknowledgement:
pchatd echoes only after the durable commit) reached its sender is in the
history, and the database passes its integrity check.
"""
import time

ROUNDS = 20
SENDERS = 3


def test_twenty_sigkills_under_load_lose_nothing_acknowledged(make_server):
    s = make_server(start=False, limits={"flood_rate": 0})
    s.ctl("room", "list")
    users = [s.add_user("crash%d" % i, "pw-crash%d" % i, live=True) for i in range(SENDERS)]
    s.ctl("room", "add", "crashroom", "--privacy", "open")
    acked = set()
    for rnd in range(ROUNDS):
        s.start()
        clients = []
        for name, pw in users:
            c = s.connect(name=name)
            c.register(name, pw, caps=("echo-message", "message-tags"))
            c.join("#crashroom")
            clients.append(c)
        for i in range(40):
            for k, c in enumerate(clients):
                c.send("PRIVMSG #crashroom :r%d c%d m%d" % (rnd, k, i))
        time.sleep(0.05 + 0.01 * (rnd % 5))  # kill at varying points of the burst
        s.kill9_keep_clients()
        for k, c in enumerate(clients):
            for m in c.drain(0.1):
                if m.command == "PRIVMSG" and m.nick == users[k][0] and "msgid" in m.tags:
                    acked.add(m.tags["msgid"])
            c.close()
        s.clients = []
        check = s.ctl("db", "check", check=False)
        assert check.returncode == 0, "round %d: integrity check failed:\n%s%s" % (
            rnd, check.stdout, check.stderr)
    stored = {h["msgid"] for h in s.history("crashroom", limit=10000)}
    print("acknowledged %d, stored %d" % (len(acked), len(stored)))
    assert len(acked) >= ROUNDS, "only %d messages acknowledged in %d rounds" % (len(acked), ROUNDS)
    assert acked <= stored, "acknowledged but lost: %r" % sorted(acked - stored)[:10]
