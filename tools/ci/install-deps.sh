#!/usr/bin/env bash
# Installs the Debian packages CI needs to run the integration services:
# PostgreSQL server + client (postgresql), kcat (Kafka CLI client used for
# readiness checks and the message round-trip), make, curl and unzip (fetch and
# readiness of Keycloak). Idempotent: packages
# already installed are skipped, and apt is not touched when none are missing.
set -euo pipefail

PACKAGES=(postgresql kcat make curl unzip)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "install-deps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "install-deps: all present: ${PACKAGES[*]}"
fi

for p in "${PACKAGES[@]}"; do
	printf '  %-12s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p")"
done
printf '  %-12s %s\n' psql "$(psql --version)"
printf '  %-12s %s\n' kcat "$(kcat -V 2>&1 | grep -m1 '^Version' || true)"
