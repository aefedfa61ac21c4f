#!/usr/bin/env bash
# Makes, offline, the two base images the Dockerfiles take as build arguments, from Debian packages:
#
#   localhost/tetris/runtime-base:bookworm   the equivalent of gcr.io/distroless/cc-debian*:nonroot:
#                                            glibc, libgcc, CA certificates, tzdata, a nonroot user
#                                            (65532), no shell, no package manager
#   localhost/tetris/rust-build-base:1.95    the equivalent of rust:1.95-*: Debian bookworm (debootstrap)
#                                            with gcc and the machine's own Rust toolchain
#
# Registries of container images cannot be reached here; real users build from the public images
# (the Dockerfiles' defaults). Each image is made once and kept in the buildah storage under the
# cache. The bases are remade when `bases_recipe` below changes (bump it with any change to how they
# are made: a new base image ID invalidates every cached layer built on it); the pause image when
# pause.c changes.
#
# Also makes localhost/tetris/pause:local, the real node's sandbox image (hack/images/pause.c, static).
# Prints `pause ARCHIVE` (the pause image as an OCI archive for `ctr images import`) on stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/images/lib.sh
source "$here/lib.sh"
runtime_ref=localhost/tetris/runtime-base:bookworm
build_ref=localhost/tetris/rust-build-base:1.95
mkdir -p "$images_dir"
# One maker at a time (the cluster asks for the pause image while a build may be checking the bases).
exec 8>"$images_dir/.base.lock"
flock 8
bases_recipe="1 $(rustc --version)"
start=$SECONDS
log() { echo "[base-images] $((SECONDS - start))s: $*" >&2; }
work=$(mktemp -d "$images_dir/base.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- pause: one static binary in an empty image.
pause_ref=localhost/tetris/pause:local
pause_archive=$images_dir/archives/pause.tar
want=$(sha256sum <"$here/pause.c" | cut -d' ' -f1)
if ! [[ -f $images_dir/.pause-stamp && $(cat "$images_dir/.pause-stamp") == "$want" && -f $pause_archive ]]; then
  log "pause image"
  mkdir -p "$work/pause" "$images_dir/archives"
  gcc -static -Os -s -o "$work/pause/pause" "$here/pause.c"
  ctr=$(bh from scratch)
  bh copy "$ctr" "$work/pause/pause" /pause >/dev/null
  bh config --entrypoint '["/pause"]' --user 65535:65535 "$ctr"
  bh commit -q --rm "$ctr" "$pause_ref" >/dev/null
  rm -f "$pause_archive"
  bh push -q "$pause_ref" "oci-archive:$pause_archive:$pause_ref" >&2
  echo "$want" >"$images_dir/.pause-stamp"
fi
echo "pause $pause_archive"

stamp=$images_dir/.base-stamp
if [[ -f $stamp && $(cat "$stamp") == "$bases_recipe" ]] && bh inspect --type image "$runtime_ref" >/dev/null 2>&1 \
  && bh inspect --type image "$build_ref" >/dev/null 2>&1; then
  exit 0
fi

# --- runtime base: files of Debian packages, unpacked without running any maintainer script.
log "runtime base from Debian packages"
root=$work/runtime
mkdir -p "$root" "$work/debs"
(cd "$work/debs" && apt-get download -q libc6 libgcc-s1 tzdata netbase 2>/dev/null)
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/lintian" "$root/usr/share/locale"
mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot" "$root/root"
chmod 1777 "$root/tmp"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$root/etc/group"
chown 65532:65532 "$root/home/nonroot"
ctr=$(bh from scratch)
bh copy "$ctr" "$root/" / >/dev/null
bh config --user 65532:65532 --workingdir /home/nonroot \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --label org.opencontainers.image.description="local stand-in for distroless/cc nonroot (Debian bookworm packages)" "$ctr"
bh commit -q --rm "$ctr" "$runtime_ref" >/dev/null

# --- build base: a minimal Debian with a C toolchain (cc-rs builds SQLite and ring) and Rust.
log "build base: debootstrap bookworm (minbase + gcc)"
deb_root=$work/build
debootstrap --variant=minbase --include=gcc,libc6-dev,ca-certificates,pkg-config bookworm "$deb_root" \
  http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# The machine's CA bundle, so cargo inside a build trusts what the host trusts (a TLS-inspecting
# proxy in front of the crate registry, for one).
cp /etc/ssl/certs/ca-certificates.crt "$deb_root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$deb_root"/var/cache/apt/archives/*.deb "$deb_root"/var/lib/apt/lists/* "$deb_root/usr/share/doc" "$deb_root/usr/share/man"
log "build base: the machine's Rust toolchain ($(rustc --version))"
toolchain=$(rustc --print sysroot)
mkdir -p "$deb_root/usr/local/rust" "$deb_root/usr/local/cargo/bin"
tar -C "$toolchain" --exclude=share/doc -cf - . | tar -C "$deb_root/usr/local/rust" -xf -
for tool in cargo rustc rustdoc; do ln -sf ../../rust/bin/$tool "$deb_root/usr/local/cargo/bin/$tool"; done
ctr=$(bh from scratch)
bh copy "$ctr" "$deb_root/" / >/dev/null
bh config --env CARGO_HOME=/usr/local/cargo --env PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --label org.opencontainers.image.description="local stand-in for rust:1.95 (Debian bookworm debootstrap + the host's Rust toolchain)" "$ctr"
bh commit -q --rm "$ctr" "$build_ref" >/dev/null
echo "$bases_recipe" >"$stamp"
log "done: $runtime_ref $build_ref"
