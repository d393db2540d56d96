#!/usr/bin/env bash
# Provides the pinned helm v3 binary that the chart tests and tools/render-manifests.mjs use,
# built from source with the Go toolchain (only the Go module proxy is reachable from CI).
#
#   tools/helm/install.sh            -> last line of stdout is the path of the helm binary
#
# Resolution order:
#   1. The cache: ${STREAMKEEPER_CACHE:-$HOME/.cache/streamkeeper}/helm/<version>/bin/helm,
#      if its stamp matches this recipe (fast no-op).
#   2. Otherwise `go install helm.sh/helm/v3/cmd/helm@<version>` with the release ldflags
#      (version string, and the Kubernetes version that `helm template` assumes), installed
#      atomically into the cache.
#
# All progress goes to stderr. Exits non-zero with a message on failure.
set -euo pipefail

# ---- pinned version ------------------------------------------------------------
HELM_VERSION=v3.21.4
RECIPE_REV=1   # bump to force a rebuild when the recipe changes

log() { printf '[helm/install] %s\n' "$*" >&2; }
die() { printf '[helm/install] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=../lib/install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/install.sh"

CACHE_ROOT=${STREAMKEEPER_CACHE:-${HOME:?HOME is not set}/.cache/streamkeeper}
VERSION_DIR=$CACHE_ROOT/helm/$HELM_VERSION
BIN_DIR=$VERSION_DIR/bin
HELM=$BIN_DIR/helm
STAMP=$BIN_DIR/.stamp
EXPECTED=$(printf 'helm=%s\nrecipe=%s\n' "$HELM_VERSION" "$RECIPE_REV")

cache_ok() {
  [[ -f "$STAMP" && -x "$HELM" ]] || return 1
  [[ "$(cat "$STAMP")" == "$EXPECTED" ]]
}

if cache_ok; then
  log "up to date: helm $HELM_VERSION"
  printf '%s\n' "$HELM"
  exit 0
fi

# ---- build ---------------------------------------------------------------------
find_go
go_ver=$("$GO" env GOVERSION) || die "'$GO env GOVERSION' failed"

hold_install_lock "$VERSION_DIR"
# Someone else may have finished the build while we waited.
if cache_ok; then
  log "up to date: helm $HELM_VERSION"
  printf '%s\n' "$HELM"
  exit 0
fi

STAGE=$(mktemp -d "$VERSION_DIR/bin.build.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
export GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod

log "fetching helm.sh/helm/v3@$HELM_VERSION from the Go module proxy"
module_dir=$(cd "$STAGE" && "$GO" mod download -json "helm.sh/helm/v3@$HELM_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') || die "go mod download failed"
[[ -n "$module_dir" && -f "$module_dir/go.mod" ]] || die "go mod download did not report the module directory"

# Release builds tell `helm template`/`helm lint` which Kubernetes version to assume: the one
# of the client-go they were built with (see helm's Makefile).
client_go=$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$module_dir/go.mod" | head -n1)
[[ -n "$client_go" ]] || die "cannot read the k8s.io/client-go version from $module_dir/go.mod"
ldflags="-s -w"
ldflags+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
ldflags+=" -X helm.sh/helm/v3/internal/version.metadata="
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$client_go"
done

start=$(date +%s)
log "building helm $HELM_VERSION with $go_ver (a cold build takes a few minutes)"
GOBIN=$STAGE "$GO" install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2 ||
  die "go install of helm $HELM_VERSION failed (see above)"
log "built in $(( $(date +%s) - start ))s"

out=$("$STAGE/helm" version --short 2>&1) || die "'helm version' failed: $out"
[[ "$out" == "$HELM_VERSION"* ]] || die "helm reports '$out', expected $HELM_VERSION"
log "helm: $out (assumes Kubernetes v1.$client_go)"

# ---- install atomically --------------------------------------------------------
printf '%s\n' "$EXPECTED" >"$STAGE/.stamp"
swap_into_place "$STAGE" "$BIN_DIR"
trap - EXIT
log "installed into $BIN_DIR"
printf '%s\n' "$HELM"
