#!/usr/bin/env bash
# bench/run_rooms.sh — the rooms issue's figures: history, search and login.
#
#   bench/run_rooms.sh BUILD_DIR [--quick] [--messages N] [--raw]
#
# Builds nothing. In a temporary directory it writes a pchatd config
# (plain listener on a free 127.0.0.1 port, scram_iterations 4096, small
# Argon2 parameters, flood_rate = 0), creates with pchatctl the accounts and
# the open rooms #bigroom and #fr0..#fr49, fills them with
# BUILD_DIR/bench/fill_history (N messages in #bigroom, default 1,000,000;
# 40 in each #frI, all followed by the account 'follower'), starts
# BUILD_DIR/pchatd, runs bench/rooms_bench.py and prints a table:
#   1. CHATHISTORY LATEST #bigroom * 100: p50/p99 over 1,000 requests
#   2. SEARCH text=WORD;limit=50 for a word in ~0.1% and one in ~10% of the
#      messages: p50/p99 over 200 requests each
#   3. login of 'follower' (50 followed rooms, 30 lines replayed in each,
#      no chathistory cap) until every room is joined and replayed: p50/p99
#      over 20 logins
# and the fill rate. Then stops the server and removes the directory.
# --quick fills 100,000 messages and makes fewer requests.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
	bench_usage "$0"
	echo
	echo "options:"
	echo "  --quick        100,000 messages, 200 history / 50 search / 5 login requests"
	echo "  --messages N   messages in #bigroom (default 1000000)"
	echo "  --raw          also print rooms_bench.py's JSON"
}

BUILD=""
MESSAGES=1000000
N_HISTORY=1000
N_SEARCH=200
N_LOGINS=20
N_FOLLOW=50
RAW=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) MESSAGES=100000; N_HISTORY=200; N_SEARCH=50; N_LOGINS=5; shift ;;
	--messages) MESSAGES="$2"; shift 2 ;;
	--raw) RAW=1; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "run_rooms.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) BUILD="$1"; shift ;;
	esac
done
if [ -z "$BUILD" ]; then
	usage >&2
	exit 2
fi
BUILD="$(cd "$BUILD" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${PYTHON:-python3}"
FILL="$BUILD/bench/fill_history"
for b in "$BUILD/pchatd" "$BUILD/pchatctl" "$FILL"; do
	[ -x "$b" ] || { echo "run_rooms.sh: $b not built (run ninja -C $BUILD)" >&2; exit 1; }
done

TMP="$(mktemp -d /tmp/pchat-rooms.XXXXXX)"
CFG="$TMP/pchatd.conf"
PASSWORD="bench-password-$$"
SENDERS="alice,bob,carol,dave,erin,frank,grace,heidi,ivan,judy"


bench_traps

PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p -m 700 "$TMP/data"
cat >"$CFG" <<CONF
[server]
data_dir = $TMP/data
listen = 127.0.0.1:$PORT

[auth]
scram_iterations = 4096
argon2_opslimit = 1
argon2_memlimit_kib = 8

[limits]
flood_rate = 0
sendq = 4194304
CONF

ctl() {
	"$BUILD/pchatctl" -c "$CFG" "$@" >>"$TMP/pchatctl.log" 2>&1 ||
		{ echo "run_rooms.sh: pchatctl $* failed:" >&2; tail -5 "$TMP/pchatctl.log" >&2; exit 1; }
}

echo "run_rooms.sh: creating accounts and rooms ..." >&2
for u in bench follower ${SENDERS//,/ }; do
	echo "$PASSWORD" | ctl user add "$u" --password-stdin
done
ctl room add bigroom --privacy open --description "a room of $MESSAGES messages"
for i in $(seq 0 $((N_FOLLOW - 1))); do
	ctl room add "fr$i" --privacy open
done

echo "run_rooms.sh: filling #bigroom with $MESSAGES messages ..." >&2
"$FILL" --data-dir "$TMP/data" --room bigroom --messages "$MESSAGES" --senders "$SENDERS" \
	>"$TMP/fill_big.out" ||
	{ echo "run_rooms.sh: fill_history failed" >&2; exit 1; }
"$FILL" --data-dir "$TMP/data" --rooms fr --n-rooms "$N_FOLLOW" --per-room 40 \
	--follow follower --senders "$SENDERS" --seed 12345 >"$TMP/fill_small.out" ||
	{ echo "run_rooms.sh: fill_history (followed rooms) failed" >&2; exit 1; }
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" | tail -1; }
RARE="$(kv "$TMP/fill_big.out" rare_word)"
COMMON="$(kv "$TMP/fill_big.out" common_word)"

"$BUILD/pchatd" -c "$CFG" >>"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || {
	echo "run_rooms.sh: pchatd did not start listening on $PORT; its log:" >&2
	tail -20 "$TMP/server.log" >&2
	exit 1
}

