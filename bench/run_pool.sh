#!/usr/bin/env bash
# bench/run_pool.sh — issue 5's figures: PostgreSQL and a two-server pool
# beside SQLite.
#
#   bench/run_pool.sh BUILD_DIR [--duration SEC] [--quick] [--raw] [--out FILE]
#
# Runs issue 2's two traffic scenarios
#   1. durable messages committed per second: 50 clients, 1 room, 50 senders,
#      window 20 (a message counts when echo-message returns it: after the
#      commit);
#   2. p50/p99 send-to-delivery latency at 5,000 msg/s, 500 clients, 50 rooms;
# against three set-ups, one after the other in one run:
#   a. one pchatd on SQLite;
#   b. one pchatd on PostgreSQL (a throw-away cluster from tests/pg/pgtmp.sh);
#   c. a pool of two pchatd (a1, b1) on one PostgreSQL database; the load
#      generator spreads each room's members over both (--port2) and also
#      reports cross-server delivery latency (sender on the other server).
# Every scenario gets a fresh data directory and a fresh database, rooms
# bench0..bench49 made with pchatctl. Prints one Markdown table with the
# three set-ups side by side and the ratios to SQLite (--out also writes it
# to FILE). Builds nothing; asserts nothing. Everything it starts (servers,
# the cluster) is stopped and its temporary directory removed on exit.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	bench_usage "$0"
	echo
	echo "options:"
	echo "  --duration SEC  measured seconds per scenario (default 10)"
	echo "  --quick         3 s per scenario, 1 s warm-up (a smoke test)"
	echo "  --raw           also print each run's JSON (on stderr)"
	echo "  --out FILE      also write the report to FILE (e.g. bench/results/POOL.md)"
}

BUILD=""
DURATION=10
WARMUP=2
RAW=0
OUT=""
while [ $# -gt 0 ]; do
	case "$1" in
	--duration) DURATION="$2"; shift 2 ;;
	--quick) DURATION=3; WARMUP=1; shift ;;
	--raw) RAW=1; shift ;;
	--out) OUT="$2"; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "run_pool.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) BUILD="$1"; shift ;;
	esac
done
[ -n "$BUILD" ] || { usage >&2; exit 2; }
BUILD="$(cd "$BUILD" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
LOADGEN="$BUILD/bench/pchat-loadgen"
PGTMP="$HERE/../tests/pg/pgtmp.sh"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
PY="${PYTHON:-python3}"
for b in "$LOADGEN" "$BUILD/pchatd" "$BUILD/pchatctl" "$PGBIN/initdb" "$PGBIN/createdb"; do
	[ -x "$b" ] || { echo "run_pool.sh: $b missing (ninja -C $BUILD; make deps for PostgreSQL 15)" >&2; exit 1; }
done
if [ -n "$OUT" ]; then
	: >"$OUT" || exit 1
	OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
fi

TMP="$(mktemp -d /tmp/pchat-bench-pool.XXXXXX)"
chmod 755 "$TMP" # the cluster runs as postgres under it (pgtmp.sh)

