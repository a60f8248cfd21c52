#!/usr/bin/env bash
# Fetches Keycloak's server distribution (org.keycloak:keycloak-quarkus-dist,
# a zip on Maven Central: the only place CI can get Keycloak from) with Maven
# and unpacks it into $KEYCLOAK_HOME (default
# $REPO/.cache/keycloak/keycloak-$KEYCLOAK_VERSION). Then runs Keycloak's own
# build step once for the options start-keycloak.sh uses, so each start can
# be --optimized instead of re-augmenting (about 20 s on 2 cores).
# Keycloak 26.x is compiled for Java 17 (class file version 61) and runs on
# the machine's Debian OpenJDK 17; bookworm has no JDK 21 package.
# Skips everything when the same version was unpacked and built already.
set -euo pipefail
# shellcheck source=tools/ci/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# The build options; start-keycloak.sh must start with the same ones.
build_opts=(--db=dev-mem --health-enabled=false --metrics-enabled=false)
want="$KEYCLOAK_VERSION ${build_opts[*]}"
stamp="$KEYCLOAK_HOME/.poet-built"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$KEYCLOAK_HOME/bin/kc.sh" ]]; then
	ci_log "Keycloak $KEYCLOAK_VERSION already in $KEYCLOAK_HOME"
	exit 0
fi

ci_log "fetching Keycloak $KEYCLOAK_VERSION into $KEYCLOAK_HOME"
parent="$(dirname "$KEYCLOAK_HOME")"
mkdir -p "$parent"
# Unpack into a sibling folder and swap it in, so a failed fetch leaves no half set.
tmp="$(mktemp -d "$parent/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# sed: Maven 3.8 prints bare ANSI resets even in batch mode. No project is
# needed (run from $tmp, which has no pom.xml).
(cd "$tmp" && mvn -q -B dependency:copy \
	-Dartifact="org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:zip" \
	-DoutputDirectory="$tmp") 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
zip="$tmp/keycloak-quarkus-dist-${KEYCLOAK_VERSION}.zip"
ci_log "unpacking $(du -h "$zip" | cut -f1) zip"
unzip -q "$zip" -d "$tmp"
rm -f "$zip"
unpacked="$tmp/keycloak-${KEYCLOAK_VERSION}"

ci_log "running Keycloak's build step (${build_opts[*]})"
if ! "$unpacked/bin/kc.sh" build "${build_opts[@]}" >"$tmp/build.log" 2>&1; then
	cat "$tmp/build.log" >&2
	exit 1
fi
echo "$want" >"$unpacked/.poet-built"
rm -rf "$KEYCLOAK_HOME"
mv "$unpacked" "$KEYCLOAK_HOME"
ci_log "Keycloak $KEYCLOAK_VERSION ready in $KEYCLOAK_HOME ($(du -sh "$KEYCLOAK_HOME" | cut -f1))"
