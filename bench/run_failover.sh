#!/usr/bin/env bash
# bench/run_failover.sh — issue 6's figures: RTO and RPO of `pchatctl
# failover` (data center A lost) and the log apply rate on the backup.
#
#   bench/run_failover.sh BUILD_DIR [--quick] [--raw] [--out FILE] [--keep DIR]
#
# Builds the drill's set-up (tests/integration/test_drills.py) with
# backup_interval = 10 s: data center A = a primary with 1 MB WAL segments
# and pchatd a1; data center B = the backup standby fed by log shipping
# (archive → share → copy daemon → restore_command), pchatd b1 and the
# backup's mirror the failover installs. Then, in one run:
#   1. log apply rate: restore paused, 64 MB of WAL written on the primary,
#      shipped, `logship copy --all`, and `logship restore --all` timed;
#   2. 2,000 accounts (SCRAM-SHA-256 by default) connected to a1 and joined
#      to 20 rooms, a steady load of 200 msgs/s each acknowledged by its echo;
#   3. data center A killed (SIGKILL of a1, immediate stop of the primary) at
#      a random point of the archive cycle (T_kill);
#   4. `pchatctl --json failover` as postgres (T0); when step `active` is
#      done and b1 serves, the 2,000 clients log in to b1 at once.
#      RTO = T0 → every client registered and joined on b1;
#   5. RPO: the acknowledged messages missing from the promoted backup.
# Prints one Markdown table against the targets (--out also writes it).
# Builds nothing. Everything it starts is stopped and its temporary
# directory removed on exit. Run as root (the clusters run as postgres).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	bench_usage "$0"
	echo
	echo "options:"
	echo "  --quick         200 clients, 10 s of load, 16 MB of WAL (a smoke test)"
	echo "  --clients N     clients and accounts (default 2000)"
	echo "  --rate R        steady load, msgs/s (default 200)"
	echo "  --segsize MB    WAL segment size of the primary (default 1, as the drill;"
	echo "                  16 is PostgreSQL's default: the archive_timeout then bounds the RPO)"
	echo "  --partition     after the kill, drop TCP to A's ports (nftables) instead of"
	echo "                  letting connections be refused: A unreachable, not just down"
	echo "  --plain         SASL PLAIN instead of SCRAM-SHA-256 (Argon2id per login)"
	echo "  --keep DIR      keep the accounts (accounts.csv), password and SCRAM key"
	echo "                  cache in DIR and reuse them; a 'run.sh --storm-keep DIR'"
	echo "                  directory works too (its SQLite accounts are imported)"
	echo "  --logs DIR      keep the servers' and tools' logs and JSON in DIR (profiling)"
	echo "  --raw           also print the run's JSON (on stderr)"
	echo "  --out FILE      also write the report to FILE (e.g. bench/results/FAILOVER.md)"
}

BUILD=""
CLIENTS=2000
RATE=200
LOAD=30
APPLY_MB=64
MECH=SCRAM-SHA-256
KEEP=""
SEGSIZE=1
PARTITION=()
LOGS=""
RAW=0
OUT=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) CLIENTS=200; LOAD=10; APPLY_MB=16; shift ;;
	--clients) CLIENTS="$2"; shift 2 ;;
	--rate) RATE="$2"; shift 2 ;;
	--plain) MECH=PLAIN; shift ;;
	--segsize) SEGSIZE="$2"; shift 2 ;;
	--partition) PARTITION=(--partition); shift ;;
	--keep) KEEP="$2"; shift 2 ;;
	--logs) LOGS="$2"; shift 2 ;;
	--raw) RAW=1; shift ;;
	--out) OUT="$2"; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "run_failover.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) BUILD="$1"; shift ;;
	esac
