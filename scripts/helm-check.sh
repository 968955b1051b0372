#!/usr/bin/env bash
# Offline checks of the Helm chart helm/outpost (no cluster, no Docker):
#   1. helm lint --strict, default values and every helm/outpost/ci/*.yaml, for each Kubernetes version
#   2. helm template for each values set and Kubernetes version, every object validated strictly
#      against that version's schemas (kubernetes-validate, unknown fields are errors)
#   3. NOTES.txt renders for each values set (helm install --dry-run=client) with the expected hints
#   4. the validator itself rejects a known-bad manifest
#   5. bad values files (helm/tests/bad-values/*.yaml) are REJECTED, with the expected message
#   6. assertions on the parsed renders (helm/tests/check_render.py)
# Tools come from scripts/install-helm-tools.sh (cached under $OUTPOST_TOOLS).
# Ends with `helm: N passed, N failed`; exits 1 on any failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/helm/outpost"
TESTS="$ROOT/helm/tests"
KUBE_VERSIONS=(${HELM_CHECK_KUBE_VERSIONS:-1.33.0 1.36.0})
RELEASE=outpost
NAMESPACE=outpost

SECONDS=0
HELM="$("$ROOT/scripts/install-helm-tools.sh")" || { echo "helm-check: cannot install the tools" >&2; echo "helm: 0 passed, 1 failed"; exit 1; }
TOOLS="$(dirname "$HELM")"
PY="$TOOLS/helm-venv/bin/python"

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
# Helm keeps its caches and config in the temporary folder, away from $HOME.
export HELM_CACHE_HOME="$OUT/helm-cache" HELM_CONFIG_HOME="$OUT/helm-config" HELM_DATA_HOME="$OUT/helm-data"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
indent() { sed 's/^/    /'; }

