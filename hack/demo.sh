#!/usr/bin/env bash
# `make demo`: the whole product on this machine, no container engine needed.
#
#  1. starts the local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok);
#  2. installs the TetrisApp CRD and runs the operator as a local process;
#  3. applies examples/minimal.yaml and waits for `kubectl wait --for=condition=Ready`;
#  4. kwok's pods are fake (no container runs), so the demo then starts the real game server on
#     http://127.0.0.1:${DEMO_PORT:-8080} with the environment from the ConfigMap the operator wrote.
#
# Ctrl-C stops everything. DEMO_SMOKE=1 checks the game answers and exits instead of waiting
# (the test suite runs the demo that way).
set -euo pipefail
cd "$(dirname "$0")/.."

port=${DEMO_PORT:-8080}
app=tetris
run=$(mktemp -d "${TMPDIR:-/tmp}/tetris-demo.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
wait_for() { # what, seconds, command...
  local what=$1 limit=$2; shift 2
  for ((i = 0; i < limit * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "demo: $what did not happen within ${limit}s; logs in $run" >&2
  tail -n 30 "$run"/*.log >&2 || true
  return 1
}

say "Building the operator, the game server and the control-plane harness"
cargo build -q -p local-cluster -p tetris-operator -p tetris-game-server
bin=${CARGO_TARGET_DIR:-target}/debug

say "Starting the local control plane"
"$bin/local-cluster" up --kubeconfig-out "$run/kubeconfig" >"$run/cluster.log" 2>&1 &
pids+=($!)
wait_for "the control plane" 180 grep -q "ready in" "$run/cluster.log"
grep -E "ready in|kubectl:" "$run/cluster.log"
export KUBECONFIG=$run/kubeconfig
kubectl() { "$("$bin/local-cluster" bin-dir)/kubectl" "$@"; }

say "Installing the CRD"
kubectl apply --server-side -f crds/
kubectl wait --for condition=Established crd/tetrisapps.gameops.dev --timeout=60s

say "Running the operator (log: $run/operator.log)"
"$bin/tetris-operator" run --leader-election=false --probe-address=127.0.0.1:0 >"$run/operator.log" 2>&1 &
pids+=($!)

say "kubectl apply -f examples/minimal.yaml"
kubectl apply -f examples/minimal.yaml
kubectl wait --for=condition=Ready "tetrisapp/$app" --timeout=180s

say "kubectl get tetrisapps"
kubectl get tetrisapps
say "What the operator made"
kubectl get configmap,deployment,service,persistentvolumeclaim,pods -l "gameops.dev/tetrisapp=$app"

say "Starting the real game server with the ConfigMap's environment"
while IFS='=' read -r key value; do
  [[ $key == TETRIS_* ]] && export "$key=$value"
done < <(kubectl get configmap "$app-config" -o go-template='{{range $k, $v := .data}}{{$k}}={{$v}}{{"\n"}}{{end}}')
export TETRIS_ADDRESS=127.0.0.1 TETRIS_PORT=$port TETRIS_DATABASE=$run/scores.db
# TETRIS_CACHE is the Makefile's build cache, not a game setting (the server warns about unknown TETRIS_*).
env -u TETRIS_CACHE "$bin/tetris-game-server" >"$run/game.log" 2>&1 &
pids+=($!)
wait_for "the game server's /readyz" 30 curl -fsS "http://127.0.0.1:$port/readyz"

if [[ ${DEMO_SMOKE:-} == 1 ]]; then
  curl -fsS "http://127.0.0.1:$port/" | grep -qi "<html" || { echo "demo: / did not serve the game page" >&2; exit 1; }
  echo "demo smoke check: ok (TetrisApp Ready, game served on port $port)"
  exit 0
fi
say "Play at http://127.0.0.1:$port   (Ctrl-C stops the demo; KUBECONFIG=$KUBECONFIG while it runs)"
wait "${pids[@]}"
