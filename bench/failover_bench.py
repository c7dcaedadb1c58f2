#!/usr/bin/python3
"""bench/failover_bench.py — the timed part of bench/run_failover.sh (issue 6's
figures): RTO of `pchatctl failover` including N clients logging in again in
data center B, RPO under a steady message load, and the log apply rate.

It builds the drill's set-up (tests/integration/test_drills.py) in the
temporary directory it is given: a primary with 1 MB WAL segments
(tests/pg/pgtmp.sh), a topology with share, copy destination, backup
data_dir and backup mirror, `pchatctl logship setup`, the backup standby
started with pg_ctl as postgres, the copy daemon, and pchatd a1 (dc-a) and
b1 (dc-b). Every process it starts is recorded in TMP/pids and every
cluster in TMP/clusters so that run_failover.sh's EXIT trap can stop them
if this script dies; it also stops them itself. It writes TMP/result.json;
run_failover.sh prints the table.

Deliberately not here: building anything, argument checks of the shell
script, the Markdown table. Standard library only; run as root (the
clusters run as postgres, like the drill) or as the clusters' owner.
"""
import argparse
import csv
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
ROOT = os.getuid() == 0
MiB = 1024 * 1024
ROOMS = 20  # bench0..bench19: the reconnecting clients' rooms
ACCOUNT = "storm"  # accounts storm0..storm{N-1}, as run.sh --storm-keep makes them
ACCOUNT_COLS = "name, pw_hash, scram, admin, chat_enabled, created_ms"


def say(msg):
    print("run_failover.sh: " + msg, file=sys.stderr, flush=True)


def as_pg(cmd):
    """cmd run as postgres (setpriv execs: the pid is the command's own)."""
    if not ROOT:
        return cmd
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"] + cmd


def run(cmd, pg=False, check=True, timeout=600, **kw):
    p = subprocess.run(as_pg(cmd) if pg else cmd, capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(cmd[:4]), p.returncode,
                                                   p.stdout[-2000:], p.stderr[-2000:]))
    return p


def psql(url, sql, check=True, timeout=600):
    return run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
               check=check, timeout=timeout).stdout.strip()


def pg_dir(path):
    os.makedirs(path, 0o750, exist_ok=True)
    if ROOT:
        shutil.chown(path, "postgres", "postgres")
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out after %s s waiting for %s" % (timeout, what))
        time.sleep(step)


class Procs:
    """Processes started here, their pids also in TMP/pids for the shell's trap."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, "pids")
        self.procs = []

    def start(self, cmd, log, pg=False, **kw):
        with open(log, "ab") as f:
            p = subprocess.Popen(as_pg(cmd) if pg else cmd, stdout=kw.pop("stdout", f),
                                 stderr=f, stdin=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        with open(self.path, "a") as f:
            f.write("%d\n" % p.pid)
        return p

    @staticmethod
    def stop(p, sig=signal.SIGTERM, wait=10):
        if p is None or p.poll() is not None:
            return
        p.send_signal(sig)
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p)


class Irc:
    """A minimal IRC client: lines in, lines out, one socket."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def lines(self):
        """Yield lines until the connection closes (socket timeout raises)."""
        while True:
            while b"\r\n" in self.buf:
                line, self.buf = self.buf.split(b"\r\n", 1)
                yield line.decode("utf-8", "replace")
            data = self.sock.recv(65536)
            if not data:
                return
            self.buf += data

    def register(self, nick, caps=()):
        """NICK/USER (a guest); True on 001, False on an error reply."""
        if caps:
            self.send("CAP REQ :" + " ".join(caps))
        self.send("NICK " + nick)
        self.send("USER %s 0 * :%s" % (nick, nick))
        if caps:
            self.send("CAP END")
        for line in self.lines():
            words = line.split(" ")
            if words[0].startswith("@"):
                words = words[1:]
            if line.startswith("PING"):
                self.send("PONG " + line.split(" ", 1)[1])
            elif len(words) > 1 and words[1] == "001":
                return True
            elif len(words) > 1 and (words[0] == "ERROR" or words[1] in (
                    "FAIL", "465", "432", "433", "463", "464", "484")):
                return False
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def guest_served(port, nick):
    """Whether a guest registers on port now (b1 serving)."""
    try:
        c = Irc(port, timeout=2)
    except OSError:
        return False
    try:
        return c.register(nick)
    except OSError:
        return False
    finally:
        c.close()


