#!/usr/bin/env python3
"""soak_client.py - the scripted part of bench/soak.sh's mixed load.

Until --until (a Unix time) it runs one round every --interval seconds
against a running pchatd (Python 3 standard library only). A round is a
fixed mix of short sessions, each on its own connection, most of them
things a load generator does not do:

  history   SASL PLAIN as the administrator account (plain or, every other
            round, TLS): CHATHISTORY LATEST/BEFORE/AFTER/AROUND/TARGETS,
            SEARCH (by word, by author, in one room), PRIVMSG to a room and
            to another account, TAGMSG, MARKREAD, TOPIC, NAMES, WHO, WHOIS,
            LIST, MODE, AWAY, a labeled PING, REDACT of its own message,
            the pchat service (help, info, create a room that soak.sh's
            admin loop removes later), then QUIT
  guest     NICK/USER, JOIN/PART of several rooms, then the socket is
            closed without QUIT
  abuse     connections that stop half-way: nothing sent, only CAP LS,
            a wrong SASL password, a line with invalid UTF-8, a NUL byte,
            an overlong line, unknown commands
  stalled   (every --stall-every rounds) a guest with a tiny receive
            buffer joins the busiest room and never reads, so its send
            queue grows until pchatd drops it (SendQ exceeded) or
            --stall-max seconds pass

Every failure is counted, never fatal; at the end one JSON object with
the counts goes to stdout. It measures nothing and starts nothing.
"""

import argparse
import base64
import json
import random
import socket
import sys
import time

from irclines import Closed, Irc, parse


def until(c, pred, what):
    """Read until pred(tags, source, cmd, params) within c.timeout seconds in
    all (busy rooms keep every single read short); answer PINGs."""
    deadline = time.time() + c.timeout
    while True:
        if time.time() > deadline:
            raise RuntimeError("%s: no answer within %.0f s" % (what, c.timeout))
        try:
            tags, src, cmd, p = parse(c.line())
        except socket.timeout:
            raise RuntimeError("%s: nothing received for %.0f s" % (what, c.timeout)) from None
        if cmd == "PING":
            c.send("PONG :" + (p[0] if p else ""))
        elif pred(tags, src, cmd, p):
            return tags, cmd, p


def sync(c, token):
    c.send("PING :" + token)
    until(c, lambda t, s, cmd, p: cmd == "PONG" and p and p[-1] == token, "PING " + token)


def batch(c, line, kind):
    """Send line, read its batch of kind (or a FAIL): the (tags, params) inside."""
    c.send(line)
    _, cmd, p = until(c, lambda t, s, cmd, p: cmd == "FAIL" or
                      (cmd == "BATCH" and len(p) > 1 and p[0][0] == "+" and p[1] == kind), line)
    if cmd == "FAIL":
        raise RuntimeError("%s: FAIL %s" % (line, " ".join(p)))
    ref, items, deadline = p[0][1:], [], time.time() + c.timeout
    while True:
        if time.time() > deadline:
            raise RuntimeError("%s: batch not ended within %.0f s" % (line, c.timeout))
        tags, cmd, p = until(c, lambda t, s, cmd, p: True, line)
        if cmd == "BATCH" and p and p[0] == "-" + ref:
            return items
        if cmd in ("PRIVMSG", "NOTICE"):
            items.append((tags, p))


def register(c, nick, caps, sasl=None):
    """CAP LS 302, CAP REQ caps, optional SASL PLAIN (account, password), 001."""
    c.send("CAP LS 302", "NICK " + nick, "USER %s 0 * :soak" % nick)
    until(c, lambda t, s, cmd, p: cmd == "CAP" and len(p) > 2 and p[1] == "LS" and p[2] != "*",
          "CAP LS")
    c.send("CAP REQ :" + " ".join(caps))
    _, _, p = until(c, lambda t, s, cmd, p: cmd == "CAP" and len(p) > 1 and p[1] in ("ACK", "NAK"),
                    "CAP REQ")
    if p[1] != "ACK":
        raise RuntimeError("CAP REQ %s: NAK" % caps)
    if sasl:
        c.send("AUTHENTICATE PLAIN")
        until(c, lambda t, s, cmd, p: cmd == "AUTHENTICATE", "AUTHENTICATE PLAIN")
        blob = ("\0%s\0%s" % sasl).encode()
        c.send("AUTHENTICATE " + base64.b64encode(blob).decode())
        _, cmd, _ = until(c, lambda t, s, cmd, p: cmd in ("903", "904", "905"), "SASL")
        if cmd != "903":
            raise RuntimeError("SASL failed (%s)" % cmd)
    c.send("CAP END")
    until(c, lambda t, s, cmd, p: cmd == "001", "registration")


