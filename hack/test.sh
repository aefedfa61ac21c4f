#!/usr/bin/env bash
# Runs every test and check; prints one line per suite and a closing "N passed, N failed" line.
# Every suite runs even when an earlier one failed, so one run shows every failure.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0 failures=()
suite() {
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name: $*"
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - start))s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - start))s)"
  fi
}

suite rustfmt cargo fmt --all -- --check
suite clippy cargo clippy --workspace --all-targets -- -D warnings
# The images the real-node tests and the demo run (the tags of operator/tests/real_node/support.rs
# and hack/demo.sh), built in the background while the first test binaries run: those wait on the
# control plane more than they use the CPU. The tests build them again (a cached no-op) if this
# has not finished, or has failed (they then print why).
(hack/images/build.sh operator && IMAGE_TAG=0.1.0 hack/images/build.sh game &&
  IMAGE_TAG=0.2.0 hack/images/build.sh game && IMAGE_TAG=0.3.0-unready hack/images/build.sh game &&
  IMAGE_TAG=0.3.0-errors hack/images/build.sh game) >/dev/null 2>"${TMPDIR:-/tmp}/tetris-test-images.log" &
images_pid=$!
# The game server's test build first, then the web lane starts on its binary while the rest of
# the workspace compiles. Everything below runs the binaries of this test build (in
# $CARGO_TARGET_DIR/debug/): a `cargo build -p <one package>` would compile the workspace crates
# once more, with another feature set (cargo unifies features over the packages and targets it
# builds; `--workspace --test server` resolves them as the whole build does, so nothing of it is
# compiled twice).
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
export TETRIS_OPERATOR_BIN=$target_dir/debug/tetris-operator
export TETRIS_SERVER_BIN=$target_dir/debug/tetris-game-server
export TETRIS_LOCAL_CLUSTER_BIN=$target_dir/debug/local-cluster
suite build-game-server cargo test --workspace --no-run --test server
# Two lanes at once: the Rust tests mostly wait on control planes, pods and real-time matches, and
# so do the browser tests (Chromium plays in real time), so on 2 cores they overlap well: the
# warm run is about as long as the longer lane instead of the sum of both. The web lane's output is
# kept in a file and printed whole when it ends, so the two never interleave.
lanes=${TMPDIR:-/tmp}/tetris-test-lanes.$$
mkdir -p "$lanes"
lane() {
  local name=$1; shift
  local start=$SECONDS
  if "$@" >"$lanes/$name.log" 2>&1; then echo "ok $((SECONDS - start))" >"$lanes/$name.rc"; else echo "FAILED $((SECONDS - start))" >"$lanes/$name.rc"; fi
}
lane web hack/test-web.sh &
web_pid=$!
# Every other test binary.
suite build cargo test --workspace --no-run
# The test binaries two at a time (see hack/run-test-binaries.py for why not `cargo test`), and the
# README's first command end to end, answering once instead of waiting for Ctrl-C, in a lane of
# its own once the real-node tests free the node.
demo_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
suite rust-tests hack/run-test-binaries.py --jobs 2 \
  --real-node-shell "demo (make demo, answering once)=DEMO_SMOKE=1 DEMO_PORT=$demo_port hack/demo.sh"
wait "$web_pid" 2>/dev/null || true
echo "=== web: hack/test-web.sh (ran beside rust-tests)"
cat "$lanes/web.log"
read -r web_state web_seconds <"$lanes/web.rc"
if [[ $web_state == ok ]]; then
  passed=$((passed + 1)); echo "=== web: ok (${web_seconds}s)"
else
  failed=$((failed + 1)); failures+=(web); echo "=== web: FAILED (${web_seconds}s)"
fi
rm -rf "$lanes"
wait "$images_pid" 2>/dev/null || true
suite deploy hack/test-deploy.sh

echo
((failed)) && echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
((failed == 0))
