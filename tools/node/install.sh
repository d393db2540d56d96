#!/usr/bin/env bash
# Provides the Node.js that streamkeeper runs on (the LTS line pinned below), taken from the npm
# registry's `node-linux-<arch>` package — the official binary and headers, reachable wherever
# `npm install` works — so a machine whose own Node.js is older can still run the product, the
# tests and the benches on the supported runtime.
#
#   tools/node/install.sh            -> last line of stdout is the path of the node binary
#
# Resolution order:
#   1. The cache: ${STREAMKEEPER_CACHE:-$HOME/.cache/streamkeeper}/node/v<version>/<arch>/bin/node,
#      if its stamp matches this recipe (fast no-op).
#   2. Otherwise `npm pack node-linux-<arch>@<version>` (npm's own cache makes a repeat offline),
#      checked against the pinned integrity, unpacked and installed atomically into the cache.
#
# The unpacked tree keeps include/node, so native addons can be compiled for this Node.js
# (node-gyp --nodedir=<arch dir>). Progress goes to stderr; with STREAMKEEPER_NODE_QUIET=1 the
# up-to-date path prints nothing there. Exits non-zero with a message on failure.
set -euo pipefail

# ---- pinned version ------------------------------------------------------------
NODE_VERSION=24.22.3
NODE_ABI=137   # process.versions.modules of this release, checked after unpacking
declare -A INTEGRITY=(
  [x64]=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
  [arm64]=sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==
)
RECIPE_REV=1   # bump to force a reinstall when the recipe changes

log() { [[ "${quiet:-0}" == 1 ]] || printf '[node/install] %s\n' "$*" >&2; }
die() { printf '[node/install] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=../lib/install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/install.sh"

case "$(uname -s)" in
  Linux) ;;
  *) die "only Linux binaries are fetched from npm; install Node.js $NODE_VERSION yourself and put it on PATH" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) die "no node-linux package for $(uname -m)" ;;
esac
PACKAGE=node-linux-$ARCH

CACHE_ROOT=${STREAMKEEPER_CACHE:-${HOME:?HOME is not set}/.cache/streamkeeper}
VERSION_DIR=$CACHE_ROOT/node/v$NODE_VERSION
ARCH_DIR=$VERSION_DIR/$ARCH
NODE=$ARCH_DIR/bin/node
STAMP=$ARCH_DIR/.stamp
EXPECTED=$(printf 'node=%s\npackage=%s\nintegrity=%s\nrecipe=%s\n' "$NODE_VERSION" "$PACKAGE" "${INTEGRITY[$ARCH]}" "$RECIPE_REV")

cache_ok() {
  [[ -f "$STAMP" && -x "$NODE" && -f "$ARCH_DIR/include/node/node.h" ]] || return 1
  [[ "$(cat "$STAMP")" == "$EXPECTED" ]]
}

if cache_ok; then
  quiet=${STREAMKEEPER_NODE_QUIET:-0}
  log "up to date: Node.js $NODE_VERSION ($ARCH)"
  printf '%s\n' "$NODE"
  exit 0
fi

# ---- fetch ---------------------------------------------------------------------
command -v npm >/dev/null || die "npm is required (it fetches $PACKAGE from the npm registry)"
hold_install_lock "$VERSION_DIR"
# Someone else may have finished the install while we waited.
if cache_ok; then
  log "up to date: Node.js $NODE_VERSION ($ARCH)"
  printf '%s\n' "$NODE"
  exit 0
fi

STAGE=$(mktemp -d "$VERSION_DIR/$ARCH.install.XXXXXX")
ticker=
trap '[[ -z "$ticker" ]] || kill "$ticker" 2>/dev/null; rm -rf "$STAGE"' EXIT

start=$(date +%s)
log "fetching $PACKAGE@$NODE_VERSION from the npm registry (~50 MB the first time, then from npm's cache)"
# npm pack prints nothing while it downloads; say that it is still working.
( while sleep 10; do log "  still fetching ($(( $(date +%s) - start ))s)"; done ) &
ticker=$!
pack_json=$(cd "$STAGE" && npm pack "$PACKAGE@$NODE_VERSION" --json --prefer-offline --silent) ||
  die "npm pack $PACKAGE@$NODE_VERSION failed (is the npm registry reachable? see npm's log above)"
kill "$ticker" 2>/dev/null || true
ticker=
integrity=$(printf '%s' "$pack_json" | sed -n 's/^[[:space:]]*"integrity": "\(.*\)",\{0,1\}$/\1/p' | head -n1)
[[ "$integrity" == "${INTEGRITY[$ARCH]}" ]] ||
  die "$PACKAGE@$NODE_VERSION has integrity '$integrity', pinned '${INTEGRITY[$ARCH]}'"
tarball=$STAGE/$PACKAGE-$NODE_VERSION.tgz
[[ -f "$tarball" ]] || die "npm pack did not write $tarball"
log "fetched in $(( $(date +%s) - start ))s; unpacking"

mkdir "$STAGE/tree"
tar -xzf "$tarball" -C "$STAGE/tree" --strip-components=1 package/bin/node package/include package/LICENSE ||
  die "unpacking $tarball failed"
rm -f "$tarball"
out=$("$STAGE/tree/bin/node" -p 'process.version + " " + process.versions.modules' 2>&1) ||
  die "the unpacked node does not run: $out"
[[ "$out" == "v$NODE_VERSION $NODE_ABI" ]] || die "the unpacked node reports '$out', expected 'v$NODE_VERSION $NODE_ABI'"
log "node: v$NODE_VERSION, addon ABI $NODE_ABI"

# ---- install atomically --------------------------------------------------------
printf '%s\n' "$EXPECTED" >"$STAGE/tree/.stamp"
swap_into_place "$STAGE/tree" "$ARCH_DIR"
log "installed into $ARCH_DIR"
printf '%s\n' "$NODE"
