# Sourced by the installers under tools/ (not run): the steps every cached install shares —
# finding the Go toolchain, holding a cache entry's lock, and swapping a finished build into
# place so a reader never sees half an install. The sourcing script defines log and die.

# Sets GO to the Go toolchain (GO from the environment, go on PATH, or /usr/local/go), or dies
# naming what is required ($1, e.g. "go >= 1.25").
find_go() {
  GO=${GO:-}
  if [[ -z "$GO" ]]; then
    GO=$(command -v go || true)
    [[ -n "$GO" ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; }
  fi
  [[ -n "$GO" && -x "$GO" ]] || die "the Go toolchain is required (${1:-go}): put it on PATH or set GO=/path/to/go; get it from https://go.dev/dl (Debian 12's golang-go is 1.19, too old)"
}

# Creates directory $1 and holds its .lock on fd 9 until the script exits, saying so when another
# install holds it: concurrent installs (parallel test workers, two checkouts) build once.
hold_install_lock() {
  command -v flock >/dev/null || die "flock is required: apt-get install util-linux"
  mkdir -p "$1"
  exec 9>"$1/.lock"
  if ! flock -n 9; then
    log "another install holds $1/.lock; waiting"
    flock 9
  fi
}

# Moves the finished directory $1 to $2, replacing what was there in two renames.
swap_into_place() {
  chmod 0755 "$1"
  if [[ -e "$2" ]]; then
    local old="$2.old.$$"
    mv "$2" "$old"
    mv "$1" "$2"
    rm -rf "$old"
  else
    mv "$1" "$2"
  fi
}

# Runs "$@" in the background and logs "$1: still running, Ns" every 30 s until it ends (then
# returns its status), so a build of minutes is never silent. $1 names the step; the command
# follows it. While it runs, $HEARTBEAT_DETAIL (a function name, optional) may print one more
# line of detail, e.g. the last compile step from a build log.
with_heartbeat() {
  local label=$1; shift
  local started=$SECONDS last=0 pid status
  "$@" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( SECONDS - started - last >= 30 )); then
      last=$(( SECONDS - started ))
      log "  $label: still running, ${last}s${HEARTBEAT_DETAIL:+ — $("$HEARTBEAT_DETAIL")}"
    fi
  done
  wait "$pid" && status=0 || status=$?
  return "$status"
}
