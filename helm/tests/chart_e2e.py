#!/usr/bin/env python3
"""Runs outpost-rs exactly as the Helm chart configures it, on this machine, and delivers events.

The chart is rendered with `helm template` (values pointing at the local Redis, RabbitMQ and
PostgreSQL). Every container's environment is then built the way the kubelet builds it: the
ConfigMap and Secret of `envFrom`, then `env` (values, secretKeyRef, configMapKeyRef), in order,
later names winning. The migration Job runs first with its own environment and args, then the
log, delivery and api Deployments, each as its own `outpost` process with the container's args.

The only changes to the rendered configuration are the ones a cluster makes for us: each pod's
ports (three processes share one host, so API_PORT and LOG_GRPC_PORT get free ports) and the log
Service's DNS name in LOG_GRPC_URL (cluster DNS -> 127.0.0.1). Everything else is as rendered.

Then: a tenant, a webhook destination on a local sink, N events published through the api; every
event must arrive at the sink and its attempt must be readable through the api (which reads the
log over gRPC from the log process). Finally SIGTERM: every process must exit 0.

Usage: chart_e2e.py --helm PATH --outpost PATH [--events N]
"""

import argparse
import base64
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "outpost"
RELEASE = "outpost"
COMPONENTS = ("log", "delivery", "api")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg):
    print(f"chart-e2e: {msg}", flush=True)


class Sink(http.server.ThreadingHTTPServer):
    """Records the event id of every request; answers 200."""

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                self.rfile.read(n)
                with outer.lock:
                    outer.events.append(self.headers.get("x-outpost-event-id"))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def distinct(self):
        with self.lock:
            return set(e for e in self.events if e)


