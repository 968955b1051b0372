#!/usr/bin/env bash
# Checks that the local services the default test run uses are reachable (Redis, PostgreSQL,
# RabbitMQ), and starts the ones this machine kind ships but that are stopped. Addresses can be
# overridden with TEST_REDIS_ADDR, TEST_DATABASE_URL and TEST_RABBITMQ_URL (then nothing is
# started here).
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() { for _ in $(seq 1 "${3:-100}"); do port_open "$1" "$2" && return 0; sleep 0.2; done; return 1; }
fail=0

# Redis
redis_addr="${TEST_REDIS_ADDR:-127.0.0.1:6379}"
rhost="${redis_addr%:*}"; rport="${redis_addr##*:}"
if ! port_open "$rhost" "$rport" && [[ -z "${TEST_REDIS_ADDR:-}" ]] && command -v redis-server >/dev/null; then
  echo "services: starting the local redis-server"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port "$rhost" "$rport" 50 || true
fi
if port_open "$rhost" "$rport"; then echo "services: Redis ok at $redis_addr"; else echo "services: FAIL: no Redis at $redis_addr" >&2; fail=1; fi

# PostgreSQL
if ! port_open 127.0.0.1 5432 && [[ -z "${TEST_DATABASE_URL:-}" ]] && command -v pg_ctlcluster >/dev/null; then
  echo "services: starting the local PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  wait_port 127.0.0.1 5432 50 || true
fi
if [[ -n "${TEST_DATABASE_URL:-}" ]] || port_open 127.0.0.1 5432; then echo "services: PostgreSQL ok"; else echo "services: FAIL: no PostgreSQL on 127.0.0.1:5432" >&2; fail=1; fi

# RabbitMQ (a node whose app was stopped, e.g. by an interrupted broker-restart test, is
# started again).
if [[ -z "${TEST_RABBITMQ_URL:-}" ]] && ! port_open 127.0.0.1 5672 && command -v rabbitmqctl >/dev/null; then
  if timeout 30 rabbitmqctl status >/dev/null 2>&1; then
    echo "services: starting the RabbitMQ app"
    timeout 60 rabbitmqctl start_app || true
  else
    echo "services: starting rabbitmq-server"
    rabbitmq-server -detached || true
  fi
  wait_port 127.0.0.1 5672 300 || true
fi
# A broker can hold its port open yet never answer the AMQP handshake (seen after hundreds of
# leftover quorum queues): give it half a minute, then restart it hard.
amqp_answers() {
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672 && printf "AMQP\x00\x00\x09\x01" >&3 &&
    head -c 1 <&3 | od -An -tx1' 2>/dev/null | grep -q 01
}
wait_amqp() { for _ in $(seq 1 "$1"); do amqp_answers && return 0; sleep 1; done; return 1; }
if [[ -z "${TEST_RABBITMQ_URL:-}" ]] && port_open 127.0.0.1 5672 && ! wait_amqp 6; then
  echo "services: RabbitMQ holds 5672 open but does not answer AMQP: restarting it"
  pkill -9 -f 'beam.*rabbit' || true
  sleep 2
  rabbitmq-server -detached || true
  wait_port 127.0.0.1 5672 300 || true
  wait_amqp 120 || true
fi
if [[ -n "${TEST_RABBITMQ_URL:-}" ]] || amqp_answers; then
  echo "services: RabbitMQ ok"
  "$(dirname "${BASH_SOURCE[0]}")/clean-test-queues.sh"
else
  echo "services: FAIL: no RabbitMQ answering AMQP on 127.0.0.1:5672" >&2; fail=1
fi

exit "$fail"
