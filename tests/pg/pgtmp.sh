#!/usr/bin/env bash
# tests/pg/pgtmp.sh — a throw-away PostgreSQL 15 cluster for tests and benchmarks.
#
#   tests/pg/pgtmp.sh start DIR [NAME]   initdb into DIR/data, start it on a free
#                                         127.0.0.1 port, create database NAME
#                                         (default pchat); prints its URL
#   tests/pg/pgtmp.sh url DIR [NAME]     print the URL again
#   tests/pg/pgtmp.sh stop DIR           stop it (fast shutdown) and remove DIR
#   tests/pg/pgtmp.sh kill DIR           stop it immediately (crash) and keep DIR
#   tests/pg/pgtmp.sh restart DIR        stop (fast) and start again on the same port
#
# PostgreSQL refuses to run as root: as root the cluster runs as the
# unprivileged system user "postgres" (from the postgresql-15 package), which
# owns DIR; otherwise as the calling user. Authentication is "trust" on
# 127.0.0.1 only, for the role pchat (superuser of its own throw-away cluster).
# wal_level=replica and wal_log_hints=on as a production cluster would have.
# PGTMP_INITDB_ARGS adds initdb options (e.g. "--wal-segsize=1" for 1 MB WAL
# segments in the log-shipping tests); unset, initdb runs as always.
set -euo pipefail

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
cmd="${1:-}"
dir="${2:-}"
name="${3:-pchat}"
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url() {
	echo "postgresql://pchat@127.0.0.1:$(cat "$dir/port")/$name"
}

pg_start() {
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
		-o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
}

case "$cmd" in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	as_owner "$PGBIN/initdb" -D "$dir/data" -A trust -U pchat -E UTF8 --locale=C.UTF-8 \
		--no-sync ${PGTMP_INITDB_ARGS:-} >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	cat >>"$dir/data/postgresql.conf" <<CONF
wal_level = replica
wal_log_hints = on
max_connections = 200
shared_buffers = 128MB
synchronous_commit = on
deadlock_timeout = 100ms
CONF
	free_port >"$dir/port"
	chmod 644 "$dir/port"
	pg_start
	as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$(cat "$dir/port")" -U pchat "$name"
	url
	;;
url) url ;;
stop)
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
kill) as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true ;;
restart)
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	pg_start
	;;
*) echo "pgtmp.sh: unknown command $cmd" >&2; exit 2 ;;
esac
