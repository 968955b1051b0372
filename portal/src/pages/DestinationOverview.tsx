// A destination's delivery metrics over 24 hours, 7 days or 30 days: totals, attempts, success
// rate and send latency over time, and breakdowns by response code and topic.

import { attemptMetrics, eventMetrics } from "../api/endpoints";
import type { Destination, MetricsRow } from "../api/types";
import { BarList, formatMs, LatencyLine, RateLine, StackedBars, type Bucket } from "../components/Charts";
import { ErrorNotice, Loading } from "../components/Feedback";
import { formatCount, formatPercent } from "../lib/format";
import { isTimeframe, TIMEFRAMES, windowFor, type Timeframe } from "../lib/metrics";
import { useRouter, withQuery } from "../lib/router";
import { useAsync } from "../lib/useAsync";

function bucketLabel(d: Date, timeframe: Timeframe): string {
  if (timeframe === "24h") return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (timeframe === "7d") return d.toLocaleString(undefined, { weekday: "short", hour: "2-digit" });
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

function breakdown(rows: MetricsRow[], dim: string) {
  return rows
    .map((r) => ({ name: String(r.dimensions[dim] ?? "—") || "—", count: r.metrics.count ?? 0 }))
    .filter((r) => r.count > 0)
    .sort((a, b) => b.count - a.count);
}

async function load(id: string, timeframe: Timeframe) {
  const w = windowFor(timeframe);
  const filters = { destination_id: [id] };
  const [series, codes, topics, events] = await Promise.all([
    attemptMetrics({
      start: w.start,
      end: w.end,
      granularity: w.granularity,
      measures: ["successful_count", "failed_count", "retry_count", "avg_duration_ms", "max_duration_ms"],
      filters,
    }),
    attemptMetrics({ start: w.start, end: w.end, measures: ["count"], dimensions: ["code"], filters }),
    attemptMetrics({ start: w.start, end: w.end, measures: ["count"], dimensions: ["topic"], filters }),
    eventMetrics({ start: w.start, end: w.end, measures: ["count"], filters }),
  ]);
  // The server zero-fills only when there is data; fill every bucket here.
  const byTime = new Map(series.data.map((r) => [Date.parse(r.time_bucket ?? ""), r.metrics]));
  const buckets: Bucket[] = w.bucketStarts.map((t) => ({
    label: bucketLabel(t, timeframe),
    success: byTime.get(t.getTime())?.successful_count ?? 0,
    failed: byTime.get(t.getTime())?.failed_count ?? 0,
    avgMs: byTime.get(t.getTime())?.avg_duration_ms ?? 0,
    maxMs: byTime.get(t.getTime())?.max_duration_ms ?? 0,
  }));
  return {
    buckets,
    retries: series.data.reduce((s, r) => s + (r.metrics.retry_count ?? 0), 0),
    events: events.data[0]?.metrics.count ?? 0,
    codes: breakdown(codes.data, "code"),
    topics: breakdown(topics.data, "topic"),
  };
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

export function DestinationOverview({ destination }: { destination: Destination }) {
  const { path, query, navigate } = useRouter();
  const raw = query.get("range");
  const timeframe: Timeframe = isTimeframe(raw) ? raw : "24h";
  const metrics = useAsync(() => load(destination.id, timeframe), [destination.id, timeframe]);
  const m = metrics.data;
  const ok = m?.buckets.reduce((s, b) => s + b.success, 0) ?? 0;
  const failed = m?.buckets.reduce((s, b) => s + b.failed, 0) ?? 0;
  const total = ok + failed;
  const avgMs = total ? (m?.buckets.reduce((s, b) => s + b.avgMs * (b.success + b.failed), 0) ?? 0) / total : 0;
  const period = TIMEFRAMES.find((t) => t.value === timeframe)?.label ?? "";

  return (
    <section aria-labelledby="overview-title">
      <div className="section-head">
        <h2 id="overview-title">Overview</h2>
        <label className="inline-label">
          Period{" "}
          <select
            value={timeframe}
            onChange={(e) => navigate(withQuery(path, { range: e.target.value }), { replace: true })}
          >
            {TIMEFRAMES.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {metrics.error && <ErrorNotice error={metrics.error} onRetry={metrics.reload} />}
      {metrics.loading && <Loading what="metrics" />}
      {m && (
        <>
          <dl className="stats" aria-label={`Totals, ${period.toLowerCase()}`}>
            <Stat label="Events" value={formatCount(m.events)} />
            <Stat label="Attempts" value={formatCount(total)} />
            <Stat label="Successful" value={formatCount(ok)} />
            <Stat label="Failed" value={formatCount(failed)} />
            <Stat label="Error rate" value={total ? formatPercent(failed / total) : "—"} />
            <Stat label="Retries" value={formatCount(m.retries)} />
            <Stat label="Avg latency" value={total ? formatMs(avgMs) : "—"} />
          </dl>
          <div className="chart-grid">
            <figure className="card">
              <figcaption>Attempts</figcaption>
              <StackedBars buckets={m.buckets} title={`Attempts, ${period.toLowerCase()}`} />
              <p className="legend">
                <span className="swatch swatch-ok" /> Successful <span className="swatch swatch-fail" /> Failed
              </p>
            </figure>
            <figure className="card">
              <figcaption>Success rate</figcaption>
              <RateLine buckets={m.buckets} title={`Success rate, ${period.toLowerCase()}`} />
            </figure>
            <figure className="card">
              <figcaption>Latency</figcaption>
              <LatencyLine buckets={m.buckets} title={`Send latency, ${period.toLowerCase()}`} />
              <p className="legend">Average per period; the line above each point reaches the slowest send.</p>
            </figure>
            <figure className="card">
              <figcaption>By response code</figcaption>
              <BarList items={m.codes} label="Attempts by response code" />
            </figure>
            <figure className="card">
              <figcaption>By topic</figcaption>
              <BarList items={m.topics} label="Attempts by topic" />
            </figure>
          </div>
          <details className="data-table">
            <summary>Show the attempts as a table</summary>
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Period</th>
                  <th scope="col">Successful</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Avg latency</th>
                  <th scope="col">Slowest</th>
                </tr>
              </thead>
              <tbody>
                {m.buckets.map((b, i) => (
                  <tr key={i}>
                    <td>{b.label}</td>
                    <td>{b.success}</td>
                    <td>{b.failed}</td>
                    <td>{b.success + b.failed ? formatMs(b.avgMs) : "—"}</td>
                    <td>{b.success + b.failed ? formatMs(b.maxMs) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </section>
  );
}
