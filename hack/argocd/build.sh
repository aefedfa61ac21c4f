#!/usr/bin/env bash
# Builds Argo CD's application controller and repo server (one binary, `argocd`, that runs the
# component ARGOCD_BINARY_NAME names) and the health-check oracle from the Go module in this
# folder, into a cache outside git, and copies Argo CD's CRDs and git-verify-wrapper.sh (which
# the repo server runs from PATH) next to them.
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
# One build at a time (a test and a manual run may start together); a second caller waits, then
# finds the stamp.
mkdir -p "$cache/argocd"
exec 9>"$cache/argocd/.lock"
flock 9
if [[ -f $bin/.stamp && $(cat "$bin/.stamp") == "$want" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
start=$(date +%s)
log() { echo "[argocd] $(( $(date +%s) - start ))s: $*" >&2; }

(cd "$here" && go mod download github.com/argoproj/argo-cd/v3)
version=$(cd "$here" && go list -m -f '{{.Version}}' github.com/argoproj/argo-cd/v3)
module_dir=$(cd "$here" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)

# The controller serves metrics on 0.0.0.0 (a literal in controller/appcontroller.go, no flag),
# and servers here listen on loopback only. So the build uses a copy of Argo CD's module with that
# one literal changed (without docs/ and ui/, which these components do not build), through a
# generated go.mod that replaces the module with the copy. Nothing else differs from upstream.
src=$cache/argocd/src
rm -rf "$src" && mkdir -p "$src"
(cd "$module_dir" && tar --exclude=./docs --exclude=./ui -cf - .) | tar -xf - -C "$src"
chmod -R u+w "$src"
metrics_line='"0.0.0.0:%d", metricsPort'
if [[ $(grep -c "$metrics_line" "$src/controller/appcontroller.go") != 1 ]]; then
  echo "[argocd] controller/appcontroller.go no longer has the one metrics address this build changes" >&2
  exit 1
fi
sed -i "s/$metrics_line/\"127.0.0.1:%d\", metricsPort/" "$src/controller/appcontroller.go"
modfile=$cache/argocd/modfile
mkdir -p "$modfile"
cp "$here/go.sum" "$modfile/go.sum"
{ cat "$here/go.mod"; echo "replace github.com/argoproj/argo-cd/v3 => $src"; } > "$modfile/go.mod"

log "building the Argo CD $version application controller and repo server, and the health oracle"
(cd "$here" && go build -trimpath -modfile "$modfile/go.mod" -ldflags "-s -w -X github.com/argoproj/argo-cd/v3/common.version=${version#v}" \
  -o "$bin/" ./argocd ./health-oracle)

# The CRDs, and the script the repo server runs for every revision (upstream's image installs it).
cp "$module_dir/manifests/crds/application-crd.yaml" "$module_dir/manifests/crds/appproject-crd.yaml" \
  "$module_dir/hack/git-verify-wrapper.sh" "$bin/"
# Module files are read-only and never executable.
chmod u+w "$bin"/*.yaml && chmod 0755 "$bin/git-verify-wrapper.sh"
echo "$version" > "$bin/version"

echo "$want" > "$bin/.stamp"
log "done"
echo "$bin"
