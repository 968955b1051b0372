#!/usr/bin/env bash
# Runs the cargo-fuzz targets (fuzz/) for a stated time each and prints a table.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]      (default 30 s, every target)
# New inputs go to a work corpus under ~/.cache/outpost-rs/fuzz; the seeds in fuzz/corpus/<target>
# are read, never written. A crash leaves its input under fuzz/artifacts/<target>/ and fails the run.
# Installs cargo-fuzz once (crates.io). The toolchain is stable: RUSTC_BOOTSTRAP=1 lets cargo-fuzz
# use the sanitizer flags it needs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-30}"
shift || true
targets=("$@")
cache="$HOME/.cache/outpost-rs/fuzz"
export CARGO_TARGET_DIR="$cache/target"
export RUSTC_BOOTSTRAP=1
mkdir -p "$cache"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (once)"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
cd "$root/fuzz"
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(cargo fuzz list)
fi

echo "fuzz: building ${targets[*]}"
cargo fuzz build -O

rows=()
failed=0
for t in "${targets[@]}"; do
  work="$cache/corpus/$t"
  mkdir -p "$work" "$root/fuzz/artifacts/$t"
  echo "fuzz: $t for ${secs}s"
  log="$cache/$t.log"
  if cargo fuzz run -O "$t" "$work" "corpus/$t" -- \
      -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see fuzz/artifacts/$t, log $log)"
    failed=1
    tail -n 40 "$log"
  fi
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  corpus="$(find "$work" -type f | wc -l)"
  rows+=("$(printf '%-10s %8ss %12s %8s  %s' "$t" "$secs" "${execs:-?}" "$corpus" "$result")")
done

printf '\n%-10s %9s %12s %8s  %s\n' target time executions corpus result
printf '%s\n' "${rows[@]}"
exit "$failed"
