#!/usr/bin/env bash
# `make perf`: the benchmarks of the README's performance section, each printing its figures.
#   1. /predict against nginx (scripts/bench-predict.sh: inference pinned to CPU 1, wrk to CPU 0)
#   2. /fit of 10k points (p50/p95) and of 1M points, and the training service's peak RSS
#   3. inference RSS with 100,000 series cached
# Uses the project-local Postgres and Redis (scripts/backends.sh) unless DATABASE_URL/REDIS_URL are set,
# and its own service processes on ports 18100/18101, so a running `make start` is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${DATABASE_URL:-} || -z ${REDIS_URL:-} ]]; then
  eval "$(scripts/backends.sh start | sed 's/^/export /')"
fi
echo "== 1. POST /predict against nginx ($(date -u +%F))"
scripts/bench-predict.sh

train_port=${BENCH_TRAIN_PORT:-18100}
infer_port=${BENCH_INFER_PORT:-18101}
.build/release/training-service --port "$train_port" >/tmp/perf-training.log 2>&1 &
train=$!
.build/release/inference-service --port "$infer_port" >/tmp/perf-inference.log 2>&1 &
infer=$!
trap 'kill -TERM $train $infer 2>/dev/null; wait $train $infer 2>/dev/null || true' EXIT
for port in "$train_port" "$infer_port"; do
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
done
echo
echo "== 2. POST /fit: 10k and 1M points, training-service peak RSS"
scripts/bench-fit.py --training "http://127.0.0.1:$train_port" --pid "$train"
echo
echo "== 3. inference RSS with ${PERF_CACHE_SERIES:-100000} series cached"
scripts/bench-cache-rss.py --database-url "$DATABASE_URL" --inference "http://127.0.0.1:$infer_port" --pid "$infer" --series "${PERF_CACHE_SERIES:-100000}"
