// Applies PORTAL_CONFIGS branding and the chosen theme to the document.

import { config, type Theme } from "./config";

/** Relative luminance of a #rgb / #rrggbb colour, or null for other notations. */
function luminance(color: string): number | null {
  const hex = color.trim().replace(/^#/, "");
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join("") : hex;
  if (!/^[0-9a-f]{6}$/i.test(full)) return null;
  const channel = (i: number) => {
    const v = parseInt(full.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
}

export function applyBranding(): void {
  const root = document.documentElement;
  if (config.brandColor && CSS.supports("color", config.brandColor)) {
    root.style.setProperty("--brand", config.brandColor);
    const lum = luminance(config.brandColor);
    root.style.setProperty("--brand-contrast", lum !== null && lum > 0.45 ? "#111" : "#fff");
  }
  if (config.faviconUrl) document.getElementById("favicon")?.setAttribute("href", config.faviconUrl);
  if (config.organizationName) document.title = `${config.organizationName} · Event destinations`;
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
}
