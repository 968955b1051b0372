// The tenant session: the JWT handed over in the portal URL (`?token=`), kept in
// sessionStorage, and what happens when it is missing or no longer accepted.

import { config, type Theme } from "./config";

const TOKEN_KEY = "token";
const THEME_KEY = "theme";

/**
 * Moves `?token=` into sessionStorage and `?theme=` into localStorage, then removes both from the
 * address bar (and so from history and any later referrer). Runs before the first render.
 */
export function takeUrlParams(): void {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  const theme = url.searchParams.get("theme");
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  if (theme === "light" || theme === "dark") localStorage.setItem(THEME_KEY, theme);
  if (url.searchParams.has("token") || url.searchParams.has("theme")) {
    url.searchParams.delete("token");
    url.searchParams.delete("theme");
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

function base64UrlDecode(part: string): string {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The tenant id (`sub`) of an unexpired token, or null. The server still verifies it. */
export function tenantIdOf(token: string): string | null {
  try {
    const claims: unknown = JSON.parse(base64UrlDecode(token.split(".")[1] ?? ""));
    if (typeof claims !== "object" || claims === null) return null;
    const { sub, exp } = claims as { sub?: unknown; exp?: unknown };
    if (typeof exp === "number" && exp * 1000 <= Date.now()) return null;
    return typeof sub === "string" && sub !== "" ? sub : null;
  } catch {
    return null;
  }
}

/**
 * Ends the session: forgets the token and sends the user back to the operator's app to get a
 * fresh link. Returns false when no URL is configured, so the caller shows an explanation.
 */
export function leaveSession(): boolean {
  sessionStorage.removeItem(TOKEN_KEY);
  const target = config.refreshUrl || config.refererUrl;
  if (!target) return false;
  window.location.assign(target);
  return true;
}

/** FORCE_THEME, else the saved choice (from `?theme=` or the toggle), else light. */
export function initialTheme(): Theme {
  if (config.forceTheme) return config.forceTheme;
  const saved = localStorage.getItem(THEME_KEY);
  return saved === "dark" ? "dark" : "light";
}

export function saveTheme(theme: Theme): void {
  localStorage.setItem(THEME_KEY, theme);
}
