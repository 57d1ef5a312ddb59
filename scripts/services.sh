#!/usr/bin/env bash
# Starts, stops and reports the suite: a project-local Postgres and Redis (unless DATABASE_URL / REDIS_URL
# point at servers that answer) and the three services, each in the background with a log and a pid file
# under run/.
#   scripts/services.sh start|stop|status|config|urls     (urls: the training and inference base URLs, for make perf-light)
# Running `start` twice is harmless; `stop` stops exactly what `start` started.
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=$(realpath -m "${RUN_DIR:-run}")
export RUN_DIR=$run_dir
bin_dir=${BIN_DIR:-.build/release}
services=("training 8000 TRAINING_PORT" "inference 8001 INFERENCE_PORT" "monitoring 8002 MONITORING_PORT")

# KEY=value lines of .env (ENV_FILE), taken literally (no shell expansion: a token may hold $ or ;) and
# only for variables the environment does not already set, which is the services' own precedence.
load_env_file() {
  local file=$1 line key value
  [[ -f $file ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    value=${value%%[[:space:]]#*}
    value=${value%"${value##*[![:space:]]}"}
    if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
    [[ -n ${!key+set} ]] || export "$key=$value"
  done <"$file"
}
load_env_file "${ENV_FILE:-.env}"
mkdir -p "$run_dir"

local_pg_port=${BACKEND_PG_PORT:-15432}
local_redis_port=${BACKEND_REDIS_PORT:-16379}
local_database_url=postgresql://postgres@127.0.0.1:$local_pg_port/postgres
local_redis_url=redis://127.0.0.1:$local_redis_port
# What `start` started itself, so that `stop` leaves servers it did not start alone.
started_backends=$run_dir/backends.started

port_of() { local var=$3; echo "${!var:-$2}"; }
# Alive and really that service: after a reboot a stale pid file may name any process.
alive() {
  [[ -f $run_dir/$1.pid ]] || return 1
  local pid; pid=$(cat "$run_dir/$1.pid")
  kill -0 "$pid" 2>/dev/null && grep -q "$1-service" "/proc/$pid/cmdline" 2>/dev/null
}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
host_of() { local host=${HOST:-127.0.0.1}; [[ $host == 0.0.0.0 ]] && host=127.0.0.1; echo "$host"; }

postgres_answers() { pg_isready -q -t 2 -d "$1" 2>/dev/null; }
redis_answers() { [[ $(redis-cli -u "$1" ping 2>/dev/null) == PONG ]]; }
# One line from a /healthcheck body: overall status, each dependency's state, the service's uptime.
summarize_health() {
  local body=$1 overall pg redis uptime
  overall=$(grep -o '"status":"[a-z]*"' <<<"$body" | tail -1 | cut -d'"' -f4)
  pg=$(grep -o '"postgres":{[^}]*}' <<<"$body" | head -1 | grep -o '"state":"[a-z]*"' | cut -d'"' -f4)
  redis=$(grep -o '"redis":{[^}]*}' <<<"$body" | head -1 | grep -o '"state":"[a-z]*"' | cut -d'"' -f4)
  uptime=$(grep -o '"uptime_s":[0-9.]*' <<<"$body" | cut -d: -f2)
  echo "${overall:-?}  postgres ${pg:-?}  redis ${redis:-?}  up ${uptime:-?} s"
}
is_local_default() { [[ $1 == "$local_database_url" || $1 == "$local_redis_url" ]]; }

# Decides where Postgres and Redis are, starting project-local ones when needed; exports the URLs.
start_backends() {
  local need_pg=0 need_redis=0
  # The project-local address (unset, or env.example's default) is ours to start; anything else must answer.
  if [[ -z ${DATABASE_URL:-} ]] || is_local_default "$DATABASE_URL"; then
    need_pg=1
  elif postgres_answers "$DATABASE_URL"; then
    echo "postgres      $DATABASE_URL (answering; not started by us)"
  else
    echo "DATABASE_URL=$DATABASE_URL does not answer; start that server, or unset DATABASE_URL to use a project-local one" >&2
    exit 1
  fi
  local redis_target=${REDIS_URL:-}
  [[ -z $redis_target && -n ${REDIS_HOST:-} ]] && redis_target=redis://${REDIS_HOST}:${REDIS_PORT:-6379}
  if [[ -z $redis_target ]] || is_local_default "$redis_target"; then
    need_redis=1
  elif redis_answers "$redis_target"; then
    echo "redis         $redis_target (answering; not started by us)"
  else
    echo "REDIS_URL=$redis_target does not answer; start that server, or unset REDIS_URL and REDIS_HOST to use a project-local one" >&2
    exit 1
  fi
  if ((need_pg)); then
    if ! postgres_answers "$local_database_url" && port_taken "$local_pg_port"; then
      echo "port $local_pg_port is already taken by another process: cannot start the project-local Postgres (set BACKEND_PG_PORT)" >&2
      exit 1
    fi
    scripts/backends.sh start-postgres
    grep -qx postgres "$started_backends" 2>/dev/null || echo postgres >>"$started_backends"
    export DATABASE_URL=$local_database_url
    echo "postgres      $DATABASE_URL (project-local, data in $(scripts/backends.sh pg-dir))"
  fi
  if ((need_redis)); then
    if ! redis_answers "$local_redis_url" && port_taken "$local_redis_port"; then
      echo "port $local_redis_port is already taken by another process: cannot start the project-local Redis (set BACKEND_REDIS_PORT)" >&2
      exit 1
    fi
    scripts/backends.sh start-redis
    grep -qx redis "$started_backends" 2>/dev/null || echo redis >>"$started_backends"
    export REDIS_URL=$local_redis_url
    unset REDIS_HOST REDIS_PORT
    echo "redis         $REDIS_URL (project-local)"
  fi
}

start() {
  start_backends
  local host; host=$(host_of)
  for entry in "${services[@]}"; do
    read -r name default var <<<"$entry"
    local port; port=$(port_of "$name" "$default" "$var")
    if alive "$name"; then echo "$name-service already running (pid $(cat "$run_dir/$name.pid"), port $port)"; continue; fi
    if port_taken "$port"; then echo "port $port is already taken by another process: cannot start $name-service (set $var)" >&2; exit 1; fi
    "$bin_dir/$name-service" --port "$port" >>"$run_dir/$name.log" 2>&1 &
    echo $! >"$run_dir/$name.pid"
  done
  for entry in "${services[@]}"; do
    read -r name default var <<<"$entry"
    local port; port=$(port_of "$name" "$default" "$var")
    for _ in $(seq 1 300); do
      curl -fsS "http://$host:$port/readyz" >/dev/null 2>&1 && break
      alive "$name" || { echo "$name-service exited; see $run_dir/$name.log:" >&2; tail -5 "$run_dir/$name.log" >&2; exit 1; }
      sleep 0.1
    done
    curl -fsS "http://$host:$port/readyz" >/dev/null || { echo "$name-service did not become ready on :$port in 30 s; see $run_dir/$name.log" >&2; exit 1; }
    printf '%-13s http://%s:%s  ready (pid %s, log %s)\n' "$name" "$host" "$port" "$(cat "$run_dir/$name.pid")" "$run_dir/$name.log"
  done
  local train infer monitor
  train=$(port_of training 8000 TRAINING_PORT) infer=$(port_of inference 8001 INFERENCE_PORT) monitor=$(port_of monitoring 8002 MONITORING_PORT)
  cat <<EOF

  fit        curl -X POST http://$host:$train/fit/cpu -H 'Content-Type: application/json' -d '{"timestamps":[1,2,3],"values":[1,2,3]}'
  predict    curl -X POST http://$host:$infer/predict/cpu -H 'Content-Type: application/json' -d '{"timestamp":"4","value":9}'
  API docs   http://$host:$train/docs  (also on :$infer and :$monitor; the spec at /openapi.yaml)
  dashboard  http://$host:$monitor/dashboard
  make status | make logs | make demo | make stop
EOF
}

stop() {
  for entry in "${services[@]}"; do
    read -r name _ _ <<<"$entry"
    if alive "$name"; then
      local pid; pid=$(cat "$run_dir/$name.pid")
      kill -TERM "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && { echo "$name-service did not stop in 15 s; killing"; kill -KILL "$pid"; }
      echo "$name-service stopped"
    fi
    rm -f "$run_dir/$name.pid"
  done
  if [[ -f $started_backends ]]; then
    grep -qx redis "$started_backends" && scripts/backends.sh stop-redis && echo "redis stopped"
    grep -qx postgres "$started_backends" && scripts/backends.sh stop-postgres && echo "postgres stopped"
    rm -f "$started_backends"
  fi
  return 0
}

status() {
  local host; host=$(host_of)
  for entry in "${services[@]}"; do
    read -r name default var <<<"$entry"
    local port; port=$(port_of "$name" "$default" "$var")
    if alive "$name"; then
      local auth=(); [[ -n ${READ_API_TOKEN:-} ]] && auth=(-H "Authorization: Bearer $READ_API_TOKEN")
      local body; body=$(curl -sS -m 2 "${auth[@]}" "http://$host:$port/healthcheck" 2>/dev/null || true)
      printf '%-13s pid %-7s :%s  %s\n' "$name" "$(cat "$run_dir/$name.pid")" "$port" \
        "$([[ -n $body ]] && summarize_health "$body" || echo 'not answering')"
    else
      printf '%-13s stopped\n' "$name"
    fi
  done
  if [[ -f $started_backends ]]; then
    grep -qx postgres "$started_backends" && { postgres_answers "$local_database_url" && echo "postgres      up   $local_database_url (project-local)" || echo "postgres      down (project-local)"; }
    grep -qx redis "$started_backends" && { redis_answers "$local_redis_url" && echo "redis         up   $local_redis_url (project-local)" || echo "redis         down (project-local)"; }
  fi
  return 0
}

# What start would use, after the environment and ENV_FILE: the ports and the backend addresses.
config() {
  for entry in "${services[@]}"; do
    read -r name default var <<<"$entry"
    echo "$var=$(port_of "$name" "$default" "$var")"
  done
  echo "HOST=${HOST:-127.0.0.1}"
  echo "DATABASE_URL=${DATABASE_URL:-$local_database_url}"
  echo "REDIS_URL=${REDIS_URL:-$local_redis_url}"
}

# The training and inference base URLs, as `start` serves them (for make perf-light).
urls() {
  local host; host=$(host_of)
  echo "http://$host:$(port_of training 8000 TRAINING_PORT) http://$host:$(port_of inference 8001 INFERENCE_PORT)"
}

case ${1:-status} in
  start|stop|status|config|urls) "$1" ;;
  *) echo "usage: $0 start|stop|status|config|urls" >&2; exit 2 ;;
esac
