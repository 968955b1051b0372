#!/usr/bin/env bash
# Runs the three services as separate `outpost` processes from the configuration the Helm chart
# renders (helm/tests/chart_e2e.py), against the local Redis, RabbitMQ and PostgreSQL, and
# delivers events end to end. Usage: scripts/chart-e2e.sh path/to/outpost
set -euo pipefail
bin="${1:?usage: chart-e2e.sh path/to/outpost}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
helm="$("$root/scripts/install-helm-tools.sh")"
py="$(dirname "$helm")/helm-venv/bin/python"
export HELM_CACHE_HOME="$(mktemp -d)" HELM_CONFIG_HOME="$(mktemp -d)" HELM_DATA_HOME="$(mktemp -d)"
trap 'rm -rf "$HELM_CACHE_HOME" "$HELM_CONFIG_HOME" "$HELM_DATA_HOME"' EXIT
"$py" "$root/helm/tests/chart_e2e.py" --helm "$helm" --outpost "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" ${CHART_E2E_ARGS:-}
