// Shared pieces of the portal browser test: admin API calls, a local webhook receiver, step
// reporting, polling and screenshots.

import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

export const BASE = (process.env.OUTPOST_URL ?? "http://127.0.0.1:3333").replace(/\/$/, "");
export const ADMIN_KEY = process.env.ADMIN_KEY ?? "test-admin-key";
export const ARTIFACTS = process.env.PORTAL_ARTIFACTS ?? new URL("../test-artifacts/", import.meta.url).pathname;

mkdirSync(ARTIFACTS, { recursive: true });

/** Admin API call; returns {status, body}. */
export async function admin(method, path, body) {
  const res = await fetch(`${BASE}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed };
}

/** Admin call that must succeed with one of `ok` statuses. */
export async function adminOk(method, path, body, ok = [200, 201, 202]) {
  const r = await admin(method, path, body);
  if (!ok.includes(r.status)) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * A webhook receiver on 127.0.0.1: per path, the first request gets 500 and later ones 200,
 * so the first delivery fails and a retry succeeds.
 */
export async function startReceiver() {
  const requests = [];
  const seen = new Map();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const n = (seen.get(req.url) ?? 0) + 1;
      seen.set(req.url, n);
      requests.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const status = n === 1 ? 500 : 200;
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(status === 200 ? { received: true } : { error: "first delivery fails on purpose" }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests: (path) => requests.filter((r) => r.path === path),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

let passed = 0;
let failed = 0;

/** Runs one named step; the first failure stops the run (later steps depend on earlier ones). */
export async function step(name, fn) {
  const started = Date.now();
  process.stdout.write(`▶ ${name}\n`);
  try {
    await fn();
    passed++;
    process.stdout.write(`  ✔ ${name} (${Date.now() - started} ms)\n`);
  } catch (err) {
    failed++;
    process.stdout.write(`  ✘ ${name}\n    ${String(err?.stack ?? err).split("\n").join("\n    ")}\n`);
    throw err;
  }
}

export function summary() {
  process.stdout.write(`\nportal: ${passed} passed, ${failed} failed\n`);
  return failed === 0;
}

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

/** Retries `fn` until it returns a truthy value or the timeout passes. */
export async function poll(what, fn, { timeout = 30_000, every = 1000 } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * Basic accessibility checks on the current screen: unique ids, a name for every form control,
 * button and image, and exactly one h1. Throws listing the problems.
 */
export async function audit(page, name) {
  const problems = await page.evaluate(() => {
    const out = [];
    const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
    for (const id of new Set(ids)) if (ids.filter((x) => x === id).length > 1) out.push(`duplicate id "${id}"`);
    const named = (el) =>
      el.getAttribute("aria-label") ||
      el.getAttribute("aria-labelledby") ||
      el.closest("label") ||
      (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`));
    for (const el of document.querySelectorAll("input, select, textarea"))
      if (!named(el)) out.push(`unlabelled ${el.tagName.toLowerCase()} ${el.outerHTML.slice(0, 80)}`);
    for (const el of document.querySelectorAll("button"))
      if (!el.textContent.trim() && !el.getAttribute("aria-label")) out.push(`button without a name ${el.outerHTML.slice(0, 80)}`);
    for (const el of document.querySelectorAll("img")) if (!el.hasAttribute("alt")) out.push("img without alt");
    const h1 = document.querySelectorAll("h1").length;
    if (h1 !== 1) out.push(`${h1} h1 headings`);
    return out;
  });
  if (problems.length) throw new Error(`accessibility problems on ${name}:\n      ${problems.join("\n      ")}`);
}

let shot = 0;
export async function screenshot(page, name) {
  await audit(page, name);
  shot++;
  const file = join(ARTIFACTS, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  process.stdout.write(`    screenshot ${file}\n`);
}

export const rand = () => Math.random().toString(36).slice(2, 8);
