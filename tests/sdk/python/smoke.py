#!/usr/bin/env python3
"""Smoke test: the published Python SDK (PyPI `outpost-sdk`, pinned in
requirements.txt) must work unchanged against our Outpost-compatible server.

Environment:
  OUTPOST_URL      API base URL *including* the API prefix, exactly what the
                   SDK's `server_url` expects, e.g. http://127.0.0.1:3333/api/v1
                   (the SDK appends paths such as /tenants/{id} to it; a
                   trailing slash is stripped by the SDK).
  OUTPOST_API_KEY  the server's admin API key (API_KEY); sent as
                   `Authorization: Bearer <key>`.

Prints one `ok: <step>` line per step and finally `N passed, 0 failed`.
On the first failure prints `FAIL: <step>: <reason>` and exits 1.
Every response goes through the SDK's own pydantic models, so a response whose
JSON does not match the SDK's schema fails the step (ResponseValidationError).
"""

import os
import sys
import time
import uuid

try:
    import httpx
    from outpost_sdk import Outpost, errors, models
    from outpost_sdk._version import __version__ as SDK_VERSION
except Exception as exc:  # pragma: no cover - environment problem
    print(f"FAIL: import outpost_sdk: {type(exc).__name__}: {exc}", flush=True)
    print("0 passed, 1 failed", flush=True)
    sys.exit(1)

EXPECTED_TYPES = {
    "webhook",
    "hookdeck",
    "aws_sqs",
    "aws_kinesis",
    "aws_s3",
    "aws_eventbridge",
    "gcp_pubsub",
    "azure_servicebus",
    "rabbitmq",
    "kafka",
}
HOOK_URL = "https://example.com/hook"
TIMEOUT_MS = 15_000


class CheckFailed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def describe(exc):
    """Human-readable reason for a failed step."""
    if isinstance(exc, CheckFailed):
        return f"wrong value: {exc}"
    if isinstance(exc, errors.ResponseValidationError):
        return (
            f"SDK response validation failed (HTTP {exc.status_code}): {exc.cause}\n"
            f"  response body: {exc.body[:2000]}"
        )
    if isinstance(exc, errors.OutpostError):
        return (
            f"{type(exc).__name__}: HTTP {exc.status_code}: {exc.message}; "
            f"body={exc.body[:1000]!r}"
        )
    if isinstance(exc, httpx.ConnectError):
        return f"connection error: cannot connect to {BASE_URL}: {exc}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout talking to {BASE_URL}: {type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.HTTPError):
        return f"HTTP transport error ({BASE_URL}): {type(exc).__name__}: {exc}"
    return f"unexpected {type(exc).__name__}: {exc}"


PASSED = 0
CLEANUP = []  # callables run (best effort) after a failure


def step(name, fn):
    global PASSED
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - every failure is reported
        print(f"FAIL: {name}: {describe(exc)}", flush=True)
        for undo in reversed(CLEANUP):
            try:
                undo()
            except Exception:  # noqa: BLE001
                pass
        print(f"{PASSED} passed, 1 failed", flush=True)
        sys.exit(1)
    PASSED += 1
    print(f"ok: {name}", flush=True)
    return result


def expect_status(fn, status, what):
    """fn() must raise an SDK HTTP error with the given status code."""
    try:
        got = fn()
    except errors.OutpostError as exc:
        if isinstance(exc, errors.ResponseValidationError):
            raise
        check(
            exc.status_code == status,
            f"{what}: expected HTTP {status}, got HTTP {exc.status_code} "
            f"({type(exc).__name__}, body={exc.body[:300]!r})",
        )
        return exc
    raise CheckFailed(f"{what}: expected HTTP {status}, but the call succeeded: {got!r}")


def topics_of(value):
    """Destination.topics is TopicsUnion = "*" (TopicsEnum) | list[str]."""
    if isinstance(value, list):
        return [str(t) for t in value]
    return [getattr(value, "value", value)]


# --------------------------------------------------------------------------

BASE_URL = os.environ.get("OUTPOST_URL", "").strip()
API_KEY = os.environ.get("OUTPOST_API_KEY", "")
if not BASE_URL or not API_KEY:
    print(
        "FAIL: configuration: set OUTPOST_URL (e.g. http://127.0.0.1:3333/api/v1) "
        "and OUTPOST_API_KEY",
        flush=True,
    )
    print("0 passed, 1 failed", flush=True)
    sys.exit(1)

print(f"python outpost-sdk {SDK_VERSION} -> {BASE_URL}", flush=True)

TENANT_ID = f"sdk-smoke-py-{int(time.time())}-{uuid.uuid4().hex[:8]}"
state = {}


def make_client():
    return Outpost(api_key=API_KEY, server_url=BASE_URL, timeout_ms=TIMEOUT_MS)


client = step("construct client", make_client)