SERVER2_PID=""
PG_STARTED=0
pool_cleanup() {
	stop_server
	stop_pid "$SERVER2_PID"
	SERVER2_PID=""
	[ "$PG_STARTED" = 1 ] && "$PGTMP" stop "$TMP/pg" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap pool_cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "run_pool.sh: starting a PostgreSQL cluster ..." >&2
PG_STARTED=1
"$PGTMP" start "$TMP/pg" pchat >"$TMP/pg-url" 2>"$TMP/pg-start.log" ||
	{ echo "run_pool.sh: pgtmp.sh start failed:" >&2; cat "$TMP/pg-start.log" >&2; exit 1; }
PG_PORT="$(cat "$TMP/pg/port")"
T0=$(date +%s)

# new_db NAME: create database NAME in the cluster, print its URL.
new_db() {
	"$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U pchat "$1" >>"$TMP/createdb.log" 2>&1 ||
		{ echo "run_pool.sh: createdb $1 failed:" >&2; tail -5 "$TMP/createdb.log" >&2; exit 1; }
	echo "postgresql://pchat@127.0.0.1:$PG_PORT/$1"
}

# add_rooms CONFIG: rooms bench0..bench49 through that server's configuration.
add_rooms() {
	local i
	for i in $(seq 0 49); do
		"$BUILD/pchatctl" -c "$1" room add "bench$i" --privacy open >>"$TMP/pchatctl.log" 2>&1 ||
			{ echo "run_pool.sh: pchatctl room add bench$i failed:" >&2; tail -5 "$TMP/pchatctl.log" >&2; exit 1; }
	done
}

# prepare SETUP RUN: fresh data directories (and database) and configs
# $TMP/a.conf (and b.conf for the pool) on PORT_A (PORT_B); rooms made.
prepare() {
	local setup="$1" run="$2" url
	rm -rf "$TMP/a-data" "$TMP/b-data"
	mkdir -p -m 700 "$TMP/a-data" "$TMP/b-data"
	PORT_A="$(free_port)"
	PORT_B="$(free_port)"
	case "$setup" in
	sqlite) write_pchatd_config_file "$TMP/a.conf" "$TMP/a-data" "$PORT_A" ;;
	pg)
		url="$(new_db "pg_$run")"
		write_pchatd_config_file "$TMP/a.conf" "$TMP/a-data" "$PORT_A" "
[database]
url = $url" ;;
	pool)
		url="$(new_db "pool_$run")"
		cat >"$TMP/topology-$run.ini" <<TOPO
[pool]
name = bench

[server a1]
datacenter = dc-a

[server b1]
datacenter = dc-a

[database primary]
datacenter = dc-a
url = $url

[database backup]
datacenter = dc-b
url = postgresql://pchat@127.0.0.1:1/none
TOPO
		# no backup database here: serve without reading it (a benchmark, not a partition)
		write_pchatd_config_file "$TMP/a.conf" "$TMP/a-data" "$PORT_A" "
[pool]
topology = $TMP/topology-$run.ini
server = a1
unconfirmed = serve"
		write_pchatd_config_file "$TMP/b.conf" "$TMP/b-data" "$PORT_B" "
[pool]
topology = $TMP/topology-$run.ini
server = b1
unconfirmed = serve" ;;
	esac
	add_rooms "$TMP/a.conf" # for the pool: one server creates the schema first
}

# start_servers SETUP RUN: pchatd on a.conf (and b.conf for the pool), logs
# in $TMP/SETUP-RUN-a.log (-b.log).
start_servers() {
	local log="$TMP/$1-$2"
	"$BUILD/pchatd" -c "$TMP/a.conf" >>"$log-a.log" 2>&1 &
	SERVER_PID=$!
	wait_port run_pool.sh "$PORT_A" "$SERVER_PID" "$log-a.log"
	[ "$1" = pool ] || return 0
	"$BUILD/pchatd" -c "$TMP/b.conf" >>"$log-b.log" 2>&1 &
	SERVER2_PID=$!
	wait_port run_pool.sh "$PORT_B" "$SERVER2_PID" "$log-b.log"
	sleep 1 # a1 and b1 exchange their users and see each other's heartbeat
}

stop_servers() {
	stop_server
	stop_pid "$SERVER2_PID"
	SERVER2_PID=""
}

