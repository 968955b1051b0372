// Browser acceptance test of the tenant portal against a running outpost (OUTPOST_URL) with
// admin key ADMIN_KEY: real portal login link, destination created through the UI, events and
// attempts, manual retry, secret rotation, disable, delete, cross-tenant isolation, themes and
// a phone-sized viewport. Run by scripts/portal-test.sh; screenshots go to PORTAL_ARTIFACTS.

import { chromium } from "playwright-core";
import { admin, adminOk, BASE, assert, poll, rand, screenshot, startReceiver, step, summary } from "./helpers.mjs";
import { checkIsolation } from "./isolation.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

const FILTER_CASES = [
  ['{"data": {"amount": {"$gte": 10}}}', /matches the filter/],
  ['{"data": {"amount": {"$gt": 100}}}', /does not match/],
  ['{"$or": [{"topic": "user.deleted"}, {"data": {"type": {"$startsWith": "ex"}}}]}', /matches the filter/],
  ['{"data": {"missing": {"$exist": false}}}', /matches the filter/],
  ['{"$not": {"topic": "user.created"}}', /does not match/],
  ["{not json", /not valid JSON/],
];

async function main() {
  const receiver = await startReceiver();
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const tenantA = `portal-a-${rand()}`;
  const tenantB = `portal-b-${rand()}`;
  const hookPath = `/hooks/${tenantA}`;
  const ctx = {};
  try {
    await step("admin API: create tenants A and B, give B a destination and an event", async () => {
      await adminOk("PUT", `/tenants/${tenantA}`);
      await adminOk("PUT", `/tenants/${tenantB}`);
      const d = await adminOk("POST", `/tenants/${tenantB}/destinations`, {
        type: "webhook",
        topics: ["*"],
        config: { url: receiver.url(`/hooks/${tenantB}`) },
      });
      const pub = await adminOk("POST", "/publish", { tenant_id: tenantB, topic: "user.created", data: { secret: "b" } });
      ctx.b = { destination: d.id, event: pub.id };
      ctx.b.attempt = await poll("tenant B's first attempt", async () => {
        const r = await adminOk("GET", `/tenants/${tenantB}/destinations/${d.id}/attempts`);
        return r.models[0]?.id;
      });
    });

    const page = await browser.newPage({ baseURL: BASE, viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (err) => console.log(`    page error: ${err.message}`));

    await step("open the real portal redirect URL; the token leaves the address bar", async () => {
      const { redirect_url: url, tenant_id: tid } = await adminOk("GET", `/tenants/${tenantA}/portal`);
      assert(tid === tenantA && /\?token=/.test(url), `redirect_url ${url}`);
      await page.goto(url);
      await page.getByRole("heading", { level: 1, name: "Event destinations" }).waitFor();
      assert(!page.url().includes("token"), `token still in URL: ${page.url()}`);
      const stored = await page.evaluate(() => sessionStorage.getItem("token"));
      assert(stored && url.endsWith(stored), "token kept in sessionStorage");
      await page.getByText("No destinations yet.").waitFor();
      const brand = await page.evaluate(() => document.documentElement.style.getPropertyValue("--brand"));
      assert(brand === "#0f766e", `brand colour from PORTAL_BRAND_COLOR: "${brand}"`);
      assert(await page.getByRole("banner").getByText("Acme Portal Test").isVisible(), "organization name");
      assert(await page.getByRole("contentinfo").getByText("Powered by").isVisible(), "Outpost branding");
      await screenshot(page, "destinations-empty");
    });

    await step("create a webhook destination through the UI, with a filter previewed live", async () => {
      await page.getByRole("link", { name: "Add destination" }).click();
      await page.getByRole("heading", { name: "Add a destination" }).waitFor();
      await screenshot(page, "choose-type");
      await page.getByRole("radio", { name: /^Webhook/ }).check();
      await page.getByRole("button", { name: "Continue" }).click();
      await page.getByRole("heading", { name: /New Webhook destination/ }).waitFor();
      await page.getByRole("button", { name: "Create destination" }).click();
      await page.getByText("Choose at least one topic.").waitFor();
      await page.getByText("Webhook URL is required.").waitFor();
      await poll("focus on the first invalid field", () => page.evaluate(() => document.activeElement?.id === "topic-all"), {
        timeout: 3000,
        every: 100,
      });
      await page.getByRole("checkbox", { name: "user.created" }).check();
      await page.getByLabel(/Webhook URL/).fill(receiver.url(hookPath));
      await page.getByRole("group", { name: /Custom Headers/ }).getByRole("button", { name: "Add entry" }).click();
      await page.getByLabel("Name 1").fill("x-portal-test");
      await page.getByLabel("Value 1").fill("yes");
      const filter = page.getByLabel("Filter (JSON)");
      const verdict = page.getByTestId("filter-verdict");
      for (const [text, expected] of FILTER_CASES) {
        await filter.fill(text);
        const got = await verdict.textContent();
        assert(expected.test(got ?? ""), `filter ${text}: expected ${expected}, got "${got}"`);
      }
      await filter.fill(FILTER_CASES[0][0]);
      await screenshot(page, "create-webhook-form");
      await page.getByRole("button", { name: "Create destination" }).click();
      await page.waitForURL(/\/destinations\/[^/]+$/);
      ctx.destination = decodeURIComponent(page.url().split("/destinations/")[1]);
      const d = await adminOk("GET", `/tenants/${tenantA}/destinations/${ctx.destination}`);
      assert(d.config.url === receiver.url(hookPath), `config.url ${d.config.url}`);
      assert(JSON.stringify(d.topics) === '["user.created"]', `topics ${JSON.stringify(d.topics)}`);
      assert(d.filter?.data?.amount?.$gte === 10, `filter ${JSON.stringify(d.filter)}`);
      assert(d.config.custom_headers === '{"x-portal-test":"yes"}', `custom_headers ${d.config.custom_headers}`);
      await page.getByRole("heading", { level: 1, name: receiver.url(hookPath) }).waitFor();
    });

    await step("the server applies the same filter: amount 1 is not routed, amount 42 is", async () => {
      const miss = await adminOk("POST", "/publish", { tenant_id: tenantA, topic: "user.created", data: { amount: 1 } });
      assert(miss.destination_ids.length === 0, `amount 1 routed to ${miss.destination_ids}`);
      const hit = await adminOk("POST", "/publish", {
        tenant_id: tenantA,
        topic: "user.created",
        eligible_for_retry: false,
        metadata: { source: "portal-test" },
        data: { amount: 42, customer: "cus_123" },
      });
      assert(hit.destination_ids.includes(ctx.destination), `amount 42 routed to ${hit.destination_ids}`);
      ctx.event = hit.id;
    });

    await step("the event appears in the Events screen", async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Events" }).click();
      await page.getByRole("heading", { level: 1, name: "Events" }).waitFor();
      await poll("the event in the list", async () => {
        await page.getByRole("button", { name: "Refresh" }).click();
        return page.getByTestId("events-table").getByText(ctx.event).isVisible();
      });
      await screenshot(page, "events");
      await page.getByTestId("events-table").getByRole("row", { name: new RegExp(ctx.event) }).getByRole("link").click();
      await page.getByRole("heading", { level: 1, name: /user\.created/ }).waitFor();
      await page.getByText("cus_123").waitFor();
      await screenshot(page, "event-detail");
    });

    await step("its failed attempt appears under the destination, with request and response", async () => {
      await page.goto(`/destinations/${encodeURIComponent(ctx.destination)}`);
      await page.getByRole("navigation", { name: "Destination sections" }).getByRole("link", { name: "Attempts" }).click();
      await poll("the attempt in the list", async () => {
        await page.getByRole("button", { name: "Refresh" }).click();
        return page.getByTestId("attempts-table").getByText(ctx.event).isVisible();
      });
      await screenshot(page, "attempts");
      await page.getByTestId("attempts-table").locator("tbody tr").first().getByRole("link").first().click();
      await page.getByRole("heading", { level: 1, name: "Attempt #1" }).waitFor();
      assert((await page.getByTestId("response-status").textContent()) === "500", "response status 500");
      assert((await page.getByTestId("request-body").textContent()).includes('"amount": 42'), "request body shown");
      assert((await page.getByTestId("response-body").textContent()).includes("fails on purpose"), "response body");
      await screenshot(page, "attempt-detail");
    });

    await step("manual retry creates a second, successful attempt", async () => {
      await page.getByRole("button", { name: "Retry" }).click();
      const rows = page.getByTestId("event-attempts").locator("tbody tr");
      await poll("the second attempt", async () => (await rows.count()) === 2, { timeout: 40_000 });
      await page.getByTestId("event-attempts").getByText("#2 (manual)").waitFor();
      await page.getByTestId("status").getByText(/attempt #2 succeeded/).waitFor();
      const got = receiver.requests(hookPath);
      assert(got.length === 2, `receiver got ${got.length} requests`);
      assert(got[1].headers["x-outpost-event-id"] === ctx.event, "event id header");
      assert(got[1].headers["x-portal-test"] === "yes", "custom header set in the UI");
      await screenshot(page, "attempt-retried");
    });

    await step("overview shows the destination's metrics", async () => {
      await page.goto(`/destinations/${encodeURIComponent(ctx.destination)}`);
      await poll("2 attempts in the metrics", async () => {
        await page.reload();
        const stat = page.locator(".stat", { hasText: "Attempts" }).locator("dd");
        await stat.waitFor();
        return (await stat.textContent()) === "2";
      });
      await page.getByLabel("Period").selectOption("7d");
      await page.locator(".stat", { hasText: "Failed" }).locator("dd").getByText("1").waitFor();
      // Send latency from the metrics API (avg_duration_ms / max_duration_ms).
      const latency = (await page.locator(".stat", { hasText: "Avg latency" }).locator("dd").textContent()) ?? "";
      assert(/^\d+(\.\d)? (ms|s)$/.test(latency), `average latency stat: ${latency}`);
      await page.getByRole("img", { name: /^Send latency, .*: average \d+(\.\d)? (ms|s), slowest / }).waitFor();
      await screenshot(page, "overview");
    });

    await step("settings: edit topics, rotate the signing secret", async () => {
      await page.getByRole("navigation", { name: "Destination sections" }).getByRole("link", { name: "Settings" }).click();
      await page.getByRole("button", { name: "Show" }).click();
      const before = await page.getByTestId("webhook-secret").textContent();
      assert(before.startsWith("whsec_"), `secret ${before}`);
      await page.getByRole("button", { name: "Use the latest event as sample" }).click();
      await poll("the real event as filter sample", async () =>
        (await page.getByLabel("Sample event").inputValue()).includes(ctx.event),
      );
      const verdict = await page.getByTestId("filter-verdict").textContent();
      assert(/matches the filter/.test(verdict), `latest event vs saved filter: ${verdict}`);
      await page.getByRole("checkbox", { name: "order.paid" }).check();
      await page.getByRole("button", { name: "Save changes" }).click();
      await page.getByTestId("status").getByText("Changes saved.").waitFor();
      let d = await adminOk("GET", `/tenants/${tenantA}/destinations/${ctx.destination}`);
      assert(d.topics.includes("order.paid") && d.topics.includes("user.created"), `topics ${d.topics}`);
      await page.getByRole("button", { name: "Rotate secret" }).click();
      await page.getByRole("dialog", { name: "Rotate the signing secret?" }).getByRole("button", { name: "Rotate" }).click();
      await page.getByTestId("status").getByText(/Secret rotated/).waitFor();
      d = await adminOk("GET", `/tenants/${tenantA}/destinations/${ctx.destination}`);
      assert(d.credentials.previous_secret === before, "previous_secret is the old secret");
      assert(d.credentials.secret !== before, "new secret");
      await screenshot(page, "settings");
    });

    await step("disable the destination in the UI; the API reports it disabled", async () => {
      await page.getByRole("button", { name: "Disable", exact: true }).click();
      await page.getByTestId("status").getByText("Destination disabled.").waitFor();
      const d = await adminOk("GET", `/tenants/${tenantA}/destinations/${ctx.destination}`);
      assert(d.disabled_at, `disabled_at ${d.disabled_at}`);
      await page.getByRole("button", { name: "Enable", exact: true }).waitFor();
    });

    await step("destination list: status filter and 24h counts", async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Destinations" }).click();
      await page.getByRole("radio", { name: "Disabled" }).check();
      const row = page.getByRole("row", { name: new RegExp(receiver.url(hookPath).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")) });
      await row.getByText("1 successful").waitFor();
      await row.getByText("1 failed").waitFor();
      await screenshot(page, "destinations-disabled");
      await page.getByRole("radio", { name: "Active" }).check();
      await page.getByText("No active destinations.").waitFor();
    });

    await step("tenant A's session cannot read or change tenant B's data", async () => {
      await checkIsolation(page, { tenantA, tenantB, ...ctx.b });
    });

    await step("keyboard: skip link first, visible focus", async () => {
      await page.goto("/");
      await page.getByRole("heading", { level: 1, name: "Event destinations" }).waitFor();
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => document.activeElement?.textContent);
      assert(focused === "Skip to content", `first tab stop: ${focused}`);
    });

    await step("phone-sized viewport: no horizontal scrolling", async () => {
      const phone = await browser.newPage({ baseURL: BASE, viewport: { width: 375, height: 812 }, isMobile: true });
      const { redirect_url: url } = await adminOk("GET", `/tenants/${tenantA}/portal`);
      await phone.goto(url);
      await phone.getByRole("heading", { level: 1, name: "Event destinations" }).waitFor();
      await phone.getByRole("link", { name: receiver.url(hookPath) }).waitFor();
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(overflow <= 0, `page is ${overflow}px wider than the screen`);
      await screenshot(phone, "phone-destinations");
      await phone.goto(`/destinations/${encodeURIComponent(ctx.destination)}/attempts`);
      await phone.getByTestId("attempts-table").waitFor();
      await screenshot(phone, "phone-attempts");
      await phone.close();
    });

    await step("?theme=dark is applied and remembered", async () => {
      const dark = await browser.newPage({ baseURL: BASE, viewport: { width: 1280, height: 900 } });
      const { redirect_url: url } = await adminOk("GET", `/tenants/${tenantA}/portal?theme=dark`);
      assert(url.includes("theme=dark"), `redirect_url ${url}`);
      await dark.goto(url);
      await dark.getByRole("heading", { level: 1, name: "Event destinations" }).waitFor();
      assert((await dark.evaluate(() => document.documentElement.dataset.theme)) === "dark", "dark theme");
      assert(!dark.url().includes("theme="), "theme param removed");
      await screenshot(dark, "dark-destinations");
      await dark.goto(`/destinations/${encodeURIComponent(ctx.destination)}`);
      await dark.locator(".stat").first().waitFor();
      await screenshot(dark, "dark-overview");
      await dark.close();
    });

    await step("without a token the portal shows that the session expired", async () => {
      const fresh = await browser.newContext({ baseURL: BASE });
      const anon = await fresh.newPage();
      await anon.goto("/");
      await anon.getByRole("heading", { name: "Session expired" }).waitFor();
      await screenshot(anon, "session-expired");
      await fresh.close();
    });

    await step("enable again, then page through more events than fit on one page", async () => {
      await page.goto(`/destinations/${encodeURIComponent(ctx.destination)}`);
      await page.getByRole("button", { name: "Enable", exact: true }).click();
      await page.getByTestId("status").getByText("Destination enabled.").waitFor();
      const d = await adminOk("GET", `/tenants/${tenantA}/destinations/${ctx.destination}`);
      assert(d.disabled_at === null, "enabled through the UI");
      for (let i = 0; i < 21; i++)
        await adminOk("POST", "/publish", {
          tenant_id: tenantA,
          topic: "order.paid",
          eligible_for_retry: false,
          data: { amount: 100 + i },
        });
      await page.goto("/events");
      const older = page.getByRole("navigation", { name: "Events pages" }).getByRole("link", { name: /Older/ });
      await poll("a second page of events", async () => {
        await page.getByRole("button", { name: "Refresh" }).click();
        return older.isVisible();
      });
      assert((await page.getByTestId("events-table").locator("tbody tr").count()) === 20, "20 events on page 1");
      await older.click();
      await page.waitForURL(/[?&]next=/);
      await page.getByRole("link", { name: /Newer/ }).waitFor();
      const rows = await page.getByTestId("events-table").locator("tbody tr").count();
      assert(rows === 2, `page 2 holds the remaining 2 of 22 events, got ${rows}`);
      await screenshot(page, "events-page-2");
      await page.getByRole("link", { name: /Newer/ }).click();
      await page.waitForURL(/[?&]prev=/);
      await poll("page 1 again", async () => (await page.getByTestId("events-table").locator("tbody tr").count()) === 20);
    });

    await step("delete the destination through the UI", async () => {
      await page.goto(`/destinations/${encodeURIComponent(ctx.destination)}/settings`);
      await page.getByRole("button", { name: "Delete destination" }).click();
      const dialog = page.getByRole("dialog", { name: "Delete this destination?" });
      await screenshot(page, "delete-confirm");
      await dialog.getByRole("button", { name: "Delete" }).click();
      await page.getByRole("heading", { level: 1, name: "Event destinations" }).waitFor();
      const r = await admin("GET", `/tenants/${tenantA}/destinations/${ctx.destination}`);
      assert(r.status === 404, `deleted destination → ${r.status}`);
    });
  } finally {
    await browser.close();
    await receiver.close();
  }
}

main().then(
  () => process.exit(summary() ? 0 : 1),
  (err) => {
    summary();
    console.log(`portal test stopped: ${err?.message ?? err} (server ${BASE})`);
    process.exit(1);
  },
);
