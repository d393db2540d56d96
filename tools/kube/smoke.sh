#!/usr/bin/env bash
# End-to-end check of the control-plane binaries from tools/kube/install.sh.
#
# Starts etcd, kube-apiserver (x509 client-cert authentication, Node,RBAC
# authorization, ServiceAccount token signing) and kube-controller-manager on
# free loopback ports with throwaway directories, then with kubectl:
#   - lists namespaces and checks client/server versions,
#   - creates a namespace and a ServiceAccount, requests a token for it and
#     shows the token is 403 on secrets until a Role grants access,
#   - creates a ConfigMap owned by another ConfigMap, deletes the owner and
#     waits for the garbage collector to delete the dependent,
#   - deletes the namespace and waits for the namespace controller.
# Everything is stopped and removed on exit. Timings are printed at the end.
#
#   tools/kube/smoke.sh              # installs/locates binaries via install.sh
#   KUBE_BIN=/dir tools/kube/smoke.sh
#   SMOKE_KEEP=1 tools/kube/smoke.sh # keep the work dir (logs) after exit
#
# The flags used here are the reference for the TypeScript launcher; see
# docs/control-plane.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '[kube/smoke] %s\n' "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

WORK=""
PIDS=()        # started process-group leaders, in start order
NAMES=()

dump_logs() {
  [[ -n "$WORK" && -d "$WORK/logs" ]] || return 0
  local f
  for f in "$WORK"/logs/*.log; do
    [[ -s "$f" ]] || continue
    printf '\n----- last lines of %s -----\n' "$(basename "$f")" >&2
    tail -n 25 "$f" >&2
  done
}

stop_all() {
  local i pid deadline
  # Stop in reverse start order: controller-manager, apiserver, etcd.
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
    pid=${PIDS[$i]}
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM -- "-$pid" 2>/dev/null || true
    deadline=$(( $(date +%s) + 10 ))
    while kill -0 "$pid" 2>/dev/null && (( $(date +%s) < deadline )); do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "${NAMES[$i]} did not stop on SIGTERM; killing"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if (( rc != 0 )); then
    log "FAILED (exit $rc)"
    dump_logs
  fi
  if (( ${#PIDS[@]} )); then
    local t; t=$(now)
    stop_all
    log "stopped everything in $(since "$t")s"
  fi
  if [[ -n "$WORK" ]]; then
    if [[ -n "${SMOKE_KEEP:-}" ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { log "ERROR: $*"; exit 1; }

# Start "$@" in its own session/process group; output to logs/<name>.log.
start() {
  local name=$1; shift
  setsid "$@" </dev/null >"$WORK/logs/$name.log" 2>&1 &
  PIDS+=("$!")
  NAMES+=("$name")
  log "started $name (pid $!)"
}

# Poll until "$@" succeeds; fail when the process dies or the timeout expires.
wait_for() {
  local what=$1 pid=$2 timeout=$3; shift 3
  local deadline; deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    [[ -z "$pid" ]] || kill -0 "$pid" 2>/dev/null || die "$what: process exited"
    (( $(date +%s) < deadline )) || die "$what: not ready after ${timeout}s"
    sleep 0.1
  done
}

# A free TCP port on 127.0.0.1, chosen by the kernel.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return
  local p
  for _ in $(seq 100); do
    p=$(( 20000 + RANDOM % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  die "no free port found"
}

# ---------------------------------------------------------------- binaries ----
T_ALL=$(now)
if [[ -z "${KUBE_BIN:-}" ]]; then
  t=$(now)
  KUBE_BIN=$("$HERE/install.sh" | tail -n1)
  T_INSTALL="$(since "$t")s"
else
  T_INSTALL="skipped (KUBE_BIN)"
fi
for b in etcd kube-apiserver kube-controller-manager kubectl; do
  [[ -x "$KUBE_BIN/$b" ]] || die "$KUBE_BIN/$b is missing"
done
command -v openssl >/dev/null || die "openssl is required"
command -v curl >/dev/null || die "curl is required"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/streamkeeper-kube-smoke.XXXXXX")
mkdir -p "$WORK/logs" "$WORK/pki" "$WORK/etcd"
chmod 700 "$WORK/pki" "$WORK/etcd"
PKI=$WORK/pki
log "work dir $WORK"

ETCD_PORT=$(free_port)
ETCD_PEER_PORT=$(free_port)
API_PORT=$(free_port)
KCM_PORT=$(free_port)
while [[ "$ETCD_PEER_PORT" == "$ETCD_PORT" ]]; do ETCD_PEER_PORT=$(free_port); done
while [[ "$API_PORT" == "$ETCD_PORT" || "$API_PORT" == "$ETCD_PEER_PORT" ]]; do API_PORT=$(free_port); done
while [[ " $ETCD_PORT $ETCD_PEER_PORT $API_PORT " == *" $KCM_PORT "* ]]; do KCM_PORT=$(free_port); done
log "ports: etcd=$ETCD_PORT etcd-peer=$ETCD_PEER_PORT apiserver=$API_PORT controller-manager=$KCM_PORT"

# ------------------------------------------------------------ certificates ----
# CA, apiserver serving cert, client certs (admin in system:masters, the
# controller-manager as system:kube-controller-manager) and the ServiceAccount
# token signing key pair. EC P-256 keys (fast), RSA 2048 for ServiceAccounts.
T_CERTS=$(now)
cat >"$PKI/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, DNS:localhost, IP:10.0.0.1, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
eckey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
serial() { echo "0x$(openssl rand -hex 8)"; }
# leaf <name> <subject> <extension section>
leaf() {
  eckey "$PKI/$1.key"
  openssl req -new -key "$PKI/$1.key" -subj "$2" -config "$PKI/openssl.cnf" -out "$PKI/$1.csr"
  openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "$(serial)" \
    -days 365 -sha256 -extfile "$PKI/openssl.cnf" -extensions "$3" -out "$PKI/$1.crt" 2>/dev/null
  rm -f "$PKI/$1.csr"
}
eckey "$PKI/ca.key"
openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=streamkeeper-local-ca" -days 3650 -sha256 \
  -set_serial "$(serial)" -config "$PKI/openssl.cnf" -extensions ca -out "$PKI/ca.crt"
leaf apiserver "/CN=kube-apiserver" server
leaf admin "/O=system:masters/CN=streamkeeper-admin" client
leaf controller-manager "/CN=system:kube-controller-manager" client
leaf controller-manager-serving "/CN=kube-controller-manager" server
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
chmod 600 "$PKI"/*.key

SERVER=https://127.0.0.1:$API_PORT
b64() { base64 -w0 <"$1"; }
# kubeconfig <file> <user> <client cert/key basename>
kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $SERVER
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$PKI/$3.crt")
    client-key-data: $(b64 "$PKI/$3.key")
contexts:
- name: local
  context: {cluster: local, user: $2}
current-context: local
EOF
  chmod 600 "$1"
}
kubeconfig "$WORK/admin.kubeconfig" streamkeeper-admin admin
kubeconfig "$WORK/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
T_CERTS=$(since "$T_CERTS")

K() { "$KUBE_BIN/kubectl" --kubeconfig "$WORK/admin.kubeconfig" "$@"; }
CURL_ADMIN=(curl -sf --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key")

# -------------------------------------------------------------------- etcd ----
T_START=$(now)
start etcd "$KUBE_BIN/etcd" \
  --name=streamkeeper \
  --data-dir="$WORK/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="streamkeeper=http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster-state=new \
  --unsafe-no-fsync=true \
  --watch-progress-notify-interval=5s \
  --log-level=warn
ETCD_PID=${PIDS[-1]}
wait_for "etcd" "$ETCD_PID" 30 curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"
T_ETCD=$(since "$T_START")
log "etcd healthy after ${T_ETCD}s"

# ---------------------------------------------------------- kube-apiserver ----
start kube-apiserver "$KUBE_BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$API_PORT" \
  --tls-cert-file="$PKI/apiserver.crt" \
  --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --endpoint-reconciler-type=none
API_PID=${PIDS[-1]}
wait_for "kube-apiserver /readyz" "$API_PID" 60 "${CURL_ADMIN[@]}" "$SERVER/readyz"
T_API=$(since "$T_START")
log "kube-apiserver ready after ${T_API}s (since etcd start)"

# ------------------------------------------------- kube-controller-manager ----
KCM_CONTROLLERS=garbage-collector-controller,namespace-controller,serviceaccount-controller,root-ca-certificate-publisher-controller,deployment-controller,replicaset-controller
start kube-controller-manager "$KUBE_BIN/kube-controller-manager" \
  --kubeconfig="$WORK/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$WORK/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$WORK/controller-manager.kubeconfig" \
  --authentication-skip-lookup=true \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --tls-cert-file="$PKI/controller-manager-serving.crt" \
  --tls-private-key-file="$PKI/controller-manager-serving.key" \
  --controllers="$KCM_CONTROLLERS" \
  --use-service-account-credentials=true \
  --root-ca-file="$PKI/ca.crt" \
  --leader-elect=false
KCM_PID=${PIDS[-1]}
wait_for "kube-controller-manager /healthz" "$KCM_PID" 60 \
  curl -sf --max-time 2 --cacert "$PKI/ca.crt" "https://127.0.0.1:$KCM_PORT/healthz"
T_KCM=$(since "$T_START")
log "kube-controller-manager healthy after ${T_KCM}s (since etcd start)"

# ------------------------------------------------------------------ checks ----
T_CHECKS=$(now)
K version
want=$("$KUBE_BIN/kube-apiserver" --version | awk '{print $2}')
# Both clientVersion and serverVersion must report the built release.
[[ $(K version -o json | grep -c "\"gitVersion\": \"$want\"") == 2 ]] ||
  die "kubectl client/server versions are not both $want"
K get ns

NS=smoke
K create namespace "$NS"
wait_for "default ServiceAccount (serviceaccount controller)" "$KCM_PID" 30 K -n "$NS" get serviceaccount default
wait_for "kube-root-ca.crt (root-ca-cert-publisher)" "$KCM_PID" 30 K -n "$NS" get configmap kube-root-ca.crt
log "serviceaccount and root-ca-cert-publisher controllers work"

# ServiceAccount token: 403 until a Role grants access.
K -n "$NS" create serviceaccount robot
K -n "$NS" create secret generic s1 --from-literal=k=v
TOKEN=$(K -n "$NS" create token robot --duration=10m)
cat >"$WORK/robot.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "$SERVER", certificate-authority-data: $(b64 "$PKI/ca.crt")}
users:
- name: robot
  user: {token: "$TOKEN"}
contexts:
- name: local
  context: {cluster: local, user: robot, namespace: $NS}
current-context: local
EOF
chmod 600 "$WORK/robot.kubeconfig"
R() { "$KUBE_BIN/kubectl" --kubeconfig "$WORK/robot.kubeconfig" "$@"; }
api_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$PKI/ca.crt" \
  -H "Authorization: Bearer $TOKEN" "$SERVER/api/v1/namespaces/$NS/secrets"; }

R auth whoami
code=$(api_code)
[[ "$code" == 403 ]] || die "expected 403 for the ServiceAccount token before the Role, got $code"
if out=$(R get secrets 2>&1); then die "ServiceAccount could list secrets without a Role: $out"; fi
grep -q Forbidden <<<"$out" || die "unexpected kubectl error: $out"
log "before Role: HTTP $code; kubectl: $out"

K -n "$NS" create role secret-reader --verb=get,list --resource=secrets
K -n "$NS" create rolebinding robot-secret-reader --role=secret-reader --serviceaccount="$NS:robot"
granted() { [[ "$(api_code)" == 200 ]]; }
wait_for "RBAC grant to take effect" "$API_PID" 10 granted
R get secrets
log "after Role: HTTP $(api_code)"

# Garbage collection through ownerReferences.
K -n "$NS" create configmap owner --from-literal=role=owner
OWNER_UID=$(K -n "$NS" get configmap owner -o jsonpath='{.metadata.uid}')
K -n "$NS" apply -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: dependent
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: owner
    uid: $OWNER_UID
data:
  role: dependent
EOF
K -n "$NS" get configmap dependent -o jsonpath='{.metadata.ownerReferences[0].name}{"\n"}'
t=$(now)
K -n "$NS" delete configmap owner
gone() { local out; out=$(K -n "$NS" get configmap dependent 2>&1) && return 1; [[ "$out" == *NotFound* ]]; }
wait_for "garbage collection of the dependent ConfigMap" "$KCM_PID" 60 gone
T_GC=$(since "$t")
log "garbage collector deleted the dependent ${T_GC}s after the owner"

# Namespace deletion (namespace controller).
t=$(now)
K delete namespace "$NS" --timeout=60s
T_NS=$(since "$t")
out=$(K get namespace "$NS" 2>&1) && die "namespace $NS still exists"
[[ "$out" == *NotFound* ]] || die "unexpected: $out"
log "namespace deleted in ${T_NS}s"
T_CHECKS=$(since "$T_CHECKS")

T_STOP=$(now)
stop_all
T_STOP=$(since "$T_STOP")

cat <<EOF
smoke test passed
  binaries:                      $KUBE_BIN
  install.sh:                    ${T_INSTALL}
  certificates + kubeconfigs:    ${T_CERTS}s
  etcd healthy:                  ${T_ETCD}s
  kube-apiserver /readyz ok:     ${T_API}s (from etcd start)
  kube-controller-manager ok:    ${T_KCM}s (from etcd start)
  garbage collection:            ${T_GC}s
  namespace deletion:            ${T_NS}s
  all checks:                    ${T_CHECKS}s
  stop:                          ${T_STOP}s
  total:                         $(since "$T_ALL")s
EOF
