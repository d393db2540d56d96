#!/usr/bin/env bash
# Provides what the local cluster's real node needs besides the kubelet (which
# tools/kube/install.sh builds with the control plane):
#   - the container runtime from Debian: containerd, runc, the CNI plugins, and
#     buildah (image builds without a Docker daemon), installed with apt-get
#     when missing;
#   - the two images every node needs, assembled here because no registry
#     beyond the package registries is reachable: the pod sandbox ("pause",
#     compiled from build/pause/linux/pause.c of the pinned Kubernetes release)
#     and a busybox image (Debian's busybox-static) for the node's own checks.
#     Both are built with buildah and kept as OCI archives in the cache.
#
#   tools/container-runtime/install.sh   -> last line of stdout is the images directory,
#                              holding <name>.tar and <name>.ref per image
#
# Idempotent: a warm cache answers in well under a second. Progress goes to
# stderr. Needs root (containerd and runc run as root). See docs/real-node.md.
set -euo pipefail

PAUSE_VERSION=3.10.1       # kubeadm's pause image for Kubernetes v1.34
KUBE_VERSION=v1.34.10      # the release pause.c comes from (tools/kube/install.sh)
RECIPE_REV=2               # bump to force a rebuild when the recipe changes

PACKAGES=(containerd runc containernetworking-plugins buildah busybox-static iproute2 gcc libc6-dev)

log() { printf '[container-runtime/install] %s\n' "$*" >&2; }
die() { printf '[container-runtime/install] ERROR: %s\n' "$*" >&2; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

(( EUID == 0 )) || die "the real node runs containerd and runc as root; run as root (the node agent needs no root)"

# ---- 1. Debian packages --------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  command -v apt-get >/dev/null || die "missing Debian packages ${missing[*]} and no apt-get"
  log "installing ${missing[*]} with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    apt-get update >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
      die "apt-get install ${missing[*]} failed"
  fi
fi
for t in containerd containerd-shim-runc-v2 runc buildah ctr ip; do
  command -v "$t" >/dev/null || die "$t is not on PATH after installing ${PACKAGES[*]}"
done
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] ||
  die "the CNI plugins are not in /usr/lib/cni (apt-get install containernetworking-plugins)"

# ---- 2. node images ------------------------------------------------------------
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x "$GO" ]] || die "Go is needed to locate the Kubernetes sources of the pause container (go >= 1.25): put it on PATH or set GO=/path/to/go"
KUBE_SRC=$(cd "$REPO/tools/kube" && GOWORK=off GOFLAGS=-mod=mod "$GO" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
PAUSE_C=$KUBE_SRC/build/pause/linux/pause.c
[[ -f "$PAUSE_C" ]] || die "no $PAUSE_C in the module cache"
BUSYBOX=/bin/busybox
BUSYBOX_VERSION=$(dpkg-query -W -f='${Version}' busybox-static)

CACHE_ROOT=${STREAMKEEPER_CACHE:-${HOME:?HOME is not set}/.cache/streamkeeper}
STAMP_TEXT=$(printf 'pause=%s\npause.c=%s\nbusybox=%s\nrecipe=%s\n' "$PAUSE_VERSION" \
  "$(sha256sum "$PAUSE_C" | cut -d' ' -f1)" "$BUSYBOX_VERSION" "$RECIPE_REV")
IMAGES=$CACHE_ROOT/images/$(printf '%s' "$STAMP_TEXT" | sha256sum | cut -c1-12)

cache_ok() {
  [[ -f "$IMAGES/.stamp" && "$(cat "$IMAGES/.stamp")" == "$STAMP_TEXT" ]] || return 1
  local i
  for i in pause busybox; do [[ -s "$IMAGES/$i.tar" && -s "$IMAGES/$i.ref" ]] || return 1; done
}
if cache_ok; then
  log "up to date: pause $PAUSE_VERSION, busybox $BUSYBOX_VERSION in $IMAGES"
  printf '%s\n' "$IMAGES"
  exit 0
fi

mkdir -p "$CACHE_ROOT/images"
exec 9>"$CACHE_ROOT/images/.lock"
flock 9
if cache_ok; then printf '%s\n' "$IMAGES"; exit 0; fi

WORK=$(mktemp -d "$CACHE_ROOT/images/build.XXXXXX")
# buildah keeps its storage inside the scratch directory: nothing is left in
# the machine's /var/lib/containers.
B=(buildah --root "$WORK/storage" --runroot "$WORK/run" --storage-driver vfs)
cleanup() { "${B[@]}" rm --all >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/out"

# image NAME TAG ENTRYPOINT-JSON USER FILE:DEST...
image() {
  local name=$1 tag=$2 entrypoint=$3 user=$4 c ref; shift 4
  ref="localhost/streamkeeper/$name:$tag"
  c=$("${B[@]}" from scratch)
  local pair
  for pair in "$@"; do "${B[@]}" copy "$c" "${pair%%:*}" "${pair#*:}" >/dev/null; done
  "${B[@]}" config --entrypoint "$entrypoint" --user "$user" --label "org.opencontainers.image.title=$name" "$c"
  "${B[@]}" commit -q "$c" "$ref" >/dev/null
  "${B[@]}" push -q "$ref" "oci-archive:$WORK/out/$name.tar:$ref"
  printf '%s\n' "$ref" >"$WORK/out/$name.ref"
  log "built $ref ($(du -k "$WORK/out/$name.tar" | cut -f1) KiB)"
}

log "building the node images with buildah in $WORK"
gcc -Os -static -DVERSION="v$PAUSE_VERSION" -o "$WORK/pause" "$PAUSE_C" || die "gcc -static failed for $PAUSE_C (apt-get install gcc libc6-dev)"
strip "$WORK/pause"
image pause "$PAUSE_VERSION" '["/pause"]' 65535:65535 "$WORK/pause:/pause"

# busybox with its applet links, made without running anything in a container.
mkdir -p "$WORK/busybox/bin" "$WORK/busybox/tmp"
cp "$BUSYBOX" "$WORK/busybox/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [[ "$applet" == busybox ]] || ln -s busybox "$WORK/busybox/bin/$applet"
done
chmod 1777 "$WORK/busybox/tmp"
v=${BUSYBOX_VERSION#*:}
image busybox "${v//[+~]/-}" '["/bin/sh"]' 65534:65534 "$WORK/busybox/bin:/bin" "$WORK/busybox/tmp:/tmp"

printf '%s\n' "$STAMP_TEXT" >"$WORK/out/.stamp"
rm -rf "$IMAGES"
mv "$WORK/out" "$IMAGES"
log "installed into $IMAGES"
printf '%s\n' "$IMAGES"
