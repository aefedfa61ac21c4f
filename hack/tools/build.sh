#!/usr/bin/env bash
# Builds the lint and packaging tools this repo pins (helm, actionlint) from the Go modules in this
# folder, into a cache outside git. Each tool has a module of its own so their dependency graphs
# never constrain each other.
#
# A stamp holds a hash of every go.mod/go.sum, this script and the Go version; when it matches,
# nothing is rebuilt. Prints the bin directory on its last line.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${TETRIS_CACHE:-$HOME/.cache/tetris-operator}
bin=$cache/tools/bin

stamp_input() {
  cat "$here/build.sh" "$here"/*/go.mod "$here"/*/go.sum
  go version
}
if ! command -v go >/dev/null; then
  echo "hack/tools/build.sh: 'go' is not on PATH; install Go 1.26 or newer" >&2
  exit 1
fi
want=$(stamp_input | sha256sum | cut -d' ' -f1)
if [[ -f $bin/.stamp && $(cat "$bin/.stamp") == "$want" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
start=$(date +%s)
log() { echo "[tools] $(( $(date +%s) - start ))s: $*" >&2; }

# `go build` of a `tool` package uses the versions pinned in that module's go.mod and go.sum.
log "building actionlint"
(cd "$here/actionlint" && go build -trimpath -ldflags "-s -w" -o "$bin/actionlint" \
  github.com/rhysd/actionlint/cmd/actionlint)
helm_version=$(cd "$here/helm" && go list -m -f '{{.Version}}' helm.sh/helm/v4)
log "building helm $helm_version (cold: a few minutes on 2 cores)"
(cd "$here/helm" && go build -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version" \
  -o "$bin/helm" helm.sh/helm/v4/cmd/helm)

echo "$want" > "$bin/.stamp"
log "done"
echo "$bin"
