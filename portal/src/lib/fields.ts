// Form state for the config / credential fields a destination type describes (spec §6).

import type { DestinationType, Field } from "../api/types";
import type { PortalConfig } from "../config";

export type Values = Record<string, string>;
export type Errors = Record<string, string>;

/** The config fields shown for a type; the webhook headers editor is opt-in (spec §7). */
export function configFields(type: DestinationType, config: PortalConfig): Field[] {
  return type.config_fields.filter(
    (f) => !(type.type === "webhook" && f.key === "custom_headers" && !config.enableWebhookCustomHeaders),
  );
}

export function initialValues(fields: Field[], existing: Record<string, string> = {}): Values {
  const values: Values = {};
  for (const f of fields) {
    if (existing[f.key] !== undefined) values[f.key] = existing[f.key];
    else if (f.type === "checkbox") values[f.key] = f.default === "true" ? "true" : "false";
    else values[f.key] = f.default ?? "";
  }
  return values;
}

/** Client-side checks mirroring the server's metadata validation; the server has the last word. */
export function validate(fields: Field[], values: Values, skipEmpty: Set<string> = new Set()): Errors {
  const errors: Errors = {};
  for (const f of fields) {
    const v = values[f.key] ?? "";
    if (f.type === "checkbox" || f.disabled) continue;
    if (!v) {
      if (f.required && !skipEmpty.has(f.key)) errors[f.key] = `${f.label} is required.`;
      continue;
    }
    if (f.minlength !== undefined && v.length < f.minlength)
      errors[f.key] = `${f.label} must be at least ${f.minlength} characters.`;
    else if (f.maxlength !== undefined && v.length > f.maxlength)
      errors[f.key] = `${f.label} must be at most ${f.maxlength} characters.`;
    else if (f.pattern && !safeTest(f.pattern, v)) errors[f.key] = `${f.label} has an invalid format.`;
  }
  return errors;
}

function safeTest(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return true;
  }
}

/** Non-empty values only, for a create request. */
export function nonEmpty(values: Values): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ""));
}

/**
 * A merge-patch of string maps (spec §1.5 PATCH): changed keys with their new value, cleared keys
 * as null, unchanged keys left out. Undefined when nothing changed.
 */
export function mapPatch(before: Record<string, string>, after: Values): Record<string, string | null> | undefined {
  const patch: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(after)) {
    const old = before[k] ?? "";
    if (v === old) continue;
    patch[k] = v === "" ? null : v;
  }
  return Object.keys(patch).length ? patch : undefined;
}

/** Moves focus to the first field reported invalid, once the error messages are rendered. */
export function focusFirstInvalid(form: HTMLFormElement): void {
  requestAnimationFrame(() => {
    form.querySelector<HTMLElement>('[aria-invalid="true"], .topic-picker[aria-describedby] input')?.focus();
  });
}
