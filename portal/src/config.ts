// Runtime settings injected by the server as `window.PORTAL_CONFIGS` (see index.html). Every
// value is a string; flags are "true"/"false". A missing script or key falls back to defaults.

declare global {
  interface Window {
    PORTAL_CONFIGS?: Record<string, string | undefined>;
  }
}

export type Theme = "light" | "dark";

export interface PortalConfig {
  refererUrl: string;
  refreshUrl: string;
  faviconUrl: string;
  brandColor: string;
  logo: string;
  logoDark: string;
  organizationName: string;
  forceTheme: Theme | null;
  topicsAllowWildcards: boolean;
  disableOutpostBranding: boolean;
  enableDestinationFilter: boolean;
  enableWebhookCustomHeaders: boolean;
}

function flag(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === "true";
}

function theme(value: string | undefined): Theme | null {
  return value === "light" || value === "dark" ? value : null;
}

export function readConfig(raw: Record<string, string | undefined> = window.PORTAL_CONFIGS ?? {}): PortalConfig {
  const text = (key: string) => (raw[key] ?? "").trim();
  return {
    refererUrl: text("REFERER_URL"),
    refreshUrl: text("REFRESH_URL"),
    faviconUrl: text("FAVICON_URL"),
    brandColor: text("BRAND_COLOR"),
    logo: text("LOGO"),
    logoDark: text("LOGO_DARK"),
    organizationName: text("ORGANIZATION_NAME"),
    forceTheme: theme(text("FORCE_THEME")),
    topicsAllowWildcards: flag(raw.TOPICS_ALLOW_WILDCARDS),
    disableOutpostBranding: flag(raw.DISABLE_OUTPOST_BRANDING),
    enableDestinationFilter: flag(raw.ENABLE_DESTINATION_FILTER),
    enableWebhookCustomHeaders: flag(raw.ENABLE_WEBHOOK_CUSTOM_HEADERS),
  };
}

export const config: PortalConfig = readConfig();
