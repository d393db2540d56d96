#!/usr/bin/env bash
# Build @confluentinc/kafka-javascript (librdkafka) for one Node.js ABI and install it into
# node_modules, so the default Kafka client loads on this machine.
#
#   tools/kafka-client/install.sh                   for the `node` on PATH (or $STREAMKEEPER_NODE)
#   tools/kafka-client/install.sh --only-this-node  the same, and node_modules keeps the addon of
#                                                   that Node's ABI only (the image: nothing unused)
#
# The package's own install script downloads a prebuilt binary (or librdkafka's dependencies)
# from hosts these machines cannot reach, so it is not a dependency npm installs. Instead:
#   1. the Debian dev packages librdkafka links against are installed if missing (apt-get);
#   2. the package and `nan` come from the npm registry (`npm pack`), cached;
#   3. node-gyp builds the addon with CKJS_LINKING=dynamic against this Node's own headers
#      (nothing is downloaded from nodejs.org) — about 7 minutes on 2 cores, with progress;
#   4. the result is cached, keyed by package version + Node ABI + platform, under
#        ${STREAMKEEPER_CACHE:-$HOME/.cache/streamkeeper}/kafka-javascript/<version>-node-abi<abi>-<platform>-<arch>
#   5. the package's JavaScript goes to node_modules/@confluentinc/kafka-javascript and every
#      cached build of this version to its lib/binding/node-v<abi>-<platform>-<arch>/, where
#      `bindings` looks for the addon of the running Node — one tree serves Node 20 and Node 24.
#      With --only-this-node, only this Node's build (and its librdkafka) is there.
#
# Idempotent: a second run with a complete cache only re-copies what node_modules lacks.
# stderr: progress; stdout: nothing. Exit 1 with the reason when a step fails.
#
# Environment:
#   STREAMKEEPER_CACHE   cache root (default ~/.cache/streamkeeper)
#   STREAMKEEPER_NODE    the node whose ABI to build for (default: node on PATH)
#   STREAMKEEPER_FORCE=1 rebuild even when the cache is complete
set -euo pipefail

readonly VERSION=1.10.1
readonly NAN_VERSION=2.30.0
readonly APT_PACKAGES=(libssl-dev zlib1g-dev libzstd-dev libsasl2-dev liblz4-dev pkg-config make g++ python3)

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE_ROOT="${STREAMKEEPER_CACHE:-$HOME/.cache/streamkeeper}/kafka-javascript"
NODE="${STREAMKEEPER_NODE:-node}"
ONLY_THIS_NODE=0
for arg in "$@"; do
  case "$arg" in
    --only-this-node) ONLY_THIS_NODE=1 ;;
    *) printf 'kafka-client: error: unknown argument %s (usage: install.sh [--only-this-node])\n' "$arg" >&2; exit 2 ;;
  esac
done

log() { printf 'kafka-client: %s\n' "$*" >&2; }
die() { printf 'kafka-client: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=../lib/install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/install.sh"

command -v "$NODE" >/dev/null || die "no node at '$NODE'"
NODE=$(command -v "$NODE")
ABI=$("$NODE" -p process.versions.modules)
PLATFORM=$("$NODE" -p process.platform)
ARCH=$("$NODE" -p process.arch)
KEY="$VERSION-node-abi$ABI-$PLATFORM-$ARCH"
BUILD="$CACHE_ROOT/$KEY"
TARGET="$ROOT/node_modules/@confluentinc/kafka-javascript"

ensure_apt_packages() {
  command -v dpkg-query >/dev/null || { log "not a Debian system: make sure OpenSSL, zlib, zstd, SASL2 and LZ4 development files are installed"; return; }
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]} (apt-get)"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}

# Downloads (once) the npm tarball of $1@$2 into the cache and prints its path.
tarball() {
  local name=$1 version=$2 file
  file="$CACHE_ROOT/tarballs/$(printf '%s' "$name" | sed 's:^@::; s:/:-:')-$version.tgz"
  if [ ! -s "$file" ]; then
    mkdir -p "$CACHE_ROOT/tarballs"
    log "fetching $name@$version from the npm registry"
    (cd "$CACHE_ROOT/tarballs" && npm pack --silent "$name@$version" >/dev/null) || die "npm pack $name@$version failed"
    [ -s "$file" ] || die "npm pack did not produce $file"
  fi
  printf '%s' "$file"
}

# The directory holding include/node for this node, so node-gyp downloads no headers.
node_dir() {
  local prefix
  prefix=$(cd "$(dirname "$NODE")/.." && pwd)
  if [ -f "$prefix/include/node/node_api.h" ]; then printf '%s' "$prefix"; return; fi
  [ -f /usr/include/node/node_api.h ] && [ "$("$NODE" -p process.version)" = "$(/usr/bin/node -p process.version 2>/dev/null)" ] && { printf '/usr'; return; }
  die "no Node.js headers next to $NODE (expected $prefix/include/node)"
}

node_gyp() {
  local npm_dir
  npm_dir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
  local gyp="$npm_dir/node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$gyp" ] || die "node-gyp not found next to npm ($gyp)"
  printf '%s' "$gyp"
}

