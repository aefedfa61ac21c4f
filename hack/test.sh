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
suite rust-tests cargo test --workspace --no-fail-fast
wait "$images_pid" 2>/dev/null || true
suite web hack/test-web.sh
suite deploy hack/test-deploy.sh
# The README's first command, end to end, answering once instead of waiting for Ctrl-C.
demo_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
suite demo env DEMO_SMOKE=1 DEMO_PORT="$demo_port" hack/demo.sh

echo
((failed)) && echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
((failed == 0))
