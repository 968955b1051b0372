// Data every screen shares and that does not change during a session: the destination types
// (labels, icons, form metadata) and the configured topics.

import { createContext, useContext, type ReactNode } from "react";
import { listDestinationTypes, listTopics } from "./api/endpoints";
import type { DestinationType } from "./api/types";
import { useAsync } from "./lib/useAsync";

export interface Catalog {
  types: DestinationType[];
  topics: string[];
}

const CatalogContext = createContext<Catalog>({ types: [], topics: [] });

export function CatalogProvider({ children }: { children: ReactNode }) {
  const { data, error, loading, reload } = useAsync(
    async () => {
      const [types, topics] = await Promise.all([listDestinationTypes(), listTopics()]);
      return { types, topics };
    },
    [],
  );
  if (loading && !data) return <p className="loading" role="status">Loading…</p>;
  if (error || !data)
    return (
      <div role="alert" className="alert alert-error">
        <p>Could not load destination types: {error?.message}</p>
        <button type="button" className="button" onClick={reload}>
          Try again
        </button>
      </div>
    );
  return <CatalogContext.Provider value={data}>{children}</CatalogContext.Provider>;
}

export function useCatalog(): Catalog {
  return useContext(CatalogContext);
}

export function typeLabel(types: DestinationType[], type: string): string {
  return types.find((t) => t.type === type)?.label ?? type;
}