build() {
  ensure_apt_packages
  local pkg nan work started build_log status
  pkg=$(tarball @confluentinc/kafka-javascript "$VERSION")
  nan=$(tarball nan "$NAN_VERSION")
  work=$(mktemp -d "${TMPDIR:-/tmp}/kafka-javascript-build.XXXXXX")
  # Expanded now: the EXIT trap runs after this function's locals are gone (and set -u is on)
  trap "rm -rf '$work'" EXIT
  tar -xzf "$pkg" -C "$work" && mv "$work/package" "$work/src"
  mkdir -p "$work/src/node_modules" && tar -xzf "$nan" -C "$work/src/node_modules" && mv "$work/src/node_modules/package" "$work/src/node_modules/nan"
  log "building librdkafka and the addon for Node ABI $ABI (about 7 minutes on 2 cores; log: $work/build.log)"
  started=$(date +%s)
  build_log=$work/build.log
  last_compile_step() { grep -E '^ *(CC|CXX|SOLINK|LINK|ACTION|gcc|g\+\+)' "$build_log" | tail -n1 | cut -c1-100; }
  # with_heartbeat runs this in the background, so its cd stays in that subshell.
  # The outer make runs serially: its parallel mode races librdkafka's configure step.
  compile_addon() { cd "$work/src" && PATH="$(dirname "$NODE"):$PATH" CKJS_LINKING=dynamic nice "$NODE" "$(node_gyp)" rebuild --nodedir="$(node_dir)" >"$build_log" 2>&1; }
  HEARTBEAT_DETAIL=last_compile_step with_heartbeat "librdkafka and the addon" compile_addon && status=0 || status=$?
  if [ "$status" -ne 0 ]; then
    tail -n 30 "$work/build.log" >&2
    die "the build failed (exit $status)"
  fi
  rm -rf "$BUILD.tmp" && mkdir -p "$BUILD.tmp"
  cp -a "$work/src/build/Release/confluent-kafka-javascript.node" "$BUILD.tmp/"
  mkdir -p "$BUILD.tmp/deps"
  cp -a "$work/src/build/deps/"librdkafka*.so* "$BUILD.tmp/deps/"
  rm -rf "$BUILD" && mv "$BUILD.tmp" "$BUILD"
  touch "$BUILD/complete"
  log "built in $(($(date +%s) - started))s: $BUILD"
}

# The earlier cache layout (Release/, deps/) of the same key is still a complete build.
adopt_old_layout() {
  if [ -f "$BUILD/complete" ] && [ ! -f "$BUILD/confluent-kafka-javascript.node" ] && [ -f "$BUILD/Release/confluent-kafka-javascript.node" ]; then
    cp -a "$BUILD/Release/confluent-kafka-javascript.node" "$BUILD/"
  fi
}

install_into_node_modules() {
  local pkg stamp="$TARGET/.streamkeeper-installed"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$VERSION" ]; then
    pkg=$(tarball @confluentinc/kafka-javascript "$VERSION")
    rm -rf "$TARGET" && mkdir -p "$TARGET"
    tar -xzf "$pkg" -C "$TARGET" --strip-components=1 package/package.json package/index.d.ts package/types package/lib package/librdkafka.js package/LICENSE.txt
    printf '%s' "$VERSION" >"$stamp"
  fi
  local dir abi_dir builds=("$CACHE_ROOT/$VERSION"-node-abi*-"$PLATFORM-$ARCH")
  if [ "$ONLY_THIS_NODE" = 1 ]; then
    builds=("$BUILD")
    local shared=0
    for abi_dir in "$TARGET"/lib/binding/node-v*; do
      [ -e "$abi_dir" ] || continue
      [ "$(basename "$abi_dir")" = "node-v$ABI-$PLATFORM-$ARCH" ] && continue
      log "removing $(basename "$abi_dir"): only Node ABI $ABI is kept"
      rm -rf "$abi_dir"
      shared=1
    done
    # In a tree shared with another build, librdkafka may be that build's: this one brings its own.
    if [ "$shared" = 1 ]; then
      rm -rf "$TARGET/lib/binding/deps"
      rm -f "$TARGET/lib/binding/node-v$ABI-$PLATFORM-$ARCH/confluent-kafka-javascript.node"
    fi
  fi
  for dir in "${builds[@]}"; do
    [ -f "$dir/complete" ] || continue
    abi_dir="$TARGET/lib/binding/node-v$(basename "$dir" | sed "s/^$VERSION-node-abi\([0-9]*\)-.*/\1/")-$PLATFORM-$ARCH"
    if [ ! -f "$abi_dir/confluent-kafka-javascript.node" ]; then
      mkdir -p "$abi_dir" "$TARGET/lib/binding/deps"
      cp -a "$dir/confluent-kafka-javascript.node" "$abi_dir/"
      # The addon finds librdkafka through its runpath, $ORIGIN/../deps.
      cp -an "$dir/deps/"librdkafka*.so* "$TARGET/lib/binding/deps/"
    fi
  done
}

mkdir -p "$CACHE_ROOT"
adopt_old_layout
if [ "${STREAMKEEPER_FORCE:-0}" = 1 ] || [ ! -f "$BUILD/complete" ] || [ ! -f "$BUILD/confluent-kafka-javascript.node" ]; then
  build
fi
install_into_node_modules
"$NODE" -e "require('$TARGET')" || die "the installed client does not load in $("$NODE" --version)"
log "@confluentinc/kafka-javascript $VERSION ready for Node ABI $ABI"