echo "run_rooms.sh: measuring ..." >&2
"$PY" "$HERE/rooms_bench.py" --port "$PORT" --user bench --password "$PASSWORD" \
	--room bigroom --rare "$RARE" --common "$COMMON" --follow-user follower \
	--n-follow "$N_FOLLOW" --replay 30 --n-history "$N_HISTORY" --n-search "$N_SEARCH" \
	--n-logins "$N_LOGINS" >"$TMP/rooms.json" 2>"$TMP/rooms.err" || {
	echo "run_rooms.sh: rooms_bench.py failed:" >&2
	tail -20 "$TMP/rooms.err" >&2
	tail -5 "$TMP/server.log" >&2
	exit 1
}
stop_server
[ "$RAW" = 1 ] && cat "$TMP/rooms.json"

"$PY" - "$TMP" "$(nproc)" <<'PYEOF'
import json, re, sys
tmp, ncpu = sys.argv[1], sys.argv[2]

def kv(name):
    with open(f"{tmp}/{name}") as f:
        return dict(re.findall(r"(\w+)=(\S+)", f.read().strip().splitlines()[-1]))

big, small = kv("fill_big.out"), kv("fill_small.out")
with open(f"{tmp}/rooms.json") as f:
    r = json.load(f)
n = int(big["messages"])

def pct(count):
    return f"{100.0 * int(count) / n:.2f}%" if n else "n/a"

def row(label, d, target):
    ok = "ok" if d.get("p99", 1e9) <= target else "MISSED"
    extra = f", {d['results']} results each" if "results" in d else ""
    return (label, f"{d['p50']:.2f} / {d['p99']:.2f} ms",
            f"target p99 <= {target:g} ms: {ok}; max {d['max']:.2f} ms, n={d['n']}{extra}")

h, sr, sc, lg = r["history"], r["search_rare"], r["search_common"], r["login"]
rows = [
    (f"fill rate (#bigroom, {n:,} messages)", f"{float(big['rate']):,.0f} msg/s",
     f"{float(big['seconds']):.1f} s in transactions of 50,000; followed rooms "
     f"{int(small['messages']):,} messages"),
    (f"0. PING round trip (baseline, no target)",
     f"{r['ping']['p50']:.2f} / {r['ping']['p99']:.2f} ms",
     f"max {r['ping']['max']:.2f} ms, n={r['ping']['n']}"),
    row("1. CHATHISTORY LATEST #bigroom * 100", h, 5),
    row(f"2a. SEARCH text={sr['word']} ({pct(big['rare_count'])} of msgs), limit=50", sr, 100),
    row(f"2b. SEARCH text={sc['word']} ({pct(big['common_count'])} of msgs), limit=50", sc, 100),
    row(f"3. login, {lg['rooms']} followed rooms x {lg['replay']} lines replayed", lg, 200),
]
for d in (sr, sc):
    if d.get("not_matching"):
        rows.append(("   warning", "", f"{d['not_matching']} results without '{d['word']}'"))
if h.get("short_batches"):
    rows.append(("   warning", "", f"{h['short_batches']} history batches held fewer than 100"))
with open("/proc/loadavg") as f:
    load = f.read().split()[0]
print(f"\npchat rooms figures ({ncpu} CPUs shared by server and client, load average "
      f"{load} after the run; history over {n:,} messages)\n")
w0 = max(len(x[0]) for x in rows)
w1 = max(len(x[1]) for x in rows)
print(f"{'figure':<{w0}}  {'result':>{w1}}  details")
print(f"{'-' * w0}  {'-' * w1}  {'-' * 7}")
for x in rows:
    print(f"{x[0]:<{w0}}  {x[1]:>{w1}}  {x[2]}")
PYEOF
