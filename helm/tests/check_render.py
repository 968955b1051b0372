"""Assertions on rendered outpost charts (release "outpost", namespace "outpost").

    python check_render.py RENDER_DIR REPO_ROOT

RENDER_DIR holds `helm template` output for the default values (default.yaml) and for each
helm/outpost/ci/<name>.yaml (full.yaml, dev.yaml, external.yaml). REPO_ROOT is used to read
crates/config/src/vars.rs (the settings table) and the chart's values.schema.json.

Prints `PASS name` / `FAIL name: why` per check and `N passed, N failed`; exits 1 on a failure.
"""

import json
import re
import sys
import traceback
from pathlib import Path

import yaml

RELEASE = "outpost"
COMPONENTS = ("api", "delivery", "log")
HTTP_PORT = 3333
GRPC_PORT = 3334
CHART_MANAGED = {"SERVICE", "API_PORT", "LOG_GRPC_PORT", "LOG_GRPC_URL"}

results: list[tuple[str, str | None]] = []


def check(name):
    def wrap(fn):
        try:
            fn()
            results.append((name, None))
        except AssertionError as e:
            results.append((name, str(e) or "assertion failed"))
        except Exception:  # noqa: BLE001 - report, do not crash the run
            results.append((name, traceback.format_exc(limit=2).strip().replace("\n", " | ")))
        return fn

    return wrap


class Render:
    def __init__(self, path: Path):
        self.docs = [d for d in yaml.safe_load_all(path.read_text()) if d]

    def all(self, kind):
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind, name):
        found = [d for d in self.docs if d["kind"] == kind and d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]

    def maybe(self, kind, name):
        found = [d for d in self.docs if d["kind"] == kind and d["metadata"]["name"] == name]
        return found[0] if found else None

    def workloads(self):
        """(name, pod spec) of every Deployment and Job."""
        return [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in self.docs if d["kind"] in ("Deployment", "Job")]

    def outpost_deployments(self):
        return {c: self.get("Deployment", f"{RELEASE}-{c}") for c in COMPONENTS}


