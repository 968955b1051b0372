#!/usr/bin/env bash
# Runs outpost-rs as three separate processes (SERVICE=log, delivery, api) on this machine against
# the local Redis, RabbitMQ and PostgreSQL, configured by deploy/env/split-*.env:
#
#   deploy/local-stack.sh start     # migrate, then start log -> delivery -> api, wait for /healthz
#   deploy/local-stack.sh status    # pid and /healthz of each service
#   deploy/local-stack.sh stop      # SIGTERM (then SIGKILL after 20 s) the processes it started
#   deploy/local-stack.sh restart
#   deploy/local-stack.sh logs [api|delivery|log]    # tail -f the logs
#
# The REST API is then on http://127.0.0.1:3333 (API_KEY from deploy/env/split-api.env).
#
# Environment:
#   OUTPOST_BIN        the outpost binary (default: $CARGO_TARGET_DIR/debug/outpost, built if missing)
#   LOCAL_STACK_DIR    logs (logs/<service>.log) and pid files (default ~/.cache/outpost-rs/local-stack)
#   LOCAL_STACK_DB     PostgreSQL database of the log, created if missing (default outpost_local)
#   LOCAL_STACK_PG     PostgreSQL server URL without database (default postgres://postgres@127.0.0.1:5432)
#   LOCAL_STACK_ID     DEPLOYMENT_ID and queue/exchange suffix, so the stack never shares Redis keys or
#                      RabbitMQ queues with the test suite (default local)
#   LOCAL_STACK_API_PORT, LOCAL_STACK_GRPC_PORT, LOCAL_STACK_LOG_PORT, LOCAL_STACK_DELIVERY_PORT
#                      REST API, log gRPC, and the log/delivery /healthz ports (default: the env
#                      files' 3333, 3334, 3335, 3336). `start` refuses ports already in use.
#   Any setting (REDIS_HOST, RABBITMQ_SERVER_URL, API_KEY, ...) exported here wins over the env files.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_DIR="$ROOT/deploy/env"
DIR="${LOCAL_STACK_DIR:-$HOME/.cache/outpost-rs/local-stack}"
ID="${LOCAL_STACK_ID:-local}"
DB="${LOCAL_STACK_DB:-outpost_local}"
PG="${LOCAL_STACK_PG:-postgres://postgres@127.0.0.1:5432}"
TARGET="${CARGO_TARGET_DIR:-$HOME/.cache/outpost-rs/target}"
BIN="${OUTPOST_BIN:-$TARGET/debug/outpost}"
SERVICES=(log delivery api)   # start order; stopped in reverse

