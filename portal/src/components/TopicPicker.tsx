// Chooses the topics a destination subscribes to: all (`*`), configured topics, and — when the
// operator allows it or configured none — typed topics or wildcard patterns.

import { useState } from "react";
import { useCatalog } from "../catalog";
import { config } from "../config";
import { topicProblem } from "../lib/topics";

interface Props {
  value: string[];
  error?: string;
  onChange: (topics: string[]) => void;
}

export function TopicPicker({ value, error, onChange }: Props) {
  const { topics: available } = useCatalog();
  const [draft, setDraft] = useState("");
  const [draftError, setDraftError] = useState("");
  const all = value.includes("*");
  const custom = value.filter((t) => t !== "*" && !available.includes(t));
  const canType = available.length === 0 || config.topicsAllowWildcards;

  const toggle = (topic: string, on: boolean) =>
    onChange(on ? [...value, topic] : value.filter((t) => t !== topic));

  const add = () => {
    const entries = draft.split(",").map((t) => t.trim()).filter(Boolean);
    const problem = entries.map((t) => topicProblem(t, available, config.topicsAllowWildcards)).find(Boolean);
    if (problem) {
      setDraftError(problem);
      return;
    }
    setDraftError("");
    setDraft("");
    onChange([...value.filter((t) => t !== "*"), ...entries.filter((t) => !value.includes(t))]);
  };

  return (
    <fieldset className="field topic-picker" aria-describedby={error ? "topics-err" : undefined}>
      <legend>
        Topics <span className="required">(required)</span>
      </legend>
      <p className="hint">Events with these topics are delivered to this destination.</p>
      <div className="field-check">
        <input id="topic-all" type="checkbox" checked={all} onChange={(e) => onChange(e.target.checked ? ["*"] : [])} />
        <label htmlFor="topic-all">All topics</label>
      </div>
      {available.length > 0 && (
        <ul className="topic-list">
          {available.map((t, i) => (
            <li key={t} className="field-check">
              <input
                id={`topic-${i}`}
                type="checkbox"
                disabled={all}
                checked={all || value.includes(t)}
                onChange={(e) => toggle(t, e.target.checked)}
              />
              <label htmlFor={`topic-${i}`}>{t}</label>
            </li>
          ))}
        </ul>
      )}
      {custom.length > 0 && (
        <ul className="chips" aria-label="Other topics">
          {custom.map((t) => (
            <li key={t} className="chip">
              {t}
              <button type="button" className="chip-remove" onClick={() => toggle(t, false)} aria-label={`Remove topic ${t}`}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {canType && !all && (
        <div className="inline-add">
          <label htmlFor="topic-draft">
            {available.length ? "Add a topic pattern" : "Add topics"}
            <span className="hint">
              {" "}
              (comma-separated{config.topicsAllowWildcards ? "; * matches any characters" : ""})
            </span>
          </label>
          <div className="inline-add-row">
            <input
              id="topic-draft"
              value={draft}
              aria-invalid={draftError ? true : undefined}
              aria-describedby={draftError ? "topic-draft-err" : undefined}
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter") {
                  e.preventDefault();
                  add();
                }
              }}
            />
            <button type="button" className="button" onClick={add} disabled={!draft.trim()}>
              Add
            </button>
          </div>
          {draftError && (
            <p className="field-error" id="topic-draft-err">
              {draftError}
            </p>
          )}
        </div>
      )}
      {error && (
        <p className="field-error" id="topics-err">
          {error}
        </p>
      )}
    </fieldset>
  );
}
