#!/usr/bin/env bash
# User-space instructions that inference spends per cached POST /predict, counted by valgrind (cachegrind,
# no cache simulation): a figure that machine noise cannot move, for changes worth a few percent that wrk
# cannot tell apart on a shared 2-CPU machine.
#
#   scripts/instructions-per-predict.sh [BINARY]     (default .build/release/inference-service)
#
# inference runs twice under valgrind, each time answering SMALL and then LARGE predicts (64 keep-alive
# connections, anomaly-loadtest) and exiting on SIGTERM; the figure is the difference of the two totals
# divided by the difference of the counts, so start-up and shutdown cancel out. Background threads (the
# prediction log's writer, the statistics) are counted too: their work depends on timing, which leaves a
# spread of about ±250 instructions between runs of one binary.
# Env: SMALL (2000), LARGE (12000), BIN_DIR (.build/release), BENCH_TRAIN_PORT / BENCH_INFER_PORT (18100 / 18101),
#      DATABASE_URL / REDIS_URL (else the project-local backends are started).
set -euo pipefail
bin_dir=$(realpath "${BIN_DIR:-$(dirname "$0")/../.build/release}")
binary=$(realpath "${1:-$bin_dir/inference-service}")
cd "$(dirname "$0")/.."
small=${SMALL:-2000} large=${LARGE:-12000}
source scripts/bench-lib.sh
bench_need valgrind valgrind
bench_backends
work=$(mktemp -d)
train='' infer=''
cleanup() {
  for pid in $infer $train; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# valgrind 3.19 cannot read the DWARF 5 that Swift emits; symbols stay, debug info goes.
cp "$binary" "$work/inference" && strip --strip-debug "$work/inference"
train_port=${BENCH_TRAIN_PORT:-18100} infer_port=${BENCH_INFER_PORT:-18101}
bench_free_ports "$train_port" "$infer_port"
"$bin_dir/training-service" --port "$train_port" >"$work/training.log" 2>&1 &
train=$!
bench_wait_ready "$train_port"
kill -0 "$train" 2>/dev/null || { echo "training did not start: $(cat "$work/training.log")" >&2; exit 1; }
series=$bench_series
bench_fit "$train_port"

# total user-space instructions of one inference process that answered $1 predicts, into $work/total.$1
# (called directly, not in $(...), so that a failure stops the script and cleanup sees the process)
count() {
  local out="$work/cachegrind.$1"
  taskset -c 1 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out" \
    "$work/inference" --port "$infer_port" >"$work/inference.$1.log" 2>&1 &
  infer=$!
  BENCH_READY_TRIES=300 bench_wait_ready "$infer_port"  # under valgrind it starts slowly
  kill -0 "$infer" 2>/dev/null || { echo "inference did not start: $(tail -5 "$work/inference.$1.log")" >&2; exit 1; }
  taskset -c 0 "$bin_dir/anomaly-loadtest" --no-train --series "$series" --connections 64 --requests "$1" \
    --inference-url "http://127.0.0.1:$infer_port" --json >"$work/loadtest.$1.json" 2>/dev/null
  python3 - "$work/loadtest.$1.json" "$1" <<'EOF'
import json, sys
summary = json.load(open(sys.argv[1]))
if summary["status_counts"] != {"200": int(sys.argv[2])} or summary["errors"]["total"]:
    sys.exit(f"the load run was not clean: {summary}")
EOF
  kill -TERM "$infer"
  wait "$infer" || true
  infer=''
  awk '/^summary:/ {print $2}' "$out" >"$work/total.$1"
}

count "$small"
count "$large"
first=$(cat "$work/total.$small") second=$(cat "$work/total.$large")
python3 -c "import sys; a, b, n, m = map(int, sys.argv[1:]); print(f'{(b - a) / (m - n):,.0f} user-space instructions per predict ({a:,} at {n:,} requests, {b:,} at {m:,})')" \
  "$first" "$second" "$small" "$large"
