#!/usr/bin/env bash
# Starts, stops and reports the three services, each in the background with a log and a pid file under run/.
#   scripts/services.sh start|stop|status
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=run
bin_dir=${BIN_DIR:-.build/release}
services=("training 8000 TRAINING_PORT" "inference 8001 INFERENCE_PORT" "monitoring 8002 MONITORING_PORT")
[[ -f .env ]] && { set -a; source .env; set +a; }
mkdir -p "$run_dir"

port_of() { local var=$3; echo "${!var:-$2}"; }
alive() { [[ -f $run_dir/$1.pid ]] && kill -0 "$(cat "$run_dir/$1.pid")" 2>/dev/null; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
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
    for _ in $(seq 1 100); do
      curl -fsS "http://127.0.0.1:$port/livez" >/dev/null 2>&1 && break
      alive "$name" || { echo "$name-service exited; see $run_dir/$name.log:" >&2; tail -5 "$run_dir/$name.log" >&2; exit 1; }
      sleep 0.1
    done
    curl -fsS "http://127.0.0.1:$port/livez" >/dev/null || { echo "$name-service did not become live on :$port" >&2; exit 1; }
    echo "$name-service  http://127.0.0.1:$port  (pid $(cat "$run_dir/$name.pid"), log $run_dir/$name.log)"
  done
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
}

status() {
  for entry in "${services[@]}"; do
    read -r name default var <<<"$entry"
    local port; port=$(port_of "$name" "$default" "$var")
    if alive "$name"; then
      echo "$name-service  pid $(cat "$run_dir/$name.pid")  :$port  $(curl -fsS -m 2 "http://127.0.0.1:$port/healthcheck" 2>/dev/null || echo 'not answering')"
    else
      echo "$name-service  stopped"
    fi
  done
}

"${1:-status}"
