#!/usr/bin/env bash
# bench/soak.sh — the soak test (issue 7, "Reliability"): one pchatd under
# moderate mixed load for N minutes; its RSS and open file descriptors must
# stay flat. Not part of `make check`; `make soak` runs it on build/.
#
#   bench/soak.sh BUILD_DIR [--minutes N] [--out DIR] [--logs DIR] [--no-compliance]
#
# Builds nothing. In a temporary directory it copies BUILD_DIR's pchatd,
# pchatctl and pchat-loadgen (a rebuild during the run changes nothing),
# writes a config (SQLite, plain and TLS listeners on free 127.0.0.1 ports,
# guests allowed, cheap password hashing, flood_rate = 0, compliance capture
# on with an adapter run every minute), creates accounts and rooms
# bench0..bench9 with pchatctl, starts pchatd and, after 20 s idle, runs for
# N minutes (default 30) at once:
#   steady   pchat-loadgen latency mode, 300 clients in 10 rooms, 600 msg/s
#            (~18,000 deliveries/s), in rounds of 5 minutes (all reconnect)
#   churn    every 20 s one short pchat-loadgen run, in turn: 100 guests
#            connect+join+leave; 50 accounts with SASL PLAIN; the same with
#            SCRAM-SHA-256; 60 guests that join, send 100 msg/s for 5 s, leave
#   client   bench/soak_client.py every 10 s: CHATHISTORY, SEARCH, private
#            messages, TOPIC/WHO/LIST/…, REDACT, the pchat service, TLS,
#            connections that stop half-way, bad input, a reader that stalls
#   admin    every 60 s pchatctl: room/user list, room set, message list,
#            add and remove an account and a room, remove the rooms the
#            client created, room clear, db version; every 5 minutes
#            db check and a SIGHUP (configuration and TLS reload)
# and samples every 10 s pchatd's VmRSS (/proc/PID/status), open fds
# (/proc/PID/fd: sockets and the rest), CPU time, threads and the database
# files' sizes; then 20 s idle again, where it lists the descriptors and,
# when gdb may attach, has pchatd call malloc_trim(0) to show how much of
# its RSS is memory malloc holds free. It stops the server (SIGTERM) and
# writes DIR/SOAK.md (default bench/results: verdict, summary, a sample per
# minute) and DIR/soak.png (gnuplot: RSS and fds over minutes, two axes;
# database size below). The steady state runs from the end of a 2-minute
# warm-up to the end of the last steady round. Verdict "flat": RSS less the
# database page caches (SQLite's, which fill up to their set size as the
# database grows; pchatd logs their size on SIGUSR1, sent before each
# sample) of its last minute less than 5% above that of its first minute
# (raw RSS and the caches are reported beside it), no more sockets
# idle after the load than idle before it, and no more other descriptors
# (files, pipes, database connections) at the end of the steady state than
# at its start (medians of each minute's samples). Every process it starts
# is stopped and the temporary directory removed on exit, also on Ctrl-C
# or SIGTERM (--logs DIR keeps the logs and raw samples).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	bench_usage "$0"
	echo
	echo "options:"
	echo "  --minutes N   minutes of load (default 30; warm-up 2 min, less below 6)"
	echo "  --out DIR     where SOAK.md and soak.png go (default bench/results)"
	echo "  --logs DIR    also keep the server log, samples and every run's output in DIR"
	echo "  --no-compliance  run without compliance capture (to tell its share of the memory)"
}

BUILD=""
MINUTES=30
OUT=""
LOGS=""
COMPLIANCE=yes
while [ $# -gt 0 ]; do
	case "$1" in
	--minutes) MINUTES="$2"; shift 2 ;;
	--out) OUT="$2"; shift 2 ;;
	--logs) LOGS="$2"; shift 2 ;;
	--no-compliance) COMPLIANCE=no; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "soak.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) BUILD="$1"; shift ;;
	esac
done
[ -n "$BUILD" ] || { usage >&2; exit 2; }
case "$MINUTES" in
'' | *[!0-9]*) echo "soak.sh: --minutes takes a whole number" >&2; exit 2 ;;
esac
[ "$MINUTES" -ge 1 ] || { echo "soak.sh: --minutes must be at least 1" >&2; exit 2; }
BUILD="$(cd "$BUILD" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$HERE/results}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
PY="${PYTHON:-python3}"
for b in "$BUILD/pchatd" "$BUILD/pchatctl" "$BUILD/bench/pchat-loadgen"; do
	[ -x "$b" ] || { echo "soak.sh: $b not built (ninja -C $BUILD)" >&2; exit 1; }
done
command -v gnuplot >/dev/null || { echo "soak.sh: gnuplot missing; run: apt-get install -y gnuplot-nox" >&2; exit 1; }

# the load (moderate: a leak test, not a saturation test)
STEADY_CLIENTS=300
STEADY_ROOMS=10
STEADY_RATE=600
STEADY_ROUND=300 # seconds per steady round
CHURN_EVERY=20
CLIENT_EVERY=10
ADMIN_EVERY=60
SAMPLE_EVERY=10
IDLE=20 # seconds idle before and after the load
N_ACCOUNTS=50
LOAD_S=$((MINUTES * 60))
WARMUP_S=120
[ "$MINUTES" -ge 6 ] || WARMUP_S=$((LOAD_S / 3))

