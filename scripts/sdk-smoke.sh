#!/usr/bin/env bash
# Starts the built `outpost` binary in embedded mode on a free port and runs the published
# Outpost SDK smoke tests (tests/sdk) against it. Usage: scripts/sdk-smoke.sh path/to/outpost
set -euo pipefail

bin="${1:?usage: sdk-smoke.sh path/to/outpost}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$(mktemp)"
workdir="$(mktemp -d)"

(cd "$workdir" && exec env -i PATH="$PATH" HOME="$HOME" API_PORT="$port" API_KEY=sdk-smoke-key \
  API_JWT_SECRET=sdk-smoke-jwt "$bin" serve >"$log" 2>&1) &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$workdir" "$log"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
if ! curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null; then
  echo "sdk-smoke: the server did not start; its log:" >&2
  cat "$log" >&2
  exit 1
fi
echo "sdk-smoke: outpost serving on 127.0.0.1:$port"
OUTPOST_URL="http://127.0.0.1:$port/api/v1" OUTPOST_API_KEY=sdk-smoke-key "$root/tests/sdk/run.sh"
