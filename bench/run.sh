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
#   4. reconnect storm (pchatd only): 2,000 accounts log in at once with
#      SCRAM-SHA-256 (keys cached by the clients, RFC 5802 §5.1), then with
#      PLAIN (Argon2id on the server at each login), each against a freshly
#      started server, --storm-rounds times; target: all served within 5 s.
#      The accounts (pchatd's default OWASP parameters) are made once with
#      pchatctl, in parallel; --storm-keep DIR keeps them for the next run.
# Then stops the server and removes the temporary directory. It does not
# tune the kernel; it warns when the open-file limit is too low. Against
# pchatd it then runs bench/run_rooms.sh BUILD_DIR (history, search and
# login figures of the rooms issue; --quick is passed on) unless --no-rooms.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	bench_usage "$0"
	echo
	echo "options:"
	echo "  --peer P        server to measure: pchatd (default) or ngircd"
	echo "  --duration SEC  measured seconds per traffic scenario (default 10)"
	echo "  --quick         short runs and 2,000 idle connections (a smoke test)"
	echo "  --raw           also print each scenario's JSON"
	echo "  --no-rooms      skip bench/run_rooms.sh (history, search, login figures)"
	echo "  --no-storm      skip scenario 4 (reconnect storm)"
	echo "  --storm-only    run only scenario 4"
	echo "  --storm-clients N  accounts logging in at once (default 2000; --quick: 200)"
	echo "  --storm-rounds R   timed storms per mechanism (default 3; --quick: 1)"
	echo "  --storm-keep DIR   keep the storm's accounts, data and SCRAM key cache in DIR"
	echo "                     and reuse them next time (creating 2,000 takes minutes)"
}

BUILD=""
PEER=pchatd
DURATION=10
WARMUP=2
IDLE_CLIENTS=10000
RAW=0
ROOMS=1
QUICK=0
STORM=1
MAIN=1
STORM_CLIENTS=2000
STORM_ROUNDS=3
STORM_KEEP=""
while [ $# -gt 0 ]; do
	case "$1" in
	--peer) PEER="$2"; shift 2 ;;
	--duration) DURATION="$2"; shift 2 ;;
	--quick) DURATION=3; WARMUP=1; IDLE_CLIENTS=2000; QUICK=1
		STORM_CLIENTS=200; STORM_ROUNDS=1; shift ;;
	--raw) RAW=1; shift ;;
	--no-rooms) ROOMS=0; shift ;;
	--no-storm) STORM=0; shift ;;
	--storm-only) MAIN=0; ROOMS=0; STORM=1; shift ;;
	--storm-clients) STORM_CLIENTS="$2"; shift 2 ;;
	--storm-rounds) STORM_ROUNDS="$2"; shift 2 ;;
	--storm-keep) STORM_KEEP="$2"; shift 2 ;;
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

# ---- scenario 4: reconnect storm --------------------------------------------

# The storm's directory: accounts, rooms, data, the password and the SCRAM
# key cache (client-side credentials: 0700). Kept with --storm-keep.
STORM_DIR="${STORM_KEEP:-$TMP/storm}"
STORM_ROOMS=50

# storm_ctl ARGS...: pchatctl on the storm's configuration, logged.
storm_ctl() {
	"$BUILD/pchatctl" -c "$STORM_DIR/pchatd.conf" "$@" >>"$TMP/pchatctl.log" 2>&1
}

