// Delivery attempts of one destination, newest first, with filters and cursor pagination.

import { listDestinationAttempts } from "../api/endpoints";
import type { Destination } from "../api/types";
import { AttemptBadge } from "../components/Badges";
import { ErrorNotice, Loading } from "../components/Feedback";
import { LogFilters, sinceToTime } from "../components/LogFilters";
import { Pagination } from "../components/Pagination";
import { formatTime } from "../lib/format";
import { Link, useRouter } from "../lib/router";
import { useAsync } from "../lib/useAsync";

const PAGE_SIZE = 20;

export function AttemptList({ destination }: { destination: Destination }) {
  const { query } = useRouter();
  const key = query.toString();
  const attempts = useAsync(
    () =>
      listDestinationAttempts(destination.id, {
        limit: PAGE_SIZE,
        status: query.get("status") ?? undefined,
        topic: query.get("topic") ? [query.get("topic") as string] : undefined,
        "time[gte]": sinceToTime(query.get("since")),
        next: query.get("next") ?? undefined,
        prev: query.get("prev") ?? undefined,
      }),
    [destination.id, key],
  );
  const base = `/destinations/${encodeURIComponent(destination.id)}/attempts`;
  const rows = attempts.data?.models ?? [];

  return (
    <section aria-labelledby="attempts-title">
      <h2 id="attempts-title">Delivery attempts</h2>
      <LogFilters
        key={key}
        extraKeys={["status"]}
        onRefresh={attempts.reload}
        extra={(values, set) => (
          <div className="field">
            <label htmlFor="filter-status">Status</label>
            <select id="filter-status" value={values.status} onChange={(e) => set("status", e.target.value)}>
              <option value="">Any status</option>
              <option value="success">Success</option>
              <option value="failed">Failed</option>
            </select>
          </div>
        )}
      />
      {attempts.error && <ErrorNotice error={attempts.error} onRetry={attempts.reload} />}
      {attempts.loading && !attempts.data && <Loading what="attempts" />}
      <p className="visually-hidden" role="status">
        {attempts.loading ? "" : `${rows.length} attempts shown.`}
      </p>
      {attempts.data && rows.length === 0 && <p className="empty">No delivery attempts match.</p>}
      {rows.length > 0 && (
        <table className="table responsive-table" data-testid="attempts-table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Status</th>
              <th scope="col">Code</th>
              <th scope="col">Topic</th>
              <th scope="col">Attempt</th>
              <th scope="col">Event</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.id}>
                <th scope="row" data-label="Time">
                  <Link to={`${base}/${encodeURIComponent(a.id)}`}>{formatTime(a.time)}</Link>
                </th>
                <td data-label="Status">
                  <AttemptBadge status={a.status} />
                </td>
                <td data-label="Code">{a.code ?? "—"}</td>
                <td data-label="Topic">{a.event?.topic ?? "—"}</td>
                <td data-label="Attempt">
                  #{a.attempt_number}
                  {a.manual && <span className="muted"> (manual)</span>}
                </td>
                <td data-label="Event" className="mono break">
                  <Link to={`/events/${encodeURIComponent(a.event_id)}`}>{a.event_id}</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {attempts.data && (
        <Pagination next={attempts.data.pagination.next} prev={attempts.data.pagination.prev} label="Attempts" />
      )}
    </section>
  );
}
