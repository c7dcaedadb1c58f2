# bench/lib.sh — shell pieces the benchmark scripts share (sourced, not run).
#
# Expects TMP (a temporary directory), PY (a Python 3) and, for
# write_ngircd_config, PORT (bench_usage needs neither: scripts source this
# file first thing). Provides the help text (bench_usage), SERVER_PID
# handling, clean-up on exit, free_port and the ngIRCd configuration used
# for every comparison; for scripts running several servers (run_pool.sh),
# stop_pid, wait_port and write_pchatd_config_file.

SERVER_PID=""

# Print script $1's leading comment block (from line 2 to the first line
# that is not a comment) without its "# " marks: the script's --help.
bench_usage() {
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1"
}

# Stop process $1 (a child of this shell; empty: nothing): SIGTERM, then
# SIGKILL after 5 s.
stop_pid() {
	local pid="$1"
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}

# Stop the server under test: SIGTERM, then SIGKILL after 5 s.
stop_server() {
	stop_pid "$SERVER_PID"
	SERVER_PID=""
}

# Remove everything on exit (set as the EXIT trap by bench_traps).
cleanup() {
	stop_server
	rm -rf "$TMP"
}

bench_traps() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

# A free TCP port on 127.0.0.1.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ngIRCd as a peer: no limits, an operator whose user mode +F lifts its
# per-client throttle (OPER_ARGS for the load generator).
write_ngircd_config() {
	local pass
	pass="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	cat >"$TMP/ngircd.conf" <<CONF
[Global]
Name = bench.invalid
Info = pchat benchmark peer
Listen = 127.0.0.1
Ports = $PORT
AdminInfo1 = bench
AdminInfo2 = bench
AdminEMail = bench@bench.invalid
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 30
PingTimeout = 600
PongTimeout = 600
[Options]
PAM = no
Ident = no
DNS = no
[Operator]
Name = bench
Password = $pass
CONF
	chmod 644 "$TMP/ngircd.conf"
	# ngIRCd throttles every client to a few commands per second; an
	# operator with user mode +F is exempt (pchatd runs with flood_rate = 0)
	OPER_ARGS=(--oper "bench:$pass" --umode +F)
}

# The pchatd configuration every benchmark uses ($TMP/pchatd.conf): data in
# $TMP/data, guests (the load generator may skip SASL), no flood control;
# $1 is appended (more sections).
write_pchatd_base_config() {
	write_pchatd_config_file "$TMP/pchatd.conf" "$TMP/data" "$PORT" "${1:-}"
}

# The same configuration in file $1 with data directory $2 and port $3; $4
# is appended (more sections).
write_pchatd_config_file() {
	cat >"$1" <<CONF
[server]
data_dir = $2
listen = 127.0.0.1:$3

[auth]
allow_guests = yes

[limits]
flood_rate = 0
max_clients = 20000
sendq = 1048576
${4:-}
CONF
}

# Wait until the server just started (SERVER_PID) listens on PORT; on failure
# print its log and exit. $1 names the calling script in the message.
wait_listening() {
	wait_port "$1" "$PORT" "$SERVER_PID" "$TMP/server.log"
}

# wait_port WHO PORT PID LOG: wait until process PID listens on PORT; on
# failure print the tail of LOG and exit. WHO names the calling script.
wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
			return 0
		fi
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	echo "$1: ${PEER:-pchatd} did not start listening on $2; its log:" >&2
	tail -20 "$4" >&2
	exit 1
}

# After a pchat-loadgen run: loadgen_result WHAT RC JSON ERR. Exit 0 (and 3,
# "a target missed") with a non-empty JSON is a result; anything else is
# reported with the tail of ERR and JSON becomes "{}" so the table shows
# n/a. Warnings on ERR are shown indented.
loadgen_result() {
	local what="$1" rc="$2" json="$3" err="$4"
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ] || [ ! -s "$json" ]; then
		echo "$what failed (exit $rc):" >&2
		tail -5 "$err" >&2
		echo '{}' >"$json"
	elif [ -s "$err" ]; then
		sed 's/^/    /' "$err" >&2
	fi
}
