// Outpost's destination filter language (spec §3.3, the simple-json-match semantics the server
// applies at publish time), evaluated in the browser for the "would this event match" preview.
// Every type mismatch is "no match"; nothing here throws.

import type { Json, JsonObject } from "../api/types";

const OPERATORS = new Set([
  "$eq", "$neq", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$startsWith", "$endsWith", "$exist",
]);

const MAX_DEPTH = 512;

type Obj = { [key: string]: Json };

const isObject = (v: Json): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isPrimitive = (v: Json) => v === null || typeof v !== "object";
const hasOperator = (o: Obj) => Object.keys(o).some((k) => OPERATORS.has(k));

/** True when `doc` satisfies `filter`; an empty or null filter matches everything. */
export function matchesFilter(filter: JsonObject | null, doc: Json): boolean {
  if (filter === null || Object.keys(filter).length === 0) return true;
  try {
    return matchSchema(doc, filter, 0);
  } catch {
    return false;
  }
}

function guard(depth: number): void {
  if (depth > MAX_DEPTH) throw new Error("filter evaluation too deep");
}

/** Whole-document level: `$not`, `$or`, `$and` and missing keys are interpreted here. */
function matchSchema(input: Json, schema: Json, depth: number): boolean {
  guard(depth);
  if (isObject(schema) && "$not" in schema) {
    const inner = matchSchema(input, schema.$not, depth + 1);
    if (Object.keys(schema).length === 1) return !inner;
    if (inner) return false;
  }
  if (!isObject(input) || !isObject(schema)) return matchValue(input, schema, depth + 1);
  return Object.entries(schema).every(([key, sub]) => {
    if (key === "$not") return true;
    if (key === "$or" && Array.isArray(sub)) return sub.some((alt) => matchSchema(input, alt, depth + 1));
    if (key === "$and" && Array.isArray(sub)) return sub.every((c) => matchSchema(input, c, depth + 1));
    if (Object.prototype.hasOwnProperty.call(input, key)) return matchValue(input[key], sub, depth + 1);
    return isObject(sub) && sub.$exist === false;
  });
}

/** One value against a sub-schema: primitives, arrays and value operators. */
function matchValue(input: Json, schema: Json, depth: number): boolean {
  guard(depth);
  if (isPrimitive(schema)) {
    if (Array.isArray(input)) return input.some((item) => matchValue(item, schema, depth + 1));
    return !isObject(input) && looseEq(input, schema);
  }
  if (Array.isArray(input)) {
    if (Array.isArray(schema))
      return schema.every((want) => input.some((item) => matchValue(item, want, depth + 1)));
    if (isObject(schema) && hasOperator(schema)) return applyOperators(schema, input);
    return input.some((item) => matchValue(item, schema, depth + 1));
  }
  if (!isObject(schema)) return false;
  if (Array.isArray(schema.$or)) return schema.$or.some((alt) => matchSchema(input, alt, depth + 1));
  if (hasOperator(schema)) return applyOperators(schema, input);
  if (isPrimitive(input)) return false;
  return matchSchema(input, schema, depth + 1);
}

function applyOperators(schema: Obj, input: Json): boolean {
  return Object.entries(schema)
    .filter(([key]) => OPERATORS.has(key))
    .every(([key, operand]) => applyOperator(key, input, operand) === true);
}

/** `null` stands for a type error: no match for every operator, including `$nin`. */
function applyOperator(op: string, value: Json, operand: Json): boolean | null {
  switch (op) {
    case "$eq":
      return deepEq(value, operand);
    case "$neq":
      return !deepEq(value, operand);
    case "$gt":
      return order(value, operand, (c) => c > 0);
    case "$gte":
      return order(value, operand, (c) => c >= 0);
    case "$lt":
      return order(value, operand, (c) => c < 0);
    case "$lte":
      return order(value, operand, (c) => c <= 0);
    case "$in":
      return contains(value, operand);
    case "$nin": {
      const found = contains(value, operand);
      return found === null ? null : !found;
    }
    case "$startsWith":
      return affix(value, operand, (s, p) => s.startsWith(p));
    case "$endsWith":
      return affix(value, operand, (s, p) => s.endsWith(p));
    case "$exist":
      return typeof operand === "boolean" ? operand : null;
    default:
      return null;
  }
}

function looseEq(a: Json, b: Json): boolean {
  if (a === null || b === null) return a === b;
  return typeof a === typeof b && typeof a !== "object" && a === b;
}

/** Deep equality as the server's JSON serialization compares it (object key order ignored). */
function deepEq(a: Json, b: Json): boolean {
  if (isPrimitive(a) && isPrimitive(b)) return looseEq(a, b);
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEq(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEq(a[k], b[k]))
    );
  }
  return false;
}

/** Byte-wise order of UTF-8 strings (what the server compares). */
function compareStrings(a: string, b: string): number {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function order(value: Json, operand: Json, test: (cmp: number) => boolean): boolean | null {
  if (typeof value === "string" && typeof operand === "string")
    return test(compareStrings(value, operand));
  if (typeof value === "number" && typeof operand === "number")
    return test(value < operand ? -1 : value > operand ? 1 : 0);
  return null;
}

function contains(value: Json, operand: Json): boolean | null {
  if (Array.isArray(operand)) {
    if (!isPrimitive(value)) return null;
    return operand.some((c) => looseEq(value, c));
  }
  if (typeof value === "string") return typeof operand === "string" ? value.includes(operand) : null;
  if (Array.isArray(value)) return value.some((item) => looseEq(item, operand));
  return null;
}

function affix(value: Json, operand: Json, test: (s: string, p: string) => boolean): boolean | null {
  if (typeof value !== "string") return null;
  if (typeof operand === "string") return test(value, operand);
  if (!Array.isArray(operand)) return null;
  for (const candidate of operand) {
    if (typeof candidate !== "string") return null;
    if (test(value, candidate)) return true;
  }
  return false;
}

/** The document a filter sees for an event (spec §3.3): time in RFC3339 seconds. */
export function filterDocument(event: {
  id: string;
  topic: string;
  time: string;
  metadata?: Record<string, string>;
  data?: JsonObject;
}): JsonObject {
  const time = new Date(event.time);
  return {
    id: event.id,
    topic: event.topic,
    time: Number.isNaN(time.getTime()) ? event.time : time.toISOString().replace(/\.\d+Z$/, "Z"),
    metadata: event.metadata ?? {},
    data: event.data ?? {},
  };
}

export type ParsedFilter = { ok: true; filter: JsonObject | null } | { ok: false; error: string };

/** The filter editor's text: empty means no filter; otherwise a JSON object. */
export function parseFilterText(text: string): ParsedFilter {
  if (!text.trim()) return { ok: true, filter: null };
  try {
    const value = JSON.parse(text) as Json;
    if (!isObject(value)) return { ok: false, error: "The filter must be a JSON object." };
    return { ok: true, filter: Object.keys(value).length ? value : null };
  } catch (e) {
    return { ok: false, error: `The filter is not valid JSON: ${(e as Error).message}` };
  }
}
