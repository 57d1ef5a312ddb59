#!/usr/bin/env bash
# Two inference builds against each other on cached POST /predict, in one run: both run at once (pinned to
# CPU 1, ports 18111 and 18112) and wrk (CPU 0, CONNECTIONS connections, ../shared/bench/predict.lua) alternates
# between them, A B, B A, ..., so that the machine's noise hits both alike. Prints each pair, then the
# medians and how many pairs each side won.
#
#   scripts/ab-predict.sh BINARY_A BINARY_B      e.g. a copy of .build/release/inference-service from before a change
#
# Env: PAIRS (8), SECONDS_PER_ROUND (4), CONNECTIONS (64), DATABASE_URL / REDIS_URL (else the project-local backends are started).
# A binary may be a script that sets an environment and execs the real one, to compare settings.
set -euo pipefail
a=$(realpath "${1:?usage: ab-predict.sh BINARY_A BINARY_B}") b=$(realpath "${2:?usage: ab-predict.sh BINARY_A BINARY_B}")
cd "$(dirname "$0")/.."
pairs=${PAIRS:-8} secs=${SECONDS_PER_ROUND:-4} connections=${CONNECTIONS:-64}
lua=../shared/bench/predict.lua
source scripts/bench-lib.sh
bench_need wrk wrk
bench_backends
logs=$(mktemp -d)
pids=()
cleanup() { ((${#pids[@]})) && { kill -TERM "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null || true; }; rm -rf "$logs"; }
trap cleanup EXIT
train_port=${BENCH_TRAIN_PORT:-18100}
bench_free_ports "$train_port" 18111 18112
taskset -c 0 .build/release/training-service --port "$train_port" >"$logs/training.log" 2>&1 & pids+=($!)
taskset -c 1 "$a" --port 18111 >"$logs/a.log" 2>&1 & pids+=($!)
taskset -c 1 "$b" --port 18112 >"$logs/b.log" 2>&1 & pids+=($!)
bench_wait_ready "$train_port" 18111 18112
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { echo "a service did not start:" >&2; tail -n 3 "$logs"/*.log >&2; exit 1; }
done
series=$bench_series
bench_fit "$train_port"

# one wrk round -> "RPS P99_MS ERRORS"
round() {
  taskset -c 0 wrk -t1 -c"$connections" -d"$2" --latency -s "$lua" "http://127.0.0.1:$1/predict/$series" 2>&1 | awk '
    /^Requests\/sec/ {rps = $2}
    $1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v = v / 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else {sub(/s/, "", v); v = v * 1000}; p99 = v}
    /Non-2xx|Socket errors/ {line = $0; gsub(/ +/, "_", line); errors = errors line ";"}
    END {printf "%s %s %s\n", rps, p99, (errors == "" ? "none" : errors)}'
}
round 18111 1s >/dev/null
round 18112 1s >/dev/null
results=()
for ((i = 1; i <= pairs; i++)); do
  if ((i % 2)); then ra=$(round 18111 "${secs}s"); rb=$(round 18112 "${secs}s"); else rb=$(round 18112 "${secs}s"); ra=$(round 18111 "${secs}s"); fi
  echo "pair $i  A: ${ra% *} | B: ${rb% *}  (rps, p99 ms; errors A: ${ra##* } B: ${rb##* })"
  results+=("$ra|$rb")
done
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
pairs = [[side.split()[:2] for side in line.strip().split("|")] for line in sys.stdin]
a = [(float(r), float(p)) for (r, p), _ in pairs]
b = [(float(r), float(p)) for _, (r, p) in pairs]
print(f"median  A: {statistics.median(r for r, _ in a):,.0f} rps, p99 {statistics.median(p for _, p in a):.2f} ms"
      f" | B: {statistics.median(r for r, _ in b):,.0f} rps, p99 {statistics.median(p for _, p in b):.2f} ms")
print(f"B more requests/s in {sum(y[0] > x[0] for x, y in zip(a, b))} of {len(a)} pairs, lower p99 in {sum(y[1] < x[1] for x, y in zip(a, b))}")
'
