// One event: its payload and metadata, and every delivery attempt made for it.

import { ApiError } from "../api/client";
import { getEvent, listDestinations, listEventAttempts } from "../api/endpoints";
import { AttemptBadge } from "../components/Badges";
import { ErrorNotice, Loading } from "../components/Feedback";
import { formatTime, prettyJson } from "../lib/format";
import { Link } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import { NotFound } from "./NotFound";

export function EventDetail({ id }: { id: string }) {
  const event = useAsync(() => getEvent(id), [id]);
  const attempts = useAsync(() => listEventAttempts(id), [id]);
  const destinations = useAsync(listDestinations, []);
  const names = new Map((destinations.data ?? []).map((d) => [d.id, d.target || d.id]));

  if (event.error instanceof ApiError && [403, 404].includes(event.error.status)) return <NotFound what="event" />;
  if (event.error) return <ErrorNotice error={event.error} onRetry={event.reload} />;
  const e = event.data;
  if (!e) return <Loading what="event" />;

  return (
    <>
      <p className="breadcrumb">
        <Link to="/events">Events</Link> / {e.id}
      </p>
      <h1 className="break">Event {e.topic ? `“${e.topic}”` : e.id}</h1>
      <dl className="props">
        <dt>Event ID</dt>
        <dd className="mono">{e.id}</dd>
        <dt>Time</dt>
        <dd>{formatTime(e.time)}</dd>
        <dt>Automatic retries</dt>
        <dd>{e.eligible_for_retry ? "Yes" : "No"}</dd>
      </dl>
      <section aria-labelledby="event-attempts-title">
        <h2 id="event-attempts-title">Delivery attempts</h2>
        {attempts.error && <ErrorNotice error={attempts.error} onRetry={attempts.reload} />}
        {attempts.loading && !attempts.data && <Loading what="attempts" />}
        {attempts.data && (
          <table className="table responsive-table">
            <thead>
              <tr>
                <th scope="col">Destination</th>
                <th scope="col">Attempt</th>
                <th scope="col">Status</th>
                <th scope="col">Code</th>
                <th scope="col">Time</th>
              </tr>
            </thead>
            <tbody>
              {attempts.data.models.map((a) => (
                <tr key={a.id}>
                  <th scope="row" data-label="Destination" className="break">
                    {names.get(a.destination_id) ?? a.destination_id}
                  </th>
                  <td data-label="Attempt">
                    <Link
                      to={`/destinations/${encodeURIComponent(a.destination_id)}/attempts/${encodeURIComponent(a.id)}`}
                    >
                      #{a.attempt_number}
                      {a.manual ? " (manual)" : ""}
                    </Link>
                  </td>
                  <td data-label="Status">
                    <AttemptBadge status={a.status} />
                  </td>
                  <td data-label="Code">{a.code ?? "—"}</td>
                  <td data-label="Time">{formatTime(a.time)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {e.metadata && Object.keys(e.metadata).length > 0 && (
        <section aria-labelledby="event-metadata-title">
          <h2 id="event-metadata-title">Metadata</h2>
          <pre className="code" tabIndex={0}>{prettyJson(e.metadata)}</pre>
        </section>
      )}
      <section aria-labelledby="event-data-title">
        <h2 id="event-data-title">Data</h2>
        <pre className="code" tabIndex={0}>{e.data ? prettyJson(e.data) : "Not available"}</pre>
      </section>
    </>
  );
}
