// Edit a destination (topics, configuration, credentials, filter), manage a webhook secret,
// and delete the destination.

import { useState, type FormEvent } from "react";
import { deleteDestination, updateDestination, type DestinationInput } from "../api/endpoints";
import type { Destination, DestinationType } from "../api/types";
import { useAnnounce } from "../components/Announcer";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { DestinationFields, checkForm, initialForm, type FormErrors, type FormState } from "../components/DestinationForm";
import { ErrorNotice } from "../components/Feedback";
import { WebhookSecret } from "../components/WebhookSecret";
import { config } from "../config";
import { focusFirstInvalid, mapPatch } from "../lib/fields";
import { parseFilterText } from "../lib/filter";
import { useRouter } from "../lib/router";

interface Props {
  destination: Destination;
  type: DestinationType;
  onSaved: (d: Destination) => void;
}

function buildPatch(type: DestinationType, dest: Destination, state: FormState): DestinationInput {
  const sensitive = new Set(type.credential_fields.filter((f) => f.sensitive).map((f) => f.key));
  const plain = Object.fromEntries(Object.entries(state.credentials).filter(([k]) => !sensitive.has(k)));
  const secrets = Object.fromEntries(Object.entries(state.credentials).filter(([k, v]) => sensitive.has(k) && v !== ""));
  const credentials = { ...mapPatch(dest.credentials, plain), ...secrets };
  const filter = parseFilterText(state.filter);
  return {
    topics: state.topics,
    config: mapPatch(dest.config, state.config),
    credentials: Object.keys(credentials).length ? credentials : undefined,
    ...(config.enableDestinationFilter && filter.ok ? { filter: filter.filter } : {}),
  };
}

export function DestinationSettings({ destination, type, onSaved }: Props) {
  const [state, setState] = useState(() => initialForm(type, destination));
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const [saving, setSaving] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const announce = useAnnounce();
  const { navigate } = useRouter();

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const problems = checkForm(type, state, true);
    setErrors(problems);
    if (problems) {
      focusFirstInvalid(e.currentTarget as HTMLFormElement);
      return;
    }
    setSaving(true);
    setFailure(null);
    try {
      const saved = await updateDestination(destination.id, buildPatch(type, destination, state));
      onSaved(saved);
      setState(initialForm(type, saved));
      announce("Changes saved.");
    } catch (err) {
      setFailure(err as Error);
      announce("The changes could not be saved.", "error");
    } finally {
      setSaving(false);
    }
  };

  const remove = async () => {
    setDeleting(true);
    try {
      await deleteDestination(destination.id);
      announce("Destination deleted.");
      navigate("/");
    } catch (err) {
      setDeleting(false);
      setConfirmDelete(false);
      announce(`Could not delete the destination: ${(err as Error).message}`, "error");
    }
  };

  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      {destination.type === "webhook" && <WebhookSecret destination={destination} onRotated={onSaved} />}
      <form className="form" onSubmit={save} noValidate>
        <DestinationFields
          type={type}
          state={state}
          errors={errors}
          editing
          onChange={(next) => {
            setState(next);
            if (errors) setErrors(checkForm(type, next, true));
          }}
        />
        {errors && (
          <p className="field-error" role="alert">
            Please correct the highlighted fields.
          </p>
        )}
        {failure && <ErrorNotice error={failure} />}
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={saving}>
            {saving ? "Saving…" : "Save changes"}
          </button>
        </div>
      </form>
      <section className="card danger-zone" aria-labelledby="delete-title">
        <h2 id="delete-title">Delete destination</h2>
        <p>Deleting stops all deliveries to this destination. This cannot be undone.</p>
        <button type="button" className="button button-danger" onClick={() => setConfirmDelete(true)}>
          Delete destination
        </button>
      </section>
      <ConfirmDialog
        open={confirmDelete}
        title="Delete this destination?"
        confirmLabel="Delete"
        busy={deleting}
        onConfirm={remove}
        onCancel={() => setConfirmDelete(false)}
      >
        <p>
          <strong>{destination.target || destination.id}</strong> will stop receiving events.
        </p>
      </ConfirmDialog>
    </section>
  );
}
