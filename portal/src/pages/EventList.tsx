// The tenant's events (each stored with its first attempt), newest first, with filters.

import { listDestinations, listEvents } from "../api/endpoints";
import { ErrorNotice, Loading } from "../components/Feedback";
import { LogFilters, sinceToTime } from "../components/LogFilters";
import { Pagination } from "../components/Pagination";
import { formatTime } from "../lib/format";
import { Link, useRouter } from "../lib/router";
import { useAsync } from "../lib/useAsync";

const PAGE_SIZE = 20;

export function EventList() {
  const { query } = useRouter();
  const key = query.toString();
  const destinations = useAsync(listDestinations, []);
  const events = useAsync(
    () =>
      listEvents({
        limit: PAGE_SIZE,
        topic: query.get("topic") ? [query.get("topic") as string] : undefined,
        destination_id: query.get("destination") ? [query.get("destination") as string] : undefined,
        "time[gte]": sinceToTime(query.get("since")),
        next: query.get("next") ?? undefined,
        prev: query.get("prev") ?? undefined,
      }),
    [key],
  );
  const names = new Map((destinations.data ?? []).map((d) => [d.id, d.target || d.id]));
  const rows = events.data?.models ?? [];

  return (
    <>
      <h1>Events</h1>
      <LogFilters
        key={key}
        extraKeys={["destination"]}
        onRefresh={events.reload}
        extra={(values, set) => (
          <div className="field">
            <label htmlFor="filter-destination">Destination</label>
            <select id="filter-destination" value={values.destination} onChange={(e) => set("destination", e.target.value)}>
              <option value="">All destinations</option>
              {(destinations.data ?? []).map((d) => (
                <option key={d.id} value={d.id}>
                  {d.target || d.id}
                </option>
              ))}
            </select>
          </div>
        )}
      />
      {events.error && <ErrorNotice error={events.error} onRetry={events.reload} />}
      {events.loading && !events.data && <Loading what="events" />}
      <p className="visually-hidden" role="status">
        {events.loading ? "" : `${rows.length} events shown.`}
      </p>
      {events.data && rows.length === 0 && (
        <p className="empty">No events match. Events appear here once their first delivery attempt is recorded.</p>
      )}
      {rows.length > 0 && (
        <table className="table responsive-table" data-testid="events-table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Topic</th>
              <th scope="col">Event ID</th>
              <th scope="col">Destinations</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id}>
                <th scope="row" data-label="Time">
                  <Link to={`/events/${encodeURIComponent(e.id)}`}>{formatTime(e.time)}</Link>
                </th>
                <td data-label="Topic">{e.topic || "—"}</td>
                <td data-label="Event ID" className="mono break">
                  {e.id}
                </td>
                <td data-label="Destinations">
                  {(e.matched_destination_ids ?? []).map((id) => names.get(id) ?? id).join(", ") || "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {events.data && <Pagination next={events.data.pagination.next} prev={events.data.pagination.prev} label="Events" />}
    </>
  );
}