HIST_CAPS = ["sasl", "draft/chathistory", "batch", "server-time", "message-tags",
             "soju.im/search", "echo-message", "labeled-response", "draft/read-marker",
             "draft/message-redaction", "account-tag"]
WORDS = ("deploy", "review", "lunch", "budget", "kumquat", "release", "outage",
         "ticket", "merge", "standup", "invoice", "backup")


def session_history(a, rnd, rng, n):
    tls = bool(a.tls_port) and rnd % 2 == 1
    c = Irc("127.0.0.1", a.tls_port if tls else a.port, a.timeout, tls=tls)
    try:
        register(c, a.user, HIST_CAPS, (a.user, a.password))
        rooms = ["#%s%d" % (a.room_prefix, i) for i in range(a.rooms)]
        joined = rng.sample(rooms, 3)
        room = joined[0]
        c.send("JOIN " + ",".join(joined))
        sync(c, "joined")
        words = " ".join(rng.choice(WORDS) for _ in range(6))
        c.send("PRIVMSG %s :soak round %d %s" % (room, rnd, words))
        tags, cmd, p = until(c, lambda t, s, cmd, p: cmd in ("404", "FAIL") or (
            cmd == "PRIVMSG" and s == a.user and p and p[0] == room), "echo of PRIVMSG " + room)
        if cmd != "PRIVMSG":
            raise RuntimeError("PRIVMSG %s: %s %s" % (room, cmd, " ".join(p)))
        mine = tags.get("msgid", "")
        c.send("PRIVMSG %s :private note %d %s" % (a.peer, rnd, words))
        c.send("@+typing=active TAGMSG " + room)
        items = batch(c, "CHATHISTORY LATEST %s * 100" % room, "chathistory")
        n["history"] += 1
        ids = [t.get("msgid") for t, _ in items if t.get("msgid")]
        if ids:
            mid = ids[len(ids) // 2]
            for sub in ("BEFORE", "AFTER", "AROUND"):
                batch(c, "CHATHISTORY %s %s msgid=%s 50" % (sub, room, mid), "chathistory")
                n["history"] += 1
        batch(c, "CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z "
              "timestamp=2100-01-01T00:00:00.000Z 20", "draft/chathistory-targets")
        n["history"] += 1
        for q in ("text=%s;limit=50" % rng.choice(WORDS),
                  "in=%s;text=%s %s;match=any;limit=20" % (room, rng.choice(WORDS),
                                                           rng.choice(WORDS)),
                  "from=%s;limit=20" % a.user):
            batch(c, "SEARCH " + q.replace(" ", "\\s"), "soju.im/search")
            n["search"] += 1
        c.send("MARKREAD %s timestamp=%s" % (room, time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                                                  time.gmtime())),
               "TOPIC %s :soak topic %d" % (joined[1], rnd),
               "NAMES " + room, "WHO %s %%tcuihsnfdlaor,42" % room, "WHOIS " + a.user,
               "LIST", "MODE " + room, "AWAY :soaking", "AWAY",
               "@label=l%d PING :labeled" % rnd,
               "PRIVMSG pchat :help", "PRIVMSG pchat :info %s" % room)
        if mine:
            c.send("REDACT %s %s :soak" % (room, mine))
        if rnd % 3 == 0:
            c.send("PRIVMSG pchat :create #%s%d privacy=open" % (a.tmp_prefix, rnd))
            c.send("JOIN #%s%d" % (a.tmp_prefix, rnd))
        sync(c, "done")
        c.send("PART %s :bye" % joined[2], "QUIT :soak")
        n["history_sessions"] += 1
    finally:
        c.close()


def session_guest(a, rnd, rng, n):
    c = Irc("127.0.0.1", a.port, a.timeout)
    try:
        nick = "sg%d_%d" % (rnd, rng.randrange(1000))
        register(c, nick, ["server-time", "message-tags", "batch"])
        for _ in range(3):
            r = "#%s%d" % (a.room_prefix, rng.randrange(a.rooms))
            c.send("JOIN " + r)
            until(c, lambda t, s, cmd, p: cmd in ("366", "403", "473", "477"), "JOIN " + r)
            c.send("PRIVMSG %s :guest %s says %s" % (r, nick, rng.choice(WORDS)), "PART " + r)
        sync(c, "guest")
        n["guest_sessions"] += 1
    finally:
        c.close()  # no QUIT: the server sees the connection drop


