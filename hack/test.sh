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
suite rust-tests cargo test --workspace
suite web hack/test-web.sh
suite deploy hack/test-deploy.sh
# The README's first command, end to end, answering once instead of waiting for Ctrl-C.
demo_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
suite demo env DEMO_SMOKE=1 DEMO_PORT="$demo_port" hack/demo.sh

echo
((failed)) && echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
((failed == 0))
