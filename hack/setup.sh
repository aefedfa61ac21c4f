#!/usr/bin/env bash
# Installs what `make demo` and `make test` need on a fresh Debian 12 machine, then builds the
# local control plane (cached; seconds when warm). Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_missing=()
command -v openssl >/dev/null || apt_missing+=(openssl)
command -v curl >/dev/null || apt_missing+=(curl)
command -v python3 >/dev/null || apt_missing+=(python3)
# `make crds` (hack/gen-spec-reference.py) reads the CRD with PyYAML.
python3 -c 'import yaml' 2>/dev/null || apt_missing+=(python3-yaml)
# The real node (testing/local-cluster/src/node.rs) and the image builds (hack/images): runc and the
# CNI plugins under containerd (built from Go modules), iptables and conntrack for kube-proxy,
# buildah for the Dockerfiles, debootstrap for the local Rust build base.
[[ -x /usr/sbin/runc ]] || apt_missing+=(runc)
[[ -x /usr/lib/cni/bridge ]] || apt_missing+=(containernetworking-plugins)
[[ -x /usr/sbin/iptables ]] || apt_missing+=(iptables)
[[ -x /usr/sbin/conntrack ]] || apt_missing+=(conntrack)
command -v buildah >/dev/null || apt_missing+=(buildah)
command -v debootstrap >/dev/null || apt_missing+=(debootstrap)
command -v nsenter >/dev/null || apt_missing+=(util-linux)
command -v ip >/dev/null || apt_missing+=(iproute2)
command -v gcc >/dev/null || apt_missing+=(gcc libc6-dev)
# The Argo CD tests (operator/tests/argocd) run redis beside Argo CD, as its install does; they
# build Argo CD itself on first use (hack/argocd/build.sh), so `make demo` does not wait for it.
command -v redis-server >/dev/null || apt_missing+=(redis-server)
# The game server's PostgreSQL scoreboard tests (game-server/tests/server/pg.rs) and
# `hack/bench-game.sh backends` run their own server from initdb, as the package's postgres user.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt_missing+=(postgresql)
if ((${#apt_missing[@]})); then
  # As root, or through passwordless sudo (the same rule as hack/test-web.sh and hack/test-deploy.sh).
  sudo_cmd=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { echo "[setup] apt-get install ${apt_missing[*]} needs root" >&2; exit 1; }
    sudo_cmd=(sudo -n)
  fi
  echo "[setup] apt-get install ${apt_missing[*]}"
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${apt_missing[@]}" >/dev/null
fi
for tool in cargo go node; do
  command -v "$tool" >/dev/null || { echo "[setup] $tool is required (see README: Requirements)" >&2; exit 1; }
done
hack/control-plane/build.sh >/dev/null
echo "[setup] control plane binaries: $(hack/control-plane/build.sh)"
hack/tools/build.sh >/dev/null
echo "[setup] helm and actionlint: $(hack/tools/build.sh)"
# The local base images the Dockerfiles build from here (registries of images are out of reach).
hack/images/base-images.sh >/dev/null
echo "[setup] base images: localhost/tetris/runtime-base:bookworm localhost/tetris/rust-build-base:1.95 localhost/tetris/pause:local"
