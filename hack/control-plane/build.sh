#!/usr/bin/env bash
# Builds the local cluster (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd,
# kwok; and for the real node kubelet, kube-proxy, containerd with its runc shim and ctr, and a
# local-path volume provisioner) from the Go modules pinned in this folder, into a cache outside git.
#
# A stamp file holds a hash of every go.mod/go.sum and this script; when it matches, nothing is rebuilt
# and the script returns in well under a second. Prints the bin directory on its last line.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${TETRIS_CACHE:-$HOME/.cache/tetris-operator}
bin=$cache/control-plane/bin
k8s_version=v1.36.3

stamp_input() {
  cat "$here/build.sh" "$here"/*/go.mod "$here"/*/go.sum "$here"/provisioner/*.go
  go version
}
want=$(stamp_input | sha256sum | cut -d' ' -f1)
if [[ -f $bin/.stamp && $(cat "$bin/.stamp") == "$want" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$bin"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
start=$(date +%s)
log() { echo "[control-plane] $(( $(date +%s) - start ))s: $*" >&2; }

# The version variables make /version (and kubectl version) report the real release instead of v0.0.0.
major=${k8s_version#v}; major=${major%%.*}
minor=${k8s_version#v*.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, kube-proxy $k8s_version (cold: ~10 min on 2 cores)"
(cd "$here/kubernetes" && go build -trimpath -ldflags "$ldflags" -o "$bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
  k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
log "building containerd, containerd-shim-runc-v2, ctr"
(cd "$here/containerd" && go build -trimpath -ldflags "-s -w" -o "$bin/" \
  github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
  github.com/containerd/containerd/v2/cmd/ctr)
log "building local-path-provisioner"
(cd "$here/provisioner" && go build -trimpath -ldflags "-s -w" -o "$bin/local-path-provisioner" .)
log "building etcd"
(cd "$here/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
log "building kwok"
(cd "$here/kwok" && go build -trimpath -ldflags "-s -w" -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok)

# kwok v0.8 needs stage files from its own module directory; copy them next to the binaries.
kwok_dir=$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
rm -rf "$bin/kwok-stages" && mkdir -p "$bin/kwok-stages"
for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml \
  volume/fast/pvc-provision.yaml volume/fast/pv-bind.yaml volume/fast/pv-delete.yaml volume/fast/pvc-delete.yaml \
  volume/fast/storage-class.yaml; do
  cp "$kwok_dir/kustomize/stage/$f" "$bin/kwok-stages/$(echo "$f" | tr / -)"
done
chmod -R u+w "$bin/kwok-stages"

echo "$want" > "$bin/.stamp"
log "done"
echo "$bin"
