#!/usr/bin/env bash
# Smoke test for the test servers: proves that the pinned ZooKeeper, Kafka 3.9 and Kafka 4.x
# start on loopback from the classpaths written by install.sh, and measures them.
#
#   tools/servers/smoke.sh [--cold] [--plain-jvm] [--keep] [--only zookeeper|kafka|kafka4]...
#
#   --cold       time a cold install: throwaway Maven repository and cache, so every artifact
#                is downloaded from Maven Central (about 120 MB)
#   --plain-jvm  start the servers without the GC/JIT flags of versions.json (for comparison)
#   --keep       keep the temp dir (configs, logs, data) and print its path
#   --only X     run only server X (repeatable); default: all three
#
# What it does:
#   1. install.sh (timed), then install.sh again (timed: must be a fast no-op)
#   2. ZooKeeper: zoo.cfg from the template, start, wait for `srvr` to report
#      "Mode: standalone", create a znode with the CLI, stop, restart on the same port and
#      data dir, read the znode back
#   3. Kafka 3.9 and Kafka 4.x, single-node KRaft: server.properties from the template, format
#      the log dir with a random cluster id, start, wait until a Metadata request lists the
#      broker, create a topic, produce one message, consume it back, copy it transactionally
#      (exactly-once path) and read it with read_committed; stop, restart on the same ports
#      and log dir (no format), read it again
#   4. prints timings, CPU used until ready, JVM RSS; stops everything and removes the temp
#      dir on exit
#
# Main classes, JVM flags, logging flags, tool classes and the readiness request all come from
# versions.json -- the file the TypeScript launcher reads -- so this also checks that file.
# Needs bash, coreutils, ss, node (to read JSON) and java. Loopback only; ports chosen at run
# time.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

COLD=0
PLAIN_JVM=0
KEEP=0
ONLY=()
while (($#)); do
  case "$1" in
    --cold) COLD=1 ;;
    --plain-jvm) PLAIN_JVM=1 ;;
    --keep) KEEP=1 ;;
    --only) shift; ONLY+=("${1:?--only needs a server name}") ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "smoke: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
