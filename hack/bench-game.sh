#!/usr/bin/env bash
# Benchmark of the game server (not a test): builds release, measures on 127.0.0.1 only, prints every
# figure with the command that produced it, and writes game-server/BENCHMARKS.md.
#
#   hack/bench-game.sh            # full run (about 2 minutes on 2 cores)
#   hack/bench-game.sh backends   # only the scoreboard backends and the cross-replica relay (about
#                                 # 1 minute): score submits on SQLite against PostgreSQL, and the duo
#                                 # relay with both players on one replica against one on each of two
#                                 # replicas; writes game-server/BENCHMARKS-backends.md
#
# Every load is bounded in count and time (see the flags below and examples/loadgen.rs).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PORT="${BENCH_PORT:-18080}"
WORK="$(mktemp -d /tmp/bench-game.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '\n== %s\n' "$*" >&2; }
MODE="${1:-full}"
[[ "$MODE" == full || "$MODE" == backends ]] || { echo "usage: $0 [backends]" >&2; exit 2; }

log "building release binaries"
cargo build --release -p tetris-game-server --bin tetris-game-server --example loadgen >&2
BIN="$TARGET/release/tetris-game-server"
LOADGEN="$TARGET/release/examples/loadgen"

# 10,000 sockets need 10,000 descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ulimit -n 65536 2>/dev/null || true
log "open files limit: $(ulimit -n)"

if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian package)"
  if ! apt-get install -y wrk >/dev/null 2>&1; then
    apt-get update >/dev/null && apt-get install -y wrk >/dev/null
  fi
fi

declare -A FIG CMD
# Load generators run at a lower priority (nice 10) so that on this shared 2-core machine they do not
# starve the server they measure; the server runs at normal priority.
NICE="nice -n 10"
run() { # prints the command, runs it, keeps its output in $WORK/out and the command in $LAST_CMD
  local cmd="$*"
  log "$cmd"
  eval "$cmd" | tee "$WORK/out" >&2
  LAST_CMD="$cmd"
}
pick() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/out"; }
start_server() { # start_server DBNAME
  TETRIS_ADDRESS=127.0.0.1 TETRIS_PORT=$PORT TETRIS_DATABASE="$WORK/$1" TETRIS_LOG_LEVEL=warn \
    TETRIS_MAX_CONNECTIONS=20000 TETRIS_MAX_ROOMS=20000 "$BIN" &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.05
  done
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null
}
stop_server() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""
}

