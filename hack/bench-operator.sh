#!/usr/bin/env bash
# Operator benchmark (not a test): creates N TetrisApps (default N = 100 and 500) against the local
# control plane and prints, per N: time until all are Ready, writes per app (audit log and the
# operator's own counter), a resync's writes, the operator's peak RSS and reconcile p50/p99.
# The figures and the command go to operator/BENCHMARKS.md.
#
#   hack/bench-operator.sh            # N = 100 and 500
#   BENCH_SIZES="50" hack/bench-operator.sh
#
# Bounded: every wait has a deadline (BENCH_TIMEOUT seconds per size, default 900), and the
# cluster and operator are stopped on exit, also on failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sizes=${BENCH_SIZES:-"100 500"}
timeout_s=${BENCH_TIMEOUT:-900}
concurrency=${BENCH_CONCURRENCY:-16}
work=$(mktemp -d)
out_md="$root/operator/BENCHMARKS.md"
cmdline="hack/bench-operator.sh${BENCH_SIZES:+ (BENCH_SIZES=\"$BENCH_SIZES\")}"

cluster_pid="" operator_pid=""
cleanup() {
  [[ -n $operator_pid ]] && kill "$operator_pid" 2>/dev/null || true
  [[ -n $cluster_pid ]] && kill "$cluster_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building release binaries" >&2
(cd "$root" && cargo build --release -q -p tetris-operator -p local-cluster)
bin=${CARGO_TARGET_DIR:-$root/target}/release

echo "== starting the local control plane" >&2
# 250 pods fit on one fake node; 4 nodes hold every pod of the 100 and 500 runs.
"$bin/local-cluster" up --nodes 4 --kubeconfig-out "$work/kubeconfig" >"$work/cluster.log" 2>&1 &
cluster_pid=$!
for _ in $(seq 1 600); do
  grep -q '^KUBECONFIG=' "$work/cluster.log" 2>/dev/null && break
  kill -0 "$cluster_pid" 2>/dev/null || { cat "$work/cluster.log" >&2; exit 1; }
  sleep 1
done
grep -q '^KUBECONFIG=' "$work/cluster.log" || { echo "cluster did not start" >&2; exit 1; }
cluster_dir=$(sed -n 's/^dir: //p' "$work/cluster.log")
kubectl=$(sed -n 's/^kubectl: //p' "$work/cluster.log")
export KUBECONFIG=$work/kubeconfig
audit=$cluster_dir/audit.log


"$kubectl" apply --server-side -f "$root/crds/tetrisapps.gameops.dev.yaml" >/dev/null
"$kubectl" wait --for=condition=Established crd/tetrisapps.gameops.dev --timeout=60s >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "== starting the operator (release, concurrency $concurrency)" >&2
"$bin/tetris-operator" run --probe-address "127.0.0.1:$port" --leader-election=false \
  --concurrency "$concurrency" --resync-seconds 3600 --log-level warn >"$work/operator.log" 2>&1 &
operator_pid=$!
for _ in $(seq 1 60); do
  curl -sf "127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.5
done

metrics() { curl -sf "127.0.0.1:$port/metrics"; }
writes_total() { metrics | awk '/^tetris_operator_writes_total/ {s += $2} END {print s + 0}'; }
reconciles_total() { metrics | awk '/^tetris_operator_reconciles_total/ {print $2}'; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$operator_pid/status"; }

# Reconcile-duration quantiles interpolated from the histogram buckets, optionally as the
# difference to an earlier scrape (so each size reports its own reconciles).
quantiles() {
  python3 - "$1" "$2" <<'EOF'
import re, sys
def parse(path):
    buckets = {}
    for line in open(path):
        m = re.match(r'tetris_operator_reconcile_duration_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            buckets[float("inf") if m[1] == "+Inf" else float(m[1])] = float(m[2])
    return buckets
after, before = parse(sys.argv[1]), parse(sys.argv[2])
b = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
total = b[-1][1] if b else 0
def q(p):
    if total == 0: return float("nan")
    rank, prev_le, prev_c = p * total, 0.0, 0.0
    for le, c in b:
        if c >= rank:
            if le == float("inf"): return prev_le
            return prev_le + (le - prev_le) * ((rank - prev_c) / max(c - prev_c, 1e-9))
        prev_le, prev_c = le, c
    return prev_le
print(f"{q(0.5) * 1000:.1f} {q(0.99) * 1000:.1f} {int(total)}")
EOF
}

# Writes in a namespace by anyone but kubectl and the control plane (i.e. the operator).
audit_writes() {
  python3 - "$audit" "$1" <<'EOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("objectRef", {}).get("namespace") != sys.argv[2]: continue
    if e.get("verb") not in ("create", "update", "patch", "delete", "deletecollection"): continue
    if e.get("user", {}).get("username") != "admin": continue
    if e.get("userAgent", "").startswith("kubectl"): continue
    n += 1
print(n)
EOF
}

results=()
for n in $sizes; do
  ns=bench-$n
  "$kubectl" create namespace "$ns" >/dev/null
  python3 - "$n" >"$work/apps-$n.yaml" <<'EOF'
import sys
for i in range(int(sys.argv[1])):
    print(f"---\napiVersion: gameops.dev/v1alpha1\nkind: TetrisApp\nmetadata:\n  name: app-{i:04d}\nspec:\n  version: 1.0.0\n")
EOF
  metrics >"$work/before-$n.txt"
  w0=$(writes_total)
  echo "== N=$n: creating $n TetrisApps" >&2
  start=$(date +%s.%N)
  "$kubectl" apply --server-side -n "$ns" -f "$work/apps-$n.yaml" >/dev/null
  deadline=$(( $(date +%s) + timeout_s ))
  while :; do
    ready=$("$kubectl" get tetrisapps -n "$ns" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$' || true)
    [[ $ready -ge $n ]] && break
    if [[ $(date +%s) -ge $deadline ]]; then
      echo "N=$n: only $ready of $n Ready after ${timeout_s}s" >&2
      exit 1
    fi
    sleep 1
  done
  end=$(date +%s.%N)
  elapsed=$(python3 -c "print(f'{$end - $start:.1f}')")
  sleep 5 # let the last status writes land in the audit log
  w1=$(writes_total)
  metrics >"$work/after-$n.txt"
  read -r p50 p99 count < <(quantiles "$work/after-$n.txt" "$work/before-$n.txt")
  audit_n=$(audit_writes "$ns")
  per_app_audit=$(python3 -c "print(f'{$audit_n / $n:.2f}')")
  per_app_metric=$(python3 -c "print(f'{($w1 - $w0) / $n:.2f}')")

  # A reconcile of every app with nothing to change: an annotation changes no spec field (no new
  # generation) but triggers a reconcile; the operator's write counter must not move.
  r0=$(reconciles_total); w2=$(writes_total)
  echo "== N=$n: resync check (annotating every app forces a reconcile without a spec change)" >&2
  "$kubectl" annotate tetrisapps -n "$ns" --all bench/resync="$(date +%s)" --overwrite >/dev/null
  deadline=$(( $(date +%s) + 120 ))
  while [[ $(( $(reconciles_total) - r0 )) -lt $n && $(date +%s) -lt $deadline ]]; do sleep 1; done
  sleep 2
  resync_writes=$(( $(writes_total) - w2 ))
  rss=$(peak_rss_mib)
  line="| $n | ${elapsed}s | $per_app_audit | $per_app_metric | $resync_writes | ${rss} MiB | ${p50} ms | ${p99} ms | $count |"
  echo "$line"
  results+=("$line")
done

header="| N | all Ready after | writes/app (audit log) | writes/app (operator counter) | writes in a no-op reconcile of all N | operator peak RSS | reconcile p50 | reconcile p99 | reconciles |"
sep="|---|---|---|---|---|---|---|---|---|"
{
  echo "# Operator benchmarks"
  echo
  echo "Produced by \`$cmdline\` on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB,"
  echo "against the local control plane (real kube-apiserver, controller-manager, scheduler; 4 kwok nodes), release build,"
  echo "operator concurrency $concurrency. Each app: \`spec.version\` only (1 replica, Retain). \"All Ready\" is from the"
  echo "\`kubectl apply\` of all N apps until every one has \`Ready=True\`. Writes per app count the operator's"
  echo "create/patch/delete requests in the app namespace (children, status, events). The no-op reconcile column is"
  echo "the operator's writes while it reconciles every app once more with nothing to change (zero is the goal)."
  echo "Reconcile quantiles are interpolated from the duration histogram's buckets (that size's reconciles only);
peak RSS is the operator's VmHWM since start, so the 500 row covers 600 watched apps (both namespaces)."
  echo
  echo "$header"
  echo "$sep"
  printf '%s\n' "${results[@]}"
} >"$out_md"
echo
echo "$header"
echo "$sep"
printf '%s\n' "${results[@]}"
echo "(written to operator/BENCHMARKS.md; command: $cmdline)"
