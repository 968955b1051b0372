// The portal's filter preview (src/lib/filter.ts) must judge events exactly as the server does.
// This compiles the TypeScript matcher and runs it on the server's own filter test tables in
// crates/core/src/filter_tests.rs (upstream's simple-json-match cases plus the single-line checks).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const portal = fileURLToPath(new URL("..", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "portal-filter-"));
execFileSync(
  join(portal, "node_modules/.bin/tsc"),
  ["src/lib/filter.ts", "--ignoreConfig", "--outDir", out, "--module", "esnext", "--target", "es2022",
    "--moduleResolution", "bundler", "--skipLibCheck"],
  { cwd: portal, stdio: "inherit" },
);
const { matchesFilter } = await import(pathToFileURL(join(out, "lib/filter.js")).href);

const rust = readFileSync(join(portal, "../crates/core/src/filter_tests.rs"), "utf8");

function table(name) {
  const m = new RegExp(`const ${name}: &str = r#"(\\[[\\s\\S]*?\\])"#;`).exec(rust);
  assert.ok(m, `table ${name} not found in filter_tests.rs`);
  return JSON.parse(m[1]);
}

/** Upstream's matcher has no empty-filter shortcut; the portal's (like the server's) does. */
function upstream(schema, input) {
  if (Object.keys(schema).length === 0) return true;
  return matchesFilter(schema, input);
}

test("upstream simple-json-match table, plain and wrapped in $not", () => {
  const rows = table("UPSTREAM_CASES");
  assert.ok(rows.length >= 100, `only ${rows.length} rows`);
  for (const [idx, input, schema, expected] of rows) {
    if (Object.keys(schema).length === 0) continue;
    assert.equal(upstream(schema, input), expected, `case ${idx}: ${JSON.stringify({ input, schema })}`);
    assert.equal(matchesFilter({ $not: schema }, input), !expected, `case ${idx} under $not`);
  }
});

test("upstream $not table", () => {
  for (const [idx, input, schema, expected] of table("UPSTREAM_NOT_CASES"))
    assert.equal(matchesFilter(schema, input), expected, `not case ${idx}`);
});

test("the server's single-line checks against its sample event", () => {
  const doc = /fn event\(\) -> Value \{\s*json!\((\{[\s\S]*?\n {4}\})\)/.exec(rust);
  assert.ok(doc, "event() not found in filter_tests.rs");
  const event = JSON.parse(doc[1]);
  const checks = [...rust.matchAll(/^\s*check\(json!\((.*)\), (true|false)\);$/gm)];
  assert.ok(checks.length >= 100, `only ${checks.length} checks`);
  for (const [, filter, expected] of checks)
    assert.equal(matchesFilter(JSON.parse(filter), event), expected === "true", `filter ${filter}`);
});

test("empty and null filters match everything", () => {
  assert.equal(matchesFilter(null, { a: 1 }), true);
  assert.equal(matchesFilter({}, null), true);
});
