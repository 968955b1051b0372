// One input generated from a destination type's field metadata.

import type { Field } from "../api/types";
import { KeyValueEditor } from "./KeyValueEditor";

interface Props {
  field: Field;
  idPrefix: string;
  value: string;
  error?: string;
  /** For sensitive credentials being edited: the field is blank and keeps its stored value. */
  placeholder?: string;
  onChange: (value: string) => void;
}

export function FieldInput({ field, idPrefix, value, error, placeholder, onChange }: Props) {
  const id = `${idPrefix}-${field.key}`;
  const describedBy = [field.description ? `${id}-desc` : "", error ? `${id}-err` : ""].filter(Boolean).join(" ");
  const common = {
    id,
    name: field.key,
    "aria-describedby": describedBy || undefined,
    "aria-invalid": error ? true : undefined,
    disabled: field.disabled,
  };
  const hint = field.description && (
    <p className="hint" id={`${id}-desc`}>
      {field.description}
    </p>
  );
  const problem = error && (
    <p className="field-error" id={`${id}-err`}>
      {error}
    </p>
  );

  if (field.type === "checkbox")
    return (
      <div className="field field-check">
        <input type="checkbox" {...common} checked={value === "true"} onChange={(e) => onChange(e.target.checked ? "true" : "false")} />
        <label htmlFor={id}>{field.label}</label>
        {hint}
        {problem}
      </div>
    );

  if (field.type === "key_value_map")
    return (
      <fieldset className="field" aria-describedby={describedBy || undefined}>
        <legend>
          {field.label}
          {field.required && <span className="required"> (required)</span>}
        </legend>
        {hint}
        <KeyValueEditor id={id} value={value} onChange={onChange} disabled={field.disabled} />
        {problem}
      </fieldset>
    );

  return (
    <div className="field">
      <label htmlFor={id}>
        {field.label}
        {field.required && <span className="required"> (required)</span>}
      </label>
      {hint}
      {field.type === "select" ? (
        <select {...common} value={value} onChange={(e) => onChange(e.target.value)} required={field.required}>
          {!field.required && <option value="">None</option>}
          {field.required && !value && <option value="">Choose…</option>}
          {(field.options ?? []).map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      ) : (
        <input
          {...common}
          type={field.sensitive ? "password" : "text"}
          autoComplete="off"
          spellCheck={false}
          value={value}
          placeholder={placeholder}
          required={field.required && !placeholder}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
      {problem}
    </div>
  );
}