def container(dep, name="outpost"):
    cs = [c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    assert len(cs) == 1, f"{dep['metadata']['name']}: no container {name}"
    return cs[0]


def env_map(c):
    return {e["name"]: e.get("value") for e in c.get("env", [])}


def secret_refs(c):
    """Names of every Secret a container reads."""
    names = {src["secretRef"]["name"] for src in c.get("envFrom", []) if "secretRef" in src}
    names |= {e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
    return names


def all_containers(render):
    for name, spec in render.workloads():
        for c in spec.get("initContainers", []) + spec["containers"]:
            yield name, c


def vars_table(root: Path):
    """env name -> secret flag, from crates/config/src/vars.rs."""
    text = (root / "crates/config/src/vars.rs").read_text()
    rows = re.findall(r'^\s*"([A-Z0-9_]+)", "[^"]*", (?:Some\(.*?\)|None), (true|false),', text, re.M)
    assert len(rows) > 100, f"parsed only {len(rows)} settings from vars.rs"
    return {env: secret == "true" for env, secret in rows}


def main() -> int:
    rdir, root = Path(sys.argv[1]), Path(sys.argv[2])
    chart = root / "helm/outpost"
    full = Render(rdir / "full.yaml")
    default = Render(rdir / "default.yaml")
    dev = Render(rdir / "dev.yaml")
    external = Render(rdir / "external.yaml")
    full_values = yaml.safe_load((chart / "ci/full.yaml").read_text())
    existing = full_values["existingSecret"]

    # ---------------------------------------------------------------- ci/full.yaml
    @check("full: three Deployments with SERVICE=api|delivery|log, API_PORT and an http port")
    def _():
        deps = full.outpost_deployments()
        for comp, dep in deps.items():
            c = container(dep)
            env = env_map(c)
            assert env.get("SERVICE") == comp, f"{comp}: SERVICE={env.get('SERVICE')!r}"
            assert env.get("API_PORT") == str(HTTP_PORT), f"{comp}: API_PORT={env.get('API_PORT')!r}"
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            assert ports.get("http") == HTTP_PORT, f"{comp}: ports {ports}"
            assert c["args"] == ["serve"], f"{comp}: args {c['args']}"
        outpost_deps = [d for d in full.all("Deployment") if d["metadata"]["labels"]["app.kubernetes.io/component"] in COMPONENTS]
        assert len(outpost_deps) == 3, f"{len(outpost_deps)} outpost Deployments"

    @check("full: liveness GET /healthz, readiness GET /readyz on port http for every service")
    def _():
        for comp, dep in full.outpost_deployments().items():
            c = container(dep)
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                get = c[probe]["httpGet"]
                assert get == {"path": path, "port": "http"}, f"{comp} {probe}: {get}"

    @check("full: each service drains within its grace period; the api keeps serving 5 s unready")
    def _():
        for comp, dep in full.outpost_deployments().items():
            env = env_map(container(dep))
            grace = dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            assert env.get("SHUTDOWN_GRACE_SECONDS") == str(grace - 5), f"{comp}: {env.get('SHUTDOWN_GRACE_SECONDS')} vs {grace}"
            want_delay = "5" if comp == "api" else None
            assert env.get("SHUTDOWN_DELAY_SECONDS") == want_delay, f"{comp}: {env.get('SHUTDOWN_DELAY_SECONDS')}"

    @check("full: HPAs (autoscaling/v2) for api and delivery (min 2), none for log; replicas left to them")
    def _():
        hpas = {h["metadata"]["name"]: h for h in full.all("HorizontalPodAutoscaler")}
        assert set(hpas) == {f"{RELEASE}-api", f"{RELEASE}-delivery"}, f"HPAs: {sorted(hpas)}"
        deps = full.outpost_deployments()
        for comp in ("api", "delivery"):
            h = hpas[f"{RELEASE}-{comp}"]
            assert h["apiVersion"] == "autoscaling/v2", h["apiVersion"]
            ref = h["spec"]["scaleTargetRef"]
            assert ref == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{RELEASE}-{comp}"}, ref
            assert h["spec"]["minReplicas"] == 2, h["spec"]["minReplicas"]
            assert h["spec"]["maxReplicas"] == full_values[comp]["autoscaling"]["maxReplicas"]
            cpu = [m for m in h["spec"]["metrics"] if m["resource"]["name"] == "cpu"]
            assert cpu and cpu[0]["resource"]["target"]["averageUtilization"] == full_values[comp]["autoscaling"]["targetCPUUtilizationPercentage"]
            assert "replicas" not in deps[comp]["spec"], f"{comp}: replicas set although an HPA scales it"
        mem = [m for m in hpas[f"{RELEASE}-api"]["spec"]["metrics"] if m["resource"]["name"] == "memory"]
        assert mem and mem[0]["resource"]["target"]["averageUtilization"] == 80, "api memory metric"
        assert hpas[f"{RELEASE}-api"]["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
        assert deps["log"]["spec"]["replicas"] == 2, f"log replicas {deps['log']['spec'].get('replicas')}"

    @check("full: no Secret rendered with existingSecret (neither the chart's nor the migration hook's)")
    def _():
        secrets = [s["metadata"]["name"] for s in full.all("Secret")]
        assert not secrets, f"Secrets rendered: {secrets}"

    @check("full: every outpost container (Deployments and migration Job) reads the existing Secret")
    def _():
        seen = 0
        for name, spec in full.workloads():
            for c in spec["containers"]:
                refs = secret_refs(c)
                assert existing in refs, f"{name}/{c['name']} does not reference {existing}: {sorted(refs)}"
                assert RELEASE not in refs and f"{RELEASE}-migrate" not in refs, f"{name}: chart Secret referenced"
                seen += 1
        assert seen == 4, f"{seen} containers checked (3 services + migration Job expected)"
        for comp, dep in full.outpost_deployments().items():
            annotations = dep["spec"]["template"]["metadata"]["annotations"]
            assert "checksum/config" in annotations and "checksum/secret" not in annotations, f"{comp}: {annotations}"

    @check("full: Ingress (networking.k8s.io/v1) routes to the api Service's http port, with TLS")
    def _():
        ings = full.all("Ingress")
        assert len(ings) == 1, f"{len(ings)} Ingresses"
        ing = ings[0]
        assert ing["apiVersion"] == "networking.k8s.io/v1"
        assert ing["spec"]["ingressClassName"] == "nginx"
        assert ing["spec"]["tls"][0]["secretName"] == "outpost-tls"
        api_svc = full.get("Service", f"{RELEASE}-api")
        svc_ports = {p["name"] for p in api_svc["spec"]["ports"]}
        for rule in ing["spec"]["rules"]:
            assert rule["host"] == "outpost.example.com"
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == api_svc["metadata"]["name"], backend
                assert backend["port"].get("name") in svc_ports, f"{backend['port']} not in {svc_ports}"
        assert api_svc["spec"]["ports"][0]["port"] == 80, "api.service.port 80"

    @check("full: log Service exposes http and grpc (3334); log pods listen on grpc with LOG_GRPC_PORT")
    def _():
        svc = full.get("Service", f"{RELEASE}-log")
        ports = {p["name"]: p for p in svc["spec"]["ports"]}
        assert set(ports) == {"http", "grpc"}, sorted(ports)
        assert ports["grpc"]["port"] == GRPC_PORT and ports["grpc"]["targetPort"] == "grpc", ports["grpc"]
        c = container(full.get("Deployment", f"{RELEASE}-log"))
        assert {p["name"]: p["containerPort"] for p in c["ports"]}.get("grpc") == GRPC_PORT
        assert env_map(c).get("LOG_GRPC_PORT") == str(GRPC_PORT)
        for comp in ("api", "delivery"):
            names = {p["name"] for p in full.get("Service", f"{RELEASE}-{comp}")["spec"]["ports"]}
            assert names == {"http"}, f"{comp} Service ports {names}"

    @check("full: api gets LOG_GRPC_URL=http://<release>-log:3334 naming the log Service; others do not")
    def _():
        deps = full.outpost_deployments()
        url = env_map(container(deps["api"])).get("LOG_GRPC_URL")
        assert url == f"http://{RELEASE}-log:{GRPC_PORT}", url
        svc = full.get("Service", f"{RELEASE}-log")
        assert url == f"http://{svc['metadata']['name']}:{[p for p in svc['spec']['ports'] if p['name'] == 'grpc'][0]['port']}"
        for comp in ("delivery", "log"):
            assert "LOG_GRPC_URL" not in env_map(container(deps[comp])), comp

    @check("full: Services select exactly the pods of their own Deployment")
    def _():
        deps = full.outpost_deployments()
        for comp in COMPONENTS:
            sel = full.get("Service", f"{RELEASE}-{comp}")["spec"]["selector"]
            for other, dep in deps.items():
                labels = dep["spec"]["template"]["metadata"]["labels"]
                matches = all(labels.get(k) == v for k, v in sel.items())
                assert matches == (other == comp), f"Service {comp} selector {sel} vs {other} pods {labels}"
                assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()

    @check("full: migration Job is a pre-install,pre-upgrade hook running `outpost migrate apply --yes`")
    def _():
        job = full.get("Job", f"{RELEASE}-migrate")
        ann = job["metadata"]["annotations"]
        assert ann.get("helm.sh/hook") == "pre-install,pre-upgrade", ann
        assert "before-hook-creation" in ann.get("helm.sh/hook-delete-policy", ""), ann
        assert "helm.sh/hook-weight" in ann, ann
        spec = job["spec"]["template"]["spec"]
        assert spec["restartPolicy"] == "Never"
        c = spec["containers"][0]
        assert c.get("args") == ["migrate", "apply", "--yes"], c.get("args")
        assert c["image"] == "registry.example.com/outpost-rs:0.1.0", c["image"]
        pg = [e for e in c["env"] if e["name"] == "POSTGRES_URL"][0]
        assert pg["valueFrom"]["secretKeyRef"] == {"name": existing, "key": "POSTGRES_URL"}, pg
        assert spec.get("serviceAccountName") == "outpost-migrate"

    @check("full: non-root pods; containers read-only, no privilege escalation, ALL capabilities dropped")
    def _():
        for name, spec in full.workloads():
            psc = spec["securityContext"]
            assert psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, f"{name}: {psc}"
            for c in spec.get("initContainers", []) + spec["containers"]:
                sc = c["securityContext"]
                assert sc.get("runAsNonRoot") is True, f"{name}/{c['name']}: runAsNonRoot"
                assert sc.get("readOnlyRootFilesystem") is True, f"{name}/{c['name']}: readOnlyRootFilesystem"
                assert sc.get("allowPrivilegeEscalation") is False, f"{name}/{c['name']}: allowPrivilegeEscalation"
                assert sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}/{c['name']}: capabilities"
                assert any(m["mountPath"] == "/tmp" for m in c.get("volumeMounts", [])), f"{name}/{c['name']}: no writable /tmp"
            assert spec.get("automountServiceAccountToken") is False, f"{name}: token automounted"

    @check("full: ConfigMap holds the plain settings as strings (numbers unmangled, empty kept)")
    def _():
        cm = full.get("ConfigMap", RELEASE)["data"]
        assert all(isinstance(v, str) for v in cm.values()), cm
        expect = {
            "LOG_LEVEL": "warn",
            "DEPLOYMENT_ID": "prod-eu",
            "TOPICS": "user.created,user.deleted,order.paid",
            "REDIS_HOST": "redis.data.svc.cluster.local",
            "REDIS_PORT": "6380",
            "REDIS_DATABASE": "2",
            "REDIS_USERNAME": "outpost",
            "REDIS_TLS_ENABLED": "true",
            "DELIVERY_MAX_CONCURRENCY": "16",
            "LOG_BATCH_SIZE": "1000000",
            "LOG_RETENTION_DAYS": "30",
            "TOPICS_ALLOW_WILDCARDS": "true",
            "ALERT_CONSECUTIVE_FAILURE_COUNT": "",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability:4317",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        }
        for k, v in expect.items():
            assert cm.get(k) == v, f"{k}={cm.get(k)!r}, want {v!r}"
        for comp, dep in full.outpost_deployments().items():
            envfrom = container(dep)["envFrom"]
            assert {"configMapRef": {"name": RELEASE}} in envfrom, f"{comp}: {envfrom}"
        api_env = env_map(container(full.get("Deployment", f"{RELEASE}-api")))
        assert api_env.get("PORTAL_ORGANIZATION_NAME") == "Example Corp"
        for comp, dep in full.outpost_deployments().items():
            name = env_map(container(dep)).get("OTEL_SERVICE_NAME")
            assert name == f"outpost-prod-{comp}", f"{comp}: OTEL_SERVICE_NAME={name!r}"

    @check("full: PodDisruptionBudgets (policy/v1) per service with the configured budget")
    def _():
        pdbs = {p["metadata"]["name"]: p["spec"] for p in full.all("PodDisruptionBudget")}
        assert set(pdbs) == {f"{RELEASE}-{c}" for c in COMPONENTS}, sorted(pdbs)
        assert pdbs[f"{RELEASE}-api"].get("minAvailable") == 1 and "maxUnavailable" not in pdbs[f"{RELEASE}-api"]
        assert pdbs[f"{RELEASE}-log"].get("maxUnavailable") == "50%"
        assert pdbs[f"{RELEASE}-delivery"].get("maxUnavailable") == 1

    @check("full: scheduling, image, pull secrets, extra env and volumes reach the pods")
    def _():
        deps = full.outpost_deployments()
        d = deps["delivery"]["spec"]["template"]["spec"]
        assert d["nodeSelector"] == {"kubernetes.io/os": "linux"} and d["tolerations"][0]["key"] == "workload"
        assert "podAntiAffinity" in deps["log"]["spec"]["template"]["spec"]["affinity"]
        assert deps["api"]["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["maxSkew"] == 1
        assert deps["api"]["spec"]["template"]["spec"]["priorityClassName"] == "high-priority"
        for comp, dep in deps.items():
            spec = dep["spec"]["template"]["spec"]
            c = container(dep)
            assert c["image"] == "registry.example.com/outpost-rs:0.1.0" and c["imagePullPolicy"] == "Always"
            assert spec["imagePullSecrets"] == [{"name": "regcred"}]
            assert any(e["name"] == "OTEL_EXPORTER_OTLP_HEADERS" for e in c["env"]), comp
            assert any(m["name"] == "destination-metadata" for m in c["volumeMounts"]), comp
            assert any(v["name"] == "destination-metadata" for v in spec["volumes"]), comp
            assert dep["spec"]["template"]["metadata"]["annotations"].get("prometheus.io/scrape") == "false"

    # ---------------------------------------------------------------- default values
    @check("default: chart Secret and ConfigMap referenced, nothing optional rendered")
    def _():
        kinds = sorted(d["kind"] for d in default.docs)
        assert kinds.count("Deployment") == 3 and kinds.count("Service") == 3, kinds
        for kind in ("HorizontalPodAutoscaler", "Ingress", "Job"):
            assert not default.all(kind), f"{kind} rendered by default"
        sec = default.get("Secret", RELEASE)
        assert not sec.get("stringData") and not sec.get("data"), "empty settings must be left out of the Secret"
        assert default.get("ConfigMap", RELEASE)["data"] == {"LOG_LEVEL": "info"}
        for comp, dep in default.outpost_deployments().items():
            assert dep["spec"]["replicas"] == 1, comp
            c = container(dep)
            assert secret_refs(c) == {RELEASE}, f"{comp}: {secret_refs(c)}"
            assert "checksum/secret" in dep["spec"]["template"]["metadata"]["annotations"]
            assert dep["spec"]["template"]["spec"]["serviceAccountName"] == RELEASE
            assert c["image"] == "outpost-rs:0.1.0", c["image"]
            assert "OTEL_SERVICE_NAME" not in env_map(c), f"{comp}: OpenTelemetry on by default"
        assert default.get("ServiceAccount", RELEASE)["automountServiceAccountToken"] is False
        pdbs = default.all("PodDisruptionBudget")
        assert len(pdbs) == 3 and all(p["spec"] == {**p["spec"], "maxUnavailable": 1} for p in pdbs)
        types = {s["spec"]["type"] for s in default.all("Service")}
        assert types == {"ClusterIP"}, types

    # ---------------------------------------------------------------- ci/dev.yaml
    @check("dev: bundled Redis/Postgres/RabbitMQ (official images, one replica) wired into ConfigMap and Secret")
    def _():
        images = {"redis": "redis:", "postgres": "postgres:", "rabbitmq": "rabbitmq:"}
        for name, prefix in images.items():
            dep = dev.get("Deployment", f"{RELEASE}-{name}")
            assert dep["spec"]["replicas"] == 1
            c = dep["spec"]["template"]["spec"]["containers"][0]
            assert c["image"].startswith(prefix), c["image"]
            assert dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
            svc = dev.get("Service", f"{RELEASE}-{name}")
            assert svc["spec"]["ports"][0]["targetPort"] == name
        cm = dev.get("ConfigMap", RELEASE)["data"]
        assert cm["REDIS_HOST"] == f"{RELEASE}-redis" and cm["REDIS_PORT"] == "6379", cm
        sec = dev.get("Secret", RELEASE)["stringData"]
        assert sec["POSTGRES_URL"] == f"postgres://outpost:outpost@{RELEASE}-postgres:5432/outpost", sec["POSTGRES_URL"]
        assert sec["RABBITMQ_SERVER_URL"] == f"amqp://outpost:outpost@{RELEASE}-rabbitmq:5672/%2f", sec["RABBITMQ_SERVER_URL"]
        for k in ("API_KEY", "API_JWT_SECRET", "AES_ENCRYPTION_SECRET", "LOG_GRPC_TOKEN"):
            assert sec.get(k), k
        assert not default.maybe("Deployment", f"{RELEASE}-postgres"), "dev servers must be off by default"

    @check("dev: migration runs post-install (after the bundled Postgres exists), waits for it, own hook Secret first")
    def _():
        job = dev.get("Job", f"{RELEASE}-migrate")
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
        init = job["spec"]["template"]["spec"]["initContainers"]
        assert init and "pg_isready" in " ".join(init[0]["command"])
        hook_secret = dev.get("Secret", f"{RELEASE}-migrate")
        ha = hook_secret["metadata"]["annotations"]
        assert ha["helm.sh/hook"] == job["metadata"]["annotations"]["helm.sh/hook"]
        assert int(ha["helm.sh/hook-weight"]) < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
        ref = job["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {"name": f"{RELEASE}-migrate", "key": "POSTGRES_URL"} in [e.get("valueFrom", {}).get("secretKeyRef") for e in ref]

    # ---------------------------------------------------------------- ci/external.yaml
    @check("external: credentials in the chart Secret; migration pre-install reading its hook Secret")
    def _():
        values = yaml.safe_load((chart / "ci/external.yaml").read_text())
        sec = external.get("Secret", RELEASE)["stringData"]
        want = {
            "API_KEY": "apiKey",
            "API_JWT_SECRET": "apiJwtSecret",
            "AES_ENCRYPTION_SECRET": "aesEncryptionSecret",
            "REDIS_PASSWORD": "redisPassword",
            "POSTGRES_URL": "postgresUrl",
            "RABBITMQ_SERVER_URL": "rabbitmqServerUrl",
            "LOG_GRPC_TOKEN": "logGrpcToken",
        }
        for env, key in want.items():
            assert sec.get(env) == values["secrets"][key], env
        for env, v in values["secrets"]["extra"].items():
            assert sec.get(env) == v, env
        assert "REDIS_PASSWORD" not in external.get("ConfigMap", RELEASE)["data"]
        job = external.get("Job", f"{RELEASE}-migrate")
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert "serviceAccountName" not in job["spec"]["template"]["spec"], "hook must not need the chart's ServiceAccount"
        hook = external.get("Secret", f"{RELEASE}-migrate")
        assert hook["stringData"] == {"POSTGRES_URL": values["secrets"]["postgresUrl"]}
        assert "pre-install" in hook["metadata"]["annotations"]["helm.sh/hook"]

    @check("external: replicas 0 allowed, PDB off, Service types, no ServiceAccount created")
    def _():
        deps = external.outpost_deployments()
        assert deps["delivery"]["spec"]["replicas"] == 0 and deps["api"]["spec"]["replicas"] == 3
        assert not external.maybe("PodDisruptionBudget", f"{RELEASE}-delivery")
        assert external.get("Service", f"{RELEASE}-api")["spec"]["type"] == "LoadBalancer"
        assert external.get("Service", f"{RELEASE}-delivery")["spec"]["type"] == "NodePort"
        assert not external.all("ServiceAccount")
        for comp, dep in deps.items():
            assert dep["spec"]["template"]["spec"]["serviceAccountName"] == "default", comp

    # ---------------------------------------------------------------- against the settings table
    @check("settings: every env name the chart sets is a known setting in crates/config/src/vars.rs")
    def _():
        table = vars_table(root)
        unknown = set()
        for render in (full, default, dev, external):
            for kind in ("ConfigMap", "Secret"):
                for obj in render.all(kind):
                    unknown |= {k for k in (obj.get("data") or obj.get("stringData") or {}) if k not in table}
            for name, c in all_containers(render):
                if c["name"] != "outpost" and c["name"] != "migrate":
                    continue
                unknown |= {e["name"] for e in c.get("env", []) if e["name"] not in table and not e["name"].startswith("OTEL_")}
        assert not unknown, f"not in vars.rs: {sorted(unknown)}"

    @check("settings: the schema's credential list equals the secret settings of vars.rs")
    def _():
        table = vars_table(root)
        schema = json.loads((chart / "values.schema.json").read_text())
        props = schema["definitions"]["plainEnv"]["properties"]
        forbidden = {k for k, v in props.items() if v is False}
        secret = {k for k, s in table.items() if s}
        assert forbidden - CHART_MANAGED == secret, f"schema only: {sorted(forbidden - CHART_MANAGED - secret)}, vars.rs only: {sorted(secret - forbidden)}"
        assert CHART_MANAGED <= set(table), "chart-managed names must exist in vars.rs"
        # Every setting the chart maps from secrets.* is a secret in vars.rs, and vice versa for the ConfigMap.
        for env in ("API_KEY", "API_JWT_SECRET", "AES_ENCRYPTION_SECRET", "REDIS_PASSWORD", "POSTGRES_URL", "RABBITMQ_SERVER_URL", "LOG_GRPC_TOKEN"):
            assert table[env], f"{env} is not a secret in vars.rs"
        for env in full.get("ConfigMap", RELEASE)["data"]:
            assert not table[env], f"{env} is a secret but is in the ConfigMap"

    failed = 0
    for name, err in results:
        if err is None:
            print(f"PASS {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {err}")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
