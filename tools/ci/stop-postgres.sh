#!/usr/bin/env bash
# Stops the server started by start-postgres.sh (fast shutdown: open sessions
# are disconnected). Data in $PG_DIR is kept; pass --wipe to delete it too.
set -euo pipefail
# shellcheck source=tools/ci/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if [[ -f "$PG_DIR/postmaster.pid" && -f "$PG_DIR/PG_VERSION" ]]; then
	bindir="/usr/lib/postgresql/$(cat "$PG_DIR/PG_VERSION")/bin"
	ci_log "stopping PostgreSQL in $PG_DIR"
	runuser -u postgres -- "$bindir/pg_ctl" -D "$PG_DIR" -m fast -w -t 60 stop </dev/null >/dev/null ||
		ci_log "pg_ctl stop failed (server not running?)"
else
	ci_log "PostgreSQL not running from $PG_DIR"
fi

if [[ "${1:-}" == "--wipe" ]]; then
	ci_log "wiping $PG_DIR"
	rm -rf "$PG_DIR"
fi
