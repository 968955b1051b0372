// Filter bar for event and attempt lists; the filters live in the URL query.

import { useState, type FormEvent, type ReactNode } from "react";
import { useCatalog } from "../catalog";
import { useRouter, withQuery } from "../lib/router";

interface Props {
  /** Query keys this bar edits, besides `topic` and `since`. */
  extra?: (values: Record<string, string>, set: (key: string, value: string) => void) => ReactNode;
  extraKeys?: string[];
  onRefresh: () => void;
}

const SINCE = [
  { value: "", label: "Any time" },
  { value: "1h", label: "Last hour" },
  { value: "24h", label: "Last 24 hours" },
  { value: "7d", label: "Last 7 days" },
];

/** `time[gte]` for a `since` choice. */
export function sinceToTime(since: string | null): string | undefined {
  const hours: Record<string, number> = { "1h": 1, "24h": 24, "7d": 168 };
  const h = since ? hours[since] : undefined;
  return h ? new Date(Date.now() - h * 3_600_000).toISOString() : undefined;
}

export function LogFilters({ extra, extraKeys = [], onRefresh }: Props) {
  const { path, query, navigate } = useRouter();
  const { topics } = useCatalog();
  const keys = ["topic", "since", ...extraKeys];
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(keys.map((k) => [k, query.get(k) ?? ""])),
  );
  const set = (key: string, value: string) => setValues((v) => ({ ...v, [key]: value }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    navigate(withQuery(path, values));
  };

  return (
    <form className="filter-bar" onSubmit={submit} aria-label="Filters">
      <div className="field">
        <label htmlFor="filter-topic">Topic</label>
        {topics.length ? (
          <select id="filter-topic" value={values.topic} onChange={(e) => set("topic", e.target.value)}>
            <option value="">All topics</option>
            {topics.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        ) : (
          <input id="filter-topic" value={values.topic} onChange={(e) => set("topic", e.target.value)} />
        )}
      </div>
      <div className="field">
        <label htmlFor="filter-since">Time</label>
        <select id="filter-since" value={values.since} onChange={(e) => set("since", e.target.value)}>
          {SINCE.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </div>
      {extra?.(values, set)}
      <div className="filter-actions">
        <button type="submit" className="button">
          Apply filters
        </button>
        <button type="button" className="button button-ghost" onClick={onRefresh}>
          Refresh
        </button>
      </div>
    </form>
  );
}
