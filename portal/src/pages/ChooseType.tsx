// Step 1 of adding a destination: pick its type.

import { useState, type FormEvent } from "react";
import { useCatalog } from "../catalog";
import { TypeIcon } from "../components/Badges";
import { Link, useRouter } from "../lib/router";

export function ChooseType() {
  const { types } = useCatalog();
  const { navigate } = useRouter();
  const [chosen, setChosen] = useState(types[0]?.type ?? "");

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (chosen) navigate(`/new/${encodeURIComponent(chosen)}`);
  };

  return (
    <>
      <p className="breadcrumb">
        <Link to="/">Destinations</Link> / New
      </p>
      <h1>Add a destination</h1>
      <form onSubmit={submit}>
        <fieldset className="type-grid">
          <legend>Where should events be sent?</legend>
          {types.map((t) => (
            <label key={t.type} className={`type-card${chosen === t.type ? " selected" : ""}`}>
              <input type="radio" name="type" value={t.type} checked={chosen === t.type} onChange={() => setChosen(t.type)} />
              <TypeIcon type={t} />
              <span>
                <span className="type-card-title">{t.label}</span>
                <span className="muted small">{t.description}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <div className="form-actions">
          <Link to="/" className="button">
            Cancel
          </Link>
          <button type="submit" className="button button-primary" disabled={!chosen}>
            Continue
          </button>
        </div>
      </form>
    </>
  );
}
