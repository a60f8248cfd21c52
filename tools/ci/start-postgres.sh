#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for integration tests with Debian's
# server binaries (/usr/lib/postgresql/<newest>/bin): data in $PG_DIR (default
# /tmp/poet-ci/pg), TCP on 127.0.0.1:$PG_PORT only, unix socket in the scratch
# folder, trust auth, durability off (fsync, synchronous_commit) for speed.
# PostgreSQL refuses to run as root, so it runs as the `postgres` OS user.
# A server already answering on the port is reused; a stopped one restarts on
# its existing data.
set -euo pipefail
# shellcheck source=tools/ci/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

url_line="POET_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:${PG_PORT}/postgres?sslmode=disable"

if pg_ready; then
	ci_log "PostgreSQL already answering on 127.0.0.1:$PG_PORT: reusing it"
	echo "$url_line"
	exit 0
fi

bindir="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n1 | xargs -r dirname)"
if [[ -z "$bindir" ]]; then
	ci_log "no PostgreSQL server binaries under /usr/lib/postgresql: run tools/ci/install-deps.sh"
	exit 1
fi
version="$(basename "$(dirname "$bindir")")"

as_pg() { runuser -u postgres -- "$@"; }

sockdir="$CI_SCRATCH/pg-socket"
logfile="$CI_SCRATCH/pg.log"
mkdir -p "$CI_SCRATCH" "$sockdir"
chmod 755 "$CI_SCRATCH"
chown postgres:postgres "$sockdir"
touch "$logfile" && chown postgres:postgres "$logfile"

# Data from another major version cannot be started: start over.
if [[ -f "$PG_DIR/PG_VERSION" && "$(cat "$PG_DIR/PG_VERSION")" != "$version" ]]; then
	ci_log "data in $PG_DIR is from PostgreSQL $(cat "$PG_DIR/PG_VERSION"), binaries are $version: re-initialising"
	rm -rf "$PG_DIR"
fi

if [[ ! -f "$PG_DIR/PG_VERSION" ]]; then
	ci_log "initdb PostgreSQL $version in $PG_DIR"
	rm -rf "$PG_DIR"
	mkdir -p "$PG_DIR"
	chown postgres:postgres "$PG_DIR"
	chmod 700 "$PG_DIR"
	# trust for local socket and 127.0.0.1/::1 (initdb's host lines are loopback only).
	as_pg "$bindir/initdb" -D "$PG_DIR" -U postgres --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 --no-sync >"$CI_SCRATCH/initdb.log" 2>&1 || {
		cat "$CI_SCRATCH/initdb.log" >&2
		exit 1
	}
	cat >>"$PG_DIR/postgresql.conf" <<CONF

# --- poet CI test server (tools/ci/start-postgres.sh) ---
listen_addresses = '127.0.0.1'
port = ${PG_PORT}
unix_socket_directories = '${sockdir}'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
CONF
fi

ci_log "starting PostgreSQL $version on 127.0.0.1:$PG_PORT (log $logfile)"
# -p/-k given again so a port change via env works on an existing data dir.
if ! as_pg "$bindir/pg_ctl" -D "$PG_DIR" -l "$logfile" -w -t 60 \
	-o "-p $PG_PORT -k $sockdir" start </dev/null >/dev/null; then
	ci_log "PostgreSQL failed to start"
	tail -n 40 "$logfile" >&2
	exit 1
fi
ci_log "PostgreSQL ready: $(psql "${url_line#*=}" -Atc 'show server_version')"
echo "$url_line"
