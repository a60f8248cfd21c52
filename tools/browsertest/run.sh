#!/usr/bin/env bash
# Browser tests of the respondent journey. Builds and starts the whole
# platform (tools/devstack, SQLite and the embedded broker under a /tmp data
# folder), creates a campaign through survey's API with a dev token, then
# runs tests/*.test.mjs in Debian's Chromium (tools/ci/install-browser.sh).
# Screenshots go to tools/browsertest/screenshots/.
#   bash tools/browsertest/run.sh
# Needs Go, Node 20+ with npm, /usr/bin/chromium, and the default local ports
# (8080-8085, 9090, 9092) free.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
data="$(mktemp -d /tmp/poet-browsertest.XXXXXX)"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || { echo "no Chromium at $CHROMIUM: run tools/ci/install-browser.sh" >&2; exit 1; }

for port in 8080 8081 8082 8083 8084 8085 9090 9092; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is in use: stop the running platform (make run) first" >&2
		exit 1
	fi
done

pid=""
cleanup() {
	local rc=$?
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid" # devstack stops every service gracefully
		for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
	fi
	if [ "$rc" -ne 0 ]; then
		echo "--- last platform log lines ($data)" >&2
		tail -n 30 "$data/devstack.log" >&2 || true
	else
		rm -rf "$data"
	fi
	exit "$rc"
}
trap cleanup EXIT

echo "==> building the platform"
(cd "$repo" && go build -o "$data/devstack" ./tools/devstack)
echo "==> starting it (data in $data)"
(cd "$repo" && exec "$data/devstack" -root . -data "$data/platform") >"$data/devstack.log" 2>&1 &
pid=$!

echo "==> waiting for every part to be ready"
for i in $(seq 1 240); do
	# The web status page answers 200 only when every service is ready.
	if [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/ || true)" = 200 ]; then break; fi
	kill -0 "$pid" 2>/dev/null || { echo "the platform stopped" >&2; exit 1; }
	[ "$i" = 240 ] && { echo "the platform was not ready in 120s" >&2; exit 1; }
	sleep 0.5
done

json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v===undefined)process.exit(1);console.log(v)})' "$1"; }
TOKEN="$(curl -sf -d username=ana http://127.0.0.1:9090/adult-demo/dev/token | json access_token)"
INSTRUMENT="adult-person@1.0.0"
body='{"site_id":"site_adult_demo","instrument_id":"adult-person","instrument_version":"1.0.0","name":"Browser test"}'
# The site reaches survey by event a moment after start: retry briefly.
for i in $(seq 1 60); do
	out="$(curl -s -w '\n%{http_code}' -X POST http://127.0.0.1:8081/v1/campaigns \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -H "Idempotency-Key: browsertest-$(basename "$data")" -d "$body")"
	[ "${out##*$'\n'}" = 201 ] && break
	[ "$i" = 60 ] && { echo "could not create a campaign: $out" >&2; exit 1; }
	sleep 0.5
done
campaign="${out%$'\n'*}"
CAMPAIGN_ID="$(printf '%s' "$campaign" | json id)"
LINK_TOKEN="$(printf '%s' "$campaign" | json open_link_token)"
echo "==> campaign $CAMPAIGN_ID ($INSTRUMENT)"

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
export WEB_URL=http://127.0.0.1:8080 SURVEY_URL=http://127.0.0.1:8081 TOKEN CAMPAIGN_ID LINK_TOKEN INSTRUMENT
node --test --test-reporter=spec tests/
