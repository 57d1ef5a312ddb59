#!/usr/bin/env bash
# A project-local Postgres and Redis for `make start`, benchmarks and demos.
#   scripts/backends.sh start|stop|status|env|start-postgres|start-redis|stop-postgres|stop-redis|pg-dir|pids
# Data lives under run/ (git-ignored), or under /var/tmp when the postgres user cannot reach run/.
# Postgres refuses to run as root, so as root it runs as the `postgres` user.
# Env: BACKEND_PG_PORT (15432), BACKEND_REDIS_PORT (16379), RUN_DIR (./run).
set -euo pipefail
cd "$(dirname "$0")/.."
pg_port=${BACKEND_PG_PORT:-15432}
redis_port=${BACKEND_REDIS_PORT:-16379}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
run_dir=$(realpath -m "${RUN_DIR:-$PWD/run}")

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The same answer before and after `start`: a cluster stays where it was made, and the postgres user's access
# is tested on run/ as it will be, so run/ is made first (Redis used to make it after the choice, and `stop`
# then looked in the other place and left Postgres running).
pg_dir() {
  local here=$run_dir/postgres
  [[ $(id -u) -eq 0 ]] || { echo "$here"; return; }
  # Outside run/, keyed by the run directory itself, so that `make start` (which passes RUN_DIR) and a direct
  # `scripts/backends.sh start` (which does not) agree. Earlier versions keyed the default run/ by the
  # checkout instead; a cluster made there is still found.
  local elsewhere legacy candidate
  elsewhere=/var/tmp/anomaly-detection-$(echo "$run_dir" | md5sum | cut -c1-8)/postgres
  legacy=/var/tmp/anomaly-detection-$(echo "$PWD" | md5sum | cut -c1-8)/postgres
  [[ $run_dir == "$PWD/run" ]] || legacy=$elsewhere
  for candidate in "$here" "$elsewhere" "$legacy"; do
    if [[ -f $candidate/data/PG_VERSION ]]; then echo "$candidate"; return; fi
  done
  mkdir -p "$run_dir"
  if runuser -u postgres -- test -x "$run_dir" 2>/dev/null; then echo "$here"; else echo "$elsewhere"; fi
}

start_postgres() {
  [[ -n $pg_bin ]] || { echo "Postgres server binaries not found (apt-get install postgresql)" >&2; exit 1; }
  local dir; dir=$(pg_dir)
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$dir" && chmod 700 "$dir"
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    as_pg "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
  fi
  if as_pg "$pg_bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then return; fi
  # Everything connects over TCP; the Unix socket beside the data is a convenience for psql -h, and
  # Postgres refuses to start at all when its path passes the 107-byte sun_path limit (a deep checkout).
  local sockets=$dir
  (( ${#dir} + ${#pg_port} + 10 > 100 )) && sockets=""
  if ! as_pg "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -c max_connections=200" \
    -o "-c unix_socket_directories='$sockets'" start >/dev/null; then
    echo "postgres did not start on port $pg_port; the end of $dir/postgres.log:" >&2
    tail -n 5 "$dir/postgres.log" >&2
    exit 1
  fi
}

stop_postgres() {
  local dir; dir=$(pg_dir)
  [[ -f $dir/data/PG_VERSION ]] || return 0
  as_pg "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

start_redis() {
  mkdir -p "$run_dir"
  if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then return; fi
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$run_dir/redis.pid" --logfile "$run_dir/redis.log" --dir "$run_dir"
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis did not start; see $run_dir/redis.log" >&2
  exit 1
}

stop_redis() {
  if [[ -f $run_dir/redis.pid ]]; then
    local pid; pid=$(cat "$run_dir/redis.pid")
    # Only a redis-server: after a reboot the pid may belong to anything.
    if grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$run_dir/redis.pid"
  fi
}

# The processes of the project-local Postgres (the postmaster, which later backends inherit their CPU affinity
# from, and its children) and Redis, one per line: what a benchmark may pin, and nothing else on the machine.
backend_pids() {
  local dir pm redis_pid
  dir=$(pg_dir)
  pm=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null || true)
  # postmaster.pid outlives an immediate shutdown: the pid counts only if it runs this data directory.
  if [[ -n $pm ]] && tr '\0' ' ' <"/proc/$pm/cmdline" 2>/dev/null | grep -qF -- "-D $dir/data"; then
    echo "$pm"
    pgrep -P "$pm" || true
  fi
  redis_pid=$(cat "$run_dir/redis.pid" 2>/dev/null || true)
  if [[ -n $redis_pid ]] && grep -q redis-server "/proc/$redis_pid/cmdline" 2>/dev/null; then echo "$redis_pid"; fi
}

print_env() {
  echo "DATABASE_URL=postgresql://postgres@127.0.0.1:$pg_port/postgres"
  echo "REDIS_URL=redis://127.0.0.1:$redis_port"
}

case ${1:-} in
  start) start_postgres; start_redis; print_env ;;
  stop) stop_redis; stop_postgres ;;
  start-postgres) start_postgres ;;
  start-redis) start_redis ;;
  stop-postgres) stop_postgres ;;
  stop-redis) stop_redis ;;
  pg-dir) pg_dir ;;
  pids) backend_pids ;;
  status)
    as_pg "$pg_bin/pg_ctl" -D "$(pg_dir)/data" status >/dev/null 2>&1 && echo "postgres: up (:$pg_port)" || echo "postgres: down"
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && echo "redis: up (:$redis_port)" || echo "redis: down" ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|status|env|start-postgres|start-redis|stop-postgres|stop-redis|pg-dir|pids" >&2; exit 2 ;;
esac