def session_abuse(a, rnd, rng, n):
    def attempt(fn):
        c = None
        try:
            c = Irc("127.0.0.1", a.port, a.timeout)
            fn(c)
            n["abuse"] += 1
        except (OSError, Closed, RuntimeError):
            n["abuse"] += 1  # a refusal is the expected outcome of some
        finally:
            if c:
                c.close()

    attempt(lambda c: None)
    attempt(lambda c: c.send("CAP LS 302"))

    def wrong_password(c):
        try:
            register(c, a.user, ["sasl"], (a.user, "wrong-" + a.password))
        except RuntimeError:
            pass

    def bad_lines(c):
        nick = "sx%d_%d" % (rnd, rng.randrange(1000))
        register(c, nick, ["message-tags"])
        c.raw(b"PRIVMSG #" + a.room_prefix.encode() + b"0 :bad \xff\xfe utf-8\r\n")
        c.raw(b"PRIVMSG #" + a.room_prefix.encode() + b"0 :nul \x00 byte\r\n")
        c.raw(b"PRIVMSG #x :" + b"y" * 9000 + b"\r\n")
        c.send("FROBNICATE x", "JOIN", "MODE", "@=;; PING :x", "CHATHISTORY LATEST",
               "SEARCH text=", "QUIT")
        try:
            while True:
                c.line()
        except (Closed, OSError):
            pass

    attempt(wrong_password)
    attempt(bad_lines)


def stall_start(a, rnd, n):
    """A guest that joins the busiest room and then never reads."""
    try:
        c = Irc("127.0.0.1", a.port, a.timeout, rcvbuf=4096)
        register(c, "stall%d" % rnd, ["server-time"])
        c.send("JOIN #%s0" % a.room_prefix)
        n["stalled"] += 1
        return c, time.time()
    except (OSError, Closed, RuntimeError):
        n["errors"] += 1
        return None, 0


def stall_check(stall, a, n):
    """Close the stalled client once the server dropped it or it is too old."""
    c, t0 = stall
    if c is None:
        return (None, 0)
    dropped = False
    try:
        c.sock.send(b"PING :alive\r\n")
    except OSError:
        dropped = True
    if dropped or time.time() - t0 > a.stall_max:
        n["stalled_dropped" if dropped else "stalled_expired"] += 1
        c.close()
        return (None, 0)
    return stall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-port", type=int, default=0)
    ap.add_argument("--user", required=True, help="administrator account")
    ap.add_argument("--password", required=True)
    ap.add_argument("--peer", required=True, help="another account (private messages)")
    ap.add_argument("--room-prefix", default="bench")
    ap.add_argument("--rooms", type=int, default=10)
    ap.add_argument("--tmp-prefix", default="soaktmp", help="rooms the client creates")
    ap.add_argument("--until", type=float, required=True, help="stop at this Unix time")
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between rounds")
    ap.add_argument("--stall-every", type=int, default=6, help="rounds; 0 = never")
    ap.add_argument("--stall-max", type=float, default=300.0)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    n = {k: 0 for k in ("rounds", "history_sessions", "history", "search", "guest_sessions",
                        "abuse", "stalled", "stalled_dropped", "stalled_expired", "errors")}
    last_error = ""
    stall = (None, 0)
    rnd = 0
    while time.time() < a.until:
        t0 = time.time()
        for fn in (session_history, session_guest, session_abuse):
            try:
                fn(a, rnd, rng, n)
            except (OSError, Closed, RuntimeError) as e:
                n["errors"] += 1
                last_error = "%s: %s" % (fn.__name__, e)
                print("soak_client: round %d: %s" % (rnd, last_error), file=sys.stderr)
        stall = stall_check(stall, a, n)
        if a.stall_every and stall[0] is None and rnd % a.stall_every == 0:
            stall = stall_start(a, rnd, n)
        n["rounds"] += 1
        rnd += 1
        time.sleep(max(0.0, min(a.interval - (time.time() - t0), a.until - time.time())))
    if stall[0] is not None:
        stall[0].close()
    n["last_error"] = last_error
    json.dump(n, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