class Sender(threading.Thread):
    """The steady load: RATE msgs/s into #rpo from one guest on a1, each
    acknowledged by its echo (pchatd echoes after the commit). acked[seq] =
    (send time, ack time, msgid), wall clock."""

    def __init__(self, port, rate, prefix="rpo"):
        super().__init__(daemon=True)
        self.prefix = prefix
        self.c = Irc(port, timeout=60)
        if not self.c.register(prefix + "send", ("echo-message", "message-tags",
                                                 "server-time")):
            raise RuntimeError("the sender could not register on port %d" % port)
        self.c.send("JOIN #rpo")
        self.rate = rate
        self.sent = {}
        self.acked = {}
        self.users = None
        self.stop = False
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()
        self.sending = False

    def read(self):
        pat = re.compile(r"^(?:@(\S+) )?:%ssend!\S* PRIVMSG #rpo :%s-(\d+) " %
                         (self.prefix, self.prefix))
        try:
            for line in self.c.lines():
                m = pat.match(line)
                if m:
                    tags = dict(t.split("=", 1) for t in (m.group(1) or "").split(";") if "=" in t)
                    seq = int(m.group(2))
                    self.acked[seq] = (self.sent.get(seq, 0.0), time.time(), tags.get("msgid", ""))
                elif " 251 " in line:
                    n = re.search(r"(\d+) invisible", line)
                    u = re.search(r"There are (\d+) users", line)
                    self.users = (int(n.group(1)) if n else 0) + (int(u.group(1)) if u else 0)
                elif line.startswith("PING"):
                    self.c.send("PONG " + line.split(" ", 1)[1])
        except OSError:
            pass

    def run(self):
        """Send at self.rate on a 5 ms tick until self.stop (or a1 dies)."""
        self.sending = True
        pad = "x" * 60
        seq, start = 0, time.monotonic()
        try:
            while not self.stop:
                due = int((time.monotonic() - start) * self.rate)
                while seq < due and not self.stop:
                    self.sent[seq] = time.time()
                    self.c.send("PRIVMSG #rpo :%s-%d %s" % (self.prefix, seq, pad))
                    seq += 1
                time.sleep(0.005)
        except OSError:
            pass

    def count_users(self):
        self.users = None
        self.c.send("LUSERS")
        wait_for(lambda: self.users is not None, 10, "LUSERS")
        return self.users


class LogWatch(threading.Thread):
    """Tails a server log, noting the wall time each pattern is first seen."""

    def __init__(self, path, patterns):
        super().__init__(daemon=True)
        self.path, self.patterns, self.seen, self.stop = path, patterns, {}, False
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            self.pos = f.tell()

    def run(self):
        buf = b""
        while not self.stop:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
            self.pos += len(data)
            buf += data
            now = time.time()
            *lines, buf = buf.split(b"\n")
            for line in lines:
                for key, pat in self.patterns.items():
                    if key not in self.seen and pat in line.decode("utf-8", "replace"):
                        self.seen[key] = now
            time.sleep(0.01)


