#!/usr/bin/env bash
# Stops the broker started by start-kafka.sh (pid in $DIR/kafka.pid): SIGTERM
# for a clean shutdown, SIGKILL after 30 s. Data in $DIR/data is kept; pass
# --wipe to delete it too (next start formats a fresh cluster).
set -euo pipefail
# shellcheck source=tools/ci/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

pidfile="$DIR/kafka.pid"
if [[ -f "$pidfile" ]]; then
	pid="$(cat "$pidfile")"
	# Only signal the pid if it still is our broker (pids get reused).
	if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka'; then
		ci_log "stopping Kafka (pid $pid)"
		kill -TERM "$pid"
		for _ in $(seq 1 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 1
		done
		if kill -0 "$pid" 2>/dev/null; then
			ci_log "Kafka did not stop in 30s: killing it"
			kill -KILL "$pid" || true
		fi
	else
		ci_log "Kafka not running (stale pid file)"
	fi
	rm -f "$pidfile"
else
	ci_log "Kafka not running (no pid file in $DIR)"
fi

if [[ "${1:-}" == "--wipe" ]]; then
	ci_log "wiping $DIR"
	rm -rf "$DIR"
fi
