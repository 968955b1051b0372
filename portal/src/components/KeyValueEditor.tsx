// Editor for a `key_value_map` field, stored by the server as a JSON object string.

import { useState } from "react";

interface Row {
  key: string;
  value: string;
}

function parseRows(value: string): Row[] {
  try {
    const obj: unknown = JSON.parse(value || "{}");
    if (obj && typeof obj === "object" && !Array.isArray(obj))
      return Object.entries(obj).map(([key, v]) => ({ key, value: String(v) }));
  } catch {
    // An unparsable stored value starts from an empty editor.
  }
  return [];
}

function serialize(rows: Row[]): string {
  const filled = rows.filter((r) => r.key.trim() !== "");
  return filled.length ? JSON.stringify(Object.fromEntries(filled.map((r) => [r.key.trim(), r.value]))) : "";
}

interface Props {
  id: string;
  value: string;
  disabled?: boolean;
  onChange: (value: string) => void;
}

export function KeyValueEditor({ id, value, disabled, onChange }: Props) {
  const [rows, setRows] = useState<Row[]>(() => parseRows(value));
  const update = (next: Row[]) => {
    setRows(next);
    onChange(serialize(next));
  };
  return (
    <div className="kv-editor">
      {rows.map((row, i) => (
        <div className="kv-row" key={i}>
          <label className="visually-hidden" htmlFor={`${id}-k${i}`}>
            Name {i + 1}
          </label>
          <input
            id={`${id}-k${i}`}
            placeholder="Name"
            value={row.key}
            disabled={disabled}
            onChange={(e) => update(rows.map((r, j) => (j === i ? { ...r, key: e.target.value } : r)))}
          />
          <label className="visually-hidden" htmlFor={`${id}-v${i}`}>
            Value {i + 1}
          </label>
          <input
            id={`${id}-v${i}`}
            placeholder="Value"
            value={row.value}
            disabled={disabled}
            onChange={(e) => update(rows.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)))}
          />
          <button
            type="button"
            className="button button-ghost"
            disabled={disabled}
            onClick={() => update(rows.filter((_, j) => j !== i))}
            aria-label={`Remove ${row.key || `entry ${i + 1}`}`}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="button" disabled={disabled} onClick={() => setRows([...rows, { key: "", value: "" }])}>
        Add entry
      </button>
    </div>
  );
}
