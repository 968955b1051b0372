// One polite live region for the outcome of async actions ("Destination disabled", errors), so
// screen readers hear them wherever focus is. It is also shown as a visible status line.

import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";

type Tone = "info" | "error";

const INFO_MS = 10_000;

interface Announcement {
  text: string;
  tone: Tone;
  id: number;
}

const AnnounceContext = createContext<(text: string, tone?: Tone) => void>(() => undefined);

export function AnnouncerProvider({ children }: { children: ReactNode }) {
  const [current, setCurrent] = useState<Announcement | null>(null);
  const announce = useCallback((text: string, tone: Tone = "info") => {
    setCurrent((prev) => ({ text, tone, id: (prev?.id ?? 0) + 1 }));
  }, []);
  // Information fades after a while; errors stay until dismissed or replaced.
  useEffect(() => {
    if (current?.tone !== "info") return;
    const timer = window.setTimeout(() => setCurrent(null), INFO_MS);
    return () => window.clearTimeout(timer);
  }, [current]);
  return (
    <AnnounceContext.Provider value={announce}>
      {children}
      <div className="toast-area" role="status" aria-live="polite" aria-atomic="true">
        {current && (
          <p key={current.id} className={`toast toast-${current.tone}`} data-testid="status">
            {current.text}
            <button type="button" className="toast-close" onClick={() => setCurrent(null)} aria-label="Dismiss message">
              ×
            </button>
          </p>
        )}
      </div>
    </AnnounceContext.Provider>
  );
}

export function useAnnounce() {
  return useContext(AnnounceContext);
}
