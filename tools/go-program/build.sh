#!/usr/bin/env bash
# Builds one of the project's small Go test programs (a directory holding go.mod, go.sum and
# main.go) and caches the binary, so tests run the real upstream libraries those programs link.
#
#   tools/go-program/build.sh <program dir> <binary name>
#       -> last line of stdout is the path of the binary
#
# Modules come from the Go module proxy (go.sum pins them). Cached in
# ${STREAMKEEPER_CACHE:-$HOME/.cache/streamkeeper}/<dir name>/<recipe hash>/bin; a cache hit is a
# no-op. All progress goes to stderr. Exits non-zero with a message on failure.
set -euo pipefail

[[ $# -eq 2 ]] || { printf 'usage: %s <program dir> <binary name>\n' "$0" >&2; exit 2; }
HERE=$(cd "$1" && pwd)
NAME=$2
TOOL=$(basename "$HERE")

log() { printf '[%s/install] %s\n' "$TOOL" "$*" >&2; }
die() { printf '[%s/install] ERROR: %s\n' "$TOOL" "$*" >&2; exit 1; }
# shellcheck source=../lib/install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/install.sh"

for f in go.mod go.sum main.go; do [[ -f "$HERE/$f" ]] || die "missing $HERE/$f"; done

# The sources and module graph determine the binary; their hash names the cache entry.
RECIPE=$(cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/main.go" | sha256sum | cut -c1-16)
CACHE_ROOT=${STREAMKEEPER_CACHE:-${HOME:?HOME is not set}/.cache/streamkeeper}
VERSION_DIR=$CACHE_ROOT/$TOOL/$RECIPE
BIN=$VERSION_DIR/bin/$NAME

if [[ -x "$BIN" ]]; then
  log "up to date: $NAME $RECIPE"
  printf '%s\n' "$BIN"
  exit 0
fi

find_go

hold_install_lock "$VERSION_DIR"
if [[ -x "$BIN" ]]; then
  printf '%s\n' "$BIN"
  exit 0
fi

STAGE=$(mktemp -d "$VERSION_DIR/bin.build.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
log "building $NAME with $("$GO" env GOVERSION) (modules from the Go proxy; first build takes minutes)"
(cd "$HERE" && GOWORK=off CGO_ENABLED=0 with_heartbeat "$NAME" "$GO" build -mod=readonly -trimpath -ldflags '-s -w' -o "$STAGE/$NAME" .) >&2 ||
  die "go build failed (see above)"
swap_into_place "$STAGE" "$VERSION_DIR/bin"
trap - EXIT
log "installed $BIN"
printf '%s\n' "$BIN"
