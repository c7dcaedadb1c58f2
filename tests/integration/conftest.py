"""conftest.py - fixtures that run real pchatd processes for the integration tests.

A Server is one pchatd on free ports with its own temporary data directory
and INI configuration; pchatctl runs against the same configuration.
Binaries come from $PCHAT_BUILD (default /work/main/build). The server's
stderr goes to a file that is printed when a test fails. Every process
started here is stopped by a finalizer, even when the test fails.

With PCHAT_TEST_DB=postgresql every Server gets a database of its own in
one PostgreSQL 15 cluster started for the session (tests/pg/pgtmp.sh: a
free port, the unprivileged postgres user when run as root) and stopped at
the end; otherwise SQLite files in the data directory (the default).

Fixtures:
  server       - one shared server per test module (guests refused),
                 with unique_name() so tests do not collide
  make_server  - factory for a server with a custom configuration
"""

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ircclient import IRCClient  # noqa: E402

BUILD = os.environ.get("PCHAT_BUILD", "/work/main/build")
PCHATD = os.path.join(BUILD, "pchatd")
PCHATCTL = os.path.join(BUILD, "pchatctl")

_counter = itertools.count(1)

DB_BACKEND = os.environ.get("PCHAT_TEST_DB", "sqlite")
PGTMP = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "pg", "pgtmp.sh")
requires_sqlite = pytest.mark.skipif(DB_BACKEND != "sqlite",
                                     reason="inspects the SQLite files themselves")


class PgCluster:
    """One throw-away PostgreSQL cluster for the whole session."""

    def __init__(self):
        import tempfile
        parent = tempfile.mkdtemp(prefix="pchat-pg-")
        os.chmod(parent, 0o755)  # the cluster runs as the postgres user when we are root
        self.dir = parent + "/cluster"
        self.url = subprocess.run([PGTMP, "start", self.dir], check=True, capture_output=True,
                                  text=True, timeout=120).stdout.strip()
        self.base = self.url.rsplit("/", 1)[0]
        self.n = itertools.count(1)

    def new_database(self):
        name = "s%d" % next(self.n)
        subprocess.run(["psql", "-q", self.url, "-c", "CREATE DATABASE %s" % name], check=True,
                       capture_output=True, timeout=60)
        return self.base + "/" + name

    def stop(self):
        subprocess.run([PGTMP, "stop", self.dir], timeout=120)
        try:
            os.rmdir(os.path.dirname(self.dir))
        except OSError:
            pass


_pg = None


def pg_cluster():
    global _pg
    if _pg is None:
        _pg = PgCluster()
    return _pg


def pytest_sessionfinish(session, exitstatus):
    if _pg is not None:
        _pg.stop()


def unique_name(prefix="u"):
    """A name no other test in this run uses (account and room syntax)."""
    return "%s%d%s" % (prefix, next(_counter), os.urandom(2).hex())


