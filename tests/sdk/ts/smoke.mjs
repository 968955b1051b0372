// Smoke test: the published TypeScript/JS SDK (npm `@hookdeck/outpost-sdk`,
// pinned in package.json / package-lock.json) must work unchanged against our
// Outpost-compatible server. Plain Node ESM, no compile step: `node smoke.mjs`.
//
// Environment:
//   OUTPOST_URL      API base URL *including* the API prefix, exactly what the
//                    SDK's `serverURL` expects, e.g. http://127.0.0.1:3333/api/v1
//                    (the SDK appends paths such as /tenants/{id} to it).
//   OUTPOST_API_KEY  the server's admin API key (API_KEY); sent as
//                    `Authorization: Bearer <key>`.
//
// Prints one `ok: <step>` line per step and finally `N passed, 0 failed`.
// On the first failure prints `FAIL: <step>: <reason>` and exits 1.
// Every response goes through the SDK's own zod schemas, so a response whose
// JSON does not match the SDK's schema fails the step (ResponseValidationError).

import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";

const EXPECTED_TYPES = [
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
];
const HOOK_URL = "https://example.com/hook";
const TIMEOUT_MS = 15_000;

let passed = 0;
const cleanup = []; // async callables run (best effort) after a failure

function finish(code) {
  // Flush stdout before exiting (stdout may be a pipe).
  process.stdout.write("", () => process.exit(code));
}

let Outpost, errors, SDK_VERSION;
try {
  ({ Outpost } = await import("@hookdeck/outpost-sdk"));
  errors = await import("@hookdeck/outpost-sdk/models/errors");
  SDK_VERSION = createRequire(import.meta.url)("@hookdeck/outpost-sdk/package.json").version;
} catch (e) {
  console.log(`FAIL: import @hookdeck/outpost-sdk: ${e?.name}: ${e?.message}`);
  console.log("0 passed, 1 failed");
  finish(1);
  await new Promise(() => {});
}

const BASE_URL = (process.env.OUTPOST_URL ?? "").trim();
const API_KEY = process.env.OUTPOST_API_KEY ?? "";
if (!BASE_URL || !API_KEY) {
  console.log(
    "FAIL: configuration: set OUTPOST_URL (e.g. http://127.0.0.1:3333/api/v1) and OUTPOST_API_KEY",
  );
  console.log("0 passed, 1 failed");
  finish(1);
  await new Promise(() => {});
}

class CheckFailed extends Error {}

function check(cond, msg) {
  if (!cond) throw new CheckFailed(msg);
}

const j = (v) => JSON.stringify(v);

function describe(e) {
  if (e instanceof CheckFailed) return `wrong value: ${e.message}`;
  if (e instanceof errors.ResponseValidationError) {
    return (
      `SDK response validation failed (HTTP ${e.statusCode}): ${e.pretty()}\n` +
      `  response body: ${String(e.body).slice(0, 2000)}`
    );
  }
  if (e instanceof errors.OutpostError) {
    return `${e.name}: HTTP ${e.statusCode}: ${e.message}; body=${j(String(e.body).slice(0, 1000))}`;
  }
  if (e instanceof errors.ConnectionError) {
    return `connection error: cannot connect to ${BASE_URL}: ${e.message}`;
  }
  if (e instanceof errors.RequestTimeoutError) {
    return `timeout talking to ${BASE_URL}: ${e.message}`;
  }
  if (e instanceof errors.HTTPClientError) {
    return `HTTP client error (${BASE_URL}): ${e.name}: ${e.message}`;
  }
  if (e instanceof errors.SDKValidationError) {
    return `SDK request validation failed: ${e.pretty ? e.pretty() : e.message}`;
  }
  return `unexpected ${e?.name ?? typeof e}: ${e?.message ?? e}`;
}

async function step(name, fn) {
  let result;
  try {
    result = await fn();
  } catch (e) {
    console.log(`FAIL: ${name}: ${describe(e)}`);
    for (const undo of cleanup.reverse()) {
      try {
        await undo();
      } catch {
        // best effort
      }
    }
    console.log(`${passed} passed, 1 failed`);
    finish(1);
    await new Promise(() => {}); // never resolves; process exits in finish()
  }
  passed += 1;
  console.log(`ok: ${name}`);
  return result;
}

// fn() must reject with an SDK HTTP error carrying the given status code.
async function expectStatus(fn, status, what) {
  let got;
  try {
    got = await fn();
  } catch (e) {
    if (e instanceof errors.ResponseValidationError || !(e instanceof errors.OutpostError)) throw e;
    check(
      e.statusCode === status,
      `${what}: expected HTTP ${status}, got HTTP ${e.statusCode} (${e.name}, body=${j(String(e.body).slice(0, 300))})`,
    );
    return e;
  }
  throw new CheckFailed(`${what}: expected HTTP ${status}, but the call succeeded: ${j(got)}`);
}

