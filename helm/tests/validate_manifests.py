"""Validates rendered Kubernetes manifests against the schemas of one Kubernetes version, strictly
(unknown fields are errors, as `kubeconform -strict`). A kind with no bundled schema (a removed
apiVersion, a CRD) is a failure too, unless listed with --allow-missing.

    python validate_manifests.py --kube-version 1.36.0 rendered.yaml [more.yaml | -]

Prints one FAIL line per bad object, a `FILE <path>: N passed, N failed` line per file, and a
final `N passed, N failed`; exits 1 on any failure (or when a file holds no object).
"""

import argparse
import sys

import kubernetes_validate as kv
import yaml


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("files", nargs="+", help='rendered manifests; "-" reads stdin')
    p.add_argument("--kube-version", required=True)
    p.add_argument(
        "--allow-missing",
        action="append",
        default=[],
        help="apiVersion/Kind without a bundled schema to skip, e.g. monitoring.coreos.com/v1/ServiceMonitor",
    )
    a = p.parse_args()
    ok = bad = 0
    empty = False
    for f in a.files:
        ok0, bad0 = ok, bad
        text = sys.stdin.read() if f == "-" else open(f, encoding="utf-8").read()
        for doc in yaml.safe_load_all(text):
            if not doc:
                continue
            kind = f"{doc.get('apiVersion')}/{doc.get('kind')}"
            ident = f"{kind} {doc.get('metadata', {}).get('name')}"
            try:
                kv.validate(doc, a.kube_version, strict=True)
                ok += 1
            except kv.ValidationError as e:
                bad += 1
                print(f"FAIL {ident} (k8s {a.kube_version}): {'.'.join(map(str, e.path))}: {e.message}")
            except kv.SchemaNotFoundError as e:
                if kind in a.allow_missing:
                    print(f"SKIP {ident}: no schema")
                else:
                    bad += 1
                    print(f"FAIL {ident} (k8s {a.kube_version}): {e.message}")
        print(f"FILE {f}: {ok - ok0} passed, {bad - bad0} failed")
        empty = empty or ok + bad == ok0 + bad0
    print(f"{ok} passed, {bad} failed")
    return 1 if bad or empty else 0


if __name__ == "__main__":
    sys.exit(main())
