#!/usr/bin/env bash
# Tests what ships: Dockerfiles, workflows, the Helm chart, the generated docs and the Argo CD
# health check; with --cluster also the cluster tests in testing/deploy-tests.
#
#   hack/test-deploy.sh            every check that needs no cluster (`make test` runs this; it
#                                  runs the cluster tests through `cargo test --workspace`)
#   hack/test-deploy.sh --cluster  the same, then `cargo test -p deploy-tests`
#
# Installs what it needs when missing, without prompting: a virtualenv with hadolint, ShellCheck
# and PyYAML (hack/tools/requirements.txt), helm and actionlint built from hack/tools/*/go.mod,
# and Debian's lua5.1. Ends with "N passed, N failed".
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cache=${TETRIS_CACHE:-$HOME/.cache/tetris-operator}
with_cluster=false
case "${1:-}" in
  --cluster) with_cluster=true ;;
  "") ;;
  *) echo "usage: hack/test-deploy.sh [--cluster]" >&2; exit 2 ;;
esac

log() { echo "[test-deploy] $*" >&2; }

# Debian packages, installed without prompting (as root, or through passwordless sudo).
apt_install() {
  local sudo_cmd=()
  if [[ $(id -u) != 0 ]]; then sudo_cmd=(sudo -n); fi
  log "apt-get install $*"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- tools -------------------------------------------------------------------------------------
venv=$cache/tools/venv
want=$(sha256sum hack/tools/requirements.txt | cut -d' ' -f1)
if [[ ! -x $venv/bin/hadolint || $(cat "$venv/.stamp" 2>/dev/null) != "$want" ]]; then
  log "installing hadolint, shellcheck and PyYAML into $venv"
  rm -rf "$venv"
  # Debian's own python3 needs python3-venv for this; other Pythons ship it.
  python3 -m venv "$venv" 2>/dev/null || { rm -rf "$venv"; apt_install python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r hack/tools/requirements.txt
  echo "$want" > "$venv/.stamp"
fi
if ! command -v lua5.1 >/dev/null; then
  apt_install lua5.1
fi
tools_bin=$(hack/tools/build.sh | tail -n1)
export PATH="$tools_bin:$venv/bin:$PATH"
export HELM=$tools_bin/helm

# --- checks ------------------------------------------------------------------------------------
passed=0
failed=0
failures=()
output=$(mktemp)
trap 'rm -f "$output"' EXIT
# Runs one check; its output is shown only when it fails (the last line, a summary, always).
check() {
  local name=$1
  shift
  log "check: $name"
  if "$@" >"$output" 2>&1; then
    passed=$((passed + 1))
    local summary
    summary=$(tail -n1 "$output")
    echo "ok   $name${summary:+: $summary}"
  else
    failed=$((failed + 1))
    failures+=("$name")
    cat "$output"
    echo "FAIL $name"
  fi
}

crd_copy_is_current() {
  local generated=crds/tetrisapps.gameops.dev.yaml
  local copy=deploy/helm/tetris-operator/files/crds/tetrisapps.gameops.dev.yaml
  if ! cmp -s "$generated" "$copy"; then
    echo "$copy differs from $generated; run: cp $generated $copy" >&2
    return 1
  fi
}

helm_lint_every_option() {
  local chart=deploy/helm/tetris-operator digest
  digest=sha256:$(printf '0%.0s' {1..64})
  helm lint --strict "$chart" &&
    helm lint --strict "$chart" \
      --set networkPolicy.enabled=true --set metrics.serviceMonitor.enabled=true \
      --set namespace.create=true --set crds.keep=false --set image.digest="$digest" &&
    helm lint --strict "$chart" \
      --set crds.install=false --set replicaCount=1 --set leaderElection.enabled=false \
      --set serviceAccount.create=false --set serviceAccount.name=existing --set metrics.service.enabled=false
}

helm_refuses_two_replicas_without_leader_election() {
  local out
  if out=$(helm template t deploy/helm/tetris-operator --set leaderElection.enabled=false 2>&1); then
    echo "helm rendered two replicas without leader election" >&2
    return 1
  fi
  grep -q "requires leaderElection.enabled" <<<"$out"
}

check "hadolint Dockerfile.operator Dockerfile.game" hadolint Dockerfile.operator Dockerfile.game
# hadolint runs shellcheck over each RUN (the Dockerfiles have no heredocs: buildah 1.28, which
# builds them in the tests, cannot read those).
check "shellcheck hack/*.sh hack/tools/build.sh hack/images/*.sh hack/argocd/build.sh deploy/kubectl-plugin/kubectl-tetris" shellcheck -x hack/test-deploy.sh hack/demo.sh hack/setup.sh hack/tools/build.sh hack/images/*.sh hack/argocd/build.sh deploy/kubectl-plugin/kubectl-tetris
check "actionlint .github/workflows" actionlint -no-color
check "helm lint --strict (default values and every option)" helm_lint_every_option
check "helm refuses two replicas without leader election" helm_refuses_two_replicas_without_leader_election
check "chart CRD copy equals crds/tetrisapps.gameops.dev.yaml" crd_copy_is_current
check "docs/spec-reference.md is generated from the current CRD" "$venv/bin/python" hack/gen-spec-reference.py --check
check "chart README values table is generated from values.yaml" "$venv/bin/python" deploy/helm/values_doc.py --check
check "Argo CD health check (Lua 5.1) on every fixture" "$venv/bin/python" deploy/argocd/test/run.py --lua lua5.1

if [[ $with_cluster == true ]]; then
  # Streams its output: it takes minutes and prints its own per-test lines.
  log "check: cluster tests (cargo test -p deploy-tests)"
  if cargo test --package deploy-tests; then
    passed=$((passed + 1))
    echo "ok   cluster tests (cargo test -p deploy-tests)"
  else
    failed=$((failed + 1))
    failures+=("cluster tests (cargo test -p deploy-tests)")
    echo "FAIL cluster tests (cargo test -p deploy-tests)"
  fi
fi

echo
if ((failed > 0)); then
  printf 'failed: %s\n' "${failures[@]}" >&2
fi
echo "$passed passed, $failed failed"
((failed == 0))
