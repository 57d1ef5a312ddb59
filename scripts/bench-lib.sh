# Sourced by the /predict benchmark scripts (bench-predict.sh, ab-predict.sh, instructions-per-predict.sh):
# what each of them needs before it measures. Expects to run from the repository root.

# Installs PACKAGE when COMMAND is missing (apt-get; we run as root on the benchmark machines).
bench_need() {
  command -v "$1" >/dev/null 2>&1 && return
  apt-get install -y -q "$2" >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$2" >/dev/null; }
}

# Starts the project-local Postgres and Redis unless DATABASE_URL and REDIS_URL are both given.
bench_backends() {
  if [[ -z ${DATABASE_URL:-} || -z ${REDIS_URL:-} ]]; then
    eval "$(scripts/backends.sh start | sed 's/^/export /')"
  fi
}

# Refuses ports that already answer: a process left on one would pass the readiness check and be measured.
bench_free_ports() {
  local port
  for port in "$@"; do
    ! curl -fsS "http://127.0.0.1:$port/livez" >/dev/null 2>&1 || { echo "port $port already answers: stop what runs there" >&2; exit 1; }
  done
}

# Waits for each port's /readyz, up to BENCH_READY_TRIES (100) tenths of a second each; the caller then checks its
# processes are alive.
bench_wait_ready() {
  local port
  for port in "$@"; do
    for _ in $(seq 1 "${BENCH_READY_TRIES:-100}"); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  done
}

# The series every /predict benchmark measures (13 bytes: a small, inline String), fitted on the training port $1.
bench_series=bench-predict
bench_fit() {
  curl -fsS -X POST "http://127.0.0.1:$1/fit/$bench_series" -H 'Content-Type: application/json' \
    -d '{"timestamps":[1,2,3,4,5,6],"values":[10,20,30,40,50,60],"threshold":3}' >/dev/null
}
