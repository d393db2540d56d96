#!/usr/bin/env bash
# Resolve the ZooKeeper / Kafka server classpaths used by the integration tests.
#
#   tools/servers/install.sh [all|zookeeper|kafka|kafka4]...     (default: all)
#
# For each server, `mvn dependency:build-classpath` resolves tools/servers/<name>/pom.xml
# from Maven Central into the normal local repository (~/.m2) and writes the resulting
# classpath (absolute jar paths joined by ':') to
#
#   ${STREAMKEEPER_CACHE:-$HOME/.cache/streamkeeper}/servers/<product>-<version>.classpath
#
# where <product> is zookeeper or kafka (kafka and kafka4 differ only by version).
#
# stdout: one `name=/abs/path/to/<product>-<version>.classpath` line per server, nothing else.
# stderr: progress and errors. Stops with exit status 1 at the first server that cannot be
# resolved (or on a pom/versions.json mismatch), with a message saying why.
#
# Idempotent: a stamp file keyed on the sha256 of the pom (plus the installer format) lets a
# second run return without starting Maven, as long as every jar on the classpath still exists.
#
# Environment:
#   STREAMKEEPER_CACHE     cache root (default ~/.cache/streamkeeper)
#   STREAMKEEPER_MVN       mvn executable (default: mvn on PATH)
#   STREAMKEEPER_MVN_ARGS  extra mvn arguments, e.g. "-Dmaven.repo.local=/tmp/m2" or "-o"
#   STREAMKEEPER_FORCE=1   ignore stamps and re-resolve
set -euo pipefail

# Bump when the way classpaths are produced changes: invalidates every stamp.
readonly INSTALLER_FORMAT=1
readonly ALL_SERVERS=(zookeeper kafka kafka4)

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_DIR="${STREAMKEEPER_CACHE:-$HOME/.cache/streamkeeper}/servers"
MVN="${STREAMKEEPER_MVN:-mvn}"

log() { printf 'install: %s\n' "$*" >&2; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

usage() {
  cat >&2 <<EOF
usage: $0 [all|zookeeper|kafka|kafka4]...
Resolves the pinned server classpaths (see tools/servers/versions.json) and prints
name=classpathfile lines. Cache: $CACHE_DIR
EOF
}

# File name prefix of a server's cache files.
product() {
  case "$1" in
    kafka|kafka4) printf kafka ;;
    *) printf '%s' "$1" ;;
  esac
}

# Version of <name> as pinned in its pom (<server.version>).
pom_version() {
  local pom=$1 v
  v=$(sed -n 's:.*<server\.version>\([^<]*\)</server\.version>.*:\1:p' "$pom" | head -n1)
  [[ -n "$v" ]] || die "no <server.version> in $pom"
  printf '%s' "$v"
}

# Version of <name> in versions.json (top-level "name": "x.y.z" line).
json_version() {
  local name=$1
  sed -n "s/^[[:space:]]*\"$name\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" "$HERE/versions.json" | head -n1
}

# True if every entry of the classpath file exists.
classpath_complete() {
  local file=$1 cp entry
  [[ -s "$file" ]] || return 1
  cp=$(<"$file")
  [[ -n "$cp" ]] || return 1
  local IFS=:
  for entry in $cp; do
    [[ -f "$entry" ]] || return 1
  done
  return 0
}

install_one() {
  local name=$1
  local pom="$HERE/$name/pom.xml"
  [[ -f "$pom" ]] || die "unknown server '$name' (no $pom)"

  local version json_ver
  version=$(pom_version "$pom")
  json_ver=$(json_version "$name")
  [[ "$json_ver" == "$version" ]] ||
    die "$name: versions.json says '${json_ver:-<missing>}' but $name/pom.xml pins '$version'; make them agree"

  local key cpfile stamp
  key="format=$INSTALLER_FORMAT pom=$(sha256sum "$pom" | cut -d' ' -f1) args=${STREAMKEEPER_MVN_ARGS:-}"
  cpfile="$CACHE_DIR/$(product "$name")-$version.classpath"
  stamp="$CACHE_DIR/$(product "$name")-$version.stamp"

  if [[ "${STREAMKEEPER_FORCE:-0}" != 1 && -f "$stamp" && "$(<"$stamp")" == "$key" ]] &&
     classpath_complete "$cpfile"; then
    log "$name $version: up to date"
    printf '%s=%s\n' "$name" "$cpfile"
    return 0
  fi

  command -v "$MVN" >/dev/null 2>&1 || die "mvn not found: apt-get install maven (3.8+), or set STREAMKEEPER_MVN=/path/to/mvn"

  # One resolver at a time per cache dir: parallel test runs share it.
  exec {lock_fd}>"$CACHE_DIR/.lock"
  flock "$lock_fd"
  # Another process may have finished the same work while we waited.
  if [[ "${STREAMKEEPER_FORCE:-0}" != 1 && -f "$stamp" && "$(<"$stamp")" == "$key" ]] &&
     classpath_complete "$cpfile"; then
    exec {lock_fd}>&-
    log "$name $version: up to date"
    printf '%s=%s\n' "$name" "$cpfile"
    return 0
  fi

  local started tmp mvnlog
  started=$(now_ms)
  tmp="$cpfile.tmp.$$"
  mvnlog="$CACHE_DIR/$(product "$name")-$version.mvn.log"
  log "$name $version: resolving with mvn (log: $mvnlog)"
  rm -f "$tmp" "$stamp"
  # shellcheck disable=SC2086  # STREAMKEEPER_MVN_ARGS is a word list on purpose
  if ! (cd "$CACHE_DIR" && "$MVN" -B -q -Dstyle.color=never ${STREAMKEEPER_MVN_ARGS:-} \
          -f "$pom" dependency:build-classpath \
          -Dmdep.includeScope=runtime \
          -Dmdep.outputFile="$tmp") >"$mvnlog" 2>&1; then
    rm -f "$tmp"
    exec {lock_fd}>&-
    sed -e 's/\x1b\[[0-9;]*m//g' "$mvnlog" | grep -m 3 -e '\[ERROR\] [^ ]' >&2 || tail -n 5 "$mvnlog" >&2
    die "$name $version: mvn dependency resolution failed (full log: $mvnlog)"
  fi
  if ! classpath_complete "$tmp"; then
    rm -f "$tmp"
    exec {lock_fd}>&-
    die "$name $version: mvn wrote no usable classpath (log: $mvnlog)"
  fi
  mv -f "$tmp" "$cpfile"
  printf '%s' "$key" >"$stamp"
  exec {lock_fd}>&-
  log "$name $version: $(tr ':' '\n' <"$cpfile" | wc -l) jars in $(( $(now_ms) - started )) ms"
  printf '%s=%s\n' "$name" "$cpfile"
}

main() {
  local -a names=()
  local arg
  for arg in "$@"; do
    case "$arg" in
      -h|--help) usage; exit 0 ;;
      all) names+=("${ALL_SERVERS[@]}") ;;
      zookeeper|kafka|kafka4) names+=("$arg") ;;
      *) usage; die "unknown argument '$arg'" ;;
    esac
  done
  ((${#names[@]})) || names=("${ALL_SERVERS[@]}")

  [[ -f "$HERE/versions.json" ]] || die "missing $HERE/versions.json"
  mkdir -p "$CACHE_DIR" || die "cannot create $CACHE_DIR"

  local -A seen=()
  local name
  for name in "${names[@]}"; do
    [[ -n "${seen[$name]:-}" ]] && continue
    seen[$name]=1
    install_one "$name"
  done
}

main "$@"
