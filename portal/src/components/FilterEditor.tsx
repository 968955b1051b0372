// Edits a destination's event filter (JSON) next to a sample event, and says live whether the
// sample would be delivered — using the same matching rules as the server.

import { useMemo, useState } from "react";
import { listEvents } from "../api/endpoints";
import type { Json } from "../api/types";
import { filterDocument, matchesFilter, parseFilterText } from "../lib/filter";
import { useAnnounce } from "./Announcer";

interface Props {
  value: string;
  onChange: (text: string) => void;
  sampleTopic: string;
}

function sampleEvent(topic: string, time: string): string {
  const doc = {
    id: "evt_example",
    topic,
    time,
    metadata: {},
    data: { type: "example", amount: 42 },
  };
  return JSON.stringify(doc, null, 2);
}

type Verdict = { tone: "ok" | "fail" | "invalid"; text: string };

function judge(filterText: string, sampleText: string): Verdict {
  const parsed = parseFilterText(filterText);
  if (!parsed.ok) return { tone: "invalid", text: parsed.error };
  let doc: Json;
  try {
    doc = JSON.parse(sampleText) as Json;
  } catch {
    return { tone: "invalid", text: "The sample event is not valid JSON." };
  }
  if (!parsed.filter) return { tone: "ok", text: "No filter: every event with a subscribed topic is delivered." };
  return matchesFilter(parsed.filter, doc)
    ? { tone: "ok", text: "This event matches the filter and would be delivered." }
    : { tone: "fail", text: "This event does not match the filter and would not be delivered." };
}

export function FilterEditor({ value, onChange, sampleTopic }: Props) {
  // The sample follows the chosen topics until the user edits it.
  const [time] = useState(() => new Date().toISOString().replace(/\.\d+Z$/, "Z"));
  const [edited, setEdited] = useState<string | null>(null);
  const sample = edited ?? sampleEvent(sampleTopic, time);
  const announce = useAnnounce();

  const loadLatest = async () => {
    try {
      const latest = (await listEvents({ limit: 1 })).models[0];
      if (!latest) {
        announce("There are no events yet to use as a sample.");
        return;
      }
      setEdited(JSON.stringify(filterDocument(latest), null, 2));
      announce(`Sample replaced by event ${latest.id}.`);
    } catch (err) {
      announce(`Could not load the latest event: ${(err as Error).message}`, "error");
    }
  };
  const verdict = useMemo(() => judge(value, sample), [value, sample]);
  return (
    <fieldset className="field filter-editor">
      <legend>Event filter</legend>
      <p className="hint" id="filter-hint">
        Optional. A JSON object matched against each event&apos;s <code>id</code>, <code>topic</code>,{" "}
        <code>time</code>, <code>metadata</code> and <code>data</code>, for example{" "}
        <code>{'{"data": {"amount": {"$gte": 10}}}'}</code>. Operators: $eq, $neq, $gt, $gte, $lt, $lte, $in, $nin,
        $startsWith, $endsWith, $exist, $or, $and, $not.
      </p>
      <div className="filter-grid">
        <div>
          <label htmlFor="filter-text">Filter (JSON)</label>
          <textarea
            id="filter-text"
            className="code-input"
            rows={10}
            spellCheck={false}
            value={value}
            aria-describedby="filter-hint"
            onChange={(e) => onChange(e.target.value)}
          />
        </div>
        <div>
          <label htmlFor="filter-sample">Sample event</label>
          <textarea
            id="filter-sample"
            className="code-input"
            rows={10}
            spellCheck={false}
            value={sample}
            onChange={(e) => setEdited(e.target.value)}
          />
          <button type="button" className="button button-ghost" onClick={loadLatest}>
            Use the latest event as sample
          </button>
        </div>
      </div>
      <p className={`verdict verdict-${verdict.tone}`} role="status" aria-live="polite" data-testid="filter-verdict">
        {verdict.text}
      </p>
    </fieldset>
  );
}
