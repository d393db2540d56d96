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

GO=${GO:-}
if [[ -z "$GO" ]]; then
  GO=$(command -v go || true)
  [[ -n "$GO" ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; }
fi
[[ -n "$GO" && -x "$GO" ]] || die "the Go toolchain is required (go on PATH, or GO=/path/to/go)"

command -v flock >/dev/null || die "flock (util-linux) is required"
mkdir -p "$VERSION_DIR"
exec 9>"$VERSION_DIR/.lock"
flock 9
if [[ -x "$BIN" ]]; then
  printf '%s\n' "$BIN"
  exit 0
fi

STAGE=$(mktemp -d "$VERSION_DIR/bin.build.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
log "building $NAME with $("$GO" env GOVERSION) (modules from the Go proxy; first build takes minutes)"
(cd "$HERE" && GOWORK=off CGO_ENABLED=0 "$GO" build -mod=readonly -trimpath -ldflags '-s -w' -o "$STAGE/$NAME" .) >&2 ||
  die "go build failed (see above)"
chmod 0755 "$STAGE"
rm -rf "$VERSION_DIR/bin"
mv "$STAGE" "$VERSION_DIR/bin"
trap - EXIT
log "installed $BIN"
printf '%s\n' "$BIN"
