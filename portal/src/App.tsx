// Session start (token → tenant), theme, and the route table.

import { useCallback, useEffect, useState, type ReactNode } from "react";
import { configureClient } from "./api/client";
import { getTenant, setTenant } from "./api/endpoints";
import { applyTheme } from "./branding";
import { CatalogProvider } from "./catalog";
import { AnnouncerProvider } from "./components/Announcer";
import { Layout } from "./components/Layout";
import { matchPath, Router, useRouter } from "./lib/router";
import { AttemptDetail } from "./pages/AttemptDetail";
import { ChooseType } from "./pages/ChooseType";
import { CreateDestination } from "./pages/CreateDestination";
import { DestinationList } from "./pages/DestinationList";
import { DestinationPage } from "./pages/DestinationPage";
import { EventDetail } from "./pages/EventDetail";
import { EventList } from "./pages/EventList";
import { NotFound } from "./pages/NotFound";
import { initialTheme, leaveSession, saveTheme, storedToken, tenantIdOf } from "./session";

type Phase = { kind: "starting" } | { kind: "ready"; tenantId: string } | { kind: "ended"; redirecting: boolean };

const routes: [string, (params: Record<string, string>) => ReactNode][] = [
  ["/", () => <DestinationList />],
  ["/new", () => <ChooseType />],
  ["/new/:type", (p) => <CreateDestination type={p.type} />],
  ["/destinations/:id", (p) => <DestinationPage id={p.id} tab="overview" />],
  ["/destinations/:id/attempts", (p) => <DestinationPage id={p.id} tab="attempts" />],
  ["/destinations/:id/settings", (p) => <DestinationPage id={p.id} tab="settings" />],
  ["/destinations/:id/attempts/:attemptId", (p) => <AttemptDetail destinationId={p.id} attemptId={p.attemptId} />],
  ["/events", () => <EventList />],
  ["/events/:id", (p) => <EventDetail id={p.id} />],
];

function Routes() {
  const { path } = useRouter();
  for (const [pattern, render] of routes) {
    const params = matchPath(pattern, path);
    if (params) return <>{render(params)}</>;
  }
  return <NotFound />;
}

function SessionEnded({ redirecting }: { redirecting: boolean }) {
  return (
    <main className="session-ended" id="main">
      <h1>{redirecting ? "Redirecting…" : "Session expired"}</h1>
      {!redirecting && (
        <p>
          This page needs a valid access link. Return to the application you came from and open the
          event destinations portal again.
        </p>
      )}
    </main>
  );
}

export function App() {
  const [theme, setTheme] = useState(initialTheme);
  const [phase, setPhase] = useState<Phase>({ kind: "starting" });

  useEffect(() => applyTheme(theme), [theme]);

  const end = useCallback(() => setPhase({ kind: "ended", redirecting: leaveSession() }), []);

  useEffect(() => {
    const token = storedToken();
    const tenantId = token ? tenantIdOf(token) : null;
    if (!token || !tenantId) {
      end();
      return;
    }
    configureClient(token, end);
    setTenant(tenantId);
    getTenant(tenantId).then(
      () => setPhase({ kind: "ready", tenantId }),
      () => end(),
    );
  }, [end]);

  const toggleTheme = () => {
    const next = theme === "dark" ? "light" : "dark";
    saveTheme(next);
    setTheme(next);
  };

  if (phase.kind === "starting") return <p className="loading" role="status">Loading…</p>;
  if (phase.kind === "ended") return <SessionEnded redirecting={phase.redirecting} />;
  return (
    <Router>
      <AnnouncerProvider>
        <Layout theme={theme} onToggleTheme={toggleTheme} tenantId={phase.tenantId}>
          <CatalogProvider>
            <Routes />
          </CatalogProvider>
        </Layout>
      </AnnouncerProvider>
    </Router>
  );
}
