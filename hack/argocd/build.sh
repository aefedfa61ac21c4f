#!/usr/bin/env bash
# Builds Argo CD's application controller and repo server (one binary, `argocd`, that runs the
# component ARGOCD_BINARY_NAME names) and the health-check oracle from the Go module in this
# folder, into a cache outside git, and copies Argo CD's CRDs next to them.
#
# A stamp file holds a hash of go.mod, go.sum, the Go sources and this script; when it matches,
# nothing is rebuilt and the script returns in well under a second. Prints the bin directory on
# its last line.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${TETRIS_CACHE:-$HOME/.cache/tetris-operator}
bin=$cache/argocd/bin
# Argo CD v3.6 needs a newer Go than the machine's; the Go module proxy serves this toolchain.
export GOTOOLCHAIN=go1.27.3

stamp_input() {
  cat "$here/build.sh" "$here/go.mod" "$here/go.sum" "$here"/*/main.go
  echo "$GOTOOLCHAIN"
}
want=$(stamp_input | sha256sum | cut -d' ' -f1)
if [[ -f $bin/.stamp && $(cat "$bin/.stamp") == "$want" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
start=$(date +%s)
log() { echo "[argocd] $(( $(date +%s) - start ))s: $*" >&2; }

version=$(cd "$here" && go list -m -f '{{.Version}}' github.com/argoproj/argo-cd/v3)
log "building the Argo CD $version application controller and repo server, and the health oracle"
(cd "$here" && go build -trimpath -ldflags "-s -w -X github.com/argoproj/argo-cd/v3/common.version=${version#v}" \
  -o "$bin/" ./argocd ./health-oracle)

module_dir=$(cd "$here" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
cp "$module_dir/manifests/crds/application-crd.yaml" "$module_dir/manifests/crds/appproject-crd.yaml" "$bin/"
chmod u+w "$bin"/*.yaml
echo "$version" > "$bin/version"

echo "$want" > "$bin/.stamp"
log "done"
echo "$bin"
