// The one place that talks to the server: same-origin `/api/v1`, tenant JWT as bearer token.

import type { Json } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly details: string[];

  constructor(status: number, message: string, details: string[]) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

let token = "";
let onUnauthorized: () => void = () => undefined;

/** Sets the bearer token and what to do when the server stops accepting it (401). */
export function configureClient(jwt: string, unauthorized: () => void): void {
  token = jwt;
  onUnauthorized = unauthorized;
}

/** Query parameters; arrays become repeated `key[]=value` pairs, empty values are left out. */
export type Params = Record<string, string | number | string[] | undefined | null>;

export function queryString(params: Params): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (Array.isArray(value)) value.forEach((v) => q.append(`${key}[]`, v));
    else if (value !== undefined && value !== null && value !== "") q.append(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

function describe(status: number, body: unknown): ApiError {
  const fallback: Record<number, string> = {
    401: "Your session has expired.",
    403: "You do not have access to this resource.",
    404: "Not found.",
  };
  let message = fallback[status] ?? `Request failed (HTTP ${status}).`;
  let details: string[] = [];
  if (typeof body === "object" && body !== null) {
    const { message: m, data } = body as { message?: unknown; data?: unknown };
    if (typeof m === "string" && m) message = m;
    if (Array.isArray(data)) details = data.map(String);
    else if (typeof data === "object" && data !== null)
      details = Object.entries(data).map(([k, v]) => `${k}: ${String(v)}`);
  }
  return new ApiError(status, message, details);
}

export async function api<T>(method: string, path: string, body?: Json): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw describe(res.status, parsed);
  return parsed as T;
}
