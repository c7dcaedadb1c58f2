#!/usr/bin/env python3
"""rooms_bench.py - time history, search and login against a running pchatd.

Drives pchatd on a plain 127.0.0.1 listener as an IRC client (Python 3
standard library only) and measures, each as p50/p99/max in milliseconds:

  ping     PING to PONG on the history connection (as many as history)
  history  CHATHISTORY LATEST #ROOM * 100, from sending the request to the
           end of its "chathistory" batch (one connection, requests in turn)
  search   SEARCH text=WORD;limit=50 for a rare and a common word, from
           sending to the end of the "soju.im/search" batch
  login    an account that follows N rooms: from the TCP connect until every
           followed room is joined (366) and its REPLAY lines were replayed;
           this client asks for sasl, server-time, message-tags and batch but
           NOT chathistory, so the server replays recent lines on join

The history/search client logs in with SASL PLAIN and asks for
draft/chathistory, batch, server-time, message-tags and soju.im/search,
and first times PING round trips (the floor under the other figures: the
client is Python and shares the machine with the server).
Results go to stdout as one JSON object. It deliberately does not start the
server or fill the database (run_rooms.sh and fill_history do), and does not
depend on tests/.
"""

import argparse
import base64
import json
import re
import sys
import time

import irclines
from irclines import Closed, Irc


def parse(raw):
    """(tags-stripped) -> (command, params list)."""
    return irclines.parse(raw)[2:]


def expect(c, pred, what):
    while True:
        raw = c.line()
        cmd, params = parse(raw)
        if cmd == "PING":
            c.send("PONG :" + (params[0] if params else ""))
            continue
        if cmd in ("FAIL", "ERROR", "904", "905", "906", "433", "465"):
            raise RuntimeError("%s: server said %s" % (what, raw))
        if pred(cmd, params):
            return cmd, params


def login(c, account, password, caps):
    """CAP LS 302 + NICK/USER, CAP REQ, SASL PLAIN, CAP END."""
    c.send("CAP LS 302", "NICK " + account, "USER %s 0 * :bench" % account)
    expect(c, lambda cmd, p: cmd == "CAP" and len(p) > 2 and p[1] == "LS" and p[2] != "*",
           "CAP LS")
    c.send("CAP REQ :" + " ".join(caps))
    _, p = expect(c, lambda cmd, p: cmd == "CAP" and len(p) > 1 and p[1] in ("ACK", "NAK"),
                  "CAP REQ")
    if p[1] != "ACK":
        raise RuntimeError("CAP REQ %s refused" % caps)
    c.send("AUTHENTICATE PLAIN")
    expect(c, lambda cmd, p: cmd == "AUTHENTICATE", "AUTHENTICATE")
    blob = ("\0%s\0%s" % (account, password)).encode()
    c.send("AUTHENTICATE " + base64.b64encode(blob).decode())
    expect(c, lambda cmd, p: cmd == "903", "SASL")
    c.send("CAP END")
    expect(c, lambda cmd, p: cmd == "001", "registration")


def sync(c, token):
    """PING/PONG round trip: everything the server queued before is read."""
    c.send("PING :" + token)
    expect(c, lambda cmd, p: cmd == "PONG" and p and p[-1] == token, "PONG")


def batch_request(c, line, kind):
    """Send line; read its batch of kind; return (elapsed s, message texts in it)."""
    t0 = time.perf_counter()
    c.send(line)
    _, p = expect(c, lambda cmd, p: cmd == "BATCH" and len(p) > 1 and p[0][0] == "+"
                  and p[1] == kind, line)
    ref = p[0][1:]
    texts = []
    while True:
        cmd, p = expect(c, lambda cmd, p: True, line)
        if cmd == "BATCH" and p and p[0] == "-" + ref:
            return time.perf_counter() - t0, texts
        if cmd in ("PRIVMSG", "NOTICE"):
            texts.append(p[-1] if len(p) > 1 else "")


def stats(samples):
    """p50/p99/max in ms of a list of seconds (nearest rank)."""
    if not samples:
        return {"n": 0}
    s = sorted(samples)

    def rank(q):
        return s[min(len(s) - 1, max(0, int(round(q * len(s) + 0.5)) - 1))] * 1e3
    return {"n": len(s), "p50": rank(0.50), "p99": rank(0.99), "max": s[-1] * 1e3,
            "mean": sum(s) / len(s) * 1e3}


CAPS_HISTORY = ["sasl", "draft/chathistory", "batch", "server-time", "message-tags",
                "soju.im/search"]
CAPS_LOGIN = ["sasl", "server-time", "message-tags", "batch"]


