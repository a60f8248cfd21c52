#!/usr/bin/env bash
# Fails if the GOV.UK Frontend files committed in the web service differ from
# a fresh build of the version pinned in package-lock.json (CI runs this).
#   bash tools/browsertest/check-frontend.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
committed="$repo/services/web/internal/http/assets/govuk"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
bash "$here/build-frontend.sh" "$fresh/govuk"
if ! diff -r "$committed" "$fresh/govuk"; then
	echo "GOV.UK Frontend assets are out of date: run 'bash tools/browsertest/build-frontend.sh' and commit." >&2
	exit 1
fi
echo "GOV.UK Frontend assets match $(cat "$committed/VERSION")."
