#!/usr/bin/env bash
# Installs what the browser tests (tools/browsertest) need from Debian:
# Chromium, which playwright-core drives at /usr/bin/chromium (Playwright's
# own browser download is not reachable here), and Node.js with npm when
# they are missing. Idempotent; needs root (CI runs as root).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium fonts-liberation)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if ((${#need[@]} > 0)); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo 'present')"
echo "node:     $(node --version), npm $(npm --version 2>/dev/null | tail -n1)"
