#!/usr/bin/env bash
# Provides the Kubernetes control-plane binaries used by streamkeeper's
# integration tests and local cluster: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl and the kubelet of the real
# node (see docs/real-node.md), all from one pinned release.
#
#   tools/kube/install.sh            -> last line of stdout is the bin directory
#
# Resolution order:
#   1. $KUBEBUILDER_ASSETS, if it holds kube-apiserver and etcd (envtest
#      convention). Nothing is built.
#   2. The cache: ${STREAMKEEPER_CACHE:-$HOME/.cache/streamkeeper}/kube/<version>/<recipe>/bin,
#      if its stamp matches this recipe (fast no-op).
#   3. Otherwise build everything with the Go toolchain and install it
#      atomically into the cache: Kubernetes from the module in this directory
#      (go.mod pins k8s.io/kubernetes and every staging module), etcd from the
#      module in ./etcd.
#
# Also makes sure openssl and curl are present (apt-get install on Debian).
# All progress goes to stderr. Exits non-zero with a message on failure.
# See docs/control-plane.md.
set -euo pipefail

# ---- pinned versions (must agree with go.mod; checked below) ----------------
KUBE_VERSION=v1.34.10
KUBE_BUILD_DATE=2026-07-22T22:05:06Z   # tag time of k8s.io/kubernetes@v1.34.10 (module proxy)
ETCD_VERSION=v3.6.5                     # kubeadm's DefaultEtcdVersion for v1.34.10
RECIPE_REV=2                            # bump to force a rebuild when the recipe changes

BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)
KUBE_COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)