TMP="$(mktemp -d /tmp/pchat-soak.XXXXXX)"
BIN="$TMP/bin"
CFG="$TMP/pchatd.conf"
DATA="$TMP/data"
PASSWORD="soak-$$-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
LOOP_PIDS=()

# Each loop runs as a background job in its own process group (set -m), so
# that stopping it also stops the load generator or pchatctl it is waiting on.
set -m
soak_cleanup() {
	local pid
	for pid in "${LOOP_PIDS[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || true
	done
	for pid in "${LOOP_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	LOOP_PIDS=()
	stop_server
	if [ -n "$LOGS" ] && [ -d "$TMP" ]; then
		mkdir -p "$LOGS"
		cp -a "$TMP/log/." "$TMP/server.log" "$TMP/samples.tsv" "$LOGS/" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap soak_cleanup EXIT
trap 'exit 130' INT TERM HUP
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

mkdir "$BIN" "$TMP/log" "$TMP/json"
mkdir -m 700 "$DATA"
cp "$BUILD/pchatd" "$BUILD/pchatctl" "$BUILD/bench/pchat-loadgen" "$BIN/"
PORT="$(free_port)"
TLS_PORT="$(free_port)"
cat >"$CFG" <<CONF
[server]
data_dir = $DATA
listen = 127.0.0.1:$PORT, tls://127.0.0.1:$TLS_PORT

[auth]
allow_guests = yes
scram_iterations = 4096
argon2_opslimit = 1
argon2_memlimit_kib = 8192
auth_fail_delay_ms = 200

[limits]
flood_rate = 0
max_clients = 20000
sendq = 1048576

[compliance]
enabled = $COMPLIANCE
run_interval = 60s
format = jsonl
CONF

ctl() {
	"$BIN/pchatctl" -c "$CFG" "$@" >>"$TMP/log/setup.log" 2>&1 ||
		{ echo "soak.sh: pchatctl $* failed:" >&2; tail -5 "$TMP/log/setup.log" >&2; exit 1; }
}

echo "soak.sh: creating accounts and rooms in $TMP ..." >&2
echo "$PASSWORD" | ctl user add soakadmin --password-stdin --admin
echo "$PASSWORD" | ctl user add soakpeer --password-stdin
for i in $(seq 0 $((N_ACCOUNTS - 1))); do
	echo "$PASSWORD" | ctl user add "churn$i" --password-stdin
done
for i in $(seq 0 $((STEADY_ROOMS - 1))); do
	ctl room add "bench$i" --privacy open
done

"$BIN/pchatd" -c "$CFG" >>"$TMP/server.log" 2>&1 &
SERVER_PID=$!
wait_port soak.sh "$PORT" "$SERVER_PID" "$TMP/server.log"
wait_port soak.sh "$TLS_PORT" "$SERVER_PID" "$TMP/server.log"

# --- sampling ---------------------------------------------------------------

T_START=$(($(date +%s) + IDLE)) # the load starts then; t = 0 in the samples
LOAD_END=$((T_START + LOAD_S))
CLK_TCK="$(getconf CLK_TCK)"

# The database page caches pchatd reports on SIGUSR1 (its "memory:" log
# line), in KiB; the last report when a new one does not come within 2 s.
CACHE_KIB=0
page_caches() {
	local n line
	n=$(grep -c 'memory: RSS' "$TMP/server.log" 2>/dev/null) || true
	kill -USR1 "$SERVER_PID" 2>/dev/null || return 0
	for _ in $(seq 20); do
		[ "$(grep -c 'memory: RSS' "$TMP/server.log" 2>/dev/null)" -gt "${n:-0}" ] && break
		sleep 0.1
	done
	line=$(grep 'memory: RSS' "$TMP/server.log" 2>/dev/null | tail -1)
	[[ $line =~ page\ caches\ ([0-9.]+)\ MiB ]] &&
		CACHE_KIB=$(awk -v m="${BASH_REMATCH[1]}" 'BEGIN { printf "%.0f", m * 1024 }')
	return 0
}

# One line: t rss_kib anon_kib file_kib shmem_kib fds threads cpu_ticks db_kib
# wal_kib data_kib load1 socket_fds cache_kib.
sample() {
	local now st fds socks cpu db wal du
	page_caches
	now=$(date +%s%N)
	st="$(awk '/^(VmRSS|RssAnon|RssFile|RssShmem|Threads):/ {printf "%s ", $2}' \
		"/proc/$SERVER_PID/status" 2>/dev/null)" || return 0
	[ -n "$st" ] || return 0
	fds=$(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null) || true
	socks=$(grep -c '^socket:' <<<"$fds") || true
	fds=$(grep -c . <<<"$fds") || true
	cpu=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0)
	db=$(($(stat -c %s "$DATA/pchat.db" 2>/dev/null || echo 0) / 1024))
	wal=$(($(stat -c %s "$DATA/pchat.db-wal" 2>/dev/null || echo 0) / 1024))
	du=$(du -sk "$DATA" 2>/dev/null | cut -f1) || true # files may vanish meanwhile
	# st: VmRSS RssAnon RssFile RssShmem Threads (their order in the file)
	# shellcheck disable=SC2086 # five numbers
	set -- $st
	printf '%.1f %s %s %s %s %s %s %s %s %s %s %s %s %s\n' \
		"$(awk -v n="$now" -v t="$T_START" 'BEGIN { printf "%.1f", n / 1e9 - t }')" \
		"$1" "$2" "$3" "$4" "$fds" "$5" "$cpu" \
		"$db" "$wal" "${du:-0}" "$(cut -d' ' -f1 /proc/loadavg)" "$socks" "$CACHE_KIB"
}

