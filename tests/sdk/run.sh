#!/usr/bin/env bash
# Run the published-SDK smoke tests (Python `outpost-sdk`, npm `@hookdeck/outpost-sdk`)
# against a running outpost-rs server.
#
# Required environment:
#   OUTPOST_URL      API base URL including the /api/v1 prefix, e.g. http://127.0.0.1:3333/api/v1
#   OUTPOST_API_KEY  the server's admin API key (API_KEY)
# Optional:
#   OUTPOST_SDK_CACHE  cache dir for the Python venv (default: $HOME/.cache/outpost-rs/sdk)
#   OUTPOST_SDK_LANGS  which suites to run (default: "python ts")
#
# Note: each run_<suite> function runs on the left of `||`, where `set -e` is
# suspended, so every step in them checks its own status explicitly.
#
# Exit status: 0 only if every selected suite passed. Last line: "sdk: N passed, M failed".
set -euo pipefail

: "${OUTPOST_URL:?set OUTPOST_URL, e.g. http://127.0.0.1:3333/api/v1}"
: "${OUTPOST_API_KEY:?set OUTPOST_API_KEY to the server admin API key}"
export OUTPOST_URL OUTPOST_API_KEY

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${OUTPOST_SDK_CACHE:-$HOME/.cache/outpost-rs/sdk}"
VENV="$CACHE/venv"
LANGS="${OUTPOST_SDK_LANGS:-python ts}"
LOGDIR="$(mktemp -d)"
trap 'rm -rf "$LOGDIR"' EXIT

total_passed=0
total_failed=0
failed_suites=()

log() { printf '[sdk-smoke] %s\n' "$*"; }

# Add the "N passed, M failed" closing line of a suite's output to the totals;
# a suite that died without one counts as one failure.
tally() {
  local name=$1 rc=$2 out=$3 line p f
  line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)"
  if [[ -n "$line" ]]; then
    p="${line%% passed*}"
    f="${line#*passed, }"
    f="${f%% failed*}"
  else
    p=0
    f=1
  fi
  if [[ "$rc" -ne 0 && "$f" -eq 0 ]]; then f=1; fi
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
  if [[ "$rc" -ne 0 ]]; then
    failed_suites+=("$name")
    log "$name: FAILED (exit $rc)"
  else
    log "$name: passed"
  fi
}

run_python() {
  local req="$HERE/python/requirements.txt" stamp="$VENV/.requirements.sha256" want
  command -v python3 >/dev/null || { log "python3 not found"; return 1; }
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "python: creating venv at $VENV"
    mkdir -p "$CACHE"
    python3 -m venv "$VENV" || { log "python: 'python3 -m venv' failed (Debian: apt-get install python3-venv)"; return 1; }
  fi
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "python: installing $(tr '\n' ' ' <"$req")"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" \
      || { log "python: pip install failed"; return 1; }
    echo "$want" >"$stamp"
  else
    log "python: venv up to date ($(tr '\n' ' ' <"$req"))"
  fi
  log "python: running smoke.py"
  "$VENV/bin/python" "$HERE/python/smoke.py"
}

run_ts() {
  command -v node >/dev/null || { log "node not found"; return 1; }
  command -v npm >/dev/null || { log "npm not found"; return 1; }
  log "ts: npm ci (node $(node --version))"
  (cd "$HERE/ts" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error) \
    || { log "ts: npm ci failed"; return 1; }
  log "ts: running smoke.mjs"
  (cd "$HERE/ts" && node smoke.mjs)
}

log "target: $OUTPOST_URL"
for lang in $LANGS; do
  case "$lang" in
    python | ts) ;;
    *) log "unknown suite '$lang' in OUTPOST_SDK_LANGS (use: python ts)"; exit 2 ;;
  esac
  out="$LOGDIR/$lang.out"
  log "== $lang"
  rc=0
  "run_$lang" 2>&1 | tee "$out" || rc=$?
  tally "$lang" "$rc" "$out"
done

if ((${#failed_suites[@]})); then
  log "failed suites: ${failed_suites[*]}"
fi
echo "sdk: $total_passed passed, $total_failed failed"
[[ $total_failed -eq 0 && ${#failed_suites[@]} -eq 0 ]]
