#!/usr/bin/env bash
# Stops the Keycloak started by start-keycloak.sh (pid in
# $KEYCLOAK_DIR/keycloak.pid): SIGTERM for a clean shutdown, SIGKILL after
# 30 s. Its database is in memory, so nothing is left to wipe but the log;
# pass --wipe to delete $KEYCLOAK_DIR too.
set -euo pipefail
# shellcheck source=tools/ci/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

pidfile="$KEYCLOAK_DIR/keycloak.pid"
if [[ -f "$pidfile" ]]; then
	pid="$(cat "$pidfile")"
	# Only signal the pid if it still is our Keycloak (pids get reused). It is
	# kc.sh, which runs the JVM as a child; start-keycloak.sh made it a session
	# and process-group leader (setsid), so the group is exactly the two.
	if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kc\.sh'; then
		ci_log "stopping Keycloak (process group $pid)"
		kill -TERM -- "-$pid"
		for _ in $(seq 1 30); do
			kill -0 -- "-$pid" 2>/dev/null || break
			sleep 1
		done
		if kill -0 -- "-$pid" 2>/dev/null; then
			ci_log "Keycloak did not stop in 30s: killing it"
			kill -KILL -- "-$pid" || true
		fi
	else
		ci_log "Keycloak not running (stale pid file)"
	fi
	rm -f "$pidfile"
else
	ci_log "Keycloak not running (no pid file in $KEYCLOAK_DIR)"
fi

if [[ "${1:-}" == "--wipe" ]]; then
	ci_log "wiping $KEYCLOAK_DIR"
	rm -rf "$KEYCLOAK_DIR"
fi