def upsert_tenant():
    t = client.tenants.upsert(
        tenant_id=TENANT_ID,
        body={"metadata": {"suite": "sdk-smoke", "lang": "python"}},
    )
    CLEANUP.append(lambda: client.tenants.delete(tenant_id=TENANT_ID))
    check(isinstance(t, models.Tenant), f"expected Tenant, got {type(t).__name__}")
    check(t.id == TENANT_ID, f"tenant.id = {t.id!r}, want {TENANT_ID!r}")
    check(
        t.metadata == {"suite": "sdk-smoke", "lang": "python"},
        f"tenant.metadata = {t.metadata!r}",
    )
    check(t.destinations_count == 0, f"destinations_count = {t.destinations_count!r}, want 0")
    check(t.topics == [], f"topics = {t.topics!r}, want []")
    check(t.created_at is not None and t.updated_at is not None, "created_at/updated_at missing")


step("upsert tenant (create)", upsert_tenant)


def get_tenant():
    t = client.tenants.get(tenant_id=TENANT_ID)
    check(t.id == TENANT_ID, f"tenant.id = {t.id!r}")
    check(
        t.metadata == {"suite": "sdk-smoke", "lang": "python"},
        f"tenant.metadata = {t.metadata!r}",
    )
    check(t.created_at is not None, "created_at missing")


step("get tenant", get_tenant)


def reupsert_tenant():
    t = client.tenants.upsert(
        tenant_id=TENANT_ID,
        body={"metadata": {"suite": "sdk-smoke", "lang": "python", "round": "2"}},
    )
    check(t.id == TENANT_ID, f"tenant.id = {t.id!r}")
    check(
        t.metadata == {"suite": "sdk-smoke", "lang": "python", "round": "2"},
        f"metadata not replaced: {t.metadata!r}",
    )


step("upsert tenant (update)", reupsert_tenant)


def list_topics():
    topics = client.topics.list()
    check(isinstance(topics, list), f"topics is {type(topics).__name__}, want list")
    check(all(isinstance(t, str) for t in topics), f"topics not all strings: {topics!r}")
    # Topic used for the PATCH step: must be valid whether or not TOPICS is configured.
    state["patch_topic"] = "user.created" if (not topics or "user.created" in topics) else topics[0]


step("list topics", list_topics)


def create_destination():
    d = client.destinations.create(
        tenant_id=TENANT_ID,
        body={
            "type": "webhook",
            "topics": ["*"],
            "config": {"url": HOOK_URL},
        },
    )
    check(
        isinstance(d, models.DestinationWebhook),
        f"expected DestinationWebhook, got {type(d).__name__}",
    )
    check(bool(d.id), "destination.id empty")
    state["dest_id"] = d.id
    CLEANUP.append(lambda: client.destinations.delete(tenant_id=TENANT_ID, destination_id=d.id))
    check(getattr(d.type, "value", d.type) == "webhook", f"type = {d.type!r}")
    check(topics_of(d.topics) == ["*"], f"topics = {d.topics!r}, want ['*']")
    check(d.config.url == HOOK_URL, f"config.url = {d.config.url!r}")
    check(d.disabled_at is None, f"disabled_at = {d.disabled_at!r}, want null")
    check(bool(d.credentials.secret), "credentials.secret was not generated")
    check(d.target == HOOK_URL, f"target = {d.target!r}, want {HOOK_URL!r}")
    state["created_at"] = d.created_at


step("create destination", create_destination)


def get_destination():
    d = client.destinations.get(tenant_id=TENANT_ID, destination_id=state["dest_id"])
    check(isinstance(d, models.DestinationWebhook), f"got {type(d).__name__}")
    check(d.id == state["dest_id"], f"id = {d.id!r}")
    check(d.config.url == HOOK_URL, f"config.url = {d.config.url!r}")
    check(topics_of(d.topics) == ["*"], f"topics = {d.topics!r}")


step("get destination", get_destination)


def tenant_counts():
    t = client.tenants.get(tenant_id=TENANT_ID)
    check(t.destinations_count == 1, f"destinations_count = {t.destinations_count!r}, want 1")
    check(t.topics == ["*"], f"tenant.topics = {t.topics!r}, want ['*']")


step("tenant reflects destination", tenant_counts)


def list_destinations():
    ds = client.destinations.list(tenant_id=TENANT_ID)
    check(isinstance(ds, list), f"list returned {type(ds).__name__}")
    ids = [d.id for d in ds]
    check(ids == [state["dest_id"]], f"destination ids = {ids!r}, want [{state['dest_id']!r}]")


step("list destinations", list_destinations)


