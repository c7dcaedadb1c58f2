"""ircclient.py - a small synchronous IRC client for the integration tests.

It speaks plain TCP or TLS, parses IRCv3 message tags, negotiates
capabilities, and logs in with SASL PLAIN or SCRAM-SHA-256 (RFC 5802 /
RFC 7677, written here with hashlib/hmac). Every wait has a short timeout
and fails loudly; nothing here sleeps a fixed time.

It deliberately does not reconnect, handle CTCP, or hide the server's
replies: tests look at the exact lines.
"""

import base64
import hashlib
import hmac
import os
import select
import socket
import ssl
import time

DEFAULT_TIMEOUT = 5.0


class ConnectionClosed(Exception):
    """The server closed the connection."""


class Timeout(AssertionError):
    """An expected line did not arrive in time."""


_TAG_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def _unescape_tag(v):
    out = []
    i = 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            out.append(_TAG_UNESCAPE.get(v[i + 1], v[i + 1]))
            i += 2
            continue
        if c != "\\":
            out.append(c)
        i += 1
    return "".join(out)


def escape_tag(v):
    return (v.replace("\\", "\\\\").replace(";", "\\:").replace(" ", "\\s")
            .replace("\r", "\\r").replace("\n", "\\n"))


class Message:
    """One parsed line: tags (dict), source, command (upper), params (list)."""

    def __init__(self, raw):
        self.raw = raw
        self.tags = {}
        self.source = None
        rest = raw
        if rest.startswith("@"):
            tagpart, _, rest = rest[1:].partition(" ")
            for t in tagpart.split(";"):
                if not t:
                    continue
                k, eq, v = t.partition("=")
                self.tags[k] = _unescape_tag(v) if eq else ""
            rest = rest.lstrip(" ")
        if rest.startswith(":"):
            self.source, _, rest = rest[1:].partition(" ")
            rest = rest.lstrip(" ")
        self.params = []
        cmd, _, rest = rest.partition(" ")
        self.command = cmd.upper()
        while rest:
            rest = rest.lstrip(" ")
            if not rest:
                break
            if rest.startswith(":"):
                self.params.append(rest[1:])
                break
            p, _, rest = rest.partition(" ")
            self.params.append(p)

    @property
    def nick(self):
        """The nick part of the source."""
        return self.source.split("!", 1)[0] if self.source else None

    @property
    def last(self):
        return self.params[-1] if self.params else None

    def __repr__(self):
        return "<Message %r>" % self.raw


