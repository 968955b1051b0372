// A webhook destination's signing secret: reveal, copy, and rotate (the old secret keeps
// signing alongside the new one until `previous_secret_invalid_at`).

import { useState } from "react";
import { updateDestination } from "../api/endpoints";
import type { Destination } from "../api/types";
import { formatTime } from "../lib/format";
import { useAnnounce } from "./Announcer";
import { ConfirmDialog } from "./ConfirmDialog";

interface Props {
  destination: Destination;
  onRotated: (d: Destination) => void;
}

export function WebhookSecret({ destination, onRotated }: Props) {
  const [shown, setShown] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const announce = useAnnounce();
  const { secret, previous_secret_invalid_at: previousUntil } = destination.credentials;

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret ?? "");
      announce("Secret copied to the clipboard.");
    } catch {
      announce("Could not copy: select the secret and copy it by hand.", "error");
    }
  };

  const rotate = async () => {
    setBusy(true);
    try {
      onRotated(await updateDestination(destination.id, { credentials: { rotate_secret: true } }));
      setShown(false);
      announce("Secret rotated. The previous secret stays valid for 24 hours.");
    } catch (err) {
      announce(`Could not rotate the secret: ${(err as Error).message}`, "error");
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  return (
    <section className="card" aria-labelledby="secret-title">
      <h2 id="secret-title">Signing secret</h2>
      <p className="hint">Use it to verify the signature header on each request.</p>
      <div className="secret-row">
        <code className="secret" data-testid="webhook-secret" aria-label={shown ? "Signing secret" : "Signing secret (hidden)"}>
          {shown ? secret : "•".repeat(24)}
        </code>
        <button type="button" className="button" onClick={() => setShown(!shown)} aria-pressed={shown}>
          {shown ? "Hide" : "Show"}
        </button>
        <button type="button" className="button" onClick={copy}>
          Copy
        </button>
        <button type="button" className="button" onClick={() => setConfirming(true)}>
          Rotate secret
        </button>
      </div>
      {previousUntil && (
        <p className="hint">The previous secret is also accepted until {formatTime(previousUntil)}.</p>
      )}
      <ConfirmDialog
        open={confirming}
        title="Rotate the signing secret?"
        confirmLabel="Rotate"
        busy={busy}
        onConfirm={rotate}
        onCancel={() => setConfirming(false)}
      >
        <p>A new secret is generated. Requests are signed with both secrets for 24 hours, then only with the new one.</p>
      </ConfirmDialog>
    </section>
  );
}
