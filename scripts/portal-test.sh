#!/usr/bin/env bash
# Builds the tenant portal and runs its browser acceptance test against the given outpost binary
# in embedded mode. Usage: scripts/portal-test.sh path/to/outpost
#
#   PORTAL_SERVE=embedded (default)  the binary serves its embedded portal/dist (it must have been
#                                    built after `npm run build` in portal/)
#   PORTAL_SERVE=proxy               the portal is served by `vite preview` from the fresh build and
#                                    outpost forwards page requests to it (PORTAL_PROXY_URL)
#   PORTAL_ARTIFACTS=dir             where screenshots go (default portal/test-artifacts)
#   PORTAL_SKIP_BUILD=1              use portal/dist as built (`make test-portal` built it before
#                                    the binary, which embeds it)
#
# Installs Debian's chromium when /usr/bin/chromium is missing (needs root) and runs `npm ci`
# when portal/node_modules is missing or older than package-lock.json.
set -euo pipefail

bin="${1:?usage: portal-test.sh path/to/outpost}"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
portal="$root/portal"
mode="${PORTAL_SERVE:-embedded}"
export PORTAL_ARTIFACTS="${PORTAL_ARTIFACTS:-$portal/test-artifacts}"

say() { printf '\n==> portal-test: %s\n' "$*"; }
die() { printf 'portal-test: FAILED: %s\n' "$*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

case "$mode" in embedded | proxy) ;; *) die "PORTAL_SERVE must be 'embedded' or 'proxy', not '$mode'" ;; esac
[ -x "$bin" ] || die "no executable at $bin"

say "1/6 browser"
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version

say "2/6 npm dependencies"
cd "$portal"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  echo "node_modules is up to date"
fi

say "3/6 build and unit test (filter matcher against the server's filter tables)"
if [ "${PORTAL_SKIP_BUILD:-0}" = 1 ] && [ -f dist/index.html ]; then
  echo "using the existing portal/dist"
else
  npm run build
fi
node --test --test-reporter=spec tests/filter.test.mjs

say "4/6 start outpost ($mode mode)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

proxy_env=()
if [ "$mode" = proxy ]; then
  preview_port="$(free_port)"
  ./node_modules/.bin/vite preview --host 127.0.0.1 --port "$preview_port" --strictPort >"$work/preview.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$preview_port/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$preview_port/" >/dev/null || { cat "$work/preview.log"; die "vite preview did not start"; }
  echo "vite preview on 127.0.0.1:$preview_port"
  proxy_env=(PORTAL_PROXY_URL="http://127.0.0.1:$preview_port")
fi

port="$(free_port)"
(cd "$work" && exec env -i PATH="$PATH" HOME="$HOME" API_PORT="$port" \
  API_KEY=test-admin-key API_JWT_SECRET=test-jwt-secret \
  DESTINATIONS_WEBHOOK_ALLOWED_CIDRS=127.0.0.0/8 LOG_BATCH_THRESHOLD_SECONDS=1 \
  TOPICS=user.created,user.deleted,order.paid PORTAL_ENABLE_DESTINATION_FILTER=true \
  PORTAL_ENABLE_WEBHOOK_CUSTOM_HEADERS=true PORTAL_BRAND_COLOR='#0f766e' \
  PORTAL_ORGANIZATION_NAME="Acme Portal Test" "${proxy_env[@]}" \
  "$bin" serve >"$work/outpost.log" 2>&1) &
pids+=("$!")
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/outpost.log"; die "outpost did not start"; }
echo "outpost on 127.0.0.1:$port"

say "5/6 check what the server serves"
config="$(curl -fsS "http://127.0.0.1:$port/inject-portal-config.js")" ||
  die "GET /inject-portal-config.js failed: this outpost binary does not serve the portal config"
case "$config" in "window.PORTAL_CONFIGS = "*) echo "config script: ${config:0:80}…" ;; *) die "unexpected config script: $config" ;; esac
status="$(curl -sS -o "$work/page.html" -w '%{http_code}' "http://127.0.0.1:$port/destinations/spa-fallback-check")"
[ "$status" = 200 ] || die "GET /destinations/… answered $status: $(head -c 300 "$work/page.html")
(in embedded mode the binary must be built after 'npm run build' in portal/; or run with PORTAL_SERVE=proxy)"
grep -qF '<script src="/inject-portal-config.js"></script>' "$work/page.html" ||
  die "the served page is not the portal's index.html: $(head -c 300 "$work/page.html")"
if ! cmp -s "$work/page.html" dist/index.html; then
  echo "note: the binary embeds an older portal build than portal/dist; testing the embedded one"
fi
echo "SPA fallback serves index.html"

say "6/6 browser test (screenshots in $PORTAL_ARTIFACTS)"
if ! OUTPOST_URL="http://127.0.0.1:$port" ADMIN_KEY=test-admin-key node tests/portal.spec.mjs; then
  echo "--- outpost log (last 40 lines) ---" >&2
  tail -n 40 "$work/outpost.log" >&2
  die "browser test"
fi
say "passed ($mode mode)"