sampler() {
	while kill -0 "$SERVER_PID" 2>/dev/null; do
		sample >>"$TMP/samples.tsv"
		sleep "$SAMPLE_EVERY"
	done
}

# --- the load ---------------------------------------------------------------

LOADGEN="$BIN/pchat-loadgen"
left() { echo $((LOAD_END - $(date +%s))); }
# nap N: sleep N seconds, but not past the end of the load.
nap() {
	local l
	l=$(left)
	[ "$l" -gt 0 ] || return 0
	sleep $(($1 < l ? $1 : l))
}

steady_loop() {
	local r=0 d rc
	while [ "$(left)" -ge 15 ]; do
		d=$(($(left) - 5))
		[ "$d" -le "$STEADY_ROUND" ] || d=$STEADY_ROUND
		rc=0
		"$LOADGEN" --port "$PORT" --server-pid "$SERVER_PID" --json --mode latency \
			--clients "$STEADY_CLIENTS" --rooms "$STEADY_ROOMS" --rate "$STEADY_RATE" \
			--size 100 --duration "$d" --warmup 1 --drain 2 --setup-timeout 60 \
			--nick-prefix "st${r}_" >"$TMP/json/steady-$r.json" 2>"$TMP/log/steady-$r.err" ||
			rc=$?
		echo "$r $rc $(date +%s)" >>"$TMP/log/steady.rc"
		r=$((r + 1))
	done
}

# churn_run KIND N: one short load generator run; appends "KIND rc json" to
# churn.tsv.
churn_run() {
	local kind="$1" n="$2" rc=0 args
	case "$kind" in
	guests) args=(--mode connect --clients 100 --nick-prefix "cg${n}_") ;;
	plain) args=(--mode connect --clients "$N_ACCOUNTS" --sasl "churn%d:$PASSWORD") ;;
	scram) args=(--mode connect --clients "$N_ACCOUNTS" --sasl "churn%d:$PASSWORD"
		--sasl-mech SCRAM-SHA-256 --scram-cache "$TMP/scram.keys") ;;
	send) args=(--mode latency --clients 60 --rate 100 --duration 5 --warmup 0 --drain 1
		--nick-prefix "cs${n}_") ;;
	esac
	"$LOADGEN" --port "$PORT" --json --rooms "$STEADY_ROOMS" --setup-timeout 30 "${args[@]}" \
		>"$TMP/json/churn-$n.json" 2>>"$TMP/log/churn.err" || rc=$?
	printf '%s %s %s\n' "$kind" "$rc" "$(tr -d '\n' <"$TMP/json/churn-$n.json")" >>"$TMP/log/churn.tsv"
}

churn_loop() {
	local n=0 kinds=(guests plain scram send) t0
	sleep 5
	while [ "$(left)" -ge 10 ]; do
		t0=$(date +%s)
		churn_run "${kinds[$((n % 4))]}" "$n"
		n=$((n + 1))
		nap $((CHURN_EVERY - ($(date +%s) - t0) > 0 ? CHURN_EVERY - ($(date +%s) - t0) : 1))
	done
}

# admin CMD...: pchatctl against the running server; "rc command" to admin.tsv.
admin() {
	local rc=0
	"$BIN/pchatctl" -c "$CFG" "$@" >>"$TMP/log/admin.out" 2>&1 || rc=$?
	echo "$rc $*" >>"$TMP/log/admin.tsv"
}

admin_loop() {
	local i=0 r
	sleep 15
	while [ "$(left)" -ge 5 ]; do
		admin --json room list >/dev/null
		# the rooms soak_client.py made through the pchat service
		for r in $("$BIN/pchatctl" -c "$CFG" --json room list 2>/dev/null |
			grep -o '"name": *"#\{0,1\}soaktmp[0-9]*"' | grep -o 'soaktmp[0-9]*' || true); do
			admin room remove "$r"
		done
		admin user list
		admin room set bench3 --description "soak admin round $i"
		admin message list --room bench1 --limit 200
		admin room show bench2
		admin db version
		echo "$PASSWORD" | admin user add "soaku$i" --password-stdin
		[ "$i" -eq 0 ] || admin user remove "soaku$((i - 1))"
		admin room add "soakroom$i" --privacy open
		admin room set "soakroom$i" --disabled yes
		admin room remove "soakroom$i"
		if [ $((i % 5)) -eq 4 ]; then
			admin db check
			admin room clear bench5 --before "$(date -u -d '-3 minutes' +%Y-%m-%dT%H:%M:%SZ)"
			kill -HUP "$SERVER_PID" && echo "0 SIGHUP" >>"$TMP/log/admin.tsv"
		fi
		i=$((i + 1))
		nap "$ADMIN_EVERY"
	done
}