def render(helm, values_file):
    out = subprocess.run(
        [helm, "template", RELEASE, str(CHART), "--namespace", "outpost", "-f", str(values_file)],
        check=True, capture_output=True, text=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def secret_data(doc):
    data = {k: str(v) for k, v in (doc.get("stringData") or {}).items()}
    for k, v in (doc.get("data") or {}).items():
        data[k] = base64.b64decode(v).decode()
    return data


def container_env(container, configmaps, secrets):
    """The environment the kubelet gives `container`."""
    env = {}
    for src in container.get("envFrom", []):
        if "configMapRef" in src:
            env.update(configmaps[src["configMapRef"]["name"]])
        elif "secretRef" in src:
            env.update(secrets[src["secretRef"]["name"]])
        else:
            raise SystemExit(f"unsupported envFrom source {src}")
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        ref = e.get("valueFrom", {})
        if "secretKeyRef" in ref:
            env[e["name"]] = secrets[ref["secretKeyRef"]["name"]][ref["secretKeyRef"]["key"]]
        elif "configMapKeyRef" in ref:
            env[e["name"]] = configmaps[ref["configMapKeyRef"]["name"]][ref["configMapKeyRef"]["key"]]
        else:
            raise SystemExit(f"unsupported env source for {e['name']}: {ref}")
    return env


def api_call(base, key, method, path, body=None):
    req = urllib.request.Request(
        f"{base}/api/v1{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def wait_until(what, check, within):
    deadline = time.time() + within
    while True:
        got = check()
        if got:
            return got
        if time.time() > deadline:
            raise SystemExit(f"chart-e2e: FAIL: {what} (after {within} s)")
        time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--helm", required=True)
    ap.add_argument("--outpost", required=True)
    ap.add_argument("--events", type=int, default=50)
    args = ap.parse_args()

    run = "outpost_test_chart_" + uuid.uuid4().hex[:10]
    pg_server = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    redis_addr = os.environ.get("TEST_REDIS_ADDR", "127.0.0.1:6379")
    rabbit = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
    redis_host, redis_port = redis_addr.rsplit(":", 1)
    subprocess.run(["psql", pg_server, "-qc", f"CREATE DATABASE {run}"], check=True)
    pg_url = pg_server.rsplit("/", 1)[0] + "/" + run
    key = "chart-e2e-" + uuid.uuid4().hex

    work = Path(tempfile.mkdtemp(prefix="chart-e2e-"))
    values = {
        "deploymentId": run,
        "redis": {"host": redis_host, "port": int(redis_port)},
        "secrets": {
            "apiKey": key,
            "apiJwtSecret": "chart-e2e-jwt",
            "aesEncryptionSecret": "chart-e2e-aes",
            "postgresUrl": pg_url,
            "rabbitmqServerUrl": rabbit,
        },
        "config": {
            "RABBITMQ_EXCHANGE": run,
            "RABBITMQ_DELIVERY_QUEUE": f"{run}_delivery",
            "RABBITMQ_LOG_QUEUE": f"{run}_log",
            "LOG_BATCH_THRESHOLD_SECONDS": 0,
            "DESTINATIONS_WEBHOOK_ALLOWED_CIDRS": "127.0.0.0/8",
        },
    }
    values_file = work / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    docs = render(args.helm, values_file)
    configmaps = {d["metadata"]["name"]: {k: str(v) for k, v in (d.get("data") or {}).items()}
                  for d in docs if d["kind"] == "ConfigMap"}
    secrets = {d["metadata"]["name"]: secret_data(d) for d in docs if d["kind"] == "Secret"}
    deployments = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d
                   for d in docs if d["kind"] == "Deployment"}
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert set(COMPONENTS) <= set(deployments), f"Deployments: {sorted(deployments)}"
    assert len(jobs) == 1, f"{len(jobs)} migration Jobs"
    log_service = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}[f"{RELEASE}-log"]
    grpc_port = [p for p in log_service["spec"]["ports"] if p["name"] == "grpc"][0]["port"]

    procs = []
    sink = Sink()
    ok = False
    try:
        # 1. The migration Job.
        job = jobs[0]["spec"]["template"]["spec"]["containers"][0]
        env = container_env(job, configmaps, secrets)
        cmd = [args.outpost] + job.get("args", [])
        log(f"migration Job: {' '.join(job.get('args', []))}")
        subprocess.run(cmd, env={"PATH": os.environ["PATH"], **env}, cwd=work, check=True, timeout=120)

        # 2. The Deployments.
        grpc = free_port()
        bases = {}
        for comp in COMPONENTS:
            c = deployments[comp]["spec"]["template"]["spec"]["containers"][0]
            env = container_env(c, configmaps, secrets)
            port = free_port()
            env["API_PORT"] = str(port)
            if comp == "log":
                assert env["LOG_GRPC_PORT"] == str(grpc_port), env.get("LOG_GRPC_PORT")
                env["LOG_GRPC_PORT"] = str(grpc)
            if comp == "api":
                want = f"http://{RELEASE}-log:{grpc_port}"
                assert env["LOG_GRPC_URL"] == want, f"LOG_GRPC_URL {env['LOG_GRPC_URL']} != {want}"
                env["LOG_GRPC_URL"] = f"http://127.0.0.1:{grpc}"
            assert env.get("SERVICE") == comp, env.get("SERVICE")
            out = open(work / f"{comp}.log", "w")
            p = subprocess.Popen([args.outpost] + c.get("args", []), env={"PATH": os.environ["PATH"], **env},
                                 cwd=work, stdout=out, stderr=subprocess.STDOUT)
            procs.append((comp, p))
            base = f"http://127.0.0.1:{port}"
            bases[comp] = base
            probe = c["readinessProbe"]["httpGet"]["path"]

            def ready(base=base, probe=probe, p=p, comp=comp):
                if p.poll() is not None:
                    raise SystemExit(f"chart-e2e: FAIL: {comp} exited {p.returncode}: "
                                     + (work / f"{comp}.log").read_text()[-3000:])
                try:
                    with urllib.request.urlopen(base + probe, timeout=2) as r:
                        return r.status == 200
                except OSError:
                    return False
            wait_until(f"{comp} ready on {probe}", ready, 30)
            log(f"{comp}: ready ({' '.join(c.get('args', []))}, {len(env)} settings)")

        # 3. Deliver end to end.
        api = bases["api"]
        st, body = api_call(api, key, "PUT", "/tenants/acme")
        assert st in (200, 201), (st, body)
        st, body = api_call(api, key, "POST", "/tenants/acme/destinations", {
            "type": "webhook", "topics": "*",
            "config": {"url": f"http://127.0.0.1:{sink.server_address[1]}/hook"}})
        assert st == 201, (st, body)
        ids = [f"chart-{i}" for i in range(args.events)]
        for i in ids:
            st, body = api_call(api, key, "POST", "/publish",
                                {"id": i, "tenant_id": "acme", "topic": "user.created", "data": {"i": i}})
            assert st == 202, (st, body)
        wait_until(f"{args.events} events at the sink", lambda: sink.distinct() >= set(ids), 60)
        log(f"sink: {len(sink.distinct())} distinct events, {len(sink.events)} requests")

        def logged():
            st, body = api_call(api, key, "GET", "/attempts?tenant_id=acme&limit=1000")
            return st == 200 and len(body["models"]) >= args.events and body
        body = wait_until("attempts readable through the api", logged, 60)
        events = {a["event_id"] for a in body["models"]}
        assert events == set(ids), sorted(set(ids) - events)
        assert all(a["status"] == "success" for a in body["models"])
        log(f"log: {len(body['models'])} attempts, read through the api over gRPC")
        ok = True
    finally:
        for comp, p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for comp, p in reversed(procs):
            try:
                rc = p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = "killed after 40 s"
            if rc != 0:
                ok = False
                log(f"FAIL: {comp} exited {rc} on SIGTERM; its log:")
                print((work / f"{comp}.log").read_text()[-3000:])
        sink.shutdown()
        subprocess.run(["psql", pg_server, "-qc", f"DROP DATABASE IF EXISTS {run} WITH (FORCE)"])
        if not ok:
            for comp, _ in procs:
                print(f"--- {comp} log (tail) ---")
                print((work / f"{comp}.log").read_text()[-2000:])
    if ok:
        log("PASS: the chart's configuration runs the three services and delivers end to end")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
