#!/usr/bin/env bash
# Installs what `make demo` and `make test` need on a fresh Debian 12 machine, then builds the
# local control plane (cached; seconds when warm). Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_missing=()
command -v openssl >/dev/null || apt_missing+=(openssl)
command -v curl >/dev/null || apt_missing+=(curl)
command -v python3 >/dev/null || apt_missing+=(python3)
if ((${#apt_missing[@]})); then
  echo "[setup] apt-get install ${apt_missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi
for tool in cargo go node; do
  command -v "$tool" >/dev/null || { echo "[setup] $tool is required (see README: Requirements)" >&2; exit 1; }
done
hack/control-plane/build.sh >/dev/null
echo "[setup] control plane binaries: $(hack/control-plane/build.sh)"
hack/tools/build.sh >/dev/null
echo "[setup] helm and actionlint: $(hack/tools/build.sh)"
