// The editable parts of a destination — topics, config and credential fields generated from the
// type metadata, and the optional filter — shared by the create and settings screens.

import type { Destination, DestinationType } from "../api/types";
import { config } from "../config";
import { configFields, initialValues, validate, type Errors, type Values } from "../lib/fields";
import { parseFilterText } from "../lib/filter";
import { FieldInput } from "./FieldInput";
import { FilterEditor } from "./FilterEditor";
import { TopicPicker } from "./TopicPicker";

export interface FormState {
  topics: string[];
  config: Values;
  credentials: Values;
  filter: string;
}

export interface FormErrors {
  topics?: string;
  filter?: string;
  config: Errors;
  credentials: Errors;
}

/** Sensitive credentials are never shown again: their inputs start blank when editing. */
function credentialStart(type: DestinationType, existing: Destination | undefined): Record<string, string> {
  if (!existing) return {};
  return Object.fromEntries(
    type.credential_fields.filter((f) => !f.sensitive).map((f) => [f.key, existing.credentials[f.key] ?? ""]),
  );
}

export function initialForm(type: DestinationType, existing?: Destination): FormState {
  return {
    topics: existing?.topics ?? [],
    config: initialValues(configFields(type, config), existing?.config),
    credentials: initialValues(type.credential_fields, credentialStart(type, existing)),
    filter: existing?.filter ? JSON.stringify(existing.filter, null, 2) : "",
  };
}

export function checkForm(type: DestinationType, state: FormState, editing: boolean): FormErrors | null {
  const sensitive = new Set(editing ? type.credential_fields.filter((f) => f.sensitive).map((f) => f.key) : []);
  const errors: FormErrors = {
    config: validate(configFields(type, config), state.config),
    credentials: validate(type.credential_fields, state.credentials, sensitive),
  };
  if (state.topics.length === 0) errors.topics = "Choose at least one topic.";
  const filter = parseFilterText(state.filter);
  if (!filter.ok) errors.filter = filter.error;
  const failed =
    errors.topics || errors.filter || Object.keys(errors.config).length || Object.keys(errors.credentials).length;
  return failed ? errors : null;
}

interface Props {
  type: DestinationType;
  state: FormState;
  errors: FormErrors | null;
  editing: boolean;
  onChange: (state: FormState) => void;
}

export function DestinationFields({ type, state, errors, editing, onChange }: Props) {
  const set = (part: Partial<FormState>) => onChange({ ...state, ...part });
  const fields = configFields(type, config);
  const sampleTopic = state.topics.find((t) => !t.includes("*")) ?? "example.topic";
  return (
    <>
      <TopicPicker value={state.topics} error={errors?.topics} onChange={(topics) => set({ topics })} />
      {fields.length > 0 && (
        <fieldset className="field-group">
          <legend>Configuration</legend>
          {fields.map((f) => (
            <FieldInput
              key={f.key}
              field={f}
              idPrefix="config"
              value={state.config[f.key] ?? ""}
              error={errors?.config[f.key]}
              onChange={(v) => set({ config: { ...state.config, [f.key]: v } })}
            />
          ))}
        </fieldset>
      )}
      {type.credential_fields.length > 0 && (
        <fieldset className="field-group">
          <legend>Credentials</legend>
          {type.credential_fields.map((f) => (
            <FieldInput
              key={f.key}
              field={f}
              idPrefix="credentials"
              value={state.credentials[f.key] ?? ""}
              error={errors?.credentials[f.key]}
              placeholder={editing && f.sensitive ? "Unchanged (hidden)" : undefined}
              onChange={(v) => set({ credentials: { ...state.credentials, [f.key]: v } })}
            />
          ))}
        </fieldset>
      )}
      {config.enableDestinationFilter && (
        <>
          <FilterEditor value={state.filter} onChange={(filter) => set({ filter })} sampleTopic={sampleTopic} />
          {errors?.filter && (
            <p className="field-error" role="alert">
              {errors.filter}
            </p>
          )}
        </>
      )}
    </>
  );
}