# --- run --------------------------------------------------------------------

# fd_kinds FILE: pchatd's open descriptors by target, counted ("socket",
# "pipe", "anon_inode:[eventfd]", or a file's path).
fd_kinds() {
	find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null |
		sed 's/^\(socket\|pipe\):\[[0-9]*\]$/\1/' | sort | uniq -c | sort -rn >"$1" || true
}

sampler &
LOOP_PIDS+=($!)
echo "soak.sh: pchatd $SERVER_PID on 127.0.0.1:$PORT (TLS $TLS_PORT); $MINUTES min of load from $(date -d "@$T_START" +%H:%M:%S)" >&2
sleep $((T_START - $(date +%s) > 0 ? T_START - $(date +%s) : 1))
fd_kinds "$TMP/fds-before.txt"
steady_loop &
LOAD_PIDS=($!)
churn_loop &
LOAD_PIDS+=($!)
admin_loop &
LOAD_PIDS+=($!)
"$PY" "$HERE/soak_client.py" --port "$PORT" --tls-port "$TLS_PORT" --user soakadmin \
	--password "$PASSWORD" --peer soakpeer --rooms "$STEADY_ROOMS" --until "$LOAD_END" \
	--interval "$CLIENT_EVERY" >"$TMP/json/client.json" 2>"$TMP/log/client.err" &
LOAD_PIDS+=($!)
LOOP_PIDS+=("${LOAD_PIDS[@]}")
set +m # the groups exist; no job notices from here on

while [ "$(left)" -gt 0 ]; do
	kill -0 "$SERVER_PID" 2>/dev/null || { echo "soak.sh: pchatd died; its log:" >&2; tail -20 "$TMP/server.log" >&2; exit 1; }
	m=$(((LOAD_S - $(left)) / 60))
	[ $((m % 5)) -ne 0 ] || [ "${last_m:-x}" = "$m" ] || {
		last_m=$m
		echo "soak.sh: minute $m of $MINUTES: $(tail -1 "$TMP/samples.tsv" | awk '{printf "RSS %.1f MiB, %d fds", $2 / 1024, $6}')" >&2
	}
	sleep 5
done
for pid in "${LOAD_PIDS[@]}"; do
	wait "$pid" || true
done
T_LOADEND=$(($(date +%s) - T_START))
echo "soak.sh: load over after ${T_LOADEND}s; ${IDLE}s idle ..." >&2
sleep "$IDLE"
sample >>"$TMP/samples.tsv"
fd_kinds "$TMP/fds-after.txt"
# How much of the RSS is memory malloc holds free (glibc keeps freed memory
# of its arenas): ask pchatd to return it with malloc_trim(0) through gdb,
# when gdb is there and may attach; the verdict does not use it.
TRIM=""
if command -v gdb >/dev/null &&
	timeout 60 gdb -p "$SERVER_PID" -batch -nx -ex 'call (int) malloc_trim(0)' >"$TMP/log/gdb.log" 2>&1; then
	sleep 1
	TRIM="$(awk '/^(VmRSS|RssAnon):/ {printf "%s ", $2}' "/proc/$SERVER_PID/status")"
fi
kill -TERM -- "-${LOOP_PIDS[0]}" 2>/dev/null || true
wait "${LOOP_PIDS[0]}" 2>/dev/null || true
LOOP_PIDS=()

SERVER_RC=0
kill "$SERVER_PID"
for _ in $(seq 100); do
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.1
done
wait "$SERVER_PID" || SERVER_RC=$?
SERVER_PID=""

# --- report -----------------------------------------------------------------

CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
VERSION="$("$BIN/pchatd" --version 2>/dev/null | head -1 || true)"
COMMIT="$(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$HERE/.." diff --quiet HEAD -- src 2>/dev/null || COMMIT="$COMMIT + uncommitted changes in src/"
"$PY" - "$TMP" "$OUT" "$MINUTES" "$WARMUP_S" "$T_LOADEND" "$T_START" "$SAMPLE_EVERY" \
	"$CLK_TCK" "$(nproc)" "$CPU_MODEL" "$VERSION ($COMMIT)" "$SERVER_RC" "$BUILD" \
	"$STEADY_CLIENTS $STEADY_ROOMS $STEADY_RATE $STEADY_ROUND" "$COMPLIANCE" "$TRIM" <<'PYEOF'
import glob, json, os, re, statistics, sys, time

(tmp, out, minutes, warmup, t_loadend, t_start, every, clk, ncpu, cpu_model, version,
 server_rc, build, steady_args, compliance, trim) = sys.argv[1:17]
trim = [float(x) for x in trim.split()]  # VmRSS, RssAnon after malloc_trim(0), or none
minutes, warmup, t_loadend, t_start, every, clk = (
    int(x) for x in (minutes, warmup, t_loadend, t_start, every, clk))
