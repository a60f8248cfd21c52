# shellcheck shell=bash
# Shared settings for the CI service scripts (tools/ci/*.sh and .ci/run).
# Source it; it only sets variables and defines helpers, it starts nothing.
# Every value can be overridden from the environment, so a developer can run
# a second set of services (other ports / scratch dir) beside CI's.

# Repository root, found from this file's own location (works from any cwd).
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CI_TOOLS="$REPO/tools/ci"

# Scratch root for service data; /tmp so it never lands in the clone.
CI_SCRATCH="${CI_SCRATCH:-/tmp/poet-ci}"

PG_PORT="${PG_PORT:-55432}"
PG_DIR="${PG_DIR:-$CI_SCRATCH/pg}"

KAFKA_PORT="${KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-59093}"
# DIR is the Kafka scratch folder (config, logs, data, pid).
DIR="${DIR:-$CI_SCRATCH/kafka}"
KAFKA_LIBS="${KAFKA_LIBS:-$REPO/.cache/kafka/libs}"

export REPO CI_TOOLS CI_SCRATCH PG_PORT PG_DIR KAFKA_PORT KAFKA_CONTROLLER_PORT DIR KAFKA_LIBS

# Keycloak: the real OpenID provider of the staff sign-in tests (one realm per
# demo organisation, tools/ci/keycloak/*.json). 26.x runs on Java 17.
KEYCLOAK_VERSION="${KEYCLOAK_VERSION:-26.7.3}"
KEYCLOAK_PORT="${KEYCLOAK_PORT:-58080}"
KEYCLOAK_HOME="${KEYCLOAK_HOME:-$REPO/.cache/keycloak/keycloak-$KEYCLOAK_VERSION}"
KEYCLOAK_DIR="${KEYCLOAK_DIR:-$CI_SCRATCH/keycloak}"
export KEYCLOAK_VERSION KEYCLOAK_PORT KEYCLOAK_HOME KEYCLOAK_DIR

export POET_TEST_POSTGRES_URL="${POET_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:${PG_PORT}/postgres?sslmode=disable}"
export POET_TEST_KAFKA_BROKERS="${POET_TEST_KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT}}"

# Go-installed tools (generators, linters) must be callable by make.
if command -v go >/dev/null 2>&1; then
	case ":$PATH:" in
	*":$(go env GOPATH)/bin:"*) ;;
	*) PATH="$PATH:$(go env GOPATH)/bin" ;;
	esac
	export PATH
fi

# ci_log prints a timestamped line to stderr, prefixed with the calling script.
ci_log() {
	printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "$(basename "$0")" "$*" >&2
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
	# shellcheck disable=SC2016 # $1/$2 expand in the inner bash, on purpose.
	timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# kafka_ready: true when the broker answers a metadata request.
kafka_ready() {
	timeout 15 kcat -b "127.0.0.1:${KAFKA_PORT}" -L -m 5 >/dev/null 2>&1
}

# keycloak_ready: true when every demo realm publishes its discovery document.
keycloak_ready() {
	local f realm
	for f in "$CI_TOOLS"/keycloak/*-realm.json; do
		realm="$(basename "$f" -realm.json)"
		curl -fsS -o /dev/null --max-time 5 \
			"http://127.0.0.1:${KEYCLOAK_PORT}/realms/${realm}/.well-known/openid-configuration" 2>/dev/null || return 1
	done
}

# pg_ready: true when the server on PG_PORT accepts connections.
pg_ready() {
	pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 3 >/dev/null 2>&1
}