def bench_ping(a, c):
    """PING/PONG round trips: the floor under every other figure."""
    times = []
    for i in range(a.n_history):
        t0 = time.perf_counter()
        sync(c, "rtt%d" % i)
        times.append(time.perf_counter() - t0)
    return stats(times)


def bench_history(a, c):
    times, short = [], 0
    line = "CHATHISTORY LATEST #%s * %d" % (a.room, a.history_limit)
    for _ in range(a.warmup):
        batch_request(c, line, "chathistory")
    for _ in range(a.n_history):
        dt, texts = batch_request(c, line, "chathistory")
        times.append(dt)
        short += len(texts) != a.history_limit
    r = stats(times)
    r["short_batches"] = short
    return r


def bench_search(a, c, word):
    times, counts, wrong = [], [], 0
    where = ("in=#%s;" % a.room) if a.search_in_room else ""
    line = "SEARCH %stext=%s;limit=%d" % (where, word, a.search_limit)
    for _ in range(a.warmup):
        batch_request(c, line, "soju.im/search")
    for i in range(a.n_search):
        dt, texts = batch_request(c, line, "soju.im/search")
        times.append(dt)
        counts.append(len(texts))
        wrong += sum(1 for t in texts if word.lower() not in re.findall(r"\w+", t.lower()))
    sync(c, "search-" + word)  # swallow NOTE SEARCH MORE_RESULTS
    r = stats(times)
    r["word"] = word
    r["results"] = min(counts) if counts else 0
    r["not_matching"] = wrong
    return r


def one_login(a):
    """Seconds from connect to every followed room joined and replayed."""
    t0 = time.perf_counter()
    c = Irc(a.host, a.port, a.timeout)
    try:
        login(c, a.follow_user, a.password, CAPS_LOGIN)
        joined, lines = set(), {}
        done = 0
        while done < a.n_follow:
            cmd, p = expect(c, lambda cmd, p: True, "login")
            if cmd == "366" and len(p) > 1:
                joined.add(p[1].lower())
            elif cmd == "PRIVMSG" and p and p[0].startswith("#"):
                lines[p[0].lower()] = lines.get(p[0].lower(), 0) + 1
            else:
                continue
            room = (p[1] if cmd == "366" else p[0]).lower()
            if room in joined and lines.get(room, 0) == a.replay:
                done += 1
        dt = time.perf_counter() - t0
        c.send("QUIT :bench")
        try:
            while True:
                c.line()
        except (Closed, OSError):
            pass
        return dt
    finally:
        c.close()


def bench_login(a):
    for _ in range(min(a.warmup, 2)):
        one_login(a)
        time.sleep(a.login_gap)
    times = []
    for _ in range(a.n_logins):
        times.append(one_login(a))
        time.sleep(a.login_gap)
    r = stats(times)
    r["rooms"] = a.n_follow
    r["replay"] = a.replay
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True, help="account for history and search")
    ap.add_argument("--password", required=True, help="password of both accounts")
    ap.add_argument("--room", required=True, help="the big room, without '#'")
    ap.add_argument("--rare", required=True, help="word in ~0.1%% of messages")
    ap.add_argument("--common", required=True, help="word in ~10%% of messages")
    ap.add_argument("--follow-user", required=True, help="account following the rooms")
    ap.add_argument("--n-follow", type=int, default=50, help="rooms it follows")
    ap.add_argument("--replay", type=int, default=30, help="lines replayed per room")
    ap.add_argument("--n-history", type=int, default=1000)
    ap.add_argument("--history-limit", type=int, default=100)
    ap.add_argument("--n-search", type=int, default=200)
    ap.add_argument("--search-limit", type=int, default=50)
    ap.add_argument("--search-in-room", action="store_true",
                    help="add in=#ROOM to SEARCH (default: every readable room)")
    ap.add_argument("--n-logins", type=int, default=20)
    ap.add_argument("--login-gap", type=float, default=0.05,
                    help="seconds between logins (the previous session ends)")
    ap.add_argument("--warmup", type=int, default=50,
                    help="unmeasured requests before each series (logins: 2)")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()

    out = {}
    c = Irc(a.host, a.port, a.timeout)
    try:
        login(c, a.user, a.password, CAPS_HISTORY)
        sync(c, "ready")
        out["ping"] = bench_ping(a, c)
        out["history"] = bench_history(a, c)
        out["search_rare"] = bench_search(a, c, a.rare)
        out["search_common"] = bench_search(a, c, a.common)
        c.send("QUIT :done")
    finally:
        c.close()
    out["login"] = bench_login(a)
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
