# Shared settings and helpers for the local stack scripts. Source it; do not run it.
# Every service binds to 127.0.0.1 only, and keeps its files under $STACK_DIR.

set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_DIR=${TRIBUTARY_STACK_DIR:-$REPO_DIR/.stack}
CACHE_DIR=${TRIBUTARY_CACHE_DIR:-$HOME/.cache/tributary-stack}
mkdir -p "$STACK_DIR" "$CACHE_DIR"

# Endpoints. Tests and the demo read them from $STACK_DIR/endpoints.env, which up.sh writes.
MARIADB_PORT=${TRIBUTARY_MARIADB_PORT:-33306}
MARIADB_USER=tributary
MARIADB_PASSWORD=tributary
MARIADB_DATABASE=tributary
KAFKA_PORT=${TRIBUTARY_KAFKA_PORT:-39092}
KAFKA_CONTROLLER_PORT=${TRIBUTARY_KAFKA_CONTROLLER_PORT:-39093}
REGISTRY_PORT=${TRIBUTARY_REGISTRY_PORT:-38081}
BIGQUERY_PORT=${TRIBUTARY_BIGQUERY_PORT:-39050}
BIGQUERY_GRPC_PORT=${TRIBUTARY_BIGQUERY_GRPC_PORT:-39060}
BIGQUERY_PROJECT=${TRIBUTARY_BIGQUERY_PROJECT:-tributary-local}

log() { printf '[stack] %s\n' "$*" >&2; }
fail() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# Polls a command until it succeeds: wait_until SECONDS DESCRIPTION COMMAND...
wait_until() {
  local seconds=$1 description=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      fail "$description was not ready after ${seconds}s; see the logs under $STACK_DIR"
    fi
    sleep 0.5
  done
}

# True when the process whose id is stored in the pid file is alive.
pid_alive() {
  local pid_file=$1
  [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

# Sends SIGTERM to the process in the pid file, waits up to 30 s, then SIGKILL.
stop_pid() {
  local pid_file=$1 name=$2
  if ! pid_alive "$pid_file"; then
    rm -f "$pid_file"
    return 0
  fi
  local pid
  pid=$(cat "$pid_file")
  log "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pid_file"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Polls a command like wait_until, but fails as soon as the process in the pid file exits.
# On failure it prints the end of the log: wait_for_process SECONDS NAME PID_FILE LOG_FILE COMMAND...
wait_for_process() {
  local seconds=$1 name=$2 pid_file=$3 log_file=$4
  shift 4
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$pid_file"; then
      tail -n 30 "$log_file" >&2 || true
      fail "$name exited during startup; the end of $log_file is shown above"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$log_file" >&2 || true
      fail "$name was not ready after ${seconds}s; the end of $log_file is shown above"
    fi
    sleep 0.5
  done
}

# Fails when a process already listens on the TCP port on 127.0.0.1.
require_free_port() {
  if port_open "$1"; then
    fail "port $1 on 127.0.0.1 is already taken by another process"
  fi
}
