#!/usr/bin/env bash
# Runs schemathesis (property-based API testing from PyPI) against the built `outpost` binary in
# embedded mode, driven by the OpenAPI document the binary serves at /api/v1/openapi.json.
# Fails on any 5xx, any response that violates the document (schema, status code, content type,
# headers), an operation that accepts what the document says is invalid, an operation reachable
# without its authentication, or a resource still served after its deletion. Not run:
# `unsupported_method` (a wrong method is 404 here, as upstream, not 405) and
# `positive_data_acceptance` (the document cannot express every cross-field rule).
# Usage: scripts/schemathesis.sh path/to/outpost   (ST_MAX_EXAMPLES, default 30 per operation)
set -euo pipefail

bin="${1:?usage: schemathesis.sh path/to/outpost}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${OUTPOST_TOOLS:-$HOME/.cache/outpost-rs}"
venv="$cache/schemathesis-venv"
req="$root/tests/schemathesis/requirements.txt"

if [[ ! -x "$venv/bin/st" ]] || ! cmp -s "$req" "$venv/requirements.txt"; then
  echo "schemathesis: installing $(cat "$req") into $venv"
  rm -rf "$venv"; python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$venv/requirements.txt"
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
workdir="$(mktemp -d)"
log="$workdir/outpost.log"
(cd "$workdir" && exec env -i PATH="$PATH" HOME="$HOME" API_PORT="$port" API_KEY=st-key \
  API_JWT_SECRET=st-jwt TOPICS=user.created,user.deleted LOG_BATCH_THRESHOLD_SECONDS=1 \
  "$bin" serve >"$log" 2>&1) &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
if ! curl -fsS "$base/healthz" >/dev/null; then
  echo "schemathesis: the server did not start; its log:" >&2
  cat "$log" >&2
  exit 1
fi

# Some data for the generated requests to find: a tenant with a destination and a logged event.
auth=(-H "Authorization: Bearer st-key" -H "Content-Type: application/json")
curl -fsS "${auth[@]}" -X PUT "$base/api/v1/tenants/st-tenant" >/dev/null
curl -fsS "${auth[@]}" -X POST "$base/api/v1/tenants/st-tenant/destinations" \
  -d '{"id":"st-dest","type":"webhook","topics":["*"],"config":{"url":"https://example.invalid/hook"}}' >/dev/null
curl -fsS "${auth[@]}" -X POST "$base/api/v1/publish" \
  -d '{"id":"st-event","tenant_id":"st-tenant","topic":"user.created","data":{"n":1}}' >/dev/null

echo "schemathesis: outpost on $base; running $("$venv/bin/st" --version)"
set +e
# From the scratch folder: schemathesis keeps its cache and reports in the working directory.
cd "$workdir"
"$venv/bin/st" run "$base/api/v1/openapi.json" \
  --url "$base/api/v1" \
  -H "Authorization: Bearer st-key" \
  --checks all --exclude-checks unsupported_method,positive_data_acceptance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${ST_MAX_EXAMPLES:-30}" \
  --seed "${ST_SEED:-20261206}" \
  --workers 1 \
  --request-timeout 10 \
  --suppress-health-check too_slow,filter_too_much \
  --no-color 2>&1 | tee "$workdir/st.out"
rc=${PIPESTATUS[0]}
set -e
if grep -q "panicked" "$log"; then
  echo "schemathesis: the server panicked:" >&2
  grep -A5 panicked "$log" >&2
  rc=1
fi
exit "$rc"