def update_destination():
    topic = state["patch_topic"]
    d = client.destinations.update(
        tenant_id=TENANT_ID,
        destination_id=state["dest_id"],
        body={
            "type": "webhook",
            "topics": [topic],
            "metadata": {"team": "smoke"},
        },
    )
    check(isinstance(d, models.DestinationWebhook), f"got {type(d).__name__}")
    check(d.id == state["dest_id"], f"id = {d.id!r}")
    check(topics_of(d.topics) == [topic], f"topics = {d.topics!r}, want [{topic!r}]")
    check(d.metadata == {"team": "smoke"}, f"metadata = {d.metadata!r}")
    check(d.config.url == HOOK_URL, f"config.url changed: {d.config.url!r}")
    check(d.updated_at >= state["created_at"], "updated_at earlier than created_at")


step("update destination (PATCH)", update_destination)


def get_patched():
    d = client.destinations.get(tenant_id=TENANT_ID, destination_id=state["dest_id"])
    topic = state["patch_topic"]
    check(topics_of(d.topics) == [topic], f"topics = {d.topics!r}, want [{topic!r}]")
    check(d.metadata == {"team": "smoke"}, f"metadata = {d.metadata!r}")


step("get destination after PATCH", get_patched)


def list_types():
    types = client.schemas.list_destination_types()
    check(isinstance(types, list), f"got {type(types).__name__}")
    names = [t.type for t in types]
    check(len(types) == len(EXPECTED_TYPES), f"{len(types)} destination types, want {len(EXPECTED_TYPES)}: {names!r}")
    check(set(names) == EXPECTED_TYPES, f"types = {names!r}")
    by = {t.type: t for t in types}
    for name in ("webhook", "kafka"):
        check(bool(by[name].config_fields), f"{name}: config_fields empty")
    check(
        any(f.key == "url" and f.required for f in by["webhook"].config_fields),
        "webhook config_fields lacks required 'url'",
    )
    kafka_keys = {f.key for f in by["kafka"].config_fields}
    check({"brokers", "topic"} <= kafka_keys, f"kafka config_fields keys = {sorted(kafka_keys)!r}")


step("list destination types", list_types)


def get_type():
    t = client.schemas.get_destination_type(type_=models.GetDestinationTypeSchemaType.WEBHOOK)
    check(t.type == "webhook", f"type = {t.type!r}")
    check(bool(t.label), "label empty")
    check(any(f.key == "url" for f in (t.config_fields or [])), "config_fields lacks 'url'")


step("get destination type webhook", get_type)


def get_token():
    tok = client.tenants.get_token(tenant_id=TENANT_ID)
    check(bool(tok.token), "token empty")
    check(tok.tenant_id == TENANT_ID, f"tenant_id = {tok.tenant_id!r}")
    state["jwt"] = tok.token


step("get tenant token", get_token)


def jwt_client():
    tc = Outpost(api_key=state["jwt"], server_url=BASE_URL, timeout_ms=TIMEOUT_MS)
    t = tc.tenants.get(tenant_id=TENANT_ID)
    check(t.id == TENANT_ID, f"tenant.id = {t.id!r}")
    ds = tc.destinations.list(tenant_id=TENANT_ID)
    check([d.id for d in ds] == [state["dest_id"]], f"JWT list = {[d.id for d in ds]!r}")


step("tenant JWT: get tenant + list destinations", jwt_client)


def portal():
    p = client.tenants.get_portal_url(tenant_id=TENANT_ID)
    check(bool(p.redirect_url), "redirect_url empty")
    check("token=" in p.redirect_url, f"redirect_url has no token: {p.redirect_url!r}")
    check(p.tenant_id == TENANT_ID, f"tenant_id = {p.tenant_id!r}")


step("get portal url", portal)


def wrong_key():
    bad = Outpost(api_key="wrong-" + uuid.uuid4().hex, server_url=BASE_URL, timeout_ms=TIMEOUT_MS)
    expect_status(lambda: bad.tenants.get(tenant_id=TENANT_ID), 401, "wrong API key")


step("reject wrong API key (401)", wrong_key)


def delete_destination():
    r = client.destinations.delete(tenant_id=TENANT_ID, destination_id=state["dest_id"])
    check(r.success is True, f"success = {r.success!r}")


step("delete destination", delete_destination)


def get_deleted():
    expect_status(
        lambda: client.destinations.get(tenant_id=TENANT_ID, destination_id=state["dest_id"]),
        404,
        "get deleted destination",
    )


step("get deleted destination -> 404", get_deleted)


def delete_tenant():
    r = client.tenants.delete(tenant_id=TENANT_ID)
    check(r.success is True, f"success = {r.success!r}")
    CLEANUP.clear()


step("delete tenant", delete_tenant)


def get_deleted_tenant():
    expect_status(lambda: client.tenants.get(tenant_id=TENANT_ID), 404, "get deleted tenant")


step("get deleted tenant -> 404", get_deleted_tenant)

print(f"{PASSED} passed, 0 failed", flush=True)
sys.exit(0)