if [[ "$MODE" == backends ]]; then
  LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
  # A PostgreSQL of its own (Debian's postgresql package), as the tests run it: initdb in the work
  # directory, 127.0.0.1 only, as the postgres user when run as root. fsync stays on: acknowledged
  # means on disk, as with SQLite's synchronous=FULL.
  PGBIN="${TETRIS_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
  PGPORT="${BENCH_PG_PORT:-15432}"
  PGDIR="$WORK/pg"; mkdir -p "$PGDIR"
  AS=()
  if [[ $(id -u) == 0 ]]; then chown postgres "$WORK" "$PGDIR"; AS=(runuser -u postgres --); fi
  "${AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U tetris --auth=trust -E UTF8 --no-instructions >/dev/null
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
  pg_stop() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true; }
  trap 'pg_stop; cleanup' EXIT
  PGURL="postgresql://tetris@127.0.0.1:$PGPORT/postgres?sslmode=disable"
  PG_ENV="TETRIS_SCOREBOARD_BACKEND=postgres TETRIS_DATABASE_URL=$PGURL TETRIS_DATABASE_POOL_SIZE=10 TETRIS_POD_IP=127.0.0.1 TETRIS_SCOREBOARD_SIZE=100"
  SECOND_PID=""
  start_pg_server() { # start_pg_server PORT: a PostgreSQL replica on PORT; sets LAST_PID
    env $PG_ENV TETRIS_ADDRESS=127.0.0.1 TETRIS_PORT="$1" TETRIS_DATABASE="$WORK/unused.db" TETRIS_LOG_LEVEL=warn \
      TETRIS_MAX_CONNECTIONS=20000 TETRIS_MAX_ROOMS=20000 "$BIN" &
    LAST_PID=$!
    for _ in $(seq 1 200); do
      curl -fsS "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && break
      sleep 0.05
    done
    curl -fsS "http://127.0.0.1:$1/readyz" >/dev/null
  }

  # 1. Score submits of real games (each replayed), 50 in flight: SQLite, then (after 2.) PostgreSQL.
  start_server backends.db
  run "$NICE $LOADGEN submit --addr 127.0.0.1:$PORT --concurrency 50 --count 20000"
  FIG[sq_rps]=$(pick submits_per_s); FIG[sq_p50]=$(pick submit_latency_ms_p50); FIG[sq_p99]=$(pick submit_latency_ms_p99); CMD[sq]=$LAST_CMD
  stop_server
  start_pg_server "$PORT"; SERVER_PID=$LAST_PID
  start_pg_server "$((PORT + 1))"; SECOND_PID=$LAST_PID
  # 2. Live scoreboard across replicas (on the still empty database, so every new player enters
  #    the board): 50 new bests submitted one at a time to replica A, each timed from its 201 to
  #    its arrival on a scoreboard page open on replica B (LISTEN/NOTIFY, then B's reload).
  run "$NICE $LOADGEN boards --addr 127.0.0.1:$PORT --watch 127.0.0.1:$((PORT + 1)) --count 50"
  FIG[bc_p50]=$(pick boards_latency_ms_p50); FIG[bc_p99]=$(pick boards_latency_ms_p99); FIG[bc_max]=$(pick boards_latency_ms_max); CMD[bc]="$PG_ENV $LAST_CMD"
  run "$NICE $LOADGEN submit --addr 127.0.0.1:$PORT --concurrency 50 --count 20000"
  FIG[pg_rps]=$(pick submits_per_s); FIG[pg_p50]=$(pick submit_latency_ms_p50); FIG[pg_p99]=$(pick submit_latency_ms_p99); CMD[pg]="$PG_ENV $LAST_CMD"

  # 3. Duo relay, 100 pairs at 50 state messages/s per player, on the two PostgreSQL replicas: both
  #    players on replica A, then the second player of each pair on replica B (relayed to A).
  run "$NICE $LOADGEN relay --addr 127.0.0.1:$PORT --pairs 100 --rate 50 --seconds 10"
  FIG[same_mps]=$(pick relay_msgs_per_s); FIG[same_p50]=$(pick relay_latency_ms_p50); FIG[same_p99]=$(pick relay_latency_ms_p99); CMD[same]=$LAST_CMD
  run "$NICE $LOADGEN relay --addr 127.0.0.1:$PORT --peer 127.0.0.1:$((PORT + 1)) --pairs 100 --rate 50 --seconds 10"
  FIG[cross_mps]=$(pick relay_msgs_per_s); FIG[cross_p50]=$(pick relay_latency_ms_p50); FIG[cross_p99]=$(pick relay_latency_ms_p99); CMD[cross]=$LAST_CMD
  kill -TERM "$SECOND_PID"; wait "$SECOND_PID" || true
  stop_server
  pg_stop
  LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
  MACHINE="$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
  PGVER="$("$PGBIN/postgres" --version)"
  {
    echo "# Scoreboard backends and the cross-replica relay"
    echo
    echo "Produced by \`hack/bench-game.sh backends\` on $(date -u +%Y-%m-%dT%H:%MZ): $MACHINE, loopback only,"
    echo "$PGVER on the same machine (fsync on). Servers, PostgreSQL and load generators share the 2 cores"
    echo "(generators at nice 10); load average $LOAD_BEFORE before, $LOAD_AFTER after."
    echo
    echo "| Measure | SQLite (one replica) | PostgreSQL |"
    echo "|---|---|---|"
    echo "| Score submits, each replayed (50 in flight, 20,000) | ${FIG[sq_rps]} /s | ${FIG[pg_rps]} /s |"
    echo "| Submit latency p50 / p99 | ${FIG[sq_p50]} / ${FIG[sq_p99]} ms | ${FIG[pg_p50]} / ${FIG[pg_p99]} ms |"
    echo
    echo "Live scoreboard across replicas: from the 201 on replica A to the new best on a page open on"
    echo "replica B, 50 submits one at a time: p50 ${FIG[bc_p50]} ms, p99 ${FIG[bc_p99]} ms, max ${FIG[bc_max]} ms."
    echo
    echo "| Duo relay, 100 pairs, 50 msgs/s per player (PostgreSQL replicas) | Both players on replica A | Second player on replica B (relayed to A) |"
    echo "|---|---|---|"
    echo "| Relayed messages/s | ${FIG[same_mps]} | ${FIG[cross_mps]} |"
    echo "| Relay latency p50 / p99 | ${FIG[same_p50]} / ${FIG[same_p99]} ms | ${FIG[cross_p50]} / ${FIG[cross_p99]} ms |"
    echo
    echo "Commands:"
    echo
    for k in sq pg bc same cross; do echo "- \`${CMD[$k]}\`"; done
  } > game-server/BENCHMARKS-backends.md
  cat game-server/BENCHMARKS-backends.md
  exit 0