class Bench:
    def __init__(self, a):
        self.a = a
        self.tmp = a.tmp
        self.procs = Procs(a.tmp)
        self.ctl = os.path.join(a.build, "pchatctl")
        self.res = {"clients": a.clients, "rate": a.rate, "backup_interval_s": a.interval}
        self.copier = None
        self.a1 = self.b1 = None
        self.nft = None
        self.res["wal_segsize_mb"] = a.segsize
        self.res["partition"] = a.partition

    # ---- data centers -------------------------------------------------------

    def setup_dcs(self):
        t = self.tmp
        self.share, self.dest = pg_dir(t + "/share"), pg_dir(t + "/copy")
        self.backup_parent, bm_parent = pg_dir(t + "/backup"), pg_dir(t + "/backup-mirror")
        self.ctl_dir = pg_dir(t + "/ctl")
        self.primary_dir = t + "/primary"
        with open(t + "/clusters", "a") as f:
            f.write("pgtmp %s\npgctl %s/data\npgctl %s/data\n" %
                    (self.primary_dir, self.backup_parent, bm_parent))
        env = dict(os.environ, PGTMP_INITDB_ARGS="--wal-segsize=%d" % self.a.segsize)
        self.primary = run([self.a.pgtmp, "start", self.primary_dir], env=env).stdout.strip()
        self.backup_port = free_port()
        self.backup = "postgresql://pchat@127.0.0.1:%d/pchat" % self.backup_port
        bm = "postgresql://pchat@127.0.0.1:%d/pchat" % free_port()
        self.backup_data = self.backup_parent + "/data"
        self.topology = self.ctl_dir + "/topology.ini"
        lines = ["[pool]", "name = bench", "", "[server a1]", "datacenter = dc-a", "",
                 "[server b1]", "datacenter = dc-b", "", "[database primary]",
                 "datacenter = dc-a", "url = " + self.primary,
                 "data_dir = " + self.primary_dir + "/data", "", "[database backup]",
                 "datacenter = dc-b", "url = " + self.backup, "data_dir = " + self.backup_data,
                 "mirror = " + bm, "mirror_data_dir = " + bm_parent + "/data", "",
                 "[logship]", "share = " + self.share, "copy_destination = " + self.dest,
                 "backup_interval = %d" % self.a.interval, "", "[postgresql]",
                 "bindir = " + PGBIN, ""]
        self.config = self.ctl_dir + "/pchat-b.ini"
        self.state_file = self.ctl_dir + "/data/failover-state.json"
        self.write(self.topology, "\n".join(lines))
        self.write(self.config, "[server]\ndata_dir = %s/data\n\n[pool]\ntopology = %s\n"
                   "server = b1\n" % (self.ctl_dir, self.topology))
        self.ctlrun(["logship", "setup"])
        run([self.a.pgtmp, "restart", self.primary_dir])
        run([PGBIN + "/pg_ctl", "-D", self.backup_data, "-l", self.backup_parent + "/log",
             "-w", "-t", "120", "-o", "-p %d -k %s -c listen_addresses=127.0.0.1" %
             (self.backup_port, self.backup_parent), "start"], pg=True, timeout=180)
        self.start_copier()

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        if ROOT:
            shutil.chown(path, "postgres", "postgres")

    def ctlrun(self, args, check=True, timeout=600):
        """pchatctl as the service user (owner of the shared folders), -c the B config."""
        return run([self.ctl, "-c", self.config] + args, pg=True, check=check, timeout=timeout)

    def start_copier(self):
        self.copier = self.procs.start([self.ctl, "-c", self.config, "logship", "copy",
                                        "--watch", "--interval", "1"],
                                       self.tmp + "/copier.log", pg=True)

    def server_conf(self, name):
        d = "%s/%s" % (self.tmp, name)
        os.makedirs(d + "/data", 0o700, exist_ok=True)
        port = free_port()
        text = ("[server]\ndata_dir = %s/data\nlisten = 127.0.0.1:%d\n\n[auth]\nallow_guests = yes\n"
                "\n[limits]\nflood_rate = 0\nmax_clients = 20000\nsendq = 1048576\n\n[pool]\n"
                "topology = %s\nserver = %s\nunconfirmed = serve\n" %
                (d, port, self.topology, name))
        with open(d + ".conf", "w") as f:
            f.write(text)
        return d + ".conf", port, d + ".log"

    # ---- accounts and rooms -------------------------------------------------

    def setup_accounts(self):
        """Rooms, then accounts storm0..: from the keep directory's accounts.csv, a
        run.sh --storm-keep SQLite data directory, or pchatctl user add (cached)."""
        self.a1_conf, self.a1_port, self.a1_log = self.server_conf("a1")
        self.b1_conf, self.b1_port, self.b1_log = self.server_conf("b1")
        for room in ["rpo"] + ["bench%d" % i for i in range(ROOMS)]:
            run([self.ctl, "-c", self.a1_conf, "room", "add", room, "--privacy", "open"])
        keep, n = self.a.keep, self.a.clients
        csvf = keep + "/accounts.csv"
        if not os.path.exists(keep + "/password"):
            with open(os.open(keep + "/password", os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(os.urandom(12).hex())
        with open(keep + "/password") as f:
            self.password = f.read().strip()
        have = self.csv_rows(csvf)
        if have < n and os.path.exists(keep + "/data/pchat.db"):
            have = self.from_sqlite(keep + "/data/pchat.db", csvf)
        t = time.monotonic()
        if have >= n:
            run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.primary, "-c",
                 "\\copy accounts (%s) FROM '%s' CSV" % (ACCOUNT_COLS, csvf)])
            self.res["accounts"] = "imported %d from %s" % (have, csvf)
            self.reused = True
        else:
            self.create_accounts(n)
            run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.primary, "-c",
                 "\\copy (SELECT %s FROM accounts WHERE name LIKE '%s%%') TO '%s' CSV" %
                 (ACCOUNT_COLS, ACCOUNT, csvf)])
            self.res["accounts"] = "created %d with pchatctl user add in %.0f s" % (
                n, time.monotonic() - t)
            self.reused = False
        say("accounts: " + self.res["accounts"])

    @staticmethod
    def csv_rows(path):
        try:
            with open(path) as f:
                return sum(1 for _ in csv.reader(f))
        except OSError:
            return 0

    def from_sqlite(self, db, csvf):
        out = run(["sqlite3", "-readonly", "-csv", db, "SELECT %s FROM accounts WHERE name "
                   "LIKE '%s%%' ORDER BY id" % (ACCOUNT_COLS, ACCOUNT)]).stdout
        with open(os.open(csvf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(out)
        return self.csv_rows(csvf)

    def create_accounts(self, n):
        jobs = 2 * os.cpu_count()
        say("creating %d accounts (pchatctl user add, %d at a time; a few tenths of a "
            "second of CPU each with the default password parameters) ..." % (n, jobs))
        script = ('"$0" -c "$1" user add "%s$2" --password-stdin <"$3" >/dev/null 2>&1 '
                  '|| [ $? = 3 ]' % ACCOUNT)
        p = subprocess.run(["xargs", "-P", str(jobs), "-n", "1", "sh", "-c", script, self.ctl,
                            self.a1_conf, self.a.keep + "/password"],
                           input="".join("%d\n" % i for i in range(n)), text=True,
                           capture_output=True)
        if p.returncode != 0:
            raise RuntimeError("pchatctl user add failed: " + p.stderr[-1000:])

    # ---- log apply rate -----------------------------------------------------

    def apply_rate(self):
        """Pause restore, write MB of WAL on the primary, ship and copy it, and
        time `logship restore --all`."""
        self.ctlrun(["logship", "remove-secondary"])
        Procs.stop(self.copier)
        psql(self.primary, "CREATE DATABASE walgen")
        wal = self.primary.rsplit("/", 1)[0] + "/walgen"
        psql(wal, "CREATE TABLE w (x text)")
        lsn0 = psql(wal, "SELECT pg_current_wal_lsn()")
        while int(psql(wal, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '%s')" % lsn0)) < \
                self.a.apply_mb * MiB:
            psql(wal, "INSERT INTO w SELECT md5(g::text) || repeat('x', 900) "
                      "FROM generate_series(1, 4000) g")
        seg = psql(self.primary, "SELECT pg_walfile_name(pg_switch_wal())")
        wait_for(lambda: os.path.exists("%s/%s.sha256" % (self.share, seg)), 300,
                 "the primary to archive " + seg, 0.1)
        replay0 = psql(self.backup, "SELECT pg_last_wal_replay_lsn()")
        t = time.monotonic()
        self.ctlrun(["logship", "copy", "--all"])
        copy_s = time.monotonic() - t
        t = time.monotonic()
        out = self.ctlrun(["--json", "logship", "restore", "--all", "--timeout", "600"]).stdout
        restore_s = time.monotonic() - t
        applied = int(psql(self.backup, "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), "
                                        "'%s')" % replay0))
        files = len([n for n in os.listdir(self.dest) if n.endswith(".sha256")])
        self.res["apply"] = {"mib": applied / MiB, "restore_s": restore_s, "copy_s": copy_s,
                             "mib_per_s": applied / MiB / restore_s, "files_in_dest": files,
                             "report": json.loads(out or "{}")}
        say("log apply: %.1f MiB replayed in %.2f s (%.1f MiB/s); copy --all %.2f s" %
            (applied / MiB, restore_s, applied / MiB / restore_s, copy_s))
        psql(self.primary, "DROP DATABASE walgen")
        self.start_copier()

    # ---- servers and load ---------------------------------------------------

    def start_servers(self):
        """a1, then b1 (one after the other: the first creates the administrator)."""
        self.a1 = self.start_pchatd(self.a1_conf, self.a1_port, self.a1_log)
        self.b1 = self.start_pchatd(self.b1_conf, self.b1_port, self.b1_log)
        time.sleep(1.5)  # the servers see each other and both databases

    def start_pchatd(self, conf, port, log):
        p = self.procs.start([self.a.build + "/pchatd", "-c", conf], log)

        def listening():
            if p.poll() is not None:
                raise RuntimeError("pchatd -c %s exited" % conf)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 30, "pchatd on %d" % port)
        return p

    def loadgen(self, port, mode, log, json_out, extra):
        cmd = [self.a.build + "/bench/pchat-loadgen", "--port", str(port), "--mode", mode,
               "--clients", str(self.a.clients), "--rooms", str(ROOMS), "--json",
               "--sasl", "%s%%d:%s" % (ACCOUNT, self.password), "--sasl-mech",
               self.a.mech, "--bind-range", "127.0.0.2-127.0.0.9", "--setup-timeout", "900"]
        if self.a.mech == "SCRAM-SHA-256":
            cmd += ["--scram-cache", self.a.keep + "/scram-keys"]
        with open(json_out, "wb") as out:
            return self.procs.start(cmd + extra, log, stdout=out)

    def connect_a1(self):
        """The N clients on a1, kept connected (idle mode, a long settle)."""
        extra = ["--settle", "3600", "--server-pid", str(self.a1.pid), "--connect-rate", "0",
                 "--max-handshakes", "500"]
        if self.a.mech == "SCRAM-SHA-256" and self.reused and \
                os.path.exists(self.a.keep + "/scram-keys"):
            extra.append("--no-scram-warmup")
        self.idle = self.loadgen(self.a1_port, "idle", self.tmp + "/idle.err",
                                 self.tmp + "/idle.json", extra)
        self.sender = Sender(self.a1_port, self.a.rate)
        t = time.monotonic()
        say("connecting %d clients to a1 (%s) ..." % (self.a.clients, self.a.mech))

        def all_there():
            if self.idle.poll() is not None:
                raise RuntimeError("the loadgen on a1 exited: %s" % self.tmp + "/idle.err")
            return self.sender.count_users() >= self.a.clients + 1
        wait_for(all_there, 1800, "the clients on a1", 1.0)
        self.res["a1_connect_s"] = time.monotonic() - t
        say("%d clients on a1 after %.1f s" % (self.a.clients, self.res["a1_connect_s"]))

    # ---- failover -----------------------------------------------------------

    def kill_a(self):
        load_s = self.a.load + random.uniform(0, self.a.interval)
        say("steady load: %d msgs/s for %.1f s, then data center A is killed" %
            (self.a.rate, load_s))
        self.sender.start()
        time.sleep(load_s)
        self.t_kill = time.time()
        self.a1.kill()
        self.a1.wait()
        run([self.a.pgtmp, "kill", self.primary_dir])
        if self.a.partition:
            self.partition()
        self.sender.stop = True
        self.res["kill_primary_s"] = time.time() - self.t_kill
        Procs.stop(self.idle, signal.SIGKILL)
        self.res["load_s"] = load_s
        self.res["sent"] = len(self.sender.sent)
        self.res["acked"] = len(self.sender.acked)

    def partition(self):
        """Data center A unreachable rather than refusing: TCP to the primary's
        and a1's ports dropped (nftables table pchat-rto-PID, removed on exit)."""
        port = self.primary.split("@127.0.0.1:", 1)[1].split("/")[0]
        self.nft = "pchat_rto_%d" % os.getpid()
        with open(self.tmp + "/nft", "w") as f:
            f.write(self.nft + "\n")
        run(["nft", "add", "table", "inet", self.nft])
        run(["nft", "add", "chain", "inet", self.nft, "out",
             "{ type filter hook output priority 0; }"])
        run(["nft", "add", "rule", "inet", self.nft, "out", "tcp", "dport",
             "{ %s, %d }" % (port, self.a1_port), "drop"])

    def state(self):
        try:
            with open(self.state_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def failover(self):
        watch = LogWatch(self.b1_log, {"moved": "moved to the", "restarting": "restarting",
                                       "on_backup": "using the backup database"})
        watch.start()
        self.t0 = time.time()
        out = open(self.tmp + "/failover.json", "wb")
        fo = self.procs.start([self.ctl, "-c", self.config, "--json", "failover"],
                              self.tmp + "/failover.err", pg=True, stdout=out)

        def active_done():
            if fo.poll() is not None and fo.returncode != 0:
                raise RuntimeError("pchatctl failover failed: see %s/failover.err" % self.tmp)
            return self.state().get("steps", {}).get("active", {}).get("status") == "done"
        wait_for(active_done, 300, "failover step active", 0.02)
        t_active = time.time()
        wait_for(lambda: guest_served(self.b1_port, "probe%d" % random.randrange(10**6)), 120,
                 "b1 serving", 0.05)
        t_served = time.time()
        say("b1 serves %.2f s after the command; %d clients log in ..." %
            (t_served - self.t0, self.a.clients))
        login = self.loadgen(self.b1_port, "connect", self.tmp + "/login.err",
                             self.tmp + "/login.json",
                             ["--server-pid", str(self.b1.pid), "--connect-rate", "0",
                              "--max-handshakes", str(self.a.clients), "--no-scram-warmup"]
                             if self.a.mech == "SCRAM-SHA-256" else
                             ["--server-pid", str(self.b1.pid), "--connect-rate", "0",
                              "--max-handshakes", str(self.a.clients)])
        login.wait()
        t_login_end = time.time()
        fo.wait(600)
        out.close()
        watch.stop = True
        with open(self.tmp + "/login.json") as f:
            lj = json.load(f) if os.path.getsize(self.tmp + "/login.json") else {}
        with open(self.tmp + "/failover.json") as f:
            report = json.load(f) if os.path.getsize(self.tmp + "/failover.json") else {}
        setup_s = lj.get("setup_s")
        rel = {k: v - self.t0 for k, v in watch.seen.items()}
        self.res["failover"] = {
            "t_active_seen_s": t_active - self.t0, "t_b1_served_s": t_served - self.t0,
            "t_login_start_s": t_served - self.t0, "login": lj,
            "login_wall_s": t_login_end - t_served, "rto_s":
            (t_served - self.t0 + setup_s) if setup_s is not None and
            lj.get("clients_ready") == self.a.clients else None,
            "b1_log": rel, "exit": fo.returncode, "report": report, "state": self.state()}
        say("RTO %s s" % self.res["failover"]["rto_s"])

    # ---- RPO ----------------------------------------------------------------

    def rpo(self):
        rows = psql(self.backup, "SELECT text, msgid, ts_ms FROM messages "
                                 "WHERE text LIKE 'rpo-%'").splitlines()
        present = {}
        for r in rows:
            text, msgid, ts = r.split("|")
            present[int(text.split(" ")[0][4:])] = (msgid, int(ts))
        acked = self.sender.acked
        missing = sorted(s for s in acked if s not in present)
        newest = max((s for s in acked if s in present), default=None)
        out = {"acked": len(acked), "present": len(present), "missing_acked": len(missing),
               "present_not_acked": len([s for s in present if s not in acked]),
               "out_of_order": len([s for s in missing if newest is not None and s < newest])}
        if newest is not None:
            out["newest_present_ack_s_before_kill"] = self.t_kill - acked[newest][1]
            out["newest_present_stored_s_before_kill"] = self.t_kill - present[newest][1] / 1000
        if missing:
            out["missing_span_s"] = self.t_kill - acked[missing[0]][0]
        summary = self.res["failover"]["report"].get("summary", {})
        restore = self.state().get("steps", {}).get("restore", {}).get("output") or {}
        rp = restore.get("recovery_point_ms")
        if isinstance(rp, (int, float)) and rp > 0:
            out["recovery_point_s_before_kill"] = self.t_kill - rp / 1000
        out["recovery_point"] = restore.get("recovery_point")
        out["last_applied"] = restore.get("last_applied")
        out["recover_msgid"] = summary.get("recover.msgid")
        self.res["rpo"] = out
        say("RPO: %s" % json.dumps(out))

    # ---- failback -----------------------------------------------------------

    def failback(self):
        """Data center A comes back (its old primary restarted, the partition
        lifted): `pchatctl failback` while a guest on b1 keeps sending; every
        acknowledged message must be in A afterwards (RPO zero)."""
        if self.nft:
            run(["nft", "delete", "table", "inet", self.nft], check=False)
            self.nft = None
        run([self.a.pgtmp, "restart", self.primary_dir])
        time.sleep(3)  # fenced by the first process that sees both databases
        sender = Sender(self.b1_port, self.a.rate, prefix="fb")
        sender.start()
        time.sleep(2)
        t0 = time.time()
        p = run([self.ctl, "-c", self.config, "--json", "failback"], pg=True, check=False)
        total = time.time() - t0
        time.sleep(2)
        sender.stop = True
        report = json.loads(p.stdout) if p.stdout.strip() else {}
        if p.returncode != 0:
            say("pchatctl failback failed (exit %d):\n%s" % (p.returncode, p.stderr[-3000:]))
            for log in (self.backup_data + "/log", self.primary_dir + "/data/log"):
                if os.path.exists(log):
                    with open(log, errors="replace") as f:
                        say("%s (tail):\n%s" % (log, "".join(f.readlines()[-25:])))
        q = psql(self.primary, "SELECT split_part(text, ' ', 1) FROM messages WHERE text "
                               "LIKE 'fb-%'", check=False)
        present = set(q.split()) if isinstance(q, str) else set()
        acked = ["fb-%d" % s for s in sender.acked]
        steps = {s["name"]: s for s in report.get("steps", [])}
        summary = report.get("summary", {})
        acks = sorted(a[1] for a in sender.acked.values())
        self.res["failback"] = {
            "exit": p.returncode, "total_s": total, "acked": len(acked),
            "missing_acked": len([a for a in acked if a not in present]),
            "steps": {n: {"status": s["status"], "ms": s["ms"]} for n, s in steps.items()},
            "summary": summary,
            "last_ack_s_after_command": (acks[-1] - t0) if acks else None,
            "stderr": p.stderr[-2000:] if p.returncode else ""}
        say("failback: %s" % json.dumps(self.res["failback"]))

    def show_logs(self):
        """The tail of every log of this run, on stderr (the directory goes on exit)."""
        for name in sorted(os.listdir(self.tmp)):
            if name.endswith((".log", ".err")):
                with open(os.path.join(self.tmp, name), errors="replace") as f:
                    tail = f.readlines()[-8:]
                if tail:
                    say("%s:\n    %s" % (name, "    ".join(tail)))

    def main(self):
        try:
            self.setup_dcs()
            self.setup_accounts()
            if self.a.apply_mb > 0:
                self.apply_rate()
            self.start_servers()
            self.connect_a1()
            self.kill_a()
            self.failover()
            self.rpo()
            if not self.a.no_failback:
                self.failback()
        except Exception:
            self.show_logs()
            raise
        finally:
            if self.nft:
                run(["nft", "delete", "table", "inet", self.nft], check=False)
            with open(self.tmp + "/result.json", "w") as f:
                json.dump(self.res, f, indent=1)
            self.procs.stop_all()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--pgtmp", required=True)
    ap.add_argument("--keep", required=True, help="accounts, password, SCRAM key cache")
    ap.add_argument("--clients", type=int, default=2000)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--interval", type=int, default=10, help="backup_interval, s")
    ap.add_argument("--load", type=float, default=30, help="s of load before the kill (+ random)")
    ap.add_argument("--apply-mb", type=int, default=64)
    ap.add_argument("--mech", default="SCRAM-SHA-256")
    ap.add_argument("--segsize", type=int, default=1, help="WAL segment size, MB")
    ap.add_argument("--no-failback", action="store_true",
                    help="stop after the failover (no failback phase)")
    ap.add_argument("--partition", action="store_true",
                    help="after the kill, drop TCP to A (nftables) instead of refusing")
    Bench(ap.parse_args()).main()


if __name__ == "__main__":
    main()
