#!/usr/bin/env bash
# Tests of the game server's web client:
#   1. rules-engine unit tests  (node --test game-server/web/test/)
#   2. browser tests            (headless Chromium + playwright-core against the real server binary)
# Installs what is missing (npm ci in game-server/browser-tests, Debian's chromium via apt-get),
# builds the server with cargo, and exits non-zero on any failure. Works without a terminal (CI=true).
#
# Environment:
#   CARGO_TARGET_DIR   where cargo builds (default: the repo's target/)
#   CHROMIUM_PATH      browser binary (default: /usr/bin/chromium)
#   TETRIS_SERVER_BIN  a built server to test instead of building one
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
start=$(date +%s)

say() { printf '==> %s\n' "$*"; }
die() { printf 'test-web: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node (>= 20) is required"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node >= 20 is required, found $(node --version)"

say "rules-engine unit tests"
node --test game-server/web/test/

if [ ! -x "$CHROMIUM_PATH" ]; then
  say "installing chromium (Debian package)"
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo -n"; else die "chromium is missing and apt-get needs root"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
  [ -x "$CHROMIUM_PATH" ] || die "chromium still missing at $CHROMIUM_PATH after apt-get install"
fi

tests_dir=game-server/browser-tests
if [ ! -f "$tests_dir/node_modules/playwright-core/package.json" ] \
  || [ "$tests_dir/package-lock.json" -nt "$tests_dir/node_modules/.package-lock.json" ]; then
  say "npm ci in $tests_dir"
  (cd "$tests_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

# `make test` builds the server first and runs this beside `cargo test`, which holds cargo's lock
# on the target directory while its tests run; it passes the binary in TETRIS_SERVER_BIN.
if [ -z "${TETRIS_SERVER_BIN:-}" ]; then
  say "building tetris-game-server"
  cargo build -p tetris-game-server
  target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
  case "$target_dir" in /*) ;; *) target_dir="$ROOT/$target_dir" ;; esac
  export TETRIS_SERVER_BIN="$target_dir/debug/tetris-game-server"
fi
[ -x "$TETRIS_SERVER_BIN" ] || die "no server binary at $TETRIS_SERVER_BIN"

say "browser tests (screenshots in artifacts/browser/)"
(cd "$tests_dir" && node --test --test-concurrency=1 tests/)

say "web tests passed in $(( $(date +%s) - start )) s"
