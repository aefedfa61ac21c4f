#!/usr/bin/env bash
# `make demo`: the whole product on this machine, in real containers.
#
#  1. builds the operator image and two game images (0.1.0 and 0.2.0) from Dockerfile.operator and
#     Dockerfile.game with buildah, offline, from local base images (layers cached: seconds when warm);
#  2. starts the local cluster with a real node (containerd, runc, CNI, kubelet, kube-proxy) and
#     loads the images into it;
#  3. installs the operator with `kubectl apply -k` over deploy/ (two real pods, leader election);
#  4. applies examples/minimal.yaml (image pointed at the local build) and waits for Ready;
#  5. serves the game pod the operator made on http://127.0.0.1:${DEMO_PORT:-8080} with
#     `kubectl port-forward` (restarted when a rollout replaces the pod).
#
# Ctrl-C stops everything (the cluster's cleanup removes every container, mount and network it made).
# DEMO_SMOKE=1 checks the game answers, changes the title and then the version through the
# TetrisApp, checks the new pod serves both (a new binary: /version), and exits instead of waiting
# (the test suite runs the demo that way).
set -euo pipefail
cd "$(dirname "$0")/.."

port=${DEMO_PORT:-8080}
app=tetris
run=$(mktemp -d "${TMPDIR:-/tmp}/tetris-demo.XXXXXX")
pids=()
cleanup() {
  # The cluster last: its cleanup waits for nothing the port-forward holds.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { printf '\n\033[1m==> %s\033[0m (%ss)\n' "$*" "$SECONDS"; }
wait_for() { # what, seconds, command...
  local what=$1 limit=$2; shift 2
  for ((i = 0; i < limit * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "demo: $what did not happen within ${limit}s; logs in $run" >&2
  tail -n 30 "$run"/*.log >&2 || true
  return 1
}

say "Building the images with buildah (Dockerfile.operator, Dockerfile.game at 0.1.0 and 0.2.0)"
archives=()
while read -r _ archive; do archives+=("$archive"); done < <(
  hack/images/build.sh operator
  IMAGE_TAG=0.1.0 hack/images/build.sh game
  IMAGE_TAG=0.2.0 hack/images/build.sh game
)
# make test passes the local-cluster binary its test build made (a `cargo build -p` here would
# compile the workspace crates again, with another feature set).
if [[ -n ${TETRIS_LOCAL_CLUSTER_BIN:-} ]]; then
  bin=$(dirname "$TETRIS_LOCAL_CLUSTER_BIN")
else
  cargo build -q -p local-cluster
  bin=${CARGO_TARGET_DIR:-target}/debug
fi

say "Starting the local cluster with a real node"
load=()
for a in "${archives[@]}"; do load+=(--load-image "$a"); done
"$bin/local-cluster" up --nodes 0 --real-node "${load[@]}" --kubeconfig-out "$run/kubeconfig" >"$run/cluster.log" 2>&1 &
pids+=($!)
wait_for "the cluster" 300 grep -q "^real node:" "$run/cluster.log"
grep -E "ready in|kubectl:|real node:" "$run/cluster.log"
export KUBECONFIG=$run/kubeconfig
kubectl() { "$("$bin/local-cluster" bin-dir)/kubectl" "$@"; }

say "kubectl apply -k deploy/ (image: localhost/tetris-operator:dev)"
mkdir -p "$run/overlay"
cat >"$run/overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$PWD/deploy" "$run/overlay")
images:
  - name: ghcr.io/tetris-operator/operator
    newName: localhost/tetris-operator
    newTag: dev
EOF
kubectl apply --server-side -k "$run/overlay"
kubectl -n tetris-operator rollout status deployment/tetris-operator --timeout=180s

say "kubectl apply -f examples/minimal.yaml (image: localhost/tetris-game-server)"
sed 's/^spec:$/spec:\n  image: localhost\/tetris-game-server/' examples/minimal.yaml | kubectl apply -f -
kubectl wait --for=condition=Ready "tetrisapp/$app" --timeout=180s

say "kubectl get tetrisapps"
kubectl get tetrisapps
say "What the operator made"
kubectl get configmap,deployment,service,persistentvolumeclaim,pods -l "gameops.dev/tetrisapp=$app" -o wide

say "Serving the game pod on http://127.0.0.1:$port (kubectl port-forward service/$app)"
# A port-forward follows one pod; when a rollout replaces it, start another.
(
  while true; do
    kubectl port-forward --address 127.0.0.1 "service/$app" "$port:80" >>"$run/port-forward.log" 2>&1 || true
    sleep 0.5
  done
) &
pids+=($!)
wait_for "the game through the port-forward" 60 curl -fsS "http://127.0.0.1:$port/readyz"

# Polls until `curl path` through the port-forward contains `text`.
served() { # what, path, text
  wait_for "$1" 180 bash -c "curl -fsS --max-time 2 'http://127.0.0.1:$port$2' | grep -q '$3'"
}

if [[ ${DEMO_SMOKE:-} == 1 ]]; then
  curl -fsS "http://127.0.0.1:$port/" | grep -qi "<html" || { echo "demo: / did not serve the game page" >&2; exit 1; }
  served "version 0.1.0" /version '"version":"0.1.0"'
  pod=$(kubectl get pods -l "gameops.dev/tetrisapp=$app" -o jsonpath='{.items[0].metadata.name}')
  kubectl logs "$pod" | grep -q . || { echo "demo: kubectl logs $pod printed nothing" >&2; exit 1; }
  kubectl exec "$pod" -- /usr/local/bin/tetris-game-server --version | grep -q 0.1.0 ||
    { echo "demo: kubectl exec did not run the game binary" >&2; exit 1; }
  say "kubectl patch tetrisapp $app: a new title"
  kubectl patch tetrisapp "$app" --type merge -p '{"spec":{"game":{"title":"Demo smoke"}}}'
  served "the new title" /api/config '"title":"Demo smoke"'
  say "kubectl patch tetrisapp $app: version 0.2.0"
  kubectl patch tetrisapp "$app" --type merge -p '{"spec":{"version":"0.2.0"}}'
  served "the new binary (version 0.2.0)" /version '"version":"0.2.0"'
  kubectl wait --for=jsonpath='{.status.version}'=0.2.0 "tetrisapp/$app" --timeout=180s
  kubectl get tetrisapps
  echo "demo smoke check: ok (real pods; TetrisApp Ready; game served on port $port; logs and exec work; a title change and a version change reached the game)"
  exit 0
fi
say "Play at http://127.0.0.1:$port   (Ctrl-C stops the demo; KUBECONFIG=$KUBECONFIG while it runs)"
echo "Try: kubectl patch tetrisapp $app --type merge -p '{\"spec\":{\"version\":\"0.2.0\"}}'"
echo "     kubectl logs deploy/$app; kubectl exec deploy/$app -- /usr/local/bin/tetris-game-server --version"
while true; do
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
