// One delivery attempt: what was sent (the event) and what came back, the other attempts for
// the same event and destination, and a manual retry.

import { useEffect, useRef, useState } from "react";
import { ApiError } from "../api/client";
import { getAttempt, listEventAttempts, retryDelivery } from "../api/endpoints";
import type { Attempt } from "../api/types";
import { useAnnounce } from "../components/Announcer";
import { AttemptBadge } from "../components/Badges";
import { ErrorNotice, Loading } from "../components/Feedback";
import { formatTime, prettyJson } from "../lib/format";
import { Link } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import { NotFound } from "./NotFound";

const POLL_MS = 1000;
const POLL_ROUNDS = 30;

/** Webhook responses are `{status, body}` with the raw body text; others are shown as JSON. */
function ResponseView({ data }: { data: Attempt["response_data"] }) {
  if (data === undefined || data === null) return <p className="muted">No response recorded.</p>;
  const isHttp = typeof data === "object" && !Array.isArray(data) && typeof data.body === "string";
  const status = isHttp ? data.status ?? data.status_code : undefined;
  return (
    <>
      {status !== undefined && (
        <p>
          HTTP status <strong data-testid="response-status">{String(status)}</strong>
        </p>
      )}
      <pre className="code" tabIndex={0} data-testid="response-body">
        {isHttp ? prettyJson(data.body) || "(empty body)" : prettyJson(data)}
      </pre>
    </>
  );
}

function History({ attempts, currentId, base }: { attempts: Attempt[]; currentId: string; base: string }) {
  return (
    <table className="table" data-testid="event-attempts">
      <caption className="visually-hidden">Attempts for this event</caption>
      <thead>
        <tr>
          <th scope="col">Attempt</th>
          <th scope="col">Status</th>
          <th scope="col">Code</th>
          <th scope="col">Time</th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((a) => (
          <tr key={a.id} aria-current={a.id === currentId ? "true" : undefined}>
            <th scope="row">
              <Link to={`${base}/${encodeURIComponent(a.id)}`}>
                #{a.attempt_number}
                {a.manual ? " (manual)" : ""}
              </Link>
            </th>
            <td>
              <AttemptBadge status={a.status} />
            </td>
            <td>{a.code ?? "—"}</td>
            <td>{formatTime(a.time)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function AttemptDetail({ destinationId, attemptId }: { destinationId: string; attemptId: string }) {
  const attempt = useAsync(() => getAttempt(destinationId, attemptId), [destinationId, attemptId]);
  const eventId = attempt.data?.event_id;
  const history = useAsync(
    async () => (eventId ? (await listEventAttempts(eventId, destinationId)).models : []),
    [eventId, destinationId],
  );
  const [retrying, setRetrying] = useState(false);
  const [retryError, setRetryError] = useState<Error | null>(null);
  const announce = useAnnounce();
  const timer = useRef<number>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  if (attempt.error instanceof ApiError && [403, 404].includes(attempt.error.status)) return <NotFound what="attempt" />;
  if (attempt.error) return <ErrorNotice error={attempt.error} onRetry={attempt.reload} />;
  const a = attempt.data;
  if (!a) return <Loading what="attempt" />;

  const base = `/destinations/${encodeURIComponent(destinationId)}/attempts`;

  const retry = async () => {
    setRetrying(true);
    setRetryError(null);
    const before = history.data?.length ?? 0;
    try {
      await retryDelivery(a.event_id, destinationId);
      announce("Retry queued. Waiting for the new attempt…");
    } catch (err) {
      setRetryError(err as Error);
      setRetrying(false);
      announce("The retry could not be queued.", "error");
      return;
    }
    let round = 0;
    const poll = async () => {
      round++;
      let latest: Attempt[];
      try {
        latest = (await listEventAttempts(a.event_id, destinationId)).models;
      } catch (err) {
        setRetrying(false);
        announce(`The retry was queued, but its result could not be loaded: ${(err as Error).message}`, "error");
        return;
      }
      if (latest.length > before) {
        history.reload();
        setRetrying(false);
        const newest = latest.reduce((m, x) => (x.attempt_number > m.attempt_number ? x : m));
        announce(`Retry delivered: attempt #${newest.attempt_number} ${newest.status === "success" ? "succeeded" : "failed"}.`);
      } else if (round < POLL_ROUNDS) {
        timer.current = window.setTimeout(poll, POLL_MS);
      } else {
        setRetrying(false);
        announce("The retry was queued; its attempt has not been recorded yet. Refresh later.");
      }
    };
    timer.current = window.setTimeout(poll, POLL_MS);
  };

  return (
    <>
      <p className="breadcrumb">
        <Link to="/">Destinations</Link> /{" "}
        <Link to={`/destinations/${encodeURIComponent(destinationId)}`}>Destination</Link> /{" "}
        <Link to={base}>Attempts</Link> / #{a.attempt_number}
      </p>
      <div className="page-head">
        <div>
          <h1>Attempt #{a.attempt_number}</h1>
          <p className="muted">
            <AttemptBadge status={a.status} /> · {a.code ? `Code ${a.code}` : "No response code"} · {formatTime(a.time)}
            {a.manual ? " · manual retry" : ""}
          </p>
        </div>
        <button type="button" className="button button-primary" onClick={retry} disabled={retrying} aria-describedby="retry-hint">
          {retrying ? "Retrying…" : "Retry"}
        </button>
      </div>
      <p id="retry-hint" className="hint">
        Retry sends this event to the destination again now.
      </p>
      {retryError && <ErrorNotice error={retryError} />}
      <dl className="props">
        <dt>Event</dt>
        <dd className="mono">
          <Link to={`/events/${encodeURIComponent(a.event_id)}`}>{a.event_id}</Link>
        </dd>
        <dt>Topic</dt>
        <dd>{a.event?.topic ?? "—"}</dd>
        <dt>Attempt ID</dt>
        <dd className="mono">{a.id}</dd>
      </dl>
      <div className="split-even">
        <section aria-labelledby="request-title" className="card">
          <h2 id="request-title">Request</h2>
          {a.event?.metadata && Object.keys(a.event.metadata).length > 0 && (
            <>
              <h3>Metadata</h3>
              <pre className="code" tabIndex={0}>{prettyJson(a.event.metadata)}</pre>
            </>
          )}
          <h3>Data</h3>
          <pre className="code" tabIndex={0} data-testid="request-body">
            {a.event?.data ? prettyJson(a.event.data) : "Not available"}
          </pre>
        </section>
        <section aria-labelledby="response-title" className="card">
          <h2 id="response-title">Response</h2>
          <ResponseView data={a.response_data} />
        </section>
      </div>
      <section aria-labelledby="history-title">
        <h2 id="history-title">All attempts for this event</h2>
        {history.error && <ErrorNotice error={history.error} onRetry={history.reload} />}
        {history.data && <History attempts={history.data} currentId={a.id} base={base} />}
      </section>
    </>
  );
}
