#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for development and tests.
#
#   scripts/pg.sh start   start it (idempotent) and print its connection URL
#   scripts/pg.sh url     print the URL of the running cluster
#   scripts/pg.sh stop    stop it and delete its data
#
# The cluster lives in a temporary directory named after this checkout, listens
# only on a Unix socket inside that directory (no TCP port to collide with or
# to expose), and runs as the postgres user, since PostgreSQL refuses to run as
# root. Its data is disposable: fsync is off.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${MEDINSIGHTS_PG_DIR:-/tmp/medinsights-pg-$(printf '%s' "$here" | sha256sum | cut -c1-12)}
data=$dir/data
db=${MEDINSIGHTS_PG_DB:-auth_db}

pg_bin() {
	local name=$1
	if command -v "$name" >/dev/null 2>&1; then
		command -v "$name"
	elif [ -x "/usr/lib/postgresql/15/bin/$name" ]; then
		echo "/usr/lib/postgresql/15/bin/$name"
	else
		echo "scripts/pg.sh: $name not found: install PostgreSQL 15 (apt-get install postgresql-15)" >&2
		exit 1
	fi
}

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

url() { echo "postgres://postgres@/$db?host=$dir&sslmode=disable"; }

running() { as_owner "$(pg_bin pg_ctl)" -D "$data" status >/dev/null 2>&1; }

start() {
	if ! running; then
		mkdir -p "$dir"
		chmod 0755 "$dir"
		[ "$(id -u)" = 0 ] && chown postgres: "$dir"
		if [ ! -s "$data/PG_VERSION" ]; then
			as_owner "$(pg_bin initdb)" -D "$data" -U postgres -A trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 ||
				{ cat "$dir/initdb.log" >&2; exit 1; }
		fi
		as_owner "$(pg_bin pg_ctl)" -D "$data" -l "$dir/server.log" -w -t 60 start \
			-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
			>/dev/null || { tail -20 "$dir/server.log" >&2; exit 1; }
	fi
	if ! as_owner "$(pg_bin psql)" -h "$dir" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
		as_owner "$(pg_bin psql)" -h "$dir" -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null
	fi
	url
}

stop() {
	if running; then
		as_owner "$(pg_bin pg_ctl)" -D "$data" -m fast -w stop >/dev/null
	fi
	rm -rf "$dir"
}

case ${1:-} in
start) start ;;
url) running && url || { echo "scripts/pg.sh: not running" >&2; exit 1; } ;;
stop) stop ;;
*) echo "usage: scripts/pg.sh start|url|stop" >&2; exit 2 ;;
esac
