// Cross-tenant checks for the portal test: with tenant A's session, tenant B's resources are
// neither shown by the UI nor reachable by any API call made with A's token.

import { adminOk, assert, screenshot } from "./helpers.mjs";

const DENIED = [401, 403, 404];

/** Calls the API from inside the page with the session's own token. */
function fromPage(page, method, path, body) {
  return page.evaluate(
    async ([m, p, b]) => {
      const res = await fetch(p, {
        method: m,
        headers: {
          Authorization: `Bearer ${sessionStorage.getItem("token")}`,
          ...(b ? { "Content-Type": "application/json" } : {}),
        },
        body: b ? JSON.stringify(b) : undefined,
      });
      const text = await res.text();
      return { status: res.status, text };
    },
    [method, path, body],
  );
}

export async function checkIsolation(page, { tenantA, tenantB, destination, event, attempt }) {
  const enc = encodeURIComponent;
  for (const [path, name] of [
    [`/destinations/${enc(destination)}`, "b-destination"],
    [`/destinations/${enc(destination)}/settings`, null],
    [`/destinations/${enc(destination)}/attempts/${enc(attempt)}`, null],
    [`/events/${enc(event)}`, null],
  ]) {
    await page.goto(path);
    await page.getByTestId("not-found").waitFor();
    if (name) await screenshot(page, `isolation-${name}`);
  }

  const now = Date.now();
  const range = `time[start]=${new Date(now - 86_400_000).toISOString()}&time[end]=${new Date(now + 60_000).toISOString()}`;
  const b = `/api/v1/tenants/${enc(tenantB)}`;
  const bDest = `${b}/destinations/${enc(destination)}`;
  const aDest = `/api/v1/tenants/${enc(tenantA)}/destinations/${enc(destination)}`;
  const denied = [
    ["GET", b],
    ["PUT", b],
    ["DELETE", b],
    ["GET", `${b}/token`],
    ["GET", `${b}/portal`],
    ["GET", `${b}/destinations`],
    ["POST", `${b}/destinations`, { type: "webhook", topics: ["*"], config: { url: "http://127.0.0.1:9/x" } }],
    ["GET", bDest],
    ["PATCH", bDest, { topics: ["user.deleted"] }],
    ["PUT", `${bDest}/disable`],
    ["PUT", `${bDest}/enable`],
    ["DELETE", bDest],
    ["GET", `${bDest}/attempts`],
    ["GET", `${bDest}/attempts/${enc(attempt)}`],
    ["GET", aDest],
    ["PATCH", aDest, { topics: ["user.deleted"] }],
    ["PUT", `${aDest}/disable`],
    ["GET", `${aDest}/attempts/${enc(attempt)}`],
    ["GET", `/api/v1/events?tenant_id=${enc(tenantB)}`],
    ["GET", `/api/v1/events/${enc(event)}`],
    ["GET", `/api/v1/events/${enc(event)}?tenant_id=${enc(tenantB)}`],
    ["GET", `/api/v1/attempts?tenant_id=${enc(tenantB)}`],
    ["GET", `/api/v1/attempts/${enc(attempt)}`],
    ["GET", `/api/v1/attempts/${enc(attempt)}?tenant_id=${enc(tenantB)}`],
    ["POST", "/api/v1/retry", { event_id: event, destination_id: destination }],
    ["POST", "/api/v1/publish", { tenant_id: tenantB, topic: "user.created", data: { x: 1 } }],
    ["GET", `/api/v1/metrics/attempts?${range}&measures[]=count&filters[tenant_id][]=${enc(tenantB)}`],
    ["GET", `/api/v1/metrics/events?${range}&measures[]=count&filters[tenant_id][]=${enc(tenantB)}`],
  ];
  const failures = [];
  for (const [method, path, body] of denied) {
    const r = await fromPage(page, method, path, body);
    if (!DENIED.includes(r.status)) failures.push(`${method} ${path} → ${r.status} ${r.text.slice(0, 200)}`);
  }

  // Lists the token may read must not contain anything of B's.
  const leaks = [
    // B's destination id under A's path: the server answers 200 with an empty page.
    `/api/v1/tenants/${enc(tenantA)}/destinations/${enc(destination)}/attempts`,
    "/api/v1/events",
    `/api/v1/events?destination_id[]=${enc(destination)}`,
    "/api/v1/attempts",
    `/api/v1/attempts?event_id[]=${enc(event)}`,
    `/api/v1/metrics/attempts?${range}&measures[]=count&dimensions[]=destination_id`,
    `/api/v1/metrics/events?${range}&measures[]=count&dimensions[]=destination_id`,
    `/api/v1/metrics/attempts?${range}&measures[]=count&filters[destination_id][]=${enc(destination)}`,
  ];
  for (const path of leaks) {
    const r = await fromPage(page, "GET", path);
    if (r.status !== 200) failures.push(`GET ${path} → ${r.status} (expected 200 with nothing of B's)`);
    else if (r.text.includes(tenantB) || r.text.includes(destination) || r.text.includes(event))
      failures.push(`GET ${path} leaks tenant B data: ${r.text.slice(0, 300)}`);
    else if (path.includes("filters[destination_id]") && /"count":[1-9]/.test(r.text))
      failures.push(`GET ${path} counts tenant B's attempts: ${r.text.slice(0, 300)}`);
  }
  assert(failures.length === 0, `cross-tenant access:\n      ${failures.join("\n      ")}`);

  const d = await adminOk("GET", `/tenants/${enc(tenantB)}/destinations/${enc(destination)}`);
  assert(d.disabled_at === null && d.topics.join() === "*", `B's destination changed: ${JSON.stringify(d)}`);
}