class IRCClient:
    """A synchronous connection to pchatd."""

    def __init__(self, host, port, tls=False, timeout=DEFAULT_TIMEOUT, cafile=None,
                 name="client", rcvbuf=None):
        self.name = name
        self.timeout = timeout
        self.log = []  # every line received, in order (Message)
        self.sent = []  # every line sent (str)
        self.pending = []  # received lines not yet consumed by expect()
        self._buf = b""
        self.closed = False
        self.nick = None
        self.caps = set()
        self.isupport = {}
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # before connect, so the TCP window is small from the start
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(timeout)
        raw.connect((host, port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.create_default_context(cafile=cafile) if cafile else \
                ssl._create_unverified_context()
            if cafile:
                ctx.check_hostname = False
            raw = ctx.wrap_socket(raw, server_hostname=host)
        self.sock = raw

    # ---- low level ----------------------------------------------------------

    def send_raw(self, data):
        """Send bytes as they are."""
        self.sock.sendall(data)

    def send(self, line):
        """Send one line (CRLF added)."""
        self.sent.append(line)
        self.sock.sendall(line.encode("utf-8", "surrogateescape") + b"\r\n")

    def _fill(self, deadline):
        """Read more bytes; False on timeout. Raises ConnectionClosed on EOF."""
        if self.closed:
            raise ConnectionClosed(self.name)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
                break
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                break
        try:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            data = b""
        if not data:
            self.closed = True
            raise ConnectionClosed(self.name)
        self._buf += data
        return True

    def _take_lines(self):
        while b"\n" in self._buf:
            line, _, self._buf = self._buf.partition(b"\n")
            line = line.rstrip(b"\r").decode("utf-8", "replace")
            m = Message(line)
            self.log.append(m)
            if m.command == "PING" and m.source is None and self.nick:
                # Server keep-alive: answer, but keep it visible to tests.
                try:
                    self.send("PONG :" + (m.last or ""))
                except OSError:
                    pass
            self.pending.append(m)

    def recv(self, timeout=None):
        """The next unconsumed line, or None after timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            self._take_lines()
            if self.pending:
                return self.pending.pop(0)
            if not self._fill(deadline):
                self._take_lines()
                return self.pending.pop(0) if self.pending else None

    def expect(self, match, timeout=None, what=None):
        """Consume lines until one matches; return it.

        match is a command (str, e.g. "PRIVMSG" or "001") or a predicate.
        Lines skipped on the way are dropped (they stay in self.log).
        """
        pred = match if callable(match) else (lambda m: m.command == match)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            for i, m in enumerate(self.pending):
                if pred(m):
                    del self.pending[: i + 1]
                    return m
            self.pending.clear()
            try:
                got = self._fill(deadline)
            except ConnectionClosed:
                self._take_lines()
                for i, m in enumerate(self.pending):
                    if pred(m):
                        del self.pending[: i + 1]
                        return m
                raise
            self._take_lines()
            if not got and not any(pred(m) for m in self.pending):
                tail = "\n".join(x.raw for x in self.log[-15:])
                raise Timeout("%s: no %s within timeout; last lines:\n%s" %
                              (self.name, what or match, tail))

    def collect(self, until, timeout=None):
        """All lines up to and including the first matching `until`."""
        pred = until if callable(until) else (lambda m: m.command == until)
        out = []
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            m = self.recv(max(0.0, left)) if left > 0 else None
            if m is None:
                tail = "\n".join(x.raw for x in out[-15:])
                raise Timeout("%s: no %s within timeout; got:\n%s" % (self.name, until, tail))
            out.append(m)
            if pred(m):
                return out

    def drain(self, timeout=0.2):
        """Consume whatever arrives within timeout; return it."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            try:
                m = self.recv(left)
            except ConnectionClosed:
                return out
            if m is None:
                return out
            out.append(m)

    def expect_nothing(self, pred=None, timeout=0.3):
        """Assert no (matching) line arrives within timeout."""
        got = [m for m in self.drain(timeout) if pred is None or pred(m)]
        assert not got, "%s: unexpected lines: %r" % (self.name, got)

    def wait_closed(self, timeout=None):
        """Wait for the server to close; return the lines seen meanwhile."""
        out = []
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("%s: connection still open; got %r" % (self.name, out[-10:]))
            try:
                m = self.recv(left)
            except ConnectionClosed:
                self._take_lines()
                out.extend(self.pending)
                self.pending.clear()
                return out
            if m is not None:
                out.append(m)

    def ping(self, token="check", timeout=None):
        """PING and wait for the PONG carrying token."""
        self.send("PING :" + token)
        return self.expect(lambda m: m.command == "PONG" and m.last == token,
                           timeout=timeout, what="PONG " + token)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    # ---- registration -------------------------------------------------------

    def cap_ls(self):
        """CAP LS 302; return {cap: value} (multi-line lists joined)."""
        self.send("CAP LS 302")
        caps = {}
        while True:
            m = self.expect(lambda m: m.command == "CAP" and len(m.params) >= 3 and
                            m.params[1] == "LS", what="CAP LS")
            more = len(m.params) >= 4 and m.params[2] == "*"
            for tok in m.last.split():
                k, _, v = tok.partition("=")
                caps[k] = v
            if not more:
                return caps

    def cap_req(self, caps):
        """CAP REQ; return the reply (ACK or NAK message)."""
        self.send("CAP REQ :" + " ".join(caps))
        m = self.expect(lambda m: m.command == "CAP" and len(m.params) >= 2 and
                        m.params[1] in ("ACK", "NAK"), what="CAP ACK/NAK")
        if m.params[1] == "ACK":
            for c in m.last.split():
                if c.startswith("-"):
                    self.caps.discard(c[1:])
                else:
                    self.caps.add(c)
        return m

    def sasl_plain(self, account, password, authzid=""):
        """Run AUTHENTICATE PLAIN; return the final numeric message (903/904...)."""
        self.send("AUTHENTICATE PLAIN")
        self.expect(lambda m: m.command == "AUTHENTICATE", what="AUTHENTICATE +")
        payload = ("%s\0%s\0%s" % (authzid, account, password)).encode()
        self.send_authenticate(payload)
        return self.expect(lambda m: m.command in ("903", "904", "905", "906", "907"),
                           what="SASL result")

    def send_authenticate(self, payload):
        """Send a SASL payload base64-encoded in 400-byte chunks."""
        b = base64.b64encode(payload).decode()
        if not b:
            self.send("AUTHENTICATE +")
            return
        for i in range(0, len(b), 400):
            self.send("AUTHENTICATE " + b[i:i + 400])
        if len(b) % 400 == 0:
            self.send("AUTHENTICATE +")

    def _auth_data(self):
        """Gather one server AUTHENTICATE payload (decoded)."""
        data = ""
        while True:
            m = self.expect(lambda m: m.command in ("AUTHENTICATE", "904", "905", "906"),
                            what="AUTHENTICATE data")
            if m.command != "AUTHENTICATE":
                return m
            if m.params[0] == "+":
                return base64.b64decode(data) if data else b""
            data += m.params[0]
            if len(m.params[0]) < 400:
                return base64.b64decode(data)

    def sasl_scram(self, account, password, tamper_proof=False):
        """Run SCRAM-SHA-256 (RFC 5802/7677); return the final numeric message."""
        self.send("AUTHENTICATE SCRAM-SHA-256")
        self.expect(lambda m: m.command == "AUTHENTICATE", what="AUTHENTICATE +")
        cnonce = base64.b64encode(os.urandom(18)).decode()
        bare = "n=%s,r=%s" % (account.replace("=", "=3D").replace(",", "=2C"), cnonce)
        self.send_authenticate(("n,," + bare).encode())
        first = self._auth_data()
        if isinstance(first, Message):
            return first
        first = first.decode()
        attrs = dict(kv.split("=", 1) for kv in first.split(","))
        assert attrs["r"].startswith(cnonce), "server nonce does not extend ours"
        salt = base64.b64decode(attrs["s"])
        iters = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iters)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_msg = ",".join([bare, first, without_proof]).encode()
        sig = hmac.new(stored_key, auth_msg, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        if tamper_proof:
            proof = bytes([proof[0] ^ 1]) + proof[1:]
        self.send_authenticate(
            (without_proof + ",p=" + base64.b64encode(proof).decode()).encode())
        final = self._auth_data()
        if isinstance(final, Message):
            return final
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        want = base64.b64encode(hmac.new(server_key, auth_msg, hashlib.sha256).digest())
        self.server_signature_ok = final.decode() == "v=" + want.decode()
        self.send("AUTHENTICATE +")
        return self.expect(lambda m: m.command in ("903", "904", "905", "906", "907"),
                           what="SASL result")

    def register(self, nick, password=None, caps=(), mech="PLAIN", user=None,
                 realname="Test User"):
        """Full registration; returns the list of lines up to end of MOTD.

        caps: capabilities to request (sasl is added when password is given).
        """
        self.send("CAP LS 302")
        want = list(caps)
        if password is not None and "sasl" not in want:
            want.append("sasl")
        self.expect(lambda m: m.command == "CAP" and m.params[1] == "LS" and
                    (len(m.params) < 4 or m.params[2] != "*"), what="CAP LS")
        if want:
            r = self.cap_req(want)
            assert r.params[1] == "ACK", "CAP REQ %s refused: %r" % (want, r)
        self.send("NICK " + nick)
        self.send("USER %s 0 * :%s" % (user or nick, realname))
        if password is not None:
            if mech == "PLAIN":
                r = self.sasl_plain(nick, password)
            else:
                r = self.sasl_scram(nick, password)
            assert r.command == "903", "SASL failed: %r" % r
        self.send("CAP END")
        lines = self.collect(lambda m: m.command in ("376", "422"))
        assert any(m.command == "001" for m in lines), lines
        self.nick = lines[0].params[0]
        for m in lines:
            if m.command == "005":
                for tok in m.params[1:-1]:
                    k, _, v = tok.partition("=")
                    self.isupport[k] = v
        return lines

    def join(self, room):
        """JOIN and wait for the end of NAMES; return the lines."""
        self.send("JOIN " + room)
        return self.collect(lambda m: m.command in ("366", "403", "405", "471", "473",
                                                    "474", "475", "477"))
