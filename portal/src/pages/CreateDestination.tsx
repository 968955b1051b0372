// Step 2 of adding a destination: topics, configuration, credentials and filter for one type,
// with the type's setup instructions alongside.

import { useState, type FormEvent } from "react";
import { createDestination } from "../api/endpoints";
import { useCatalog } from "../catalog";
import { useAnnounce } from "../components/Announcer";
import { TypeIcon } from "../components/Badges";
import { DestinationFields, checkForm, initialForm, type FormErrors } from "../components/DestinationForm";
import { ErrorNotice } from "../components/Feedback";
import { Markdown } from "../components/Markdown";
import { focusFirstInvalid, nonEmpty } from "../lib/fields";
import { parseFilterText } from "../lib/filter";
import { Link, useRouter } from "../lib/router";
import { NotFound } from "./NotFound";

export function CreateDestination({ type: typeName }: { type: string }) {
  const { types } = useCatalog();
  const type = types.find((t) => t.type === typeName);
  const [state, setState] = useState(() => (type ? initialForm(type) : null));
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const { navigate } = useRouter();
  const announce = useAnnounce();

  if (!type || !state) return <NotFound what="destination type" />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problems = checkForm(type, state, false);
    setErrors(problems);
    if (problems) {
      focusFirstInvalid(e.currentTarget as HTMLFormElement);
      return;
    }
    const filter = parseFilterText(state.filter);
    setBusy(true);
    setFailure(null);
    try {
      const created = await createDestination({
        type: type.type,
        topics: state.topics,
        config: nonEmpty(state.config),
        credentials: nonEmpty(state.credentials),
        ...(filter.ok && filter.filter ? { filter: filter.filter } : {}),
      });
      announce(`Destination ${created.target || created.id} created.`);
      navigate(`/destinations/${encodeURIComponent(created.id)}`);
    } catch (err) {
      setFailure(err as Error);
      announce("The destination could not be created.", "error");
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <p className="breadcrumb">
        <Link to="/">Destinations</Link> / <Link to="/new">New</Link> / {type.label}
      </p>
      <div className="page-head">
        <h1 className="with-icon">
          <TypeIcon type={type} /> New {type.label} destination
        </h1>
      </div>
      <div className="split">
        <form className="form" onSubmit={submit} noValidate aria-describedby={failure ? "create-error" : undefined}>
          <DestinationFields
            type={type}
            state={state}
            errors={errors}
            editing={false}
            onChange={(next) => {
              setState(next);
              if (errors) setErrors(checkForm(type, next, false));
            }}
          />
          {errors && (
            <p className="field-error" role="alert">
              Please correct the highlighted fields.
            </p>
          )}
          {failure && (
            <div id="create-error">
              <ErrorNotice error={failure} />
            </div>
          )}
          <div className="form-actions">
            <Link to="/new" className="button">
              Back
            </Link>
            <button type="submit" className="button button-primary" disabled={busy}>
              {busy ? "Creating…" : "Create destination"}
            </button>
          </div>
        </form>
        {(type.instructions || type.setup_link) && (
          <aside className="instructions" aria-label={`${type.label} setup instructions`}>
            {type.setup_link && (
              <p>
                <a className="button" href={type.setup_link.href} target="_blank" rel="noreferrer noopener">
                  {type.setup_link.cta}
                </a>
              </p>
            )}
            {type.instructions && (
              <details open>
                <summary>Setup instructions</summary>
                <Markdown source={type.instructions} baseLevel={2} />
              </details>
            )}
          </aside>
        )}
      </div>
    </>
  );
}
