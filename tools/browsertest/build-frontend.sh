#!/usr/bin/env bash
# Copies GOV.UK Frontend's built files (the version pinned in package-lock.json)
# into the web service, where they are committed and embedded with go:embed,
# so `make run` and `make test` need only Go. Run after changing the version:
#   bash tools/browsertest/build-frontend.sh [destination]
# The destination defaults to services/web/internal/http/assets/govuk.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dest="${1:-$repo/services/web/internal/http/assets/govuk}"

cd "$here"
npm ci --no-audit --no-fund --loglevel=error >&2
src="$here/node_modules/govuk-frontend/dist/govuk"

rm -rf "$dest"
mkdir -p "$dest"
# The stylesheet asks for /assets/fonts and /assets/images, so the web
# service serves this folder at /assets/.
cp "$src/govuk-frontend.min.css" "$src/govuk-frontend.min.js" "$dest/"
cp -R "$src/assets/fonts" "$src/assets/images" "$src/assets/manifest.json" "$dest/"
node -e 'process.stdout.write(require("./node_modules/govuk-frontend/package.json").version + "\n")' >"$dest/VERSION"
echo "GOV.UK Frontend $(cat "$dest/VERSION") copied to $dest" >&2
