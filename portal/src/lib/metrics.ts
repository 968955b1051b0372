// Time windows and bucket alignment for the metrics API (spec §8.1).

export type Timeframe = "24h" | "7d" | "30d";

export const TIMEFRAMES: { value: Timeframe; label: string }[] = [
  { value: "24h", label: "Last 24 hours" },
  { value: "7d", label: "Last 7 days" },
  { value: "30d", label: "Last 30 days" },
];

const HOUR = 3_600_000;

const WINDOWS: Record<Timeframe, { granularity: string; bucketMs: number; buckets: number }> = {
  "24h": { granularity: "1h", bucketMs: HOUR, buckets: 24 },
  "7d": { granularity: "6h", bucketMs: 6 * HOUR, buckets: 28 },
  "30d": { granularity: "1d", bucketMs: 24 * HOUR, buckets: 30 },
};

export interface Window {
  start: Date;
  end: Date;
  granularity: string;
  /** Start of every bucket in the window, oldest first. */
  bucketStarts: Date[];
}

/**
 * A window ending at the end of the current bucket, so every bucket is whole. The server aligns
 * hour multiples and days to UTC epoch boundaries, as these are.
 */
export function windowFor(timeframe: Timeframe, now = Date.now()): Window {
  const { granularity, bucketMs, buckets } = WINDOWS[timeframe];
  const end = Math.floor(now / bucketMs) * bucketMs + bucketMs;
  const start = end - buckets * bucketMs;
  const bucketStarts = Array.from({ length: buckets }, (_, i) => new Date(start + i * bucketMs));
  return { start: new Date(start), end: new Date(end), granularity, bucketStarts };
}

/** The last 24 hours up to now, for per-destination totals. */
export function last24h(now = Date.now()): { start: Date; end: Date } {
  return { start: new Date(now - 24 * HOUR), end: new Date(now + 1000) };
}

export function isTimeframe(value: string | null): value is Timeframe {
  return value === "24h" || value === "7d" || value === "30d";
}