# run_one SETUP SCENARIO loadgen-args...: fresh set-up, one load generator
# run, its JSON kept in $TMP/SETUP-SCENARIO.json ({} when it failed).
run_one() {
	local setup="$1" name="$2" rc=0 two=()
	shift 2
	prepare "$setup" "$name"
	start_servers "$setup" "$name"
	[ "$setup" = pool ] && two=(--port2 "$PORT_B" --server-pid2 "$SERVER2_PID")
	echo "run_pool.sh: $setup, scenario $name ..." >&2
	"$LOADGEN" --port "$PORT_A" --server-pid "$SERVER_PID" "${two[@]}" --json "$@" \
		>"$TMP/$setup-$name.json" 2>"$TMP/$setup-$name.err" || rc=$?
	loadgen_result "run_pool.sh: $setup $name" "$rc" "$TMP/$setup-$name.json" \
		"$TMP/$setup-$name.err"
	[ "$RAW" = 1 ] && cat "$TMP/$setup-$name.json" >&2
	stop_servers
	# what the servers said went wrong, for the table
	cat "$TMP/$setup-$name"-?.log | grep -c "deadlock detected" >"$TMP/$setup-$name.deadlocks" || true
	cat "$TMP/$setup-$name"-?.log | grep -c "not stored" >"$TMP/$setup-$name.notstored" || true
}

for setup in sqlite pg pool; do
	run_one "$setup" throughput --mode throughput --clients 50 --rooms 1 --senders 50 \
		--window 20 --duration "$DURATION" --warmup "$WARMUP"
	run_one "$setup" latency --mode latency --clients 500 --rooms 50 --rate 5000 \
		--duration "$DURATION" --warmup "$WARMUP"
done
ELAPSED=$(($(date +%s) - T0))

CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
PG_VERSION="$("$PGBIN/postgres" --version 2>/dev/null | sed 's/^postgres (PostgreSQL) //')"
"$PY" - "$TMP" "$(nproc)" "$CPU_MODEL" "$PG_VERSION" "$DURATION" "$ELAPSED" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" <<'PYEOF' | tee "${OUT:-/dev/null}"
import json, sys, time
tmp, ncpu, cpu_model, pg_version, duration, elapsed, loadavg = sys.argv[1:8]

def count(name):
    try:
        with open(f"{tmp}/{name}") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None

