#!/usr/bin/env bash
# Starts Keycloak on 127.0.0.1:$KEYCLOAK_PORT for the staff sign-in tests,
# from the distribution fetch-keycloak.sh unpacked and built in
# $KEYCLOAK_HOME, with one realm per demo organisation imported from
# tools/ci/keycloak/*-realm.json (test-only users and passwords). The database
# is in-memory H2, so every start begins from exactly those files. Scratch
# lives in $KEYCLOAK_DIR (default /tmp/poet-ci/keycloak): keycloak.log,
# keycloak.pid. A Keycloak already serving every realm on the port is reused.
# Returns once every realm's discovery document answers (300 s timeout; it
# takes about 30 s on an idle 2-core machine, over 2 minutes on a busy one).
set -euo pipefail
# shellcheck source=tools/ci/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

URL="http://127.0.0.1:${KEYCLOAK_PORT}"
TIMEOUT="${KEYCLOAK_START_TIMEOUT:-300}"
pidfile="$KEYCLOAK_DIR/keycloak.pid"
log="$KEYCLOAK_DIR/keycloak.log"

if port_open 127.0.0.1 "$KEYCLOAK_PORT" && keycloak_ready; then
	ci_log "Keycloak already serving the demo realms on $URL: reusing it"
	echo "POET_TEST_KEYCLOAK_URL=$URL"
	exit 0
fi
if port_open 127.0.0.1 "$KEYCLOAK_PORT"; then
	ci_log "port $KEYCLOAK_PORT is taken by something that does not serve the demo realms"
	exit 1
fi
if [[ ! -f "$KEYCLOAK_HOME/.poet-built" ]]; then
	ci_log "no built Keycloak in $KEYCLOAK_HOME: run tools/ci/fetch-keycloak.sh first"
	exit 1
fi
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	ci_log "stale Keycloak pid $(cat "$pidfile") is alive but not answering: stopping it"
	"$CI_TOOLS/stop-keycloak.sh"
fi

mkdir -p "$KEYCLOAK_DIR"
# --import-realm reads $KEYCLOAK_HOME/data/import; refreshed every start so
# an edited realm file takes effect.
import="$KEYCLOAK_HOME/data/import"
rm -rf "$import"
mkdir -p "$import"
cp "$CI_TOOLS"/keycloak/*-realm.json "$import/"

ci_log "starting Keycloak $KEYCLOAK_VERSION on $URL (log $log)"
# --optimized: the build step (in-memory H2, no health/metrics endpoints, so
# no management port either) was done by fetch-keycloak.sh. --cache=local:
# production mode would otherwise form a JGroups cluster (ports 7800/57800 on
# every interface, mTLS set-up), which one test instance has no use for and
# which slows the start. A fixed hostname
# makes every realm's issuer http://127.0.0.1:$KEYCLOAK_PORT/realms/<realm>
# whatever address a request used. The admin user exists only in memory.
# setsid + closed std streams: Keycloak outlives this script and its caller.
KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=admin-test-only \
	JAVA_OPTS_KC_HEAP="${KEYCLOAK_HEAP:--Xms128m -Xmx512m}" \
	setsid "$KEYCLOAK_HOME/bin/kc.sh" start --optimized --import-realm \
	--cache=local --http-enabled=true --http-host=127.0.0.1 --http-port="$KEYCLOAK_PORT" \
	--hostname="$URL" --hostname-strict=true \
	--log=file --log-file="$log" --log-level=info \
	</dev/null >"$KEYCLOAK_DIR/keycloak.out" 2>&1 &
pid=$!
echo "$pid" >"$pidfile"

started=$SECONDS
deadline=$((SECONDS + TIMEOUT))
until port_open 127.0.0.1 "$KEYCLOAK_PORT" && keycloak_ready; do
	if ! kill -0 "$pid" 2>/dev/null; then
		ci_log "Keycloak (pid $pid) exited during startup"
		tail -n 60 "$KEYCLOAK_DIR/keycloak.out" "$log" >&2 2>/dev/null || true
		exit 1
	fi
	if ((SECONDS >= deadline)); then
		ci_log "Keycloak not ready after ${TIMEOUT}s"
		tail -n 60 "$KEYCLOAK_DIR/keycloak.out" "$log" >&2 2>/dev/null || true
		exit 1
	fi
	sleep 1
done
ci_log "Keycloak ready on $URL in $((SECONDS - started))s (pid $pid; realms: $(cd "$CI_TOOLS/keycloak" && ls -- *-realm.json | sed 's/-realm\.json//' | paste -sd' '))"
echo "POET_TEST_KEYCLOAK_URL=$URL"