fi

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Startup to ready and idle RSS (5 cold starts, median).
run "$LOADGEN startup --bin $BIN --dir $WORK --runs 5 --port $PORT"
FIG[startup_ms]=$(pick startup_to_ready_ms_median); CMD[startup_ms]=$LAST_CMD
FIG[idle_rss_mb]=$(awk -v k="$(pick idle_rss_kib_median)" 'BEGIN { printf "%.1f", k / 1024 }')
FIG[idle_anon_mb]=$(awk -v k="$(pick idle_rss_anon_kib_median)" 'BEGIN { printf "%.1f", k / 1024 }')

start_server bench.db

# 2. GET / with wrk, 50 connections.
run "$NICE wrk -t2 -c50 -d10s --latency http://127.0.0.1:$PORT/"
FIG[get_rps]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/out"); CMD[get_rps]=$LAST_CMD
FIG[get_p50_ms]=$(awk '$1 == "50%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }' "$WORK/out")

# 3. Duo relay. Each player sends 50 state messages/s (the server allows 60/s per socket).
#    a) latency at 100 pairs (10,000 msgs/s offered, 3x the original's throughput);
#    b) throughput at 700 pairs (70,000 msgs/s offered).
run "$NICE $LOADGEN relay --addr 127.0.0.1:$PORT --pairs 100 --rate 50 --seconds 10 --pid $SERVER_PID"
FIG[relay_lo_mps]=$(pick relay_msgs_per_s); FIG[relay_lo_p50]=$(pick relay_latency_ms_p50); FIG[relay_lo_p99]=$(pick relay_latency_ms_p99); CMD[relay_lo]=$LAST_CMD
FIG[relay_lo_cpu]=$(pick relay_server_cpu_ms); FIG[relay_lo_wait]=$(pick relay_server_runqueue_wait_ms)
run "$NICE $LOADGEN relay --addr 127.0.0.1:$PORT --pairs 700 --rate 50 --seconds 10 --pid $SERVER_PID"
FIG[relay_mps]=$(pick relay_msgs_per_s); FIG[relay_hi_p50]=$(pick relay_latency_ms_p50); FIG[relay_hi_p99]=$(pick relay_latency_ms_p99); CMD[relay_hi]=$LAST_CMD
FIG[relay_us]=$(pick relay_server_cpu_us_per_msg); FIG[relay_hi_cpu]=$(pick relay_server_cpu_ms); FIG[relay_hi_wait]=$(pick relay_server_runqueue_wait_ms)

# 4. Score submits of real games, each replayed by the server before it is stored: 20,000 from 50
#    concurrent keep-alive connections (the original's 395/s at 123 ms means about 49 in flight),
#    then 20,000 from 128.
run "$NICE $LOADGEN submit --addr 127.0.0.1:$PORT --concurrency 50 --count 20000 --pid $SERVER_PID"
FIG[submit_rps]=$(pick submits_per_s); FIG[submit_p50_ms]=$(pick submit_latency_ms_p50); FIG[submit_p99_ms]=$(pick submit_latency_ms_p99); CMD[submit50]=$LAST_CMD
FIG[submit_us]=$(pick submit_server_cpu_us_per_submit); FIG[submit_frames]=$(pick submit_frames_per_game)
run "$NICE $LOADGEN submit --addr 127.0.0.1:$PORT --concurrency 128 --count 20000"
FIG[submit128_rps]=$(pick submits_per_s); FIG[submit128_p50]=$(pick submit_latency_ms_p50); FIG[submit128_p99]=$(pick submit_latency_ms_p99); CMD[submit128]=$LAST_CMD

