// Hand-drawn SVG charts for the metrics API's time series and breakdowns. Each chart is an
// image with a text summary for screen readers, and its numbers are also in a data table.

export interface Bucket {
  label: string;
  success: number;
  failed: number;
  /** Average send duration of the bucket's attempts, ms (0 without attempts). */
  avgMs: number;
  /** Longest send duration of the bucket's attempts, ms. */
  maxMs: number;
}

/** Milliseconds as text: `850 ms`, `2.4 s`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}

const W = 480;
const H = 200;
const PAD = { top: 10, right: 10, bottom: 30, left: 46 };

function niceMax(n: number): number {
  if (n <= 0) return 1;
  const mag = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= n) ?? n;
}

function XLabels({ labels, x }: { labels: string[]; x: (i: number) => number }) {
  const every = Math.max(1, Math.ceil(labels.length / 4));
  return (
    <g className="axis-labels">
      {labels.map((l, i) =>
        i % every === 0 ? (
          <text key={i} x={x(i)} y={H - 8} textAnchor="middle">
            {l}
          </text>
        ) : null,
      )}
    </g>
  );
}

function YAxis({ max, format }: { max: number; format: (v: number) => string }) {
  const ticks = [0, max / 2, max];
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max);
  return (
    <g className="axis-labels">
      {ticks.map((t) => (
        <g key={t}>
          <line className="grid-line" x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} />
          <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end">
            {format(t)}
          </text>
        </g>
      ))}
    </g>
  );
}

/** Successful and failed attempts per time bucket, stacked. */
export function StackedBars({ buckets, title }: { buckets: Bucket[]; title: string }) {
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.success + b.failed)));
  const plotH = H - PAD.top - PAD.bottom;
  const slot = (W - PAD.left - PAD.right) / Math.max(1, buckets.length);
  const barW = Math.max(2, slot * 0.7);
  const x = (i: number) => PAD.left + slot * i + slot / 2;
  const h = (v: number) => (plotH * v) / max;
  const total = buckets.reduce((s, b) => s + b.success + b.failed, 0);
  const failed = buckets.reduce((s, b) => s + b.failed, 0);
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${total} attempts, ${failed} failed.`}>
      <YAxis max={max} format={(v) => String(Math.round(v))} />
      {buckets.map((b, i) => (
        <g key={i}>
          <title>{`${b.label}: ${b.success} successful, ${b.failed} failed`}</title>
          <rect className="bar-ok" x={x(i) - barW / 2} width={barW} y={PAD.top + plotH - h(b.success)} height={h(b.success)} />
          <rect
            className="bar-fail"
            x={x(i) - barW / 2}
            width={barW}
            y={PAD.top + plotH - h(b.success) - h(b.failed)}
            height={h(b.failed)}
          />
        </g>
      ))}
      <XLabels labels={buckets.map((b) => b.label)} x={x} />
    </svg>
  );
}

/** Success rate per bucket as a line; buckets without attempts leave a gap. */
export function RateLine({ buckets, title }: { buckets: Bucket[]; title: string }) {
  const plotH = H - PAD.top - PAD.bottom;
  const step = (W - PAD.left - PAD.right) / Math.max(1, buckets.length - 1);
  const x = (i: number) => PAD.left + step * i;
  const y = (r: number) => PAD.top + plotH * (1 - r);
  const segments: string[] = [];
  let current = "";
  buckets.forEach((b, i) => {
    const n = b.success + b.failed;
    if (n === 0) {
      if (current) segments.push(current);
      current = "";
      return;
    }
    current += `${current ? "L" : "M"}${x(i).toFixed(1)},${y(b.success / n).toFixed(1)}`;
  });
  if (current) segments.push(current);
  const total = buckets.reduce((s, b) => s + b.success + b.failed, 0);
  const ok = buckets.reduce((s, b) => s + b.success, 0);
  const summary = total ? `${Math.round((ok / total) * 100)}% overall` : "no attempts";
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${summary}.`}>
      <YAxis max={1} format={(v) => `${Math.round(v * 100)}%`} />
      {segments.map((d, i) => (
        <path key={i} className="rate-line" d={d} />
      ))}
      {buckets.map((b, i) => {
        const n = b.success + b.failed;
        return n ? <circle key={i} className="rate-dot" cx={x(i)} cy={y(b.success / n)} r={3} /> : null;
      })}
      <XLabels labels={buckets.map((b) => b.label)} x={x} />
    </svg>
  );
}

/** Average send latency per bucket as a line, the slowest send of each bucket as a tick;
 * buckets without attempts leave a gap. */
export function LatencyLine({ buckets, title }: { buckets: Bucket[]; title: string }) {
  const plotH = H - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.maxMs)));
  const step = (W - PAD.left - PAD.right) / Math.max(1, buckets.length - 1);
  const x = (i: number) => PAD.left + step * i;
  const y = (ms: number) => PAD.top + plotH * (1 - ms / max);
  const segments: string[] = [];
  let current = "";
  buckets.forEach((b, i) => {
    if (b.success + b.failed === 0) {
      if (current) segments.push(current);
      current = "";
      return;
    }
    current += `${current ? "L" : "M"}${x(i).toFixed(1)},${y(b.avgMs).toFixed(1)}`;
  });
  if (current) segments.push(current);
  const n = buckets.reduce((s, b) => s + b.success + b.failed, 0);
  const avg = n ? buckets.reduce((s, b) => s + b.avgMs * (b.success + b.failed), 0) / n : 0;
  const slowest = Math.max(0, ...buckets.map((b) => b.maxMs));
  const summary = n ? `average ${formatMs(avg)}, slowest ${formatMs(slowest)}` : "no attempts";
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${summary}.`}>
      <YAxis max={max} format={formatMs} />
      {buckets.map((b, i) =>
        b.success + b.failed ? (
          <g key={i}>
            <title>{`${b.label}: average ${formatMs(b.avgMs)}, slowest ${formatMs(b.maxMs)}`}</title>
            <line className="latency-max" x1={x(i)} x2={x(i)} y1={y(b.avgMs)} y2={y(b.maxMs)} />
            <circle className="rate-dot" cx={x(i)} cy={y(b.avgMs)} r={3} />
          </g>
        ) : null,
      )}
      {segments.map((d, i) => (
        <path key={i} className="rate-line" d={d} />
      ))}
      <XLabels labels={buckets.map((b) => b.label)} x={x} />
    </svg>
  );
}

/** Counts by category (status code, topic) as labelled horizontal bars. */
export function BarList({ items, label }: { items: { name: string; count: number }[]; label: string }) {
  const max = Math.max(1, ...items.map((i) => i.count));
  if (items.length === 0) return <p className="muted">No attempts in this period.</p>;
  return (
    <ul className="bar-list" aria-label={label}>
      {items.map((item) => (
        <li key={item.name}>
          <span className="bar-list-name">{item.name}</span>
          <span className="bar-list-track" aria-hidden="true">
            <span className="bar-list-fill" style={{ width: `${(item.count / max) * 100}%` }} />
          </span>
          <span className="bar-list-count">{item.count}</span>
        </li>
      ))}
    </ul>
  );
}
