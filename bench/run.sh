#!/usr/bin/env bash
# bench/run.sh — run pchat's benchmark scenarios and print a table.
#
#   bench/run.sh BUILD_DIR [--peer pchatd|ngircd] [--duration SEC] [--quick] [--raw]
#                          [--no-rooms]
#
# Builds nothing (`make bench` runs ninja first). Starts the server under test
# on a free 127.0.0.1 port in a temporary directory (pchatd from BUILD_DIR, or
# the system's ngircd for comparison), restarts it before each scenario, and
# runs BUILD_DIR/bench/pchat-loadgen:
#   1. durable messages committed per second: 50 senders, all in one room
#      (throughput mode; a message counts when echo-message returns it, which
#      pchatd does only after the commit; ngIRCd has no echo-message, there it
#      is acknowledged by PING/PONG and nothing is durable)
#   2. p50/p99 send-to-delivery latency at 5,000 msg/s, 500 clients in 50 rooms
#   3. server RSS per idle plaintext connection, 10,000 connections
# Then stops the server and removes the temporary directory. It does not
# tune the kernel; it warns when the open-file limit is too low. Against
# pchatd it then runs bench/run_rooms.sh BUILD_DIR (history, search and
# login figures of the rooms issue; --quick is passed on) unless --no-rooms.
set -euo pipefail

usage() {
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	echo
	echo "options:"
	echo "  --peer P        server to measure: pchatd (default) or ngircd"
	echo "  --duration SEC  measured seconds per traffic scenario (default 10)"
	echo "  --quick         short runs and 2,000 idle connections (a smoke test)"
	echo "  --raw           also print each scenario's JSON"
	echo "  --no-rooms      skip bench/run_rooms.sh (history, search, login figures)"
}

BUILD=""
PEER=pchatd
DURATION=10
WARMUP=2
IDLE_CLIENTS=10000
RAW=0
ROOMS=1
QUICK=0
while [ $# -gt 0 ]; do
	case "$1" in
	--peer) PEER="$2"; shift 2 ;;
	--duration) DURATION="$2"; shift 2 ;;
	--quick) DURATION=3; WARMUP=1; IDLE_CLIENTS=2000; QUICK=1; shift ;;
	--raw) RAW=1; shift ;;
	--no-rooms) ROOMS=0; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) BUILD="$1"; shift ;;
	esac
done
if [ -z "$BUILD" ]; then
	usage >&2
	exit 2
fi
BUILD="$(cd "$BUILD" && pwd)"
LOADGEN="$BUILD/bench/pchat-loadgen"
PY="${PYTHON:-python3}"
[ -x "$LOADGEN" ] || { echo "run.sh: $LOADGEN not built (run ninja -C $BUILD)" >&2; exit 1; }
case "$PEER" in
pchatd)
	[ -x "$BUILD/pchatd" ] && [ -x "$BUILD/pchatctl" ] ||
		{ echo "run.sh: $BUILD/pchatd or pchatctl missing" >&2; exit 1; } ;;
ngircd)
	command -v ngircd >/dev/null || { echo "run.sh: ngircd not installed (apt-get install ngircd)" >&2; exit 1; } ;;
*) echo "run.sh: --peer must be pchatd or ngircd" >&2; exit 2 ;;
esac

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((IDLE_CLIENTS + 100)) ]; then
	echo "run.sh: warning: open files limited to $(ulimit -n); scenario 3 needs $((IDLE_CLIENTS + 100))" >&2
fi

TMP="$(mktemp -d /tmp/pchat-bench.XXXXXX)"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
chmod 755 "$TMP" # ngircd drops root for nobody and must read its config


bench_traps

PORT="$(free_port)"
OPER_ARGS=()

write_pchatd_config() {
	mkdir -p -m 700 "$TMP/data"
	write_pchatd_base_config
	for i in $(seq 0 49); do
		"$BUILD/pchatctl" --data-dir "$TMP/data" room add "bench$i" --privacy open >>"$TMP/pchatctl.log" 2>&1 ||
			{ echo "run.sh: pchatctl room add bench$i failed:" >&2; tail -5 "$TMP/pchatctl.log" >&2; exit 1; }
	done
}


start_server() {
	case "$PEER" in
	pchatd) "$BUILD/pchatd" -c "$TMP/pchatd.conf" >>"$TMP/server.log" 2>&1 & ;;
	ngircd) ngircd -n -f "$TMP/ngircd.conf" >>"$TMP/server.log" 2>&1 & ;;
	esac
	SERVER_PID=$!
	wait_listening run.sh
}