# Values sets: the defaults plus every ci/*.yaml.
sets=(default)
for f in "$CHART"/ci/*.yaml; do sets+=("$(basename "$f" .yaml)"); done
values_args() { [[ "$1" == default ]] || echo "-f $CHART/ci/$1.yaml"; }

echo "== helm template (validated in the background, results below)"
declare -A rendered
for kv in "${KUBE_VERSIONS[@]}"; do
  mkdir -p "$OUT/$kv"
  files=()
  for s in "${sets[@]}"; do
    out="$OUT/$kv/$s.yaml"
    # shellcheck disable=SC2046
    if "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$kv" \
        $(values_args "$s") >"$out" 2>"$OUT/err"; then
      files+=("$out")
    else
      fail "template $s (k8s $kv)"; indent <"$OUT/err"
    fi
  done
  rendered[$kv]="${files[*]}"
  # One validator process per Kubernetes version, running while the other checks go on.
  if [[ ${#files[@]} -gt 0 ]]; then
    "$PY" "$TESTS/validate_manifests.py" --kube-version "$kv" "${files[@]}" >"$OUT/validate-$kv.log" 2>&1 &
  fi
done

echo "== helm lint --strict"
for kv in "${KUBE_VERSIONS[@]}"; do
  for s in "${sets[@]}"; do
    # shellcheck disable=SC2046
    if log="$("$HELM" lint --strict --kube-version "$kv" $(values_args "$s") "$CHART" 2>&1)"; then
      pass "lint $s (k8s $kv)"
    else
      fail "lint $s (k8s $kv)"; echo "$log" | indent
    fi
  done
done

echo "== NOTES.txt (helm install --dry-run=client, no cluster needed)"
declare -A notes_expect=(
  [default]="port-forward service/$RELEASE-api|WARNING: redis.host is empty|WARNING: no RabbitMQ configured|WARNING: secrets.aesEncryptionSecret is empty|WARNING: secrets.apiKey is empty"
  [full]="https://outpost.example.com/|hook Job $RELEASE-migrate"
  [dev]="WARNING: bundled dev servers are enabled|hook Job $RELEASE-migrate"
  [external]="port-forward service/$RELEASE-api|hook Job $RELEASE-migrate"
)
declare -A notes_absent=([full]="WARNING" [external]="WARNING" [default]="hook Job")
for s in "${sets[@]}"; do
  # shellcheck disable=SC2046
  if ! "$HELM" install "$RELEASE" "$CHART" --namespace "$NAMESPACE" --dry-run=client \
      $(values_args "$s") >"$OUT/install" 2>&1; then
    fail "NOTES $s: helm install --dry-run=client failed"; indent <"$OUT/install"; continue
  fi
  notes="$(sed -n '/^NOTES:/,$p' "$OUT/install")"
  missing=""
  IFS='|' read -r -a want <<<"${notes_expect[$s]:-port-forward}"
  for w in "${want[@]}"; do [[ "$notes" == *"$w"* ]] || missing+=" [$w]"; done
  absent="${notes_absent[$s]:-}"
  if [[ -n "$absent" && "$notes" == *"$absent"* ]]; then missing+=" (unexpected: $absent)"; fi
  if [[ -z "$notes" || -n "$missing" ]]; then
    fail "NOTES $s: missing$missing"; echo "$notes" | indent
  else
    pass "NOTES $s"
  fi
done

echo "== the validator rejects a bad manifest"
if log="$("$PY" "$TESTS/validate_manifests.py" --kube-version "${KUBE_VERSIONS[0]}" "$TESTS/bad-manifest.yaml" 2>&1)"; then
  fail "validator accepted helm/tests/bad-manifest.yaml"; echo "$log" | indent
else
  n="$(echo "$log" | grep -c '^FAIL')"
  if [[ "$n" == "$(grep -c '^kind:' "$TESTS/bad-manifest.yaml")" ]]; then
    pass "validator rejects all $n objects of bad-manifest.yaml"
  else
    fail "validator rejected $n objects of bad-manifest.yaml"; echo "$log" | indent
  fi
fi

echo "== bad values are rejected"
for f in "$TESTS"/bad-values/*.yaml; do
  name="$(basename "$f")"
  expect="$(sed -n 's/^# expect: //p' "$f" | head -1)"
  if log="$("$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" -f "$f" 2>&1 >/dev/null)"; then
    fail "bad values $name were accepted"
  elif [[ -n "$expect" && "$log" != *"$expect"* ]]; then
    fail "bad values $name rejected, but without \"$expect\""; echo "$log" | indent
  else
    pass "bad values $name rejected ($expect)"
  fi
done

echo "== strict schema validation of every rendered object"
wait
for kv in "${KUBE_VERSIONS[@]}"; do
  log="$(cat "$OUT/validate-$kv.log" 2>/dev/null)"
  for out in ${rendered[$kv]}; do
    s="$(basename "$out" .yaml)"
    line="$(grep -F "FILE $out: " <<<"$log" | head -1)"
    if [[ "$line" =~ :\ ([0-9]+)\ passed,\ 0\ failed$ && "${BASH_REMATCH[1]}" -gt 0 ]]; then
      pass "validate $s (k8s $kv): ${line##*: }"
    else
      fail "validate $s (k8s $kv): ${line##*: }"; grep -F "FAIL " <<<"$log" | indent
    fi
  done
done

echo "== assertions on the renders (k8s ${KUBE_VERSIONS[-1]})"
log="$("$PY" "$TESTS/check_render.py" "$OUT/${KUBE_VERSIONS[-1]}" "$ROOT" 2>&1)"
rc=$?
echo "$log" | grep -E '^(PASS|FAIL) '
p="$(echo "$log" | grep -c '^PASS ')"
f="$(echo "$log" | grep -c '^FAIL ')"
passed=$((passed + p))
failed=$((failed + f))
if [[ $rc -ne 0 && $f -eq 0 ]]; then
  fail "check_render.py crashed"; echo "$log" | indent
fi

echo "helm-check: done in ${SECONDS}s"
echo "helm: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