# 5. Duo relay latency during a submit flood: 100 pairs as in 3a while 128 connections submit real
#    games as fast as the server verifies them (the flood starts when its games are played).
FLOOD_CMD="$NICE $LOADGEN submit --addr 127.0.0.1:$PORT --concurrency 128 --count 120000"
log "$FLOOD_CMD (in the background)"
eval "$FLOOD_CMD" > "$WORK/flood" 2>&1 &
FLOOD_PID=$!
for _ in $(seq 1 1200); do grep -q submit_frames_per_game "$WORK/flood" && break; sleep 0.05; done
run "$NICE $LOADGEN relay --addr 127.0.0.1:$PORT --pairs 100 --rate 50 --seconds 10"
FIG[flood_p50]=$(pick relay_latency_ms_p50); FIG[flood_p99]=$(pick relay_latency_ms_p99); CMD[flood_relay]=$LAST_CMD
wait "$FLOOD_PID"
cat "$WORK/flood" >&2
FIG[flood_rps]=$(awk '$1 == "submits_per_s" { print $2 }' "$WORK/flood"); CMD[flood]=$FLOOD_CMD
stop_server

# 6. The rules engine alone: replay cost per 1,000 frames over the shared vectors (in-process).
run "$LOADGEN replay --vectors game-server/web/test/vectors --rounds 200"
FIG[replay_us]=$(pick replay_us_per_1000_frames); CMD[replay]=$LAST_CMD