# Ports: the env files' values unless overridden.
env_file_value() { sed -n "s/^$2=//p" "$ENV_DIR/split-$1.env" | tail -1; }
http_port() { # API_PORT of a service
  case "$1" in
    api) echo "${LOCAL_STACK_API_PORT:-$(env_file_value api API_PORT)}" ;;
    log) echo "${LOCAL_STACK_LOG_PORT:-$(env_file_value log API_PORT)}" ;;
    delivery) echo "${LOCAL_STACK_DELIVERY_PORT:-$(env_file_value delivery API_PORT)}" ;;
  esac
}
grpc_port() { echo "${LOCAL_STACK_GRPC_PORT:-$(env_file_value log LOG_GRPC_PORT)}"; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pidfile() { echo "$DIR/pids/$1.pid"; }
running_pid() {
  local f pid
  f="$(pidfile "$1")"
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  kill -0 "$pid" 2>/dev/null || return 1
  # Only a process still running our binary counts (pids get reused).
  [[ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f "$BIN")" ]] || return 1
  echo "$pid"
}
healthz() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$(http_port "$1")/healthz" 2>/dev/null || true; }

# Settings shared by the three processes; they win over the env files.
stack_env() {
  export DEPLOYMENT_ID="${DEPLOYMENT_ID:-$ID}"
  export RABBITMQ_EXCHANGE="${RABBITMQ_EXCHANGE:-outpost-$ID}"
  export RABBITMQ_DELIVERY_QUEUE="${RABBITMQ_DELIVERY_QUEUE:-outpost-$ID-delivery}"
  export RABBITMQ_LOG_QUEUE="${RABBITMQ_LOG_QUEUE:-outpost-$ID-log}"
  export POSTGRES_URL="${POSTGRES_URL:-$PG/$DB}"
  unset CONFIG SERVICE
}

outpost() { # outpost <service> <args...>: the binary with that service's env file
  local svc="$1"; shift
  "$BIN" --config "$ENV_DIR/split-$svc.env" "$@"
}

ensure_binary() {
  if [[ -z "${OUTPOST_BIN:-}" && ! -x "$BIN" ]]; then
    echo "local-stack: building $BIN"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --locked --bin outpost)
  fi
  [[ -x "$BIN" ]] || { echo "local-stack: no outpost binary at $BIN (set OUTPOST_BIN)" >&2; exit 1; }
}

ensure_database() {
  command -v psql >/dev/null || { echo "local-stack: psql not found; assuming $DB exists"; return 0; }
  if [[ "$(psql "$PG/postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" 2>/dev/null)" != 1 ]]; then
    echo "local-stack: creating database $DB"
    psql "$PG/postgres" -qc "CREATE DATABASE \"$DB\"" >/dev/null
  fi
}

start() {
  ensure_binary
  if [[ -x "$ROOT/scripts/ensure-services.sh" ]]; then
    "$ROOT/scripts/ensure-services.sh"
  fi
  mkdir -p "$DIR/logs" "$DIR/pids"
  # A port held by something else would make a service fail, or worse, make the api service
  # talk to another process's log service.
  local busy=""
  for svc in "${SERVICES[@]}"; do
    running_pid "$svc" >/dev/null && continue
    port_in_use "$(http_port "$svc")" && busy+=" $(http_port "$svc") ($svc http)"
    [[ "$svc" == log ]] && port_in_use "$(grpc_port)" && busy+=" $(grpc_port) (log gRPC)"
  done
  if [[ -n "$busy" ]]; then
    echo "local-stack: ports already in use:$busy; pick others with LOCAL_STACK_*_PORT" >&2
    exit 1
  fi
  stack_env
  ensure_database
  echo "local-stack: outpost migrate apply --yes ($DB)"
  outpost log migrate apply --yes
  for svc in "${SERVICES[@]}"; do
    if pid="$(running_pid "$svc")"; then
      echo "local-stack: $svc already running (pid $pid)"
      continue
    fi
    log="$DIR/logs/$svc.log"
    echo "--- $(date -u +%FT%TZ) start" >>"$log"
    # Per-process ports (environment wins over the env file).
    local extra=(API_PORT="$(http_port "$svc")")
    case "$svc" in
      log) extra+=(LOG_GRPC_PORT="$(grpc_port)") ;;
      api) extra+=(LOG_GRPC_URL="http://127.0.0.1:$(grpc_port)") ;;
    esac
    # setsid: the service survives this shell and gets its own process group.
    env "${extra[@]}" setsid "$BIN" --config "$ENV_DIR/split-$svc.env" serve >>"$log" 2>&1 </dev/null &
    echo $! >"$(pidfile "$svc")"
    printf 'local-stack: %-8s pid %-7s http :%s  log %s\n' "$svc" "$!" "$(http_port "$svc")" "$log"
    for _ in $(seq 1 150); do
      [[ "$(healthz "$svc")" == 200 ]] && break
      if ! running_pid "$svc" >/dev/null; then
        echo "local-stack: $svc exited; last log lines:" >&2
        tail -n 20 "$log" >&2
        exit 1
      fi
      sleep 0.2
    done
    if [[ "$(healthz "$svc")" != 200 ]]; then
      echo "local-stack: $svc is not healthy after 30 s; see $log" >&2
      exit 1
    fi
  done
  echo "local-stack: up. REST API: http://127.0.0.1:$(http_port api) (stop with: $0 stop)"
}

stop() {
  local i
  for (( i=${#SERVICES[@]}-1; i>=0; i-- )); do
    svc="${SERVICES[$i]}"
    if pid="$(running_pid "$svc")"; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "local-stack: $svc (pid $pid) ignored SIGTERM for 20 s, killing"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      echo "local-stack: stopped $svc (pid $pid)"
    else
      echo "local-stack: $svc not running"
    fi
    rm -f "$(pidfile "$svc")"
  done
}

status() {
  local down=0
  for svc in "${SERVICES[@]}"; do
    if pid="$(running_pid "$svc")"; then
      printf '%-8s running  pid %-7s http :%s  /healthz %s\n' "$svc" "$pid" "$(http_port "$svc")" "$(healthz "$svc")"
    else
      printf '%-8s stopped\n' "$svc"
      down=1
    fi
  done
  echo "logs: $DIR/logs"
  return "$down"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  logs)
    shift
    if [[ $# -gt 0 ]]; then tail -n 50 -f "$DIR/logs/$1.log"; else tail -n 20 -f "$DIR"/logs/*.log; fi
    ;;
  *)
    echo "usage: $0 start|stop|restart|status|logs [service]" >&2
    exit 2
    ;;
esac
