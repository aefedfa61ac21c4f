#!/usr/bin/env bash
# `make demo`: the whole product on this machine, no container engine needed.
#
#  1. starts the local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok);
#  2. installs the TetrisApp CRD and runs the operator as a local process;
#  3. applies examples/minimal.yaml and waits for `kubectl wait --for=condition=Ready`;
#  4. kwok's pods are fake (no container runs), so the demo then starts the real game server on
#     http://127.0.0.1:${DEMO_PORT:-8080} with the environment from the ConfigMap the operator wrote,
#     and restarts it (SIGTERM, so it drains like a pod) whenever the operator rolls the Deployment
#     for a new ConfigMap: `kubectl patch` a game setting and the game you play follows.
#
# Ctrl-C stops everything. DEMO_SMOKE=1 checks the game answers, changes the title through the
# TetrisApp, checks the restarted game serves it, and exits instead of waiting (the test suite runs
# the demo that way).
set -euo pipefail
cd "$(dirname "$0")/.."

port=${DEMO_PORT:-8080}
app=tetris
run=$(mktemp -d "${TMPDIR:-/tmp}/tetris-demo.XXXXXX")
pids=()
game_pid=""
cleanup() {
  for pid in "${pids[@]}" $game_pid; do kill "$pid" 2>/dev/null || true; done
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

# The game server with the environment of the ConfigMap the operator wrote (in a subshell, so the
# demo's own environment keeps none of it). TETRIS_CACHE is the Makefile's build cache, not a game
# setting (the server warns about unknown TETRIS_* variables).
start_game() {
  (
    while IFS='=' read -r key value; do
      [[ $key == TETRIS_* ]] && export "$key=$value"
    done < <(kubectl get configmap "$app-config" -o go-template='{{range $k, $v := .data}}{{$k}}={{$v}}{{"\n"}}{{end}}')
    export TETRIS_ADDRESS=127.0.0.1 TETRIS_PORT=$port TETRIS_DATABASE=$run/scores.db
    exec env -u TETRIS_CACHE "$bin/tetris-game-server" >>"$run/game.log" 2>&1
  ) &
  game_pid=$!
  wait_for "the game server's /readyz" 30 curl -fsS "http://127.0.0.1:$port/readyz"
}
# The pod template's config hash: it changes exactly when the operator rolls the pods for a new
# ConfigMap.
config_hash() {
  kubectl get deployment "$app" -o jsonpath='{.spec.template.metadata.annotations.gameops\.dev/config-hash}'
}
# Restarts the game server once the Deployment carries a config hash other than $hash.
follow_config() {
  local now
  now=$(config_hash 2>/dev/null) || return 0
  [[ -n $now && $now != "$hash" ]] || return 0
  hash=$now
  echo "demo: the operator rolled the game for a new ConfigMap; restarting the game server (it drains first)"
  kill -TERM "$game_pid" 2>/dev/null || true
  wait "$game_pid" 2>/dev/null || true
  start_game
}

say "Starting the real game server with the ConfigMap's environment (log: $run/game.log)"
hash=$(config_hash)
start_game

if [[ ${DEMO_SMOKE:-} == 1 ]]; then
  curl -fsS "http://127.0.0.1:$port/" | grep -qi "<html" || { echo "demo: / did not serve the game page" >&2; exit 1; }
  say "kubectl patch tetrisapp $app: a new title"
  kubectl patch tetrisapp "$app" --type merge -p '{"spec":{"game":{"title":"Demo smoke"}}}'
  for ((i = 0; i < 150; i++)); do
    follow_config
    curl -fsS "http://127.0.0.1:$port/api/config" 2>/dev/null | grep -q '"title":"Demo smoke"' && break
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$port/api/config" | grep -q '"title":"Demo smoke"' ||
    { echo "demo: the game did not pick up the new title; logs in $run" >&2; tail -n 20 "$run/game.log" >&2; exit 1; }
  echo "demo smoke check: ok (TetrisApp Ready, game served on port $port, a title change reached the game)"
  exit 0
fi
say "Play at http://127.0.0.1:$port   (Ctrl-C stops the demo; KUBECONFIG=$KUBECONFIG while it runs)"
echo "Try: kubectl patch tetrisapp $app --type merge -p '{\"spec\":{\"game\":{\"title\":\"Friday Tetris\"}}}'"
while true; do
  follow_config
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      sleep 1 # after a Ctrl-C to the whole group, the INT trap ends the demo here
      echo "demo: a component stopped on its own; logs:" >&2
      tail -n 20 "$run"/*.log >&2 || true
      exit 1
    fi
  done
  sleep 2
done
