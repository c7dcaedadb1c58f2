#!/usr/bin/env bash
# bench/run_compliance.sh — the compliance issue's figures.
#
#   bench/run_compliance.sh BUILD_DIR [--duration SEC] [--rounds N] [--events N] [--quick]
#
#   1. cost of capture on durable message throughput: issue 2's throughput
#      scenario (50 senders, 1 room, a message counts when its echo returns,
#      i.e. after the commit) against pchatd with [compliance] enabled = no
#      and = yes, alternated for N rounds (default 3) in the same run; the
#      median of each and the cost in percent (target <= 10%).
#   2. events exported per second: BUILD_DIR/bench/bench_compliance fills a
#      queue with N events (default 200,000) and times the adapter, XML and
#      JSON Lines (target >= 100,000/s).
# Prints a table; asserts nothing. Starts pchatd on a free 127.0.0.1 port in a
# temporary directory, removed on exit.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BUILD=""
DURATION=8
WARMUP=2
ROUNDS=3
EVENTS=200000
while [ $# -gt 0 ]; do
	case "$1" in
	--duration) DURATION="$2"; shift 2 ;;
	--rounds) ROUNDS="$2"; shift 2 ;;
	--events) EVENTS="$2"; shift 2 ;;
	--quick) DURATION=3; WARMUP=1; ROUNDS=1; EVENTS=100000; shift ;;
	-h|--help) bench_usage "$0"; exit 0 ;;
	-*) echo "run_compliance.sh: unknown option $1" >&2; exit 2 ;;
	*) BUILD="$1"; shift ;;
	esac
done
[ -n "$BUILD" ] || { bench_usage "$0" >&2; exit 2; }
BUILD="$(cd "$BUILD" && pwd)"
LOADGEN="$BUILD/bench/pchat-loadgen"
PY="${PYTHON:-python3}"
for b in "$LOADGEN" "$BUILD/pchatd" "$BUILD/pchatctl" "$BUILD/bench/bench_compliance"; do
	[ -x "$b" ] || { echo "run_compliance.sh: $b not built (run ninja -C $BUILD)" >&2; exit 1; }
done

TMP="$(mktemp -d /tmp/pchat-bench-comp.XXXXXX)"
bench_traps
PORT="$(free_port)"

# write_config on|off: a fresh data directory each time, one room.
write_config() {
	rm -rf "$TMP/data" "$TMP/out"
	mkdir -p -m 700 "$TMP/data" "$TMP/out"
	write_pchatd_base_config "
[compliance]
enabled = $1
output_dir = $TMP/out
run_interval = 15m"
	"$BUILD/pchatctl" -c "$TMP/pchatd.conf" room add bench0 --privacy open >/dev/null
}

start_server() {
	"$BUILD/pchatd" -c "$TMP/pchatd.conf" >>"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	wait_listening run_compliance.sh
}

for r in $(seq 1 "$ROUNDS"); do
	for mode in no yes; do
		write_config "$mode"
		start_server
		echo "run_compliance.sh: round $r, compliance $mode ..." >&2
		"$LOADGEN" --port "$PORT" --server-pid "$SERVER_PID" --json --mode throughput \
			--clients 50 --rooms 1 --senders 50 --window 20 --duration "$DURATION" \
			--warmup "$WARMUP" >"$TMP/tp-$mode-$r.json" 2>"$TMP/tp-$mode-$r.err" || true
		[ "$mode" = yes ] && "$BUILD/pchatctl" -c "$TMP/pchatd.conf" --json compliance status \
			>"$TMP/status-$r.json" 2>/dev/null || true
		stop_server
	done
done

echo "run_compliance.sh: export benchmark ($EVENTS events) ..." >&2
"$BUILD/bench/bench_compliance" "$EVENTS" >"$TMP/export.txt" 2>&1 || true

"$PY" - "$TMP" "$ROUNDS" <<'PYEOF'
import json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])

def rate(mode, r):
    try:
        with open(f"{tmp}/tp-{mode}-{r}.json") as f:
            return json.load(f).get("acked_per_s", 0)
    except (OSError, ValueError):
        return 0

off = [rate("no", r) for r in range(1, rounds + 1)]
on = [rate("yes", r) for r in range(1, rounds + 1)]
moff, mon = statistics.median(off), statistics.median(on)
cost = (1 - mon / moff) * 100 if moff else float("nan")
try:
    with open(f"{tmp}/status-{rounds}.json") as f:
        st = json.load(f)
except (OSError, ValueError):
    st = {}
print("| figure | value | notes |")
print("|---|---|---|")
print(f"| durable msgs/s, compliance off | {moff:,.0f} | rounds: {', '.join(f'{x:,.0f}' for x in off)} |")
print(f"| durable msgs/s, compliance on | {mon:,.0f} | rounds: {', '.join(f'{x:,.0f}' for x in on)}; "
      f"queued after the last round: {st.get('queued', 'n/a')} events |")
print(f"| cost of capture | {cost:.1f}% | target <= 10% |")
with open(f"{tmp}/export.txt") as f:
    for line in f:
        line = line.strip()
        if line.startswith("compliance export"):
            name, _, rest = line.partition(":")
            print(f"| {name} | {rest.split('=')[-1].strip()} | {rest.strip()} (target >= 100,000 events/s) |")
PYEOF
