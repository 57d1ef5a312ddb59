#!/usr/bin/env bash
# GET /livez of the training service against nginx, the way the README quotes it:
# server and nginx pinned to CPU 1, wrk to CPU 0, A/B rounds in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${BENCH_PORT:-18000}
DB_STARTUP_WAIT_SECONDS=0 taskset -c 1 .build/release/training-service --port "$port" >/tmp/bench-training.log 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$port/livez" >/dev/null 2>&1 && break; sleep 0.1; done
bench=${BENCH_SCRIPT:-../shared/bench/vs-nginx.sh}
SERVER_CPU=1 WRK_CPU=0 "$bench" "http://127.0.0.1:$port/livez"
