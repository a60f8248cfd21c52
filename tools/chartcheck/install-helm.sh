#!/usr/bin/env bash
# Installs the pinned Helm CLI used by tools/chartcheck (make charts-check) and
# by Skaffold's helm renderer. Helm is compiled from source through the Go
# module proxy because prebuilt release binaries cannot be downloaded here.
#
# Idempotent: does nothing when $(go env GOPATH)/bin/helm already reports
# HELM_VERSION, or when another helm is on PATH.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# Kubernetes minor release of the client-go that HELM_VERSION builds with; the
# official Makefile stamps it in so `helm template` assumes that cluster
# version instead of the v1.20 fallback (which fails kubeVersion: >=1.30).
HELM_K8S_MINOR="${HELM_K8S_MINOR:-37}"

gobin="$(go env GOBIN)"
if [[ -z "${gobin}" ]]; then
  gobin="$(go env GOPATH)/bin"
fi

if [[ -x "${gobin}/helm" ]]; then
  have="$("${gobin}/helm" version --template '{{.Version}}' 2>/dev/null || true)"
  if [[ "${have}" == "${HELM_VERSION}" ]]; then
    echo "helm ${have} already installed: ${gobin}/helm"
    exit 0
  fi
  echo "replacing ${gobin}/helm (reports '${have}', want ${HELM_VERSION})"
elif command -v helm >/dev/null 2>&1; then
  echo "using helm on PATH: $(command -v helm) ($(helm version --short 2>/dev/null || echo unknown version))"
  exit 0
fi

echo "installing helm ${HELM_VERSION} with go install (compiles from source: a few minutes on 2 cores)"
start=$(date +%s)
ldflags="-s -w"
ldflags+=" -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
for pkg in pkg/chartutil pkg/lint/rules; do
  ldflags+=" -X helm.sh/helm/v3/${pkg}.k8sVersionMajor=1 -X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${HELM_K8S_MINOR}"
done
# GOWORK=off: build helm with its own module graph, never the repo's go.work.
GOWORK=off CGO_ENABLED=0 go install -trimpath -ldflags "${ldflags}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
echo "helm $("${gobin}/helm" version --template '{{.Version}}') installed to ${gobin}/helm in $(( $(date +%s) - start ))s"