// Destination.topics is "*" | string[].
const topicsOf = (t) => (Array.isArray(t) ? t : [t]);
const sameJSON = (a, b) => j(a) === j(b);
const sorted = (o) => (o ? Object.fromEntries(Object.entries(o).sort()) : o);

// ---------------------------------------------------------------------------

console.log(`ts @hookdeck/outpost-sdk ${SDK_VERSION} (node ${process.version}) -> ${BASE_URL}`);

const TENANT_ID = `sdk-smoke-ts-${Math.floor(Date.now() / 1000)}-${randomBytes(4).toString("hex")}`;
const state = {};
const newClient = (apiKey) => new Outpost({ apiKey, serverURL: BASE_URL, timeoutMs: TIMEOUT_MS });

const client = await step("construct client", () => newClient(API_KEY));

await step("upsert tenant (create)", async () => {
  const t = await client.tenants.upsert(TENANT_ID, {
    metadata: { suite: "sdk-smoke", lang: "ts" },
  });
  cleanup.push(() => client.tenants.delete(TENANT_ID));
  check(t.id === TENANT_ID, `tenant.id = ${j(t.id)}, want ${j(TENANT_ID)}`);
  check(sameJSON(sorted(t.metadata), { lang: "ts", suite: "sdk-smoke" }), `tenant.metadata = ${j(t.metadata)}`);
  check(t.destinationsCount === 0, `destinations_count = ${j(t.destinationsCount)}, want 0`);
  check(sameJSON(t.topics, []), `topics = ${j(t.topics)}, want []`);
  check(t.createdAt instanceof Date && t.updatedAt instanceof Date, "created_at/updated_at missing");
});

await step("get tenant", async () => {
  const t = await client.tenants.get(TENANT_ID);
  check(t.id === TENANT_ID, `tenant.id = ${j(t.id)}`);
  check(sameJSON(sorted(t.metadata), { lang: "ts", suite: "sdk-smoke" }), `tenant.metadata = ${j(t.metadata)}`);
  check(t.createdAt instanceof Date, "created_at missing");
});

await step("upsert tenant (update)", async () => {
  const t = await client.tenants.upsert(TENANT_ID, {
    metadata: { suite: "sdk-smoke", lang: "ts", round: "2" },
  });
  check(t.id === TENANT_ID, `tenant.id = ${j(t.id)}`);
  check(
    sameJSON(sorted(t.metadata), { lang: "ts", round: "2", suite: "sdk-smoke" }),
    `metadata not replaced: ${j(t.metadata)}`,
  );
});

await step("list topics", async () => {
  const topics = await client.topics.list();
  check(Array.isArray(topics), `topics is ${j(topics)}, want an array`);
  check(topics.every((t) => typeof t === "string"), `topics not all strings: ${j(topics)}`);
  // Topic used for the PATCH step: valid whether or not TOPICS is configured.
  state.patchTopic = topics.length === 0 || topics.includes("user.created") ? "user.created" : topics[0];
});

await step("create destination", async () => {
  const d = await client.destinations.create(TENANT_ID, {
    type: "webhook",
    topics: ["*"],
    config: { url: HOOK_URL },
  });
  check(typeof d.id === "string" && d.id !== "", "destination.id empty");
  state.destId = d.id;
  cleanup.push(() => client.destinations.delete(TENANT_ID, d.id));
  check(d.type === "webhook", `type = ${j(d.type)}`);
  check(sameJSON(topicsOf(d.topics), ["*"]), `topics = ${j(d.topics)}, want ["*"]`);
  check(d.config?.url === HOOK_URL, `config.url = ${j(d.config?.url)}`);
  check(d.disabledAt === null, `disabled_at = ${j(d.disabledAt)}, want null`);
  check(typeof d.credentials?.secret === "string" && d.credentials.secret !== "", "credentials.secret was not generated");
  check(d.target === HOOK_URL, `target = ${j(d.target)}, want ${j(HOOK_URL)}`);
  state.createdAt = d.createdAt;
});

await step("get destination", async () => {
  const d = await client.destinations.get(TENANT_ID, state.destId);
  check(d.type === "webhook", `type = ${j(d.type)}`);
  check(d.id === state.destId, `id = ${j(d.id)}`);
  check(d.config?.url === HOOK_URL, `config.url = ${j(d.config?.url)}`);
  check(sameJSON(topicsOf(d.topics), ["*"]), `topics = ${j(d.topics)}`);
});

await step("tenant reflects destination", async () => {
  const t = await client.tenants.get(TENANT_ID);
  check(t.destinationsCount === 1, `destinations_count = ${j(t.destinationsCount)}, want 1`);
  check(sameJSON(t.topics, ["*"]), `tenant.topics = ${j(t.topics)}, want ["*"]`);
});

await step("list destinations", async () => {
  const ds = await client.destinations.list(TENANT_ID);
  check(Array.isArray(ds), `list returned ${j(ds)}`);
  const ids = ds.map((d) => d.id);
  check(sameJSON(ids, [state.destId]), `destination ids = ${j(ids)}, want [${j(state.destId)}]`);
});