# run_scenario NAME loadgen-args... : restart the server, run, keep the JSON.
# Traffic scenarios get OPER_ARGS (ngIRCd's throttle exemption); the idle one
# does not, so that it measures a plain connection.
run_scenario() {
	local name="$1" rc=0 extra=()
	shift
	[ "$name" != idle ] && extra=("${OPER_ARGS[@]}")
	stop_server
	start_server
	echo "run.sh: scenario $name ..." >&2
	"$LOADGEN" --port "$PORT" --server-pid "$SERVER_PID" --json "${extra[@]}" "$@" \
		>"$TMP/$name.json" 2>"$TMP/$name.err" || rc=$?
	loadgen_result "run.sh: scenario $name" "$rc" "$TMP/$name.json" "$TMP/$name.err"
	[ "$RAW" = 1 ] && cat "$TMP/$name.json"
	return 0
}

case "$PEER" in
pchatd) write_pchatd_config ;;
ngircd) write_ngircd_config ;;
esac

run_scenario throughput --mode throughput --clients 50 --rooms 1 --senders 50 \
	--window 20 --duration "$DURATION" --warmup "$WARMUP"
run_scenario latency --mode latency --clients 500 --rooms 50 --rate 5000 \
	--duration "$DURATION" --warmup "$WARMUP"
run_scenario idle --mode idle --clients "$IDLE_CLIENTS" --rooms 0 --settle 3 \
	--bind-range 127.0.0.2-127.0.0.9 --setup-timeout 900
stop_server

"$PY" - "$TMP" "$PEER" "$(nproc)" <<'PYEOF'
import json, sys
tmp, peer, ncpu = sys.argv[1], sys.argv[2], sys.argv[3]

def load(name):
    try:
        with open(f"{tmp}/{name}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

def num(d, *keys, fmt="{:,.0f}"):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return "n/a"
        d = d[k]
    return fmt.format(d) if isinstance(d, (int, float)) and d >= 0 else "n/a"

t, l, i = load("throughput"), load("latency"), load("idle")
rows = [
    ("1. durable msgs committed/s (50 senders, 1 room)",
     num(t, "acked_per_s") + " msg/s",
     f"ack by {t.get('ack_by', 'n/a')}; sent {num(t, 'sent_per_s')}/s, "
     f"delivered {num(t, 'delivered_per_s')}/s; commit p50 "
     f"{num(t, 'ack_latency_ms', 'p50', fmt='{:.2f}')} ms, p99 "
     f"{num(t, 'ack_latency_ms', 'p99', fmt='{:.2f}')} ms; server cpu "
     f"{num(t, 'server_cpu_pct')}%"),
    ("2. latency p50 / p99 at 5,000 msg/s (500 clients, 50 rooms)",
     f"{num(l, 'latency_ms', 'p50', fmt='{:.2f}')} / "
     f"{num(l, 'latency_ms', 'p99', fmt='{:.2f}')} ms",
     f"achieved {num(l, 'sent_per_s')} msg/s; p99.9 "
     f"{num(l, 'latency_ms', 'p999', fmt='{:.2f}')} ms, max "
     f"{num(l, 'latency_ms', 'max', fmt='{:.2f}')} ms; lost {num(l, 'lost')}; "
     f"server cpu {num(l, 'server_cpu_pct')}%"),
    (f"3. RSS per idle plaintext connection ({num(i, 'clients')} conns)",
     num(i, "rss_per_conn_kib", fmt="{:.2f}") + " KiB",
     f"{num(i, 'clients_ready')} ready; RSS {num(i, 'rss_before_kib')} -> "
     f"{num(i, 'rss_after_kib')} KiB; {num(i, 'connect_per_s')} conn/s"),
]
print(f"\npchat benchmark against {peer} ({ncpu} CPUs shared by server and load generator)\n")
w0 = max(len(r[0]) for r in rows)
w1 = max(len(r[1]) for r in rows)
print(f"{'scenario':<{w0}}  {'result':>{w1}}  details")
print(f"{'-' * w0}  {'-' * w1}  {'-' * 7}")
for r in rows:
    print(f"{r[0]:<{w0}}  {r[1]:>{w1}}  {r[2]}")
PYEOF

# The rooms issue's figures (its own server, data and table); only pchatd
# has chathistory, search and followed rooms.
if [ "$ROOMS" = 1 ] && [ "$PEER" = pchatd ]; then
	ROOMS_ARGS=()
	[ "$QUICK" = 1 ] && ROOMS_ARGS+=(--quick)
	[ "$RAW" = 1 ] && ROOMS_ARGS+=(--raw)
	"$(dirname "$0")/run_rooms.sh" "$BUILD" "${ROOMS_ARGS[@]}"
fi