def wait_for(pred, timeout=5.0, what="condition"):
    """Poll pred until it holds (AssertionError after timeout seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One pchatd process and its configuration."""

    def __init__(self, tmpdir, auth=None, limits=None, extra=""):
        self.dir = str(tmpdir)
        self.data_dir = os.path.join(self.dir, "data")
        self.port = free_port()
        self.tls_port = free_port()
        self.config = os.path.join(self.dir, "pchat.ini")
        self.logfile = os.path.join(self.dir, "pchatd.log")
        self.proc = None
        self.clients = []
        self.passwords = {}
        self.user_pool = []
        self.room_pool = []
        a = {"scram_iterations": 4096, "argon2_opslimit": 1, "argon2_memlimit_kib": 8192,
             "auth_fail_delay_ms": 200}
        a.update(auth or {})
        text = ["[server]", "data_dir = " + self.data_dir, "name = pchat.test",
                "listen = 127.0.0.1:%d, tls://127.0.0.1:%d" % (self.port, self.tls_port),
                "", "[auth]"]
        text += ["%s = %s" % kv for kv in a.items()]
        if limits:
            text += ["", "[limits]"] + ["%s = %s" % kv for kv in limits.items()]
        self.db_url = None
        if DB_BACKEND == "postgresql":
            self.db_url = pg_cluster().new_database()
            text += ["", "[database]", "url = " + self.db_url]
        text += ["", extra]
        with open(self.config, "w") as f:
            f.write("\n".join(text) + "\n")

    # ---- process ------------------------------------------------------------

    def start(self, timeout=15.0):
        """Start pchatd and wait until its plain and TLS ports accept connections."""
        log = open(self.logfile, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.proc = subprocess.Popen([PCHATD, "-c", self.config], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, env=env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("pchatd exited with %s:\n%s" %
                                   (self.proc.returncode, self.log_text()))
            try:
                # both listeners: the TLS one is bound just after the plain one
                for port in (self.port, self.tls_port):
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("pchatd did not listen within %ss:\n%s" % (timeout, self.log_text()))

    def stop(self, timeout=10.0):
        """SIGTERM and wait (SIGKILL if it hangs); return the exit status."""
        for c in self.clients:
            c.close()
        self.clients = []
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill9(self):
        """SIGKILL, as a crash would."""
        self.proc.kill()
        self.proc.wait()
        for c in self.clients:
            c.close()
        self.clients = []

    def kill9_keep_clients(self):
        """SIGKILL, leaving the clients' sockets open to read what arrived."""
        self.proc.kill()
        self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # ---- pchatctl -----------------------------------------------------------

    def ctl(self, *args, input=None, json_out=False, check=True):
        """Run pchatctl with this configuration; return CompletedProcess (or JSON)."""
        cmd = [PCHATCTL, "-c", self.config] + (["--json"] if json_out else []) + list(args)
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise AssertionError("%s -> %d\nstdout: %s\nstderr: %s" %
                                 (" ".join(cmd), p.returncode, p.stdout, p.stderr))
        return json.loads(p.stdout) if json_out and p.returncode == 0 else p

    def prefill(self, n_users=0, n_rooms=0):
        """Create accounts and rooms ahead (before start), a few pchatctl at a time.

        Tests take them with add_user()/add_room(); creating them while the
        server runs is tested on its own (test_live_admin.py), so a bug
        there does not hide every other result.
        """
        from concurrent.futures import ThreadPoolExecutor
        self.ctl("room", "list")  # create the database once, serially
        users = [(unique_name("u"), "pw-" + os.urandom(6).hex()) for _ in range(n_users)]
        rooms = [unique_name("r") for _ in range(n_rooms)]
        with ThreadPoolExecutor(max_workers=4) as ex:
            futs = [ex.submit(self.add_user, n, p, live=True) for n, p in users]
            futs += [ex.submit(self.add_room, r, live=True) for r in rooms]
            for f in futs:
                f.result()
        self.user_pool = users
        self.room_pool = ["#" + r for r in rooms]

    def add_user(self, name=None, password=None, admin=False, live=False):
        """Create an account (or take one made ahead); return (name, password)."""
        if not live and name is None and not admin and self.user_pool:
            return self.user_pool.pop(0)
        name = name or unique_name("u")
        password = password or "pw-" + os.urandom(6).hex()
        args = ["user", "add", name, "--password-stdin"] + (["--admin"] if admin else [])
        self.ctl(*args, input=password + "\n")
        self.passwords[name] = password
        return name, password

    def add_room(self, name=None, live=False):
        """Create a room (or take one made ahead); return '#name'."""
        if not live and name is None and self.room_pool:
            return self.room_pool.pop(0)
        name = name or unique_name("r")
        self.ctl("room", "add", name, "--privacy", "open")
        return "#" + name

    def history(self, room, limit=10000):
        """The stored history of room (list of dicts) through pchatctl --json."""
        return self.ctl("message", "list", "--room", room, "--limit", str(limit),
                        json_out=True)

    # ---- clients ------------------------------------------------------------

    def connect(self, tls=False, name="client", timeout=5.0, **kw):
        """A new IRCClient to this server (closed at teardown)."""
        c = IRCClient("127.0.0.1", self.tls_port if tls else self.port, tls=tls, name=name,
                      timeout=timeout, **kw)
        self.clients.append(c)
        return c

    def client(self, name=None, caps=(), password=None, mech="PLAIN", tls=False, cafile=None,
               **kw):
        """A registered client for account name (created when None)."""
        if name is None:
            name, password = self.add_user()
        elif password is None:
            password = self.passwords[name]
        c = self.connect(tls=tls, name=name, cafile=cafile)
        c.register(name, password, caps=caps, mech=mech, **kw)
        return c


ALL_CAPS = ("account-notify", "account-tag", "away-notify", "batch", "cap-notify",
            "chathistory", "draft/chathistory", "draft/event-playback", "draft/message-redaction", "echo-message", "extended-join", "invite-notify", "labeled-response",
            "message-tags", "multi-prefix", "server-time", "setname", "standard-replies",
            "draft/read-marker", "soju.im/search", "userhost-in-names")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _finish(request, servers):
    failed = any(getattr(request.node, "rep_" + w, None) is not None and
                 getattr(request.node, "rep_" + w).failed for w in ("setup", "call"))
    for s in servers:
        rc = s.stop()
        if failed or (rc not in (0, None) and rc is not None):
            sys.stderr.write("\n---- pchatd log (%s, exit %s) ----\n%s\n" %
                             (s.dir, rc, s.log_text()[-6000:]))


@pytest.fixture
def make_server(request, tmp_path_factory):
    """Factory: make_server(auth={...}, limits={...}) -> started Server."""
    servers = []

    def make(auth=None, limits=None, extra="", start=True, n_users=0, n_rooms=0):
        s = Server(tmp_path_factory.mktemp("pchat"), auth=auth, limits=limits, extra=extra)
        servers.append(s)
        if n_users or n_rooms:
            s.prefill(n_users, n_rooms)
        if start:
            s.start()
        return s

    yield make
    _finish(request, servers)


@pytest.fixture(scope="module")
def shared_server(request, tmp_path_factory):
    """One server per module; accounts/rooms made ahead per the module's
    POOL_USERS / POOL_ROOMS (defaults 16 / 8)."""
    # Failed logins from 127.0.0.1 are throttled per peer and never forgotten
    # within 10 minutes: the shared server does not delay, so tests do not
    # slow each other down (test_sasl.py measures the delay on its own server).
    s = Server(tmp_path_factory.mktemp("pchat"), auth={"auth_fail_delay_ms": 0})
    s.prefill(getattr(request.module, "POOL_USERS", 16), getattr(request.module, "POOL_ROOMS", 8))
    s.start()
    yield s
    rc = s.stop()
    if rc not in (0, None):
        sys.stderr.write("\n---- shared pchatd exit %s ----\n%s\n" % (rc, s.log_text()[-6000:]))


@pytest.fixture
def server(request, shared_server):
    """The module's shared server; its clients are closed after each test."""
    assert shared_server.alive(), "shared pchatd died:\n" + shared_server.log_text()[-4000:]
    yield shared_server
    for c in shared_server.clients:
        c.close()
    shared_server.clients = []
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        sys.stderr.write("\n---- pchatd log tail ----\n%s\n" % shared_server.log_text()[-4000:])


# ---- a server of a pool (issue 5) --------------------------------------------

def write_topology(path, servers, primary_url, backup_url, name="chat", primary_dc="dc-a",
                   backup_dc="dc-b"):
    """Write a topology file: servers is a list of (name, datacenter)."""
    text = ["[pool]", "name = " + name, ""]
    for srv, dc in servers:
        text += ["[server %s]" % srv, "datacenter = " + dc, ""]
    text += ["[database primary]", "datacenter = " + primary_dc, "url = " + primary_url, "",
             "[database backup]", "datacenter = " + backup_dc, "url = " + backup_url, ""]
    with open(path, "w") as f:
        f.write("\n".join(text) + "\n")
    return path


def guest_registers(server, timeout=5.0):
    """A guest's NICK/USER on a new connection: "001", or the text of the ERROR line."""
    c = server.connect(name="newcomer")
    c.send("NICK " + unique_name("g"))
    c.send("USER g 0 * :g")
    m = c.expect(lambda m: m.command in ("ERROR", "001"), timeout=timeout)
    c.close()
    return "001" if m.command == "001" else m.last


def make_pool_server(make_server, topology, name, start=True, auth=None, unconfirmed="serve",
                     extra=""):
    """A Server that is pool member `name` of `topology` (no [database] url of its own).
    Tests not about partitions serve without reading the backup database (most
    topologies here name an unreachable one); unconfirmed=None keeps the default
    (fail-closed)."""
    pool = "[pool]\ntopology = %s\nserver = %s" % (topology, name)
    if unconfirmed:
        pool += "\nunconfirmed = " + unconfirmed
    s = make_server(start=False, auth=auth, extra=pool + "\n\n" + extra)
    if s.db_url:
        with open(s.config) as f:
            text = f.read()
        with open(s.config, "w") as f:
            f.write(text.replace("url = " + s.db_url + "\n", "", 1))
    if start:
        s.start()
    return s
