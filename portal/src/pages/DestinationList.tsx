// Home screen: the tenant's destinations with a status filter and last-24h delivery counts.

import { attemptMetrics, listDestinations } from "../api/endpoints";
import type { Destination, MetricsResponse } from "../api/types";
import { typeLabel, useCatalog } from "../catalog";
import { EnabledBadge, TypeIcon } from "../components/Badges";
import { ErrorNotice, Loading } from "../components/Feedback";
import { formatCount } from "../lib/format";
import { last24h } from "../lib/metrics";
import { Link, useRouter, withQuery } from "../lib/router";
import { useAsync } from "../lib/useAsync";

type StatusFilter = "all" | "active" | "disabled";

const FILTERS: { value: StatusFilter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "active", label: "Active" },
  { value: "disabled", label: "Disabled" },
];

function countsByDestination(metrics: MetricsResponse | undefined) {
  const map = new Map<string, { ok: number; failed: number }>();
  for (const row of metrics?.data ?? []) {
    const id = String(row.dimensions.destination_id ?? "");
    map.set(id, { ok: row.metrics.successful_count ?? 0, failed: row.metrics.failed_count ?? 0 });
  }
  return map;
}

function visible(d: Destination, filter: StatusFilter) {
  if (filter === "active") return d.disabled_at === null;
  if (filter === "disabled") return d.disabled_at !== null;
  return true;
}

export function DestinationList() {
  const { types } = useCatalog();
  const { query, navigate } = useRouter();
  const raw = query.get("status");
  const filter: StatusFilter = raw === "active" || raw === "disabled" ? raw : "all";
  const destinations = useAsync(listDestinations, []);
  const metrics = useAsync(
    () =>
      attemptMetrics({
        ...last24h(),
        measures: ["successful_count", "failed_count"],
        dimensions: ["destination_id"],
      }),
    [],
  );
  const counts = countsByDestination(metrics.data);
  const shown = (destinations.data ?? []).filter((d) => visible(d, filter));

  return (
    <>
      <div className="page-head">
        <h1>Event destinations</h1>
        <Link to="/new" className="button button-primary">
          Add destination
        </Link>
      </div>
      <fieldset className="segmented">
        <legend className="visually-hidden">Show destinations</legend>
        {FILTERS.map((f) => (
          <label key={f.value}>
            <input
              type="radio"
              name="status"
              value={f.value}
              checked={filter === f.value}
              onChange={() =>
                navigate(withQuery("/", { status: f.value === "all" ? undefined : f.value }), { replace: true })
              }
            />
            <span>{f.label}</span>
          </label>
        ))}
      </fieldset>
      {destinations.error && <ErrorNotice error={destinations.error} onRetry={destinations.reload} />}
      {destinations.loading && !destinations.data && <Loading what="destinations" />}
      {destinations.data && shown.length === 0 && (
        <div className="empty">
          <p>{filter === "all" ? "No destinations yet." : `No ${filter} destinations.`}</p>
        </div>
      )}
      {shown.length > 0 && (
        <table className="table responsive-table">
          <caption className="visually-hidden">
            Destinations, with successful and failed deliveries in the last 24 hours
          </caption>
          <thead>
            <tr>
              <th scope="col">Destination</th>
              <th scope="col">Topics</th>
              <th scope="col">Last 24 hours</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((d) => {
              const c = counts.get(d.id);
              const type = types.find((t) => t.type === d.type);
              return (
                <tr key={d.id}>
                  <th scope="row" data-label="Destination">
                    <span className="dest-cell">
                      <TypeIcon type={type} />
                      <span>
                        <Link to={`/destinations/${encodeURIComponent(d.id)}`} className="dest-link">
                          {d.target || d.id}
                        </Link>
                        <span className="muted small">{typeLabel(types, d.type)}</span>
                      </span>
                    </span>
                  </th>
                  <td data-label="Topics">{d.topics.join(", ")}</td>
                  <td data-label="Last 24 hours">
                    {c ? (
                      <span className="counts">
                        <span className="count-ok">{formatCount(c.ok)} successful</span>
                        <span className="count-fail">{formatCount(c.failed)} failed</span>
                      </span>
                    ) : (
                      <span className="muted">{metrics.error ? "Unavailable" : "No deliveries"}</span>
                    )}
                  </td>
                  <td data-label="Status">
                    <EnabledBadge disabledAt={d.disabled_at} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}