# 7. 10,000 open WebSockets, on a fresh server (so memory freed by the earlier runs does not hide
#    the cost).
start_server sockets.db
run "$NICE $LOADGEN sockets --addr 127.0.0.1:$PORT --pid $SERVER_PID --count 10000"
FIG[ws_kb]=$(awk -v b="$(pick sockets_bytes_per_socket)" 'BEGIN { printf "%.1f", b / 1024 }'); CMD[ws_kb]=$LAST_CMD
FIG[ws_rss_mb]=$(awk -v k="$(pick sockets_rss_after_kib)" 'BEGIN { printf "%.1f", k / 1024 }')
FIG[ws_rss0_mb]=$(awk -v k="$(pick sockets_rss_before_kib)" 'BEGIN { printf "%.1f", k / 1024 }')
stop_server
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.1fx", a / b }'; }
MACHINE="$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
{
  echo "# Game server benchmarks"
  echo
  echo "Produced by \`hack/bench-game.sh\` on $(date -u +%Y-%m-%dT%H:%MZ): $MACHINE, loopback only. The load"
  echo "generators (\`game-server/examples/loadgen.rs\`, wrk) run on the same 2 cores at nice 10. The machine"
  echo "is shared: load average $LOAD_BEFORE before the run and $LOAD_AFTER after it, from other"
  echo "processes as well as this benchmark, so latency tails in particular vary from run to run."
  echo "\"Better by\" is original/ours for times and memory, ours/original for rates."
  echo
  echo "| Figure | Original | Ours | Better by |"
  echo "| --- | --- | --- | --- |"
  echo "| Startup to ready (median of 5) | 722 ms | ${FIG[startup_ms]} ms | $(ratio 722 "${FIG[startup_ms]}") |"
  echo "| Idle RSS | 91 MB | ${FIG[idle_rss_mb]} MB (of which anonymous ${FIG[idle_anon_mb]} MB) | $(ratio 91 "${FIG[idle_rss_mb]}") |"
  echo "| GET / at 50 connections | 1,110 req/s | ${FIG[get_rps]} req/s | $(ratio "${FIG[get_rps]}" 1110) |"
  echo "| GET / p50 latency | 44 ms | ${FIG[get_p50_ms]} ms | $(ratio 44 "${FIG[get_p50_ms]}") |"
  echo "| Duo relay throughput (700 pairs) | ~3,300 msgs/s | ${FIG[relay_mps]} msgs/s (p50 ${FIG[relay_hi_p50]} ms, p99 ${FIG[relay_hi_p99]} ms) | $(ratio "${FIG[relay_mps]}" 3300) |"
  echo "| Duo relay p99 latency (100 pairs, ${FIG[relay_lo_mps]} msgs/s) | 57 ms | ${FIG[relay_lo_p99]} ms (p50 ${FIG[relay_lo_p50]} ms) | $(ratio 57 "${FIG[relay_lo_p99]}") |"
  echo "| Score submits, each replayed (50 in flight) | 395 /s | ${FIG[submit_rps]} /s | $(ratio "${FIG[submit_rps]}" 395) |"
  echo "| Score submit p50 latency (50 in flight) | 123 ms | ${FIG[submit_p50_ms]} ms (p99 ${FIG[submit_p99_ms]} ms) | $(ratio 123 "${FIG[submit_p50_ms]}") |"
  echo "| Score submits (128 in flight) | 395 /s | ${FIG[submit128_rps]} /s (p50 ${FIG[submit128_p50]} ms, p99 ${FIG[submit128_p99]} ms) | $(ratio "${FIG[submit128_rps]}" 395) |"
  echo "| Server CPU per relayed message (700-pair run) | n/a | ${FIG[relay_us]} us (ran ${FIG[relay_hi_cpu]} ms, waited ${FIG[relay_hi_wait]} ms for a core) | |"
  echo "| Server CPU per verified score submit (50 in flight, ${FIG[submit_frames]}-frame games) | n/a | ${FIG[submit_us]} us | |"
  echo "| Replay cost of the rules engine (shared vectors) | n/a | ${FIG[replay_us]} us per 1,000 frames | |"
  echo "| Duo relay latency during a submit flood (100 pairs; ${FIG[flood_rps]} submits/s) | n/a | p50 ${FIG[flood_p50]} ms, p99 ${FIG[flood_p99]} ms (quiet: p50 ${FIG[relay_lo_p50]} ms, p99 ${FIG[relay_lo_p99]} ms) | |"
  echo "| Memory per open WebSocket | ~40 KB | ${FIG[ws_kb]} KB (RSS ${FIG[ws_rss0_mb]} MB -> ${FIG[ws_rss_mb]} MB at 10,000) | $(ratio 40 "${FIG[ws_kb]}") |"
  echo
  echo "Commands (as run by the script; \`\$WORK\` is a temporary directory):"
  echo
  echo '```'
  for k in startup_ms get_rps relay_lo relay_hi submit50 submit128 flood flood_relay replay ws_kb; do echo "${CMD[$k]//$WORK/\$WORK}"; done
  echo '```'
  echo
  echo "Notes:"
  echo "- Every submit is a real game for its ticket (played by \`tetris_game_server::rules::player\`, ${FIG[submit_frames]}"
  echo "  frames on average), replayed by the server on its replay threads before it is stored."
  echo "- Every score acknowledged in the submit runs was committed with \`synchronous=FULL\` (one fsync"
  echo "  per group commit) before its \`201\`."
  echo "- Idle RSS counts the binary's and libc's clean file-backed pages (shared, reclaimable); the"
  echo "  anonymous part (\`RssAnon\` in /proc/PID/status) is the server's own memory."
  echo "- Relay latency is measured from just before the sender's write to the receiver's read of the"
  echo "  relayed \`opponent_state\`, in one process, over loopback. During the 100-pair run the server's"
  echo "  threads ran ${FIG[relay_lo_cpu]} ms on a CPU and waited ${FIG[relay_lo_wait]} ms runnable for one (schedstat):"
  echo "  the latency tail is mostly time spent waiting for a core that other processes held."
  echo "- The relay throughput is bounded by the load generator, which needs more CPU per message than the"
  echo "  server (it frames, masks and time-stamps every message on 1,400 sockets) and shares its 2 cores:"
  echo "  the server's own cost is the \"server CPU per relayed message\" row."
} > game-server/BENCHMARKS.md
cat game-server/BENCHMARKS.md
