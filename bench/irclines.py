"""irclines.py — the line-oriented IRC connection the bench clients share
(rooms_bench.py, soak_client.py): stdlib only, a deadline on every read."""
import socket
import ssl


class Closed(Exception):
    """The server closed the connection."""


class Irc:
    """One connection: send lines, read them one at a time (waiting at most
    timeout seconds for data), optionally over TLS (pchatd's self-signed
    certificate accepted) and with a small receive buffer (a slow reader)."""

    def __init__(self, host, port, timeout, tls=False, rcvbuf=0):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(s)
        self.sock = s
        self.timeout = timeout
        self.buf = b""
        self.lines = []

    def raw(self, data):
        self.sock.sendall(data)

    def send(self, *lines):
        self.raw("".join(line + "\r\n" for line in lines).encode())

    def line(self):
        """The next line (str), waiting at most self.timeout for data."""
        while not self.lines:
            data = self.sock.recv(262144)
            if not data:
                raise Closed("server closed the connection")
            self.buf += data
            parts = self.buf.split(b"\r\n")
            self.buf = parts.pop()
            self.lines = [p.decode("utf-8", "replace") for p in reversed(parts) if p]
        return self.lines.pop()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def parse(raw):
    """A received line -> (tags dict, source nick, command, params)."""
    tags, src, rest = {}, "", raw
    if rest.startswith("@"):
        t, _, rest = rest.partition(" ")
        for kv in t[1:].split(";"):
            k, _, v = kv.partition("=")
            tags[k] = v
    if rest.startswith(":"):
        src, _, rest = rest.partition(" ")
        src = src[1:].partition("!")[0]
    params = []
    while rest:
        if rest.startswith(":"):
            params.append(rest[1:])
            break
        p, _, rest = rest.partition(" ")
        if p:
            params.append(p)
    return tags, src, (params[0].upper() if params else ""), params[1:]
