#!/usr/bin/env bash
# Operator benchmark (not a test): the same N TetrisApps three ways on one local control plane,
# side by side: the limit (a plain client server-side applying the operator's exact children),
# the operator, and one `helm upgrade --install` per app of a chart rendering the same objects.
# The driver is operator/examples/bench-operator.rs (its header says what each figure means).
#
#   hack/bench-operator.sh                          # N = 100, 500, 2000; helm up to 500
#   BENCH_SIZES="100" hack/bench-operator.sh        # one size
#   BENCH_HELM_MAX=2000 hack/bench-operator.sh      # helm at every size too
#   BENCH_WAYS="limit operator" hack/bench-operator.sh   # only some of the three ways
#
# Bounded: every wait in the driver has a deadline, and the cluster and operator are stopped on
# exit, also on failure. The tables replace the generated part of operator/BENCHMARKS.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
sizes=${BENCH_SIZES:-"100 500 2000"}
cmdline="hack/bench-operator.sh${BENCH_SIZES:+ (BENCH_SIZES=\"$BENCH_SIZES\")}${BENCH_HELM_MAX:+ (BENCH_HELM_MAX=$BENCH_HELM_MAX)}${BENCH_WAYS:+ (BENCH_WAYS=\"$BENCH_WAYS\")}"
helm_bin=$(command -v helm || echo "${TETRIS_CACHE:-$HOME/.cache/tetris-operator}/tools/bin/helm")
[[ -x $helm_bin ]] || helm_bin=$(hack/tools/build.sh >/dev/null && echo "${TETRIS_CACHE:-$HOME/.cache/tetris-operator}/tools/bin/helm")

echo "== building the release operator and the benchmark driver" >&2
cargo build --release -q -p tetris-operator --bin tetris-operator --example bench-operator
tables=$(mktemp)
trap 'rm -f "$tables"' EXIT
# Others may share the machine: the load before and after goes into the report with the figures.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
BENCH_SIZES=$sizes BENCH_OPERATOR_BIN=$target/release/tetris-operator BENCH_HELM_BIN=$helm_bin \
  BENCH_OUT=$tables "$target/release/examples/bench-operator"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

out=operator/BENCHMARKS.md
python3 - "$out" "$tables" "$cmdline" "$(nproc)" "$(free -g | awk '/Mem:/ {print $2}')" "$load_before" "$load_after" <<'EOF'
import datetime, sys
path, tables, cmd, cores, mem, before, after = sys.argv[1:]
begin, end = "<!-- bench-operator: begin -->", "<!-- bench-operator: end -->"
text = open(path).read()
stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
block = (f"{begin}\nProduced by `{cmd}` on {stamp}, {cores} cores, {mem} GiB; load average (1, 5, 15 min) "
         f"{before} before, {after} after.\n\n{open(tables).read().strip()}\n{end}")
if begin in text:
    head, rest = text.split(begin, 1)
    text = head + block + rest.split(end, 1)[1]
else:
    text = text.rstrip() + "\n\n" + block + "\n"
open(path, "w").write(text)
EOF
echo "(tables written to $out; command: $cmdline)"