((${#ONLY[@]})) || ONLY=(zookeeper kafka kafka4)
wanted() { local x; for x in "${ONLY[@]}"; do [[ "$x" == "$1" ]] && return 0; done; return 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/streamkeeper-smoke.XXXXXX")
declare -a PIDS=()
declare -a RESULTS=()

say() { printf '[smoke %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[smoke] FAILED: %s\n' "$*" >&2; exit 1; }
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
result() { RESULTS+=("$(printf '%-44s %s' "$1" "$2")"); say "$1: $2"; }
rss_mb() { awk '/^VmRSS:/ { printf "%d MiB", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# CPU time (user+system) a process has used so far: less sensitive to machine load than wall
# time when comparing JVM flags.
cpu_ms() {
  local -a f
  read -r -a f <<<"$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)" || { echo "?"; return; }
  # after the "(comm) " field: index 11 = utime, 12 = stime, in clock ticks
  echo "$(((f[11] + f[12]) * 1000 / $(getconf CLK_TCK))) ms"
}

# stop_pid PID [TIMEOUT_S]: SIGTERM, wait, SIGKILL after the timeout. Sets STOP_MS.
# (Not in a $(...) subshell: only this shell can reap its children.)
STOP_MS=0
stop_pid() {
  local pid=$1 timeout_s=${2:-30} start deadline
  start=$(now_ms)
  STOP_MS=0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((start + timeout_s * 1000))
  while kill -0 "$pid" 2>/dev/null; do
    if (($(now_ms) > deadline)); then
      echo "smoke: pid $pid ignored SIGTERM for ${timeout_s}s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
  STOP_MS=$(($(now_ms) - start))
}

forget_pid() {
  local pid=$1 i
  for i in "${!PIDS[@]}"; do [[ "${PIDS[$i]}" == "$pid" ]] && unset 'PIDS[i]'; done
  return 0
}

cleanup() {
  local rc=$? pid f
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then stop_pid "$pid" 20; fi
  done
  if ((rc != 0)); then
    say "exit status $rc; last lines of the server logs:"
    for f in "$WORK"/*/*.log; do
      [[ -f "$f" ]] || continue
      echo "----- $f" >&2
      tail -n 25 "$f" >&2
    done
  fi
  if ((KEEP)); then
    rm -rf "$WORK/m2" # the throwaway Maven repository of --cold: large and of no further use
    say "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# vj EXPR: evaluates EXPR against versions.json (bound to `v`) and prints the result, one
# array element per line, with {serversDir} replaced by the absolute path of tools/servers.
vj() {
  node -e '
    const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const r = new Function("v", "return (" + process.argv[2] + ");")(v);
    if (r === undefined || r === null) { console.error("versions.json: no " + process.argv[2]); process.exit(1); }
    for (const x of [].concat(r)) console.log(String(x).split("{serversDir}").join(process.argv[3]));
  ' "$HERE/versions.json" "$1" "$HERE"
}

# JVM flags of versions.json; --plain-jvm keeps only heap sizes and -D properties.
jvm_flags() { # NAME KEY(jvmFlags|toolJvmFlags)
  local flag
  while IFS= read -r flag; do
    if ((PLAIN_JVM)) && [[ "$2" == jvmFlags && "$flag" != -Xm[sx]* && "$flag" != -D* ]]; then
      continue
    fi
    printf '%s\n' "$flag"
  done < <(vj "v.servers.$1.$2")
}

# A loopback TCP port that nothing listens on, below the ephemeral range so that outgoing
# connections cannot take it meanwhile. (The TypeScript launcher should bind port 0 instead.)
declare -A USED_PORTS=()
free_port() {
  local p _
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    [[ -n "${USED_PORTS[$p]:-}" ]] && continue
    if [[ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]] &&
       ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      USED_PORTS[$p]=1
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

# render TEMPLATE OUT KEY=VALUE...: replaces every @KEY@ in TEMPLATE; fails on leftovers.
render() {
  local template=$1 out=$2 kv key value
  shift 2
  local -a expr=()
  for kv in "$@"; do
    key=${kv%%=*}
    value=${kv#*=}
    value=${value//\\/\\\\}
    value=${value//&/\\&}
    value=${value//|/\\|}
    expr+=(-e "s|@${key}@|${value}|g")
  done
  sed "${expr[@]}" "$template" >"$out"
  if grep -n '^[^#]*@[A-Z_]*@' "$out" >&2; then die "unreplaced placeholders in $out"; fi
}

# wait_until TIMEOUT_S PID CMD...: polls CMD every 50 ms; fails if PID dies or time runs out.
wait_until() {
  local timeout_s=$1 pid=$2 deadline
  shift 2
  deadline=$(($(now_ms) + timeout_s * 1000))
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || return 2
    (($(now_ms) < deadline)) || return 1
    sleep 0.05
  done
}

# ZooKeeper four-letter word; prints the answer.
zk_4lw() {
  local port=$1 cmd=$2
  (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf '%s' "$cmd" >&3 && timeout 2 cat <&3) 2>/dev/null
}

# Kafka readiness (versions.json servers.<name>.readiness): send the Metadata v4 request of
# requestHex, read responseBytes, ready when the int32 at brokerCountOffset is >= 1.
#   request : int32 size=17 | int16 api_key=3 | int16 api_version=4 | int32 correlation_id=1 |
#             string client_id="sk" | array topics=[] (int32 0) | bool allow_auto_create=false
#   response: int32 size | int32 correlation_id | int32 throttle_time_ms | int32 broker_count ...
# A KRaft broker answers client requests only once it has caught up with the metadata log and
# lists itself only once unfenced: from then on topics can be created.
kafka_ready() { # PORT REQUEST_PRINTF_ESCAPES
  local port=$1 request=$2 out
  # shellcheck disable=SC2059  # the request is a printf escape sequence on purpose
  out=$( (exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
          printf "$request" >&3
          timeout 1 head -c 16 <&3 | od -An -tu1 -v) 2>/dev/null) || return 1
  local -a b
  read -r -a b <<<"$out" || true
  ((${#b[@]} == 16)) || return 1
  (((b[12] << 24 | b[13] << 16 | b[14] << 8 | b[15]) >= 1))
}

# A random cluster id: 16 random bytes, base64url without padding (Kafka's Uuid text form).
# Kafka never hands out ids starting with '-' (they look like options), so neither do we.
random_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

# --- 1. install ------------------------------------------------------------------------------
command -v node >/dev/null || die "node is needed to read versions.json"
command -v java >/dev/null || die "java (17+) is needed"
if ((COLD)); then
  say "cold install: empty Maven repository and cache under $WORK"
  export STREAMKEEPER_CACHE="$WORK/cache"
  export STREAMKEEPER_MVN_ARGS="-Dmaven.repo.local=$WORK/m2"
fi
say "install.sh ${ONLY[*]}"
t0=$(now_ms)
"$HERE/install.sh" "${ONLY[@]}" >"$WORK/install.out" || die "install.sh failed"
t1=$(now_ms)
"$HERE/install.sh" "${ONLY[@]}" >"$WORK/install2.out" || die "install.sh (second run) failed"
t2=$(now_ms)
result "install (first run$( ((COLD)) && echo ', cold'))" "$((t1 - t0)) ms"
result "install (second run, no-op)" "$((t2 - t1)) ms"
cmp -s "$WORK/install.out" "$WORK/install2.out" || die "install.sh runs disagree"

declare -A CPFILE=()
while IFS='=' read -r name file; do CPFILE[$name]=$file; done <"$WORK/install.out"
classpath() { local f=${CPFILE[$1]:?no classpath for $1}; cat "$f"; }

# --- 2. ZooKeeper ----------------------------------------------------------------------------
smoke_zookeeper() {
  local dir="$WORK/zookeeper" port t0 t1 value main cli expect
  local -a flags tool_flags
  mapfile -t flags < <(jvm_flags zookeeper jvmFlags; vj 'v.servers.zookeeper.logging')
  mapfile -t tool_flags < <(jvm_flags zookeeper toolJvmFlags; vj 'v.servers.zookeeper.toolLogging')
  main=$(vj 'v.servers.zookeeper.mainClass')
  cli=$(vj 'v.servers.zookeeper.tools.cli')
  expect=$(vj 'v.servers.zookeeper.readiness.expect')

  start_zookeeper() {
    java "${flags[@]}" -cp "$(classpath zookeeper)" "$main" "$dir/zoo.cfg" \
      >>"$dir/zookeeper.log" 2>&1 &
    ZK_PID=$!
    PIDS+=("$ZK_PID")
  }
  zk_serving() { [[ "$(zk_4lw "$port" srvr)" == *"$expect"* ]]; }
  zk_cli() {
    timeout 60 java "${tool_flags[@]}" -cp "$(classpath zookeeper)" "$cli" \
      -server "127.0.0.1:$port" -timeout 5000 "$@"
  }

  mkdir -p "$dir/data"
  port=$(free_port)
  render "$HERE/$(vj 'v.servers.zookeeper.configTemplate')" "$dir/zoo.cfg" \
    DATA_DIR="$dir/data" CLIENT_PORT="$port"

  say "zookeeper: starting on 127.0.0.1:$port"
  t0=$(now_ms)
  start_zookeeper
  wait_until 30 "$ZK_PID" zk_serving || die "zookeeper did not become ready"
  t1=$(now_ms)
  result "zookeeper start-to-ready" "$((t1 - t0)) ms"
  result "zookeeper CPU used until ready" "$(cpu_ms "$ZK_PID")"
  [[ "$(zk_4lw "$port" ruok)" == imok ]] || die "zookeeper: ruok did not answer imok"

  zk_cli create /streamkeeper-smoke hello >"$dir/cli.out" 2>&1 ||
    { cat "$dir/cli.out" >&2; die "zookeeper: create failed"; }
  result "zookeeper RSS (ready + 1 client)" "$(rss_mb "$ZK_PID")"

  stop_pid "$ZK_PID"
  forget_pid "$ZK_PID"
  result "zookeeper stop (SIGTERM)" "$STOP_MS ms"

  say "zookeeper: restarting on the same port and data dir"
  t0=$(now_ms)
  start_zookeeper
  wait_until 30 "$ZK_PID" zk_serving || die "zookeeper did not come back after restart"
  t1=$(now_ms)
  result "zookeeper restart-to-ready (same port/dir)" "$((t1 - t0)) ms"
  value=$(zk_cli get /streamkeeper-smoke 2>"$dir/cli.err" | tail -n 1) ||
    { cat "$dir/cli.err" >&2; die "zookeeper: get failed"; }
  [[ "$value" == hello ]] || die "zookeeper: expected 'hello' after restart, got '$value'"
  say "zookeeper: znode survived the restart"
  zk_4lw "$port" mntr | grep -E '^zk_(version|znode_count|num_alive_connections)' >&2 || true
  stop_pid "$ZK_PID"
  forget_pid "$ZK_PID"
}

# --- 3. Kafka --------------------------------------------------------------------------------
smoke_kafka() { # NAME (kafka | kafka4)
  local name=$1 dir="$WORK/$1" bport cport bs cluster_id t0 t1 pid main storage request
  local topics producer consumer copier message
  local -a flags tool_flags
  mapfile -t flags < <(jvm_flags "$name" jvmFlags; vj "v.servers.$name.logging")
  mapfile -t tool_flags < <(jvm_flags "$name" toolJvmFlags; vj "v.servers.$name.toolLogging")
  main=$(vj "v.servers.$name.mainClass")
  storage=$(vj "v.servers.$name.format.mainClass")
  topics=$(vj "v.servers.$name.tools.topics")
  producer=$(vj "v.servers.$name.tools.consoleProducer")
  consumer=$(vj "v.servers.$name.tools.consoleConsumer")
  copier=$(vj "v.servers.$name.tools.transactionalCopier")
  request=$(vj "v.servers.$name.readiness.requestHex" | sed 's/../\\x&/g')

  tool() { timeout 120 java "${tool_flags[@]}" -cp "$(classpath "$name")" "$@"; }
  start_kafka() { # -> KAFKA_PID, returns once ready
    java "${flags[@]}" -cp "$(classpath "$name")" "$main" "$dir/server.properties" \
      >>"$dir/kafka.log" 2>&1 &
    KAFKA_PID=$!
    PIDS+=("$KAFKA_PID")
    wait_until 60 "$KAFKA_PID" kafka_ready "$bport" "$request" || die "$name did not become ready"
  }
  consume() { # TOPIC OUT [ARGS...]: exactly one message within 30 s
    local topic=$1 out=$2
    shift 2
    tool "$consumer" --bootstrap-server "$bs" --topic "$topic" --from-beginning \
      --max-messages 1 --timeout-ms 30000 "$@" >"$dir/$out.out" 2>"$dir/$out.err" ||
      { cat "$dir/$out.err" >&2; die "$name: consuming $topic failed"; }
    grep -qx "$message" "$dir/$out.out" ||
      { cat "$dir/$out.out" "$dir/$out.err" >&2; die "$name: unexpected message in $topic"; }
  }

  mkdir -p "$dir"
  bport=$(free_port)
  cport=$(free_port)
  bs="127.0.0.1:$bport"
  render "$HERE/$(vj "v.servers.$name.configTemplate")" "$dir/server.properties" \
    LOG_DIR="$dir/data" BROKER_PORT="$bport" CONTROLLER_PORT="$cport"

  cluster_id=$(random_cluster_id)
  say "$name: formatting $dir/data (cluster id $cluster_id)"
  t0=$(now_ms)
  tool "$storage" format -t "$cluster_id" -c "$dir/server.properties" >"$dir/format.out" 2>&1 ||
    { cat "$dir/format.out" >&2; die "$name: StorageTool format failed"; }
  t1=$(now_ms)
  result "$name format (StorageTool)" "$((t1 - t0)) ms"

  say "$name: starting broker $bs, controller 127.0.0.1:$cport"
  t0=$(now_ms)
  start_kafka
  t1=$(now_ms)
  pid=$KAFKA_PID
  result "$name start-to-ready" "$((t1 - t0)) ms"
  result "$name CPU used until ready" "$(cpu_ms "$pid")"
  result "$name RSS (ready)" "$(rss_mb "$pid")"

  message="hello-$name-$RANDOM"
  t0=$(now_ms)
  tool "$topics" --bootstrap-server "$bs" --create --topic smoke --partitions 1 \
    --replication-factor 1 >"$dir/topic.out" 2>&1 ||
    { cat "$dir/topic.out" >&2; die "$name: topic creation failed"; }
  printf '%s\n' "$message" | tool "$producer" --bootstrap-server "$bs" --topic smoke \
    >"$dir/produce.out" 2>&1 || { cat "$dir/produce.out" >&2; die "$name: produce failed"; }
  consume smoke consume
  t1=$(now_ms)
  result "$name create+produce+consume (3 tool JVMs)" "$((t1 - t0)) ms"

  # Exactly-once path: copy the message in a transaction that also commits the consumer
  # offsets (transaction coordinator, __transaction_state and __consumer_offsets with one
  # replica), then read it back with read_committed.
  t0=$(now_ms)
  tool "$topics" --bootstrap-server "$bs" --create --topic smoke-out --partitions 1 \
    --replication-factor 1 >>"$dir/topic.out" 2>&1 ||
    { cat "$dir/topic.out" >&2; die "$name: topic creation failed"; }
  tool "$copier" --broker-list "$bs" --input-topic smoke --input-partition 0 \
    --output-topic smoke-out --transactional-id smoke-copier --consumer-group smoke-copier \
    --transaction-size 1 --use-group-metadata >"$dir/copier.out" 2>&1 ||
    { cat "$dir/copier.out" >&2; die "$name: transactional copy failed"; }
  consume smoke-out consume-tx --isolation-level read_committed
  t1=$(now_ms)
  result "$name transactional copy + read_committed" "$((t1 - t0)) ms"
  result "$name RSS (after clients)" "$(rss_mb "$pid")"

  stop_pid "$pid" 60
  forget_pid "$pid"
  result "$name stop (SIGTERM)" "$STOP_MS ms"
  grep -q 'shut down completed' "$dir/kafka.log" || die "$name: no clean shutdown in the log"

  say "$name: restarting on the same ports and log dir (no format)"
  t0=$(now_ms)
  start_kafka
  t1=$(now_ms)
  result "$name restart-to-ready (same ports/dir)" "$((t1 - t0)) ms"
  consume smoke-out consume-restart --isolation-level read_committed
  say "$name: committed message survived the restart"
  stop_pid "$KAFKA_PID" 60
  forget_pid "$KAFKA_PID"
}

wanted zookeeper && smoke_zookeeper
wanted kafka && smoke_kafka kafka
wanted kafka4 && smoke_kafka kafka4

say "all good"
printf '\nResults (%s JVM flags, java %s, %s cores, load %s):\n' \
  "$( ((PLAIN_JVM)) && echo plain || echo versions.json)" \
  "$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p')" "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %s\n' "${RESULTS[@]}"