# Create the accounts storm0..storm{N-1} (one password, pchatd's default
# Argon2id and SCRAM parameters: nothing in [auth] is lowered) and the
# rooms, once: pchatctl derives Argon2id (19 MiB, t=2) and PBKDF2 (600,000
# iterations) per account, a few tenths of a second of CPU each, so it runs
# two per CPU in parallel. A name already taken (exit 3) is an account made
# by an interrupted earlier run.
storm_accounts() {
	local jobs t0 have
	have="$(cat "$STORM_DIR/accounts" 2>/dev/null || echo 0)"
	[ "$have" = "$STORM_CLIENTS" ] && return 0
	[ -s "$STORM_DIR/password" ] ||
		(umask 077 && od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$STORM_DIR/password")
	for i in $(seq 0 $((STORM_ROOMS - 1))); do
		storm_ctl room add "bench$i" --privacy open || [ $? = 3 ] ||
			{ echo "run.sh: pchatctl room add bench$i failed" >&2; tail -5 "$TMP/pchatctl.log" >&2; exit 1; }
	done
	jobs=$(($(nproc) * 2))
	echo "run.sh: storm: creating $STORM_CLIENTS accounts with pchatctl ($jobs at a time) ..." >&2
	t0=$(date +%s)
	export STORM_CTL="$BUILD/pchatctl" STORM_CONF="$STORM_DIR/pchatd.conf" STORM_PWFILE="$STORM_DIR/password"
	# shellcheck disable=SC2016
	seq 0 $((STORM_CLIENTS - 1)) | xargs -P "$jobs" -n 1 sh -c \
		'"$STORM_CTL" -c "$STORM_CONF" user add "storm$1" --password-stdin <"$STORM_PWFILE" >/dev/null 2>&1 || [ $? = 3 ]' _ ||
		{ echo "run.sh: storm: pchatctl user add failed" >&2; exit 1; }
	echo "run.sh: storm: $STORM_CLIENTS accounts in $(($(date +%s) - t0)) s" >&2
	echo "$STORM_CLIENTS" >"$STORM_DIR/accounts"
}

storm_start() {
	"$BUILD/pchatd" -c "$STORM_DIR/pchatd.conf" >>"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	wait_listening run.sh
}

# storm_run NAME MECH [loadgen-args...]: a fresh server, every client at once.
storm_run() {
	local name="$1" mech="$2" rc=0
	shift 2
	stop_server
	storm_start
	echo "run.sh: scenario 4: $name ..." >&2
	"$LOADGEN" --port "$PORT" --server-pid "$SERVER_PID" --json --mode connect \
		--clients "$STORM_CLIENTS" --rooms "$STORM_ROOMS" --rooms-per-client 1 \
		--connect-rate 0 --max-handshakes "$STORM_CLIENTS" --setup-timeout 300 \
		--bind-range 127.0.0.2-127.0.0.9 \
		--sasl "storm%d:$(cat "$STORM_DIR/password")" --sasl-mech "$mech" "$@" \
		>"$TMP/$name.json" 2>"$TMP/$name.err" || rc=$?
	loadgen_result "run.sh: scenario 4: $name" "$rc" "$TMP/$name.json" "$TMP/$name.err"
	[ "$RAW" = 1 ] && cat "$TMP/$name.json"
	return 0
}

storm_scenario() {
	local r
	mkdir -p -m 700 "$STORM_DIR/data"
	chmod 700 "$STORM_DIR"
	write_pchatd_config_file "$STORM_DIR/pchatd.conf" "$STORM_DIR/data" "$PORT"
	storm_accounts
	# untimed: learn every salt, derive the missing keys on every core (the
	# clients' one-time cost), keep them in the cache
	storm_run storm-prime SCRAM-SHA-256 --scram-cache "$STORM_DIR/scram-keys"
	for r in $(seq 1 "$STORM_ROUNDS"); do
		# a restarted server and clients that reconnect with their cached keys
		storm_run "storm-scram-$r" SCRAM-SHA-256 --scram-cache "$STORM_DIR/scram-keys" \
			--no-scram-warmup
		storm_run "storm-plain-$r" PLAIN
	done
	stop_server
	"$PY" - "$TMP" "$STORM_ROUNDS" "$STORM_CLIENTS" "$(nproc)" <<'PYEOF'
import json, statistics, sys
tmp, rounds, clients, ncpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def load(name):
    try:
        with open(f"{tmp}/{name}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

def med(runs, *keys):
    vals = []
    for d in runs:
        for k in keys:
            d = d.get(k) if isinstance(d, dict) else None
        if isinstance(d, (int, float)) and d >= 0:
            vals.append(d)
    return statistics.median(vals) if vals else None

def fmt(v, f="{:.2f}"):
    return "n/a" if v is None else f.format(v)

prime = load("storm-prime")
mechs = {"SCRAM-SHA-256": [load(f"storm-scram-{r}") for r in range(1, rounds + 1)],
         "PLAIN": [load(f"storm-plain-{r}") for r in range(1, rounds + 1)]}
fig = {}
for mech, runs in mechs.items():
    ok = [d for d in runs if d]
    failed = sum(d.get("clients_failed", 0) for d in ok) + clients * (len(runs) - len(ok))
    ready = [d.get("clients_ready", 0) for d in ok]
    setup = [d.get("setup_s") for d in ok if isinstance(d.get("setup_s"), (int, float))]
    cpu = [1000 * d["setup_server_cpu_s"] / d["clients_ready"] for d in ok
           if d.get("clients_ready") and d.get("setup_server_cpu_s", -1) >= 0]
    fig[mech] = dict(
        setup=statistics.median(setup) if setup else None,
        setup_max=max(setup) if setup else None,
        p50=med(ok, "handshake_ms", "p50"), p99=med(ok, "handshake_ms", "p99"),
        sasl50=med(ok, "sasl_ms", "p50"), sasl99=med(ok, "sasl_ms", "p99"),
        cpu=statistics.median(cpu) if cpu else None, failed=failed,
        inline=sum(d.get("scram_inline_derivations", 0) for d in ok),
        badsig=sum(d.get("scram_bad_server_signature", 0) for d in ok),
        held=bool(setup) and len(ok) == len(runs) and failed == 0 and max(setup) <= 5.0,
        all_setup=", ".join(f"{x:.2f}" for x in setup),
        served=", ".join(f"{r:,}" for r in ready))

print(f"\nreconnect storm: {clients:,} logins at once, 1 room each, fresh server per round, "
      f"{rounds} round(s) per mechanism, median shown ({ncpu} CPUs shared by server and "
      f"load generator)\n")
rows = []
for mech in ("SCRAM-SHA-256", "PLAIN"):
    f = fig[mech]
    # with failures, setup_s is when the last one gave up: not a time to serve all
    rows.append((f"4. {mech}: time to serve all {clients:,} (001 + JOIN)",
                 fmt(f["setup"]) + " s" if not f["failed"] else "not all served",
                 f"served {f['served'] or 'n/a'} of {clients:,}; rounds ended after "
                 f"{f['all_setup'] or 'n/a'} s; login p50 {fmt(f['p50'], '{:.0f}')} / p99 "
                 f"{fmt(f['p99'], '{:.0f}')} ms (SASL to 903 p50 {fmt(f['sasl50'], '{:.0f}')} / "
                 f"p99 {fmt(f['sasl99'], '{:.0f}')} ms); failed {f['failed']}; server cpu "
                 f"{fmt(f['cpu'])} ms per login; 5 s target "
                 f"{'held' if f['held'] else 'MISSED'}"
                 + (f"; {f['inline']} keys derived during login" if mech != "PLAIN" else "")
                 + (f"; {f['badsig']} wrong server signatures" if f['badsig'] else "")))
s, p = fig["SCRAM-SHA-256"], fig["PLAIN"]
ratio = f"{p['setup'] / s['setup']:.1f}x" if s["setup"] and p["setup"] else "n/a"
if p["failed"] and ratio != "n/a":
    ratio = ">" + ratio
cratio = f"{p['cpu'] / s['cpu']:.0f}x" if s["cpu"] and p["cpu"] else "n/a"
rows.append(("   PLAIN / SCRAM-SHA-256", ratio,
             f"time to serve everyone; server cpu per login {cratio}"))
rows.append(("   SCRAM warm-up (untimed, once)", fmt(prime.get("scram_derive_s")) + " s",
             f"{prime.get('scram_primed', 'n/a')} salts learnt; "
             f"{prime.get('scram_keys_loaded', 'n/a')} keys from the cache, "
             f"{prime.get('scram_keys_derived', 'n/a')} derived on {ncpu} threads "
             f"(the clients' PBKDF2, paid once)"))
w0 = max(len(r[0]) for r in rows)
w1 = max(len(r[1]) for r in rows)
print(f"{'scenario':<{w0}}  {'result':>{w1}}  details")
print(f"{'-' * w0}  {'-' * w1}  {'-' * 7}")
for r in rows:
    print(f"{r[0]:<{w0}}  {r[1]:>{w1}}  {r[2]}")
PYEOF
}

main_scenarios() {
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
}

[ "$MAIN" = 1 ] && main_scenarios
# Scenario 4: only pchatd speaks SASL (ngIRCd has none).
if [ "$STORM" = 1 ] && [ "$PEER" = pchatd ]; then
	storm_scenario
fi

# The rooms issue's figures (its own server, data and table); only pchatd
# has chathistory, search and followed rooms.
if [ "$ROOMS" = 1 ] && [ "$PEER" = pchatd ]; then
	ROOMS_ARGS=()
	[ "$QUICK" = 1 ] && ROOMS_ARGS+=(--quick)
	[ "$RAW" = 1 ] && ROOMS_ARGS+=(--raw)
	"$(dirname "$0")/run_rooms.sh" "$BUILD" "${ROOMS_ARGS[@]}"
fi