st_clients, st_rooms, st_rate, st_round = (int(x) for x in steady_args.split())
bname = os.path.basename(build)

# samples: t rss anon file shmem fds threads cpu db wal data load1 sockets
# caches (+ other fds, + RSS less the database page caches)
T, RSS, ANON, FDS, THR, CPU, DB, WAL, DATA, LOAD1, SOCK, CACHE, OTHER, OWN = (
    0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
S = []
for line in open(f"{tmp}/samples.tsv"):
    f = line.split()
    if len(f) == 14:
        s = [float(x) for x in f]
        s.append(s[FDS] - s[SOCK])
        s.append(s[RSS] - s[CACHE])
        S.append(s)
before = [s for s in S if s[T] < 0]
load = [s for s in S if 0 <= s[T] <= t_loadend]
after = [s for s in S if s[T] > t_loadend]
if not before or not after or len(load) < 4:
    sys.exit("soak.sh: too few samples to report")
idle_b, idle_a = before[-1], after[-1]

def lines_of(path):
    return open(path, errors="replace").read().splitlines() if os.path.exists(path) else []

rcs, steady_end = {}, t_loadend
for line in lines_of(f"{tmp}/log/steady.rc"):
    r, rc, end = line.split()
    rcs[int(r)] = int(rc)
    steady_end = int(end) - t_start
# the steady state: from the end of the warm-up to the end of the last steady round
steady = [s for s in load if warmup <= s[T] <= steady_end] or load
mib = lambda kib: kib / 1024.0
mean = lambda pts, k: sum(p[k] for p in pts) / len(pts)
med = lambda pts, k: statistics.median(p[k] for p in pts)

def window(t0, t1):
    return [p for p in steady if t0 <= p[T] <= t1] or steady[:1]

def slope_per_h(k, pts=None):
    """Least-squares slope of column k over pts (the steady state), per hour."""
    pts = pts or steady
    xs, ys = [p[T] / 3600.0 for p in pts], [p[k] for p in pts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0

first = window(steady[0][T], steady[0][T] + 60)
last = window(steady[-1][T] - 60, steady[-1][T])
rss0, rss1 = med(first, RSS), med(last, RSS)
rss_growth = (rss1 - rss0) / rss0 * 100
own0, own1 = med(first, OWN), med(last, OWN)
own_growth = (own1 - own0) / own0 * 100
cache0, cache1 = med(first, CACHE), med(last, CACHE)
other0, other1 = med(first, OTHER), med(last, OTHER)
sock0, sock1 = med(first, SOCK), med(last, SOCK)
# SQLite's page caches fill up to their configured size as the database
# grows (measured by pchatd itself, SIGUSR1): a bounded cache, not a leak;
# everything else must stay flat
rss_ok = own_growth < 5.0
# fds do not grow: no socket left behind once every client is gone, and no
# other descriptor (files, pipes, database connections) piling up during
# the steady state
fd_ok = idle_a[SOCK] <= idle_b[SOCK] and other1 <= other0
flat = rss_ok and fd_ok
verdict = "flat" if flat else "NOT flat"
span_min = (steady[-1][T] - steady[0][T]) / 60.0
cpu_s = (load[-1][CPU] - load[0][CPU]) / clk
cpu_pct = cpu_s / max(1e-9, load[-1][T] - load[0][T]) * 100
mx = max(load, key=lambda s: s[RSS])

def jload(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

rounds = [jload(p) for p in sorted(glob.glob(f"{tmp}/json/steady-*.json"),
                                   key=lambda p: int(re.findall(r"(\d+)\.json$", p)[0]))]
churn = {}
for line in lines_of(f"{tmp}/log/churn.tsv"):
    kind, rc, js = (line.split(" ", 2) + [""])[:3]
    d = churn.setdefault(kind, {"runs": 0, "bad_rc": 0, "ready": 0, "clients": 0})
    d["runs"] += 1
    d["bad_rc"] += rc != "0"
    try:
        j = json.loads(js) if js.strip() else {}
    except ValueError:
        j = {}
    d["ready"] += j.get("clients_ready", 0)
    d["clients"] += j.get("clients", 0)
admin_n, admin_fail = 0, {}
for line in lines_of(f"{tmp}/log/admin.tsv"):
    rc, cmd = line.split(" ", 1)
    admin_n += 1
    if rc != "0":
        key = " ".join(cmd.split()[:2])
        admin_fail[key] = admin_fail.get(key, 0) + 1
client = jload(f"{tmp}/json/client.json")
log = lines_of(f"{tmp}/server.log")
sanitizer = sum(1 for l in log if "Sanitizer" in l or "runtime error:" in l)
problems = {}
for l in log:
    m = re.match(r"\S+ (WARN|ERROR) +(.*)", l)
    if m:
        k = m.group(1) + " " + re.sub(r"[0-9]+", "N", m.group(2))[:100]
        problems[k] = problems.get(k, 0) + 1
n_warn = sum(v for k, v in problems.items() if k.startswith("WARN"))
n_err = sum(v for k, v in problems.items() if k.startswith("ERROR"))

def kinds(path):
    d = {}
    for line in lines_of(path):
        n, _, k = line.strip().partition(" ")
        if k:
            d[k.replace(tmp, "TMP")] = int(n)
    return d
kb, ka = kinds(f"{tmp}/fds-before.txt"), kinds(f"{tmp}/fds-after.txt")

# --- SOAK.md
md = [f"# Soak: {minutes} minutes of mixed load on one pchatd (issue 7)\n"]
md.append(f"**Verdict: {verdict}.** RSS less the database page caches {mib(own0):.1f} → "
          f"{mib(own1):.1f} MiB ({own_growth:+.1f}%; flat below +5%) from the first to the "
          f"last minute of the steady state (RSS {mib(rss0):.1f} → {mib(rss1):.1f} MiB, "
          f"{rss_growth:+.1f}%, of which SQLite's page caches {mib(cache0):.1f} → "
          f"{mib(cache1):.1f} MiB as they fill up to their set size); client sockets idle before the load {idle_b[SOCK]:.0f}, idle after "
          f"it {idle_a[SOCK]:.0f}; other descriptors (files, pipes, database connections) "
          f"{other0:.0f} → {other1:.0f} over the steady state (neither may grow).\n")
md.append("![RSS and open fds over the run; database size below](soak.png)\n")
md.append(f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
md.append(f"- machine: {ncpu} CPUs, {cpu_model}; the server, the load generators and "
          "other people's builds and tests share them")
md.append(f"- server: {version}, `{bname}/` (copied at the start), SQLite in a "
          "temporary data directory, "
          + ("compliance capture on (adapter every 60 s, JSON Lines)" if compliance == "yes"
             else "compliance capture **off** (`--no-compliance`)"))
md.append(f"- run: `bench/soak.sh {bname} --minutes {minutes}"
          f"{' --no-compliance' if compliance != 'yes' else ''}`: {t_loadend} s from the "
          f"start of the load to the end of its last run, warm-up {warmup / 60:g} min, "
          f"steady state {span_min:.1f} min, a sample every {every} s ({len(S)} samples, "
          f"{len(before)} idle before and {len(after)} idle after); pchatd's exit status "
          f"at SIGTERM: {server_rc}\n")

md.append("## What ran, all at once\n")
md.append(f"- **steady**: `pchat-loadgen --mode latency --clients {st_clients} --rooms "
          f"{st_rooms} --rate {st_rate} --size 100` in rounds of {st_round // 60} min (every "
          f"client reconnects between rounds); each message reaches "
          f"{st_clients // st_rooms - 1} others")
md.append("- **churn**, a run every 20 s, in turn: 100 guests connect, join and leave "
          "(`--mode connect`); 50 accounts the same with SASL PLAIN; the same with "
          "SCRAM-SHA-256 (cached keys); 60 guests join, send 100 msg/s for 5 s and leave")
md.append("- **client** (`bench/soak_client.py`), a round every 10 s: the administrator "
          "account (plain and TLS in turn) sends CHATHISTORY LATEST/BEFORE/AFTER/AROUND/"
          "TARGETS, three SEARCHes, room and private messages, TAGMSG, MARKREAD, TOPIC, "
          "NAMES, WHO, WHOIS, LIST, MODE, AWAY, a labeled PING, REDACT of its message, pchat "
          "service commands (every third round it creates a room); a guest joins and parts "
          "rooms and drops the socket without QUIT; connections that send nothing, only "
          "CAP LS, a wrong SASL password, invalid UTF-8, a NUL, a 9,000-byte line; one guest "
          "at a time that stops reading")
md.append("- **admin**, every 60 s (`pchatctl` against the live database): room list, user "
          "list, room set --description, message list, room show, db version, user add and "
          "remove, room add, disable and remove, removal of the client's rooms; every 5 "
          "min db check, room clear of one room and a SIGHUP (configuration and TLS reload)\n")

md.append("## Memory and descriptors\n")
md.append("| moment | t (min) | RSS MiB | anon MiB | page caches MiB | fds | sockets "
          "| other fds | threads | db + WAL MiB | data dir MiB |")
md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
def row(name, s):
    return (f"| {name} | {s[T] / 60:.1f} | {mib(s[RSS]):.1f} | {mib(s[ANON]):.1f} | "
            f"{mib(s[CACHE]):.1f} | "
            f"{s[FDS]:.0f} | {s[SOCK]:.0f} | {s[OTHER]:.0f} | {s[THR]:.0f} | "
            f"{mib(s[DB]):.1f} + {mib(s[WAL]):.1f} | {mib(s[DATA]):.1f} |")
md.append(row("idle, before the load", idle_b))
md.append(row("steady state, first sample", steady[0]))
md.append(row("steady state, last sample", steady[-1]))
md.append(row("idle, after the load", idle_a))
md.append("")
md.append("| figure | RSS less page caches | RSS | sockets | other fds |")
md.append("|---|---:|---:|---:|---:|")
md.append(f"| first minute of the steady state (medians) | {mib(own0):.1f} MiB | {mib(rss0):.1f} MiB "
          f"| {sock0:.0f} | {other0:.0f} |")
md.append(f"| last minute of the steady state | {mib(own1):.1f} MiB | {mib(rss1):.1f} MiB "
          f"| {sock1:.0f} | {other1:.0f} |")
md.append(f"| growth, last vs first minute | {own_growth:+.2f}% | {rss_growth:+.2f}% "
          f"| {sock1 - sock0:+.0f} | {other1 - other0:+.0f} |")
half = [p for p in steady if p[T] >= (steady[0][T] + steady[-1][T]) / 2]
for name, pts in (("least-squares slope over the steady state", None),
                  ("the same over its second half", half)):
    md.append(f"| {name} | {mib(slope_per_h(OWN, pts)):+.2f} MiB/h "
              f"({slope_per_h(OWN, pts) / own0 * 100:+.1f}%/h) "
              f"| {mib(slope_per_h(RSS, pts)):+.2f} MiB/h "
              f"({slope_per_h(RSS, pts) / rss0 * 100:+.1f}%/h) | {slope_per_h(SOCK, pts):+.1f}/h "
              f"| {slope_per_h(OTHER, pts):+.1f}/h |")
md.append(f"| maximum under load | | {mib(mx[RSS]):.1f} MiB (minute {mx[T] / 60:.1f}) | "
          f"{max(s[SOCK] for s in load):.0f} | {max(s[OTHER] for s in load):.0f} |")
md.append(f"| idle before → after the load | {mib(idle_b[OWN]):.1f} → {mib(idle_a[OWN]):.1f} MiB "
          f"| {mib(idle_b[RSS]):.1f} → {mib(idle_a[RSS]):.1f} MiB "
          f"| {idle_b[SOCK]:.0f} → {idle_a[SOCK]:.0f} | {idle_b[OTHER]:.0f} → "
          f"{idle_a[OTHER]:.0f} |")
if len(trim) == 2:
    md.append(f"| idle after, then `malloc_trim(0)` (gdb) | | {mib(trim[0]):.1f} MiB (anon "
              f"{mib(trim[1]):.1f}, was {mib(idle_a[ANON]):.1f}) | | |")
md.append(f"\npchatd used {cpu_s:.0f} s of CPU during the load ({cpu_pct:.0f}% of one "
          f"core). Under load the sockets are the {st_clients} steady clients, the "
          "listeners and whatever churn was connected at the sample's moment; idle, only "
          "the listeners. RSS includes file-backed pages (the binary, libraries and "
          f"SQLite's shared WAL index): {mib(steady[-1][RSS] - steady[-1][ANON]):.1f} MiB "
          "at the end of the steady state.\n")
md.append("pchatd's descriptors, idle before and after the load (`/proc/PID/fd` targets, "
          "inode numbers left out; TMP is the run's temporary directory):\n")
md.append("| target | before | after |")
md.append("|---|---:|---:|")
for k in sorted(set(kb) | set(ka), key=lambda k: (-max(kb.get(k, 0), ka.get(k, 0)), k)):
    mark = " (≠)" if kb.get(k, 0) != ka.get(k, 0) else ""
    md.append(f"| `{k}` | {kb.get(k, 0)} | {ka.get(k, 0)}{mark} |")

md.append("\n## The load as run\n")
md.append("Steady rounds (send-to-delivery latency; the generator shares the CPUs with the "
          "server and everything else):\n")
md.append("| round | measured s | clients ready | sent msg/s | deliveries/s | p50 / p99 ms "
          "| FAIL replies | exit |")
md.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
for i, j in enumerate(rounds):
    lat = j.get("latency_ms", {})
    md.append(f"| {i} | {j.get('duration_s', 0):.0f} | {j.get('clients_ready', 0)} | "
              f"{j.get('sent_per_s', 0):,.0f} | {j.get('delivered_per_s', 0):,.0f} | "
              f"{lat.get('p50', 0):.1f} / {lat.get('p99', 0):.1f} | {j.get('errors', 0)} | "
              f"{rcs.get(i, '?')} |")
md.append("\n| churn | runs | runs with exit ≠ 0 | clients ready / asked |")
md.append("|---|---:|---:|---:|")
for k in ("guests", "plain", "scram", "send"):
    if k in churn:
        d = churn[k]
        md.append(f"| {k} | {d['runs']} | {d['bad_rc']} | {d['ready']:,} / {d['clients']:,} |")
c = client
md.append("\n" + (
    f"soak_client.py: {c.get('rounds', 0)} rounds; {c.get('history_sessions', 0)} history "
    f"sessions ({c.get('history', 0)} CHATHISTORY, {c.get('search', 0)} SEARCH), "
    f"{c.get('guest_sessions', 0)} guest sessions, {c.get('abuse', 0)} broken connections, "
    f"{c.get('stalled', 0)} stalled readers ({c.get('stalled_dropped', 0)} dropped by the "
    f"server, {c.get('stalled_expired', 0)} closed by the client after 300 s); {c.get('errors', 0)} "
    "sessions failed" + (f" (last: `{c['last_error']}`)" if c.get("last_error") else "")
    + "." if c else "soak_client.py: no result."))
md.append(f"\npchatctl: {admin_n} commands, {sum(admin_fail.values())} failed"
          + (" (" + ", ".join(f"{k}: {v}" for k, v in sorted(admin_fail.items())) + ")"
             if admin_fail else "") + ".")
md.append(f"\nServer log: {len(log):,} lines, {n_warn} warnings, {n_err} errors"
          + (f", {sanitizer} sanitizer lines" if sanitizer else "") + ".")
if problems:
    md.append("\n| warning or error (digits as N) | count |")
    md.append("|---|---:|")
    for k, v in sorted(problems.items(), key=lambda kv: -kv[1])[:12]:
        md.append(f"| `{k.replace('|', '/')}` | {v} |")

md.append("\n## A sample per minute\n")
md.append("| t (min) | RSS MiB | anon MiB | page caches MiB | fds | sockets | other fds "
          "| threads | db MiB | WAL MiB | load avg |")
md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
nxt = -1e9
for s in S:
    if s[T] >= nxt or s is S[-1]:
        md.append(f"| {s[T] / 60:.1f} | {mib(s[RSS]):.1f} | {mib(s[ANON]):.1f} "
                  f"| {mib(s[CACHE]):.1f} | {s[FDS]:.0f} "
                  f"| {s[SOCK]:.0f} | {s[OTHER]:.0f} | {s[THR]:.0f} | {mib(s[DB]):.1f} "
                  f"| {mib(s[WAL]):.1f} | {s[LOAD1]:.2f} |")
        nxt = (int(s[T] // 60) + 1) * 60
with open(f"{out}/SOAK.md", "w") as f:
    f.write("\n".join(md) + "\n")

# --- data for gnuplot: minutes, RSS MiB, fds, other fds, db MiB, WAL MiB, data MiB
with open(f"{tmp}/soak.dat", "w") as f:
    for s in S:
        f.write(f"{s[T] / 60:.3f} {mib(s[RSS]):.2f} {s[FDS]:.0f} {s[OTHER]:.0f} "
                f"{mib(s[DB]):.2f} {mib(s[WAL]):.2f} {mib(s[DATA]):.2f} "
                f"{mib(s[CACHE]):.2f} {mib(s[OWN]):.2f}\n")
with open(f"{tmp}/soak.vars", "w") as f:
    f.write(f"warm={warmup / 60:.3f}\nsend={steady[-1][T] / 60:.3f}\n"
            f"verdict='{verdict}: RSS less page caches {own_growth:+.1f}% over the steady state; sockets idle "
            f"{idle_b[SOCK]:.0f} -> {idle_a[SOCK]:.0f}; other fds {other0:.0f} -> {other1:.0f}'\n")
print(f"soak.sh: verdict: {verdict} (RSS less page caches {own_growth:+.1f}%, RSS "
      f"{rss_growth:+.1f}%, sockets idle "
      f"{idle_b[SOCK]:.0f} -> {idle_a[SOCK]:.0f}, other fds {other0:.0f} -> {other1:.0f})",
      file=sys.stderr)
PYEOF

gnuplot -e "dat='$TMP/soak.dat'; png='$OUT/soak.png'; load '$TMP/soak.vars'" /dev/stdin <<'GP'
set terminal pngcairo size 1000,720 font "sans,10"
set output png
set multiplot title "pchatd soak — ".verdict
set lmargin 10
set rmargin 10
set grid
set key right center box opaque
set xlabel "minutes since the load started"
set size 1,0.62
set origin 0,0.34
set ylabel "RSS (MiB)"
set y2label "open file descriptors"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set arrow 1 from warm, graph 0 to warm, graph 1 nohead dt 2 lc rgb "gray40"
set arrow 2 from send, graph 0 to send, graph 1 nohead dt 2 lc rgb "gray40"
set label 1 "steady state" at warm, graph 0.04 offset 0.5,0 font ",8"
plot dat using 1:2 axes x1y1 with lines lw 2 lc rgb "#3b7dd8" title "RSS (MiB, left)", \
     dat using 1:9 axes x1y1 with lines lw 2 lc rgb "#1b3d78" title "RSS less page caches (left)", \
     dat using 1:8 axes x1y1 with lines lw 1 dt 3 lc rgb "#3b7dd8" title "SQLite page caches (left)", \
     dat using 1:3 axes x1y2 with lines lw 1 lc rgb "#d8823b" title "open fds (right)", \
     dat using 1:4 axes x1y2 with lines lw 1 lc rgb "#8d6e63" title "fds other than sockets (right)"
set size 1,0.32
set origin 0,0
unset y2label
unset y2tics
set ytics mirror
unset label 1
set ylabel "MiB"
plot dat using 1:5 with lines lw 2 lc rgb "#4caf50" title "database file", \
     dat using 1:6 with lines lw 1 lc rgb "#9c27b0" title "WAL file", \
     dat using 1:7 with lines lw 1 dt 2 lc rgb "gray30" title "data directory (with compliance files)"
unset multiplot
GP

echo "soak.sh: results in $OUT/SOAK.md and $OUT/soak.png" >&2
[ -z "$LOGS" ] || echo "soak.sh: logs and raw samples in $LOGS" >&2
