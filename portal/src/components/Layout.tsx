// Page frame: skip link, branded header with navigation and theme switch, main region, footer.

import { useEffect, useRef, type ReactNode } from "react";
import { config, type Theme } from "../config";
import { Link, useRouter } from "../lib/router";

interface Props {
  theme: Theme;
  onToggleTheme: () => void;
  tenantId: string;
  children: ReactNode;
}

function Brand({ theme }: { theme: Theme }) {
  const logo = theme === "dark" && config.logoDark ? config.logoDark : config.logo;
  const name = config.organizationName;
  if (logo) return <img className="brand-logo" src={logo} alt={name || "Home"} />;
  return <span className="brand-name">{name || "Event destinations"}</span>;
}

export function Layout({ theme, onToggleTheme, tenantId, children }: Props) {
  const { path } = useRouter();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // After client-side navigation, move focus to the new content (as a page load would).
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [path]);

  const section = path.startsWith("/events") ? "events" : "destinations";
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <Brand theme={theme} />
        </Link>
        <nav aria-label="Main">
          <ul className="nav-list">
            <li>
              <Link to="/" aria-current={section === "destinations" ? "page" : undefined}>
                Destinations
              </Link>
            </li>
            <li>
              <Link to="/events" aria-current={section === "events" ? "page" : undefined}>
                Events
              </Link>
            </li>
          </ul>
        </nav>
        <div className="topbar-end">
          <span className="tenant-id" title="Tenant">
            {tenantId}
          </span>
          {!config.forceTheme && (
            <button
              type="button"
              className="button button-ghost"
              onClick={onToggleTheme}
              aria-pressed={theme === "dark"}
            >
              Dark mode
            </button>
          )}
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1} className="content">
        {children}
      </main>
      {!config.disableOutpostBranding && (
        <footer className="footer">
          Powered by <a href="https://github.com/hookdeck/outpost">Outpost</a>
        </footer>
      )}
    </div>
  );
}
