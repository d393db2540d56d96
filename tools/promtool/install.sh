#!/usr/bin/env bash
# Builds promtool-check-metrics (main.go): `promtool check metrics`, Prometheus' lint of a
# scrape, from the client_golang module promtool links, so tests lint real scrapes.
#
#   tools/promtool/install.sh       -> last line of stdout is the path of the binary
#
# Modules come from the Go module proxy (go.sum pins them). Cached in
# ${STREAMKEEPER_CACHE:-$HOME/.cache/streamkeeper}/promtool/<recipe hash>/bin; a cache hit is a
# no-op. All progress goes to stderr. Exits non-zero with a message on failure.
set -euo pipefail

log() { printf '[promtool/install] %s\n' "$*" >&2; }
die() { printf '[promtool/install] ERROR: %s\n' "$*" >&2; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for f in go.mod go.sum main.go; do [[ -f "$HERE/$f" ]] || die "missing $HERE/$f"; done

# The sources and module graph determine the binary; their hash names the cache entry.
RECIPE=$(cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/main.go" | sha256sum | cut -c1-16)
CACHE_ROOT=${STREAMKEEPER_CACHE:-${HOME:?HOME is not set}/.cache/streamkeeper}
VERSION_DIR=$CACHE_ROOT/promtool/$RECIPE
BIN=$VERSION_DIR/bin/promtool-check-metrics

if [[ -x "$BIN" ]]; then
  log "up to date: promtool-check-metrics $RECIPE"
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
log "building promtool-check-metrics with $("$GO" env GOVERSION)"
(cd "$HERE" && GOWORK=off CGO_ENABLED=0 "$GO" build -mod=readonly -trimpath -ldflags '-s -w' -o "$STAGE/promtool-check-metrics" .) >&2 ||
  die "go build failed (see above)"
chmod 0755 "$STAGE"
rm -rf "$VERSION_DIR/bin"
mv "$STAGE" "$VERSION_DIR/bin"
trap - EXIT
log "installed $BIN"
printf '%s\n' "$BIN"