done
[ -n "$BUILD" ] || { usage >&2; exit 2; }
BUILD="$(cd "$BUILD" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
PGTMP="$HERE/../tests/pg/pgtmp.sh"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
PY=/usr/bin/python3
for b in "$BUILD/bench/pchat-loadgen" "$BUILD/pchatd" "$BUILD/pchatctl" "$PGBIN/initdb" \
	"$PGBIN/pg_basebackup" "$PY"; do
	[ -x "$b" ] || { echo "run_failover.sh: $b missing (ninja -C $BUILD; make deps for PostgreSQL 15)" >&2; exit 1; }
done
[ ${#PARTITION[@]} = 0 ] || command -v nft >/dev/null ||
	{ echo "run_failover.sh: --partition needs nft (apt-get install nftables)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run_failover.sh: run as root (the clusters and pchatctl failover run as postgres)" >&2; exit 1; }
if [ -n "$OUT" ]; then
	: >"$OUT" || exit 1
	OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
fi

TMP="$(mktemp -d /tmp/pchat-bench-failover.XXXXXX)"
chmod 755 "$TMP" # the clusters and pchatctl run as postgres under it
if [ -z "$KEEP" ]; then
	KEEP="$TMP/keep"
fi
mkdir -p "$KEEP"
chmod 700 "$KEEP" # a password and SCRAM keys that log in as every account
KEEP="$(cd "$KEEP" && pwd)"

# Stop what failover_bench.py started if it died before it could: its
# processes (TMP/pids) and clusters (TMP/clusters), then remove TMP.
# shellcheck disable=SC2317 # run by the EXIT trap
failover_cleanup() {
	local pid kind dir
	if [ -f "$TMP/pids" ]; then
		while read -r pid; do
			kill -9 "$pid" 2>/dev/null || true
		done <"$TMP/pids"
	fi
	if [ -f "$TMP/clusters" ]; then
		while read -r kind dir; do
			case "$kind" in
			pgtmp) "$PGTMP" stop "$dir" >/dev/null 2>&1 || true ;;
			pgctl)
				if [ -f "$dir/postmaster.pid" ]; then
					runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir" -m immediate -w stop \
						>/dev/null 2>&1 || true
				fi ;;
			esac
		done <"$TMP/clusters"
	fi
	if [ -s "$TMP/nft" ]; then
		nft delete table inet "$(cat "$TMP/nft")" 2>/dev/null || true
	fi
	if [ -n "$LOGS" ]; then
		mkdir -p "$LOGS"
		cp "$TMP"/*.log "$TMP"/*.err "$TMP"/*.json "$TMP/ctl/data/failover-state.json" \
			"$LOGS/" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap failover_cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

T_START=$(date +%s)
echo "run_failover.sh: $CLIENTS clients, $RATE msgs/s, $MECH; work in $TMP" >&2
RC=0
"$PY" "$HERE/failover_bench.py" --build "$BUILD" --tmp "$TMP" --pgtmp "$PGTMP" --keep "$KEEP" \
	--clients "$CLIENTS" --rate "$RATE" --load "$LOAD" --apply-mb "$APPLY_MB" --mech "$MECH" \
	--segsize "$SEGSIZE" "${PARTITION[@]}" || RC=$?
[ "$RC" = 0 ] || echo "run_failover.sh: the benchmark failed (exit $RC); the table shows what was measured" >&2
[ "$RAW" = 1 ] && cat "$TMP/result.json" >&2
ELAPSED=$(($(date +%s) - T_START))

CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
PG_VERSION="$("$PGBIN/postgres" --version 2>/dev/null | sed 's/^postgres (PostgreSQL) //')"
"$PY" - "$TMP/result.json" "$(nproc)" "$CPU_MODEL" "$PG_VERSION" "$ELAPSED" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" <<'PYEOF' | tee "${OUT:-/dev/null}"
import json, sys, time
path, ncpu, cpu_model, pg_version, elapsed, loadavg = sys.argv[1:7]
try:
    with open(path) as f:
        r = json.load(f)
except (OSError, ValueError):
    r = {}
fo = r.get("failover", {})
login = fo.get("login", {})
state = fo.get("state", {})
rpo = r.get("rpo", {})
ap = r.get("apply", {})
fb = r.get("failback", {})
fbsum = fb.get("summary", {})
fbsteps = fb.get("steps", {})
n = r.get("clients", 0)

def f(v, spec="{:.2f}", unit=" s"):
    return "n/a" if not isinstance(v, (int, float)) else spec.format(v) + unit

def verdict(v, target):
    return "n/a" if not isinstance(v, (int, float)) else ("held" if v <= target else "missed")

t0_ms = state.get("started_ms", 0)
steps = state.get("steps", {})
order = ["remove-secondary", "copy", "restore", "sessions", "recover", "state", "active",
         "mirror"]

def step_s(name):
    s = steps.get(name, {})
    if s.get("status") != "done" or not s.get("ended_ms"):
        return None if s.get("status") != "skipped" else 0.0
    return (s["ended_ms"] - s["started_ms"]) / 1000

def hist(h, key):
    return (h or {}).get(key)

active_end = (steps.get("active", {}).get("ended_ms", 0) - t0_ms) / 1000 if t0_ms else None
rows = [
    ("**RTO**: `pchatctl failover` → all %s clients registered and joined on b1" % f"{n:,}",
     f(fo.get("rto_s")), "≤ 10 s", verdict(fo.get("rto_s"), 10)),
]
for name in order:
    rows.append(("  step %s" % name, f(step_s(name)), "", ""))
rows += [
    ("  command → step `active` done (state file)", f(active_end), "", ""),
    ("  command → b1 logs the move to the backup", f(fo.get("b1_log", {}).get("moved")), "", ""),
    ("  command → b1 restarted onto the backup (log)",
     f(fo.get("b1_log", {}).get("on_backup")), "", ""),
    ("  command → b1 serves (first guest gets 001)", f(fo.get("t_b1_served_s")), "", ""),
    ("  login phase: %s clients registered + joined (%s, cached keys)" %
     (f"{n:,}", login.get("sasl_mech") or "?"), f(login.get("setup_s")), "", ""),
    ("  login p50 / p99 (connect → joined)",
     "%s / %s" % (f(hist(login.get("handshake_ms"), "p50"), "{:,.0f}", " ms"),
                  f(hist(login.get("handshake_ms"), "p99"), "{:,.0f}", " ms")), "", ""),
    ("  clients failed on b1", f(login.get("clients_failed"), "{}", ""), "0", ""),
    ("  b1 CPU per login",
     f((login.get("setup_server_cpu_s") or 0) * 1000 / max(1, login.get("clients_ready") or 1)
       if login.get("setup_server_cpu_s") is not None else None, "{:.2f}", " ms"), "", ""),
    ("failover total (report; mirror built after `active`)",
     f((state.get("finished_ms", 0) - t0_ms) / 1000 if state.get("finished_ms") else None),
     "", ""),
    ("**RPO**: newest acknowledged message on the backup → kill of A",
     f(rpo.get("newest_present_ack_s_before_kill")), "≤ 10 s",
     verdict(rpo.get("newest_present_ack_s_before_kill"), 10)),
    ("  acknowledged messages lost (of %s acked at %s msgs/s)" %
     (f"{rpo.get('acked', 0):,}", r.get("rate", "?")),
     f(rpo.get("missing_acked"), "{:,}", ""), "", ""),
    ("  lost messages span (oldest lost sent → kill)", f(rpo.get("missing_span_s")), "", ""),
    ("  lost acked messages older than a kept one", f(rpo.get("out_of_order"), "{}", ""),
     "0", ""),
    ("  report's recovery point → kill (last applied %s, archived %s)" %
     (rpo.get("last_applied") or "n/a", rpo.get("recovery_point") or "n/a"), f(rpo.get("recovery_point_s_before_kill")), "", ""),
    ("**failback RPO**: acknowledged messages (sent through b1 during `pchatctl failback`) "
     "not in A afterwards", f(fb.get("missing_acked"), "{:,}", ""), "0",
     "n/a" if not isinstance(fb.get("missing_acked"), int) else
     ("held" if fb.get("missing_acked") == 0 and fb.get("acked") else "missed")),
    ("  acknowledged through b1 / frozen backup's newest id = promoted primary's",
     "%s / %s" % (f(fb.get("acked"), "{:,}", ""),
                  "n/a" if "freeze.max_id" not in fbsum else
                  ("yes (%s)" % fbsum["freeze.max_id"]
                   if fbsum.get("freeze.max_id") == fbsum.get("recover.max_id") else "NO")),
     "", ""),
    ("  `pchatctl failback` total (exit %s)" % fb.get("exit", "n/a"), f(fb.get("total_s")),
     "", ""),
] + [("  step %s" % name, f(fbsteps[name]["ms"] / 1000 if name in fbsteps else None) +
      ("" if fbsteps.get(name, {}).get("status") in (None, "done") else
       " (%s)" % fbsteps[name]["status"]), "", "")
     for name in ["reseed", "freeze", "recover", "logship", "state", "active", "secondary",
                  "mirror-primary", "mirror-backup"]] + [
    ("**log apply rate** on the backup (`logship restore --all`)",
     f(ap.get("mib_per_s"), "{:.1f}", " MiB/s"), "", ""),
    ("  WAL replayed / restore --all / copy --all",
     "%s / %s / %s" % (f(ap.get("mib"), "{:.1f}", " MiB"), f(ap.get("restore_s")),
                       f(ap.get("copy_s"))), "", ""),
]
out = ["# Failover: RTO, RPO and log apply rate (issue 6)\n",
       "`bench/run_failover.sh`: the drill's set-up (primary + a1 in data center A; "
       "log-shipped backup standby + b1 and the backup's mirror in B; `backup_interval` = "
       f"{r.get('backup_interval_s', '?')} s, {r.get('wal_segsize_mb', '?')} MB WAL segments). "
       f"{n:,} clients on a1, a steady "
       f"load of {r.get('rate', '?')} msgs/s (each acknowledged by its echo) for "
       f"{f(r.get('load_s'), '{:.1f}')}, then A killed (SIGKILL of a1, immediate stop of "
       "the primary" + ("; then TCP to A's ports dropped (nftables): A unreachable, "
                        "connections time out" if r.get("partition") else
                        "; connections to A are refused") + ") and `pchatctl --json failover` run as postgres; once step `active` is "
       "done and b1 serves, every client logs in to b1 at once (`pchat-loadgen --mode "
       "connect`). The RTO is measured from the command to the last client joined.\n",
       f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
       f"- machine: {ncpu} CPUs, {cpu_model}; servers, PostgreSQL clusters and load generator "
       f"share them; load average at the end {loadavg}",
       f"- PostgreSQL {pg_version} (tests/pg/pgtmp.sh clusters); accounts: "
       f"{r.get('accounts', 'n/a')} (pchatd's default password parameters)",
       f"- a1: {n:,} clients connected in {f(r.get('a1_connect_s'), '{:.1f}')}; "
       f"{r.get('sent', 0):,} messages sent, {r.get('acked', 0):,} acknowledged before the kill",
       f"- run: {elapsed} s in all\n",
       "| figure | value | target | |", "|---|---:|---:|---|"]
out += ["| %s | %s | %s | %s |" % row for row in rows]
out.append("")
out.append("Step times are from the failover's state file. The mirror step (pg_basebackup "
           "of the promoted backup) runs after step `active`, alongside b1's restart and the "
           "logins, as the runbook orders it. "
           "b1 is probed with a guest registration every 50 ms from step `active` on; the "
           "probe stands in for clients retrying. The RPO counts messages whose echo "
           "(the commit in A) reached the sender but that are not in the promoted backup.")
print("\n".join(out))
PYEOF
[ -n "$OUT" ] && echo "run_failover.sh: wrote $OUT" >&2
exit "$RC"