await step("update destination (PATCH)", async () => {
  const topic = state.patchTopic;
  const d = await client.destinations.update(TENANT_ID, state.destId, {
    type: "webhook",
    topics: [topic],
    metadata: { team: "smoke" },
  });
  check(d.type === "webhook", `type = ${j(d.type)}`);
  check(d.id === state.destId, `id = ${j(d.id)}`);
  check(sameJSON(topicsOf(d.topics), [topic]), `topics = ${j(d.topics)}, want [${j(topic)}]`);
  check(sameJSON(d.metadata, { team: "smoke" }), `metadata = ${j(d.metadata)}`);
  check(d.config?.url === HOOK_URL, `config.url changed: ${j(d.config?.url)}`);
  check(d.updatedAt >= state.createdAt, "updated_at earlier than created_at");
});

await step("get destination after PATCH", async () => {
  const d = await client.destinations.get(TENANT_ID, state.destId);
  const topic = state.patchTopic;
  check(sameJSON(topicsOf(d.topics), [topic]), `topics = ${j(d.topics)}, want [${j(topic)}]`);
  check(sameJSON(d.metadata, { team: "smoke" }), `metadata = ${j(d.metadata)}`);
});

await step("list destination types", async () => {
  const types = await client.schemas.listDestinationTypes();
  check(Array.isArray(types), `got ${j(types)}`);
  const names = types.map((t) => t.type);
  check(types.length === EXPECTED_TYPES.length, `${types.length} destination types, want ${EXPECTED_TYPES.length}: ${j(names)}`);
  check(sameJSON([...names].sort(), [...EXPECTED_TYPES].sort()), `types = ${j(names)}`);
  const by = Object.fromEntries(types.map((t) => [t.type, t]));
  for (const name of ["webhook", "kafka"]) {
    check((by[name].configFields ?? []).length > 0, `${name}: config_fields empty`);
  }
  check(
    by.webhook.configFields.some((f) => f.key === "url" && f.required === true),
    "webhook config_fields lacks required 'url'",
  );
  const kafkaKeys = by.kafka.configFields.map((f) => f.key);
  check(kafkaKeys.includes("brokers") && kafkaKeys.includes("topic"), `kafka config_fields keys = ${j(kafkaKeys)}`);
});

await step("get destination type webhook", async () => {
  const t = await client.schemas.getDestinationType("webhook");
  check(t.type === "webhook", `type = ${j(t.type)}`);
  check(typeof t.label === "string" && t.label !== "", "label empty");
  check((t.configFields ?? []).some((f) => f.key === "url"), "config_fields lacks 'url'");
});

await step("get tenant token", async () => {
  const tok = await client.tenants.getToken(TENANT_ID);
  check(typeof tok.token === "string" && tok.token !== "", "token empty");
  check(tok.tenantId === TENANT_ID, `tenant_id = ${j(tok.tenantId)}`);
  state.jwt = tok.token;
});

await step("tenant JWT: get tenant + list destinations", async () => {
  const tc = newClient(state.jwt);
  const t = await tc.tenants.get(TENANT_ID);
  check(t.id === TENANT_ID, `tenant.id = ${j(t.id)}`);
  const ds = await tc.destinations.list(TENANT_ID);
  check(sameJSON(ds.map((d) => d.id), [state.destId]), `JWT list = ${j(ds.map((d) => d.id))}`);
});

await step("get portal url", async () => {
  const p = await client.tenants.getPortalUrl(TENANT_ID);
  check(typeof p.redirectUrl === "string" && p.redirectUrl !== "", "redirect_url empty");
  check(p.redirectUrl.includes("token="), `redirect_url has no token: ${j(p.redirectUrl)}`);
  check(p.tenantId === TENANT_ID, `tenant_id = ${j(p.tenantId)}`);
});

await step("reject wrong API key (401)", async () => {
  const bad = newClient(`wrong-${randomBytes(8).toString("hex")}`);
  await expectStatus(() => bad.tenants.get(TENANT_ID), 401, "wrong API key");
});

await step("delete destination", async () => {
  const r = await client.destinations.delete(TENANT_ID, state.destId);
  check(r.success === true, `success = ${j(r.success)}`);
});

await step("get deleted destination -> 404", async () => {
  await expectStatus(() => client.destinations.get(TENANT_ID, state.destId), 404, "get deleted destination");
});

await step("delete tenant", async () => {
  const r = await client.tenants.delete(TENANT_ID);
  check(r.success === true, `success = ${j(r.success)}`);
  cleanup.length = 0;
});

await step("get deleted tenant -> 404", async () => {
  await expectStatus(() => client.tenants.get(TENANT_ID), 404, "get deleted tenant");
});

console.log(`${passed} passed, 0 failed`);
finish(0);
