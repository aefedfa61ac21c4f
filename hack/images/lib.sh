# shellcheck shell=bash
# Shared by the image scripts: buildah with its storage in the cache (outside any clone), so layers
# and base images survive from one run to the next.
cache=${TETRIS_CACHE:-$HOME/.cache/tetris-operator}
images_dir=$cache/images
# TMPDIR: buildah keeps RUN --mount=type=cache directories under it (buildah-cache/).
bh() {
  mkdir -p "$images_dir/tmp"
  TMPDIR=$images_dir/tmp buildah --root "$images_dir/storage" --runroot "$images_dir/runroot" --storage-driver overlay "$@"
}