log() { printf '[kube/install] %s\n' "$*" >&2; }
die() { printf '[kube/install] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=../lib/install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/install.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---- 0. host tools -------------------------------------------------------------
# openssl makes the control plane's certificates (launcher, smoke.sh); curl is
# used by smoke.sh. Installed from Debian when missing; `apt-get update` runs
# only when the package lists cannot provide them.
ensure_host_tools() {
  local missing=() t
  for t in openssl curl; do command -v "$t" >/dev/null || missing+=("$t"); done
  (( ${#missing[@]} )) || return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get; install them"
  local sudo=()
  (( EUID == 0 )) || sudo=(sudo)
  log "installing ${missing[*]} with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    "${sudo[@]}" apt-get update >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
      die "apt-get install ${missing[*]} failed"
  fi
}
ensure_host_tools

# ---- 1. KUBEBUILDER_ASSETS ---------------------------------------------------
if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  if [[ -x "$KUBEBUILDER_ASSETS/kube-apiserver" && -x "$KUBEBUILDER_ASSETS/etcd" ]]; then
    assets=$(cd "$KUBEBUILDER_ASSETS" && pwd)
    log "using KUBEBUILDER_ASSETS=$assets (nothing built)"
    [[ -x "$assets/kubectl" ]] || log "warning: no kubectl in KUBEBUILDER_ASSETS"
    [[ -x "$assets/kube-controller-manager" ]] ||
      log "warning: no kube-controller-manager in KUBEBUILDER_ASSETS: no garbage collection, no namespace deletion"
    printf '%s\n' "$assets"
    exit 0
  fi
  log "warning: KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks kube-apiserver or etcd; falling back to the cache/build"
fi

# ---- 2. cache hit? -----------------------------------------------------------
CACHE_ROOT=${STREAMKEEPER_CACHE:-${HOME:?HOME is not set}/.cache/streamkeeper}
VERSION_DIR=$CACHE_ROOT/kube/$KUBE_VERSION

for f in go.mod go.sum etcd/go.mod etcd/go.sum; do [[ -f "$HERE/$f" ]] || die "missing $HERE/$f"; done

# The stamp records everything that determines the binaries: versions, recipe
# revision and the exact module graphs (go.mod + go.sum of both modules).
expected_stamp() {
  printf 'kubernetes=%s\netcd=%s\nrecipe=%s\nmodules=%s\n' \
    "$KUBE_VERSION" "$ETCD_VERSION" "$RECIPE_REV" \
    "$(cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/etcd/go.mod" "$HERE/etcd/go.sum" | sha256sum | cut -d' ' -f1)"
}
EXPECTED=$(expected_stamp)
# Each recipe installs into its own directory, named by its stamp's hash: a
# checkout on another recipe (another branch, an older clone) keeps using its
# own binaries instead of rebuilding over ours.
RECIPE_ID=$(printf '%s' "$EXPECTED" | sha256sum | cut -c1-12)
BIN_DIR=$VERSION_DIR/$RECIPE_ID/bin
STAMP=$BIN_DIR/.stamp

cache_ok() {
  [[ -f "$STAMP" ]] || return 1
  [[ "$(cat "$STAMP")" == "$EXPECTED" ]] || return 1
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$BIN_DIR/$b" ]] || return 1; done
}

if cache_ok; then
  log "up to date: Kubernetes $KUBE_VERSION, etcd $ETCD_VERSION"
  printf '%s\n' "$BIN_DIR"
  exit 0
fi

# ---- 3. build ----------------------------------------------------------------
grep -Eq "^(require)?[[:space:]]+k8s\.io/kubernetes ${KUBE_VERSION//./\\.}( |\$)" "$HERE/go.mod" ||
  die "go.mod does not require k8s.io/kubernetes $KUBE_VERSION (update KUBE_VERSION in $0 and go.mod together)"
grep -Eq "^(require)?[[:space:]]+go\.etcd\.io/etcd/server/v3 ${ETCD_VERSION//./\\.}( |\$)" "$HERE/etcd/go.mod" ||
  die "etcd/go.mod does not require go.etcd.io/etcd/server/v3 $ETCD_VERSION (update ETCD_VERSION in $0 and etcd/go.mod together)"

find_go "go >= 1.25"
go_ver=$("$GO" env GOVERSION) || die "'$GO env GOVERSION' failed"
if [[ "$go_ver" =~ ^go1\.([0-9]+) ]] && (( BASH_REMATCH[1] < 25 )); then
  log "note: $go_ver is older than go 1.25; the go command may download a newer toolchain (GOTOOLCHAIN)"
fi

hold_install_lock "$VERSION_DIR"
# Someone else may have finished the build while we waited.
if cache_ok; then
  log "up to date: Kubernetes $KUBE_VERSION, etcd $ETCD_VERSION"
  printf '%s\n' "$BIN_DIR"
  exit 0
fi

# We hold the lock: anything left behind is from an interrupted run.
rm -rf "$VERSION_DIR"/build.* "$VERSION_DIR/$RECIPE_ID"/bin.old.*
# Binaries are staged in $BUILD/bin and moved into place only once verified;
# GOTMPDIR keeps the go command's scratch space inside $BUILD too, so an
# interrupted build leaves nothing behind.
BUILD=$(mktemp -d "$VERSION_DIR/build.XXXXXX")
STAGE=$BUILD/bin
mkdir -p "$STAGE" "$BUILD/tmp"
export GOTMPDIR=$BUILD/tmp
trap 'rm -rf "$BUILD"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION"
  kube_ldflags+=" -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$KUBE_BUILD_DATE"
  kube_ldflags+=" -X $pkg.gitCommit="
done
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION"

# Static binaries with the build tags of the upstream release builds
# (hack/lib/golang.sh for Kubernetes; etcd's build uses no tags).
export CGO_ENABLED=0 GOWORK=off
# shellcheck disable=SC2054 # the commas separate build tags
kube_build_flags=(-mod=readonly -trimpath -tags=selinux,notest,grpcnotrace)
etcd_build_flags=(-mod=readonly -trimpath)

cd "$HERE"
start=$(date +%s)
log "building Kubernetes $KUBE_VERSION (${KUBE_COMPONENTS[*]}) and etcd $ETCD_VERSION with $go_ver"
log "a cold build takes 10-20 minutes on 2 cores (a warm Go build cache: about a minute); staging in $BUILD"
log "Go caches: modules in $("$GO" env GOMODCACHE), build cache in $("$GO" env GOCACHE)"
total=$(( ${#KUBE_COMPONENTS[@]} + 1 )); n=0
# One component at a time, so progress (and a failure) names the component.
for component in "${KUBE_COMPONENTS[@]}"; do
  n=$((n + 1)); t0=$(date +%s)
  log "[$n/$total] $component ..."
  with_heartbeat "$component" \
    "$GO" build "${kube_build_flags[@]}" -ldflags "$kube_ldflags" -o "$STAGE/$component" \
    "k8s.io/kubernetes/cmd/$component" >&2 ||
    die "go build of $component failed (see above)"
  log "[$n/$total] $component built in $(( $(date +%s) - t0 ))s (elapsed $(( $(date +%s) - start ))s)"
done
n=$((n + 1)); t0=$(date +%s)
log "[$n/$total] etcd $ETCD_VERSION ..."
cd "$HERE/etcd"
with_heartbeat "etcd" "$GO" build "${etcd_build_flags[@]}" -ldflags "$etcd_ldflags" -o "$STAGE/etcd" \
  go.etcd.io/etcd/server/v3 >&2 ||
  die "go build of etcd failed (see above)"
log "[$n/$total] etcd built in $(( $(date +%s) - t0 ))s"
log "built in $(( $(date +%s) - start ))s"

# ---- verify ------------------------------------------------------------------
check_version() { # name expected command...
  local name=$1 want=$2 out; shift 2
  out=$("$@" 2>&1) || die "$name: '$*' failed: $out"
  grep -qF -- "$want" <<<"$out" || die "$name reports '$out', expected $want"
  log "$name: $(grep -m1 -F -- "$want" <<<"$out" | sed 's/^ *//')"
}
check_version kube-apiserver "Kubernetes $KUBE_VERSION" "$STAGE/kube-apiserver" --version
check_version kube-controller-manager "Kubernetes $KUBE_VERSION" "$STAGE/kube-controller-manager" --version
check_version kube-scheduler "Kubernetes $KUBE_VERSION" "$STAGE/kube-scheduler" --version
check_version kubelet "Kubernetes $KUBE_VERSION" "$STAGE/kubelet" --version
check_version kubectl "gitVersion: $KUBE_VERSION" "$STAGE/kubectl" version --client -o yaml
check_version etcd "etcd Version: ${ETCD_VERSION#v}" "$STAGE/etcd" --version

# ---- install atomically ------------------------------------------------------
printf '%s\n' "$EXPECTED" >"$STAGE/.stamp"
mkdir -p "$VERSION_DIR/$RECIPE_ID"
swap_into_place "$STAGE" "$BIN_DIR"
rm -rf "$BUILD"
trap - EXIT INT TERM
log "installed into $BIN_DIR"
printf '%s\n' "$BIN_DIR"