def load(name):
    try:
        with open(f"{tmp}/{name}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

SETUPS = ("sqlite", "pg", "pool")
tp = {s: load(f"{s}-throughput") for s in SETUPS}
lat = {s: load(f"{s}-latency") for s in SETUPS}

def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d if isinstance(d, (int, float)) and d >= 0 else None

def fmt(v, spec):
    if spec == "pair":
        return " / ".join("n/a" if x is None else f"{x:,}" for x in v)
    return "n/a" if v is None else spec.format(v)

def ratio(a, b):
    if isinstance(a, tuple) or isinstance(b, tuple):
        return ""
    return "n/a" if a is None or not b else f"{a / b:.2f}×"

def cpu(d):
    a, b = get(d, "server_cpu_pct"), get(d, "server2_cpu_pct")
    if a is None:
        return "n/a"
    return f"{a:.0f}%" if b is None or not d.get("server2_pid") else f"{a:.0f}% + {b:.0f}%"

# (figure, {setup: value}, format, ratios?)
rows = [
    ("1. durable msgs committed/s (50 senders, 1 room)",
     {s: get(tp[s], "acked_per_s") for s in SETUPS}, "{:,.0f}", True),
    ("1. commit (echo) p99, ms", {s: get(tp[s], "ack_latency_ms", "p99") for s in SETUPS},
     "{:.2f}", True),
    ("1. delivery p99, ms", {s: get(tp[s], "latency_ms", "p99") for s in SETUPS}, "{:.2f}", True),
    ("1. cross-server delivery p99, ms",
     {"pool": get(tp["pool"], "cross_latency_ms", "p99")}, "{:.2f}", False),
    ("2. achieved msg/s (target 5,000; 500 clients, 50 rooms)",
     {s: get(lat[s], "sent_per_s") for s in SETUPS}, "{:,.0f}", False),
    ("2. committed (echoed) msgs/s", {s: get(lat[s], "acked_per_s") for s in SETUPS},
     "{:,.0f}", True),
    ("2. delivery p50, ms", {s: get(lat[s], "latency_ms", "p50") for s in SETUPS}, "{:.2f}", True),
    ("2. delivery p99, ms", {s: get(lat[s], "latency_ms", "p99") for s in SETUPS}, "{:.2f}", True),
    ("2. same-server delivery p99, ms",
     {"pool": get(lat["pool"], "local_latency_ms", "p99")}, "{:.2f}", False),
    ("2. cross-server delivery p50, ms",
     {"pool": get(lat["pool"], "cross_latency_ms", "p50")}, "{:.2f}", False),
    ("2. cross-server delivery p99, ms",
     {"pool": get(lat["pool"], "cross_latency_ms", "p99")}, "{:.2f}", False),
]
for scen, d, run in (("1", tp, "throughput"), ("2", lat, "latency")):
    rows += [
        (f"{scen}. messages refused (FAIL) / deliveries lost",
         {s: (get(d[s], "errors"), get(d[s], "lost")) for s in SETUPS}, "pair", False),
        (f"{scen}. server log: messages not stored / deadlocks detected",
         {s: (count(f"{s}-{run}.notstored"), count(f"{s}-{run}.deadlocks")) for s in SETUPS},
         "pair", False),
    ]
rows.sort(key=lambda r: r[0][0])  # stable: scenario 1's rows, then 2's

out = []
out.append("# PostgreSQL and a two-server pool beside SQLite (issue 5)\n")
out.append("Issue 2's two scenarios against one pchatd on SQLite, one pchatd on "
           "PostgreSQL, and a pool of two pchatd (a1, b1) on one PostgreSQL database, "
           "one after the other in one run of `bench/run_pool.sh`; a fresh data directory "
           "and database per scenario. Every message is durable before it is echoed "
           "(the commit); in the pool a message reaches the other server by PostgreSQL "
           "NOTIFY at commit. The pool's clients alternate between a1 and b1 within each "
           "room (`pchat-loadgen --port2`), so about half of every room's deliveries "
           "cross servers.\n")
out.append(f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
out.append(f"- machine: {ncpu} CPUs, {cpu_model} (servers, PostgreSQL and load generator "
           f"share them); load average at the end {loadavg}")
out.append(f"- PostgreSQL {pg_version}, a throw-away cluster (tests/pg/pgtmp.sh: "
           "synchronous_commit = on, shared_buffers = 128MB) on the same disk")
out.append(f"- run: {duration} s measured per scenario, {elapsed} s in all\n")
out.append("| figure | SQLite | PostgreSQL, 1 server | PostgreSQL, pool of 2 | "
           "PostgreSQL/SQLite | pool/SQLite |")
out.append("|---|---:|---:|---:|---:|---:|")
for name, vals, spec, ratios in rows:
    cells = [fmt(vals.get(s), spec) for s in SETUPS]
    r = [ratio(vals.get("pg"), vals.get("sqlite")), ratio(vals.get("pool"), vals.get("sqlite"))]
    if not ratios:
        r = ["", ""]
    out.append(f"| {name} | " + " | ".join(cells + r) + " |")
out.append("| server CPU (of one core; pool: a1 + b1), scenario 1 | "
           + " | ".join(cpu(tp[s]) for s in SETUPS) + " | | |")
out.append("| server CPU (of one core; pool: a1 + b1), scenario 2 | "
           + " | ".join(cpu(lat[s]) for s in SETUPS) + " | | |")
out.append("")
out.append("Msgs/s: higher is better; latencies: lower is better. A message counts as "
           "committed when its echo returns. The latencies are send-to-delivery on other "
           "clients; cross-server is a delivery whose sender is connected to the other "
           "server of the pool (told by its nick). PostgreSQL, its WAL flushes and the load "
           "generator share the CPUs with the servers: read the figures as relative.")
print("\n".join(out))
PYEOF
[ -n "$OUT" ] && echo "run_pool.sh: wrote $OUT" >&2
exit 0
