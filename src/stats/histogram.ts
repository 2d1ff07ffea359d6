/**
 * Fixed-bucket histograms stored in the workers' counter buffers.
 *
 * Each scope holds {@link HISTOGRAMS}.length histograms; each is
 * {@link BUCKETS}.length bucket counts (not cumulative), then `count`, then
 * `sum` (seconds). The worker records; the main thread sums and exports.
 *
 * @module
 */

/** Upper bounds in seconds (the +Inf bucket is implicit: count minus the rest). */
export const BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600,
] as const;

/** Histogram names, in slot order. Part of the metrics interface. */
export const HISTOGRAMS = [
  "connection_duration_seconds",
  "upstream_connect_seconds",
  "http_request_seconds",
] as const;

/** One histogram name. */
export type HistogramName = (typeof HISTOGRAMS)[number];

/** Slots of one histogram: buckets, count, sum. */
export const HISTOGRAM_SIZE = BUCKETS.length + 2;

/** Slot offset of histogram `h` inside the histogram area of a scope. */
export function histogramOffset(h: number): number {
  return h * HISTOGRAM_SIZE;
}

/** Adds one observation (seconds) at slot `base` of `slots`. */
export function observe(slots: Float64Array, base: number, seconds: number): void {
  let i = 0;
  while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
  if (i < BUCKETS.length) slots[base + i]++;
  slots[base + BUCKETS.length]++;
  slots[base + BUCKETS.length + 1] += seconds;
}

/** A histogram as read: per-bucket (non-cumulative) counts, count, sum. */
export interface HistogramValue {
  readonly buckets: number[];
  readonly count: number;
  readonly sum: number;
}

/** Reads (and sums across views) one histogram at slot `base`. */
export function readHistogram(views: readonly Float64Array[], base: number): HistogramValue {
  const buckets = BUCKETS.map(() => 0);
  let count = 0, sum = 0;
  for (const v of views) {
    for (let i = 0; i < BUCKETS.length; i++) buckets[i] += v[base + i];
    count += v[base + BUCKETS.length];
    sum += v[base + BUCKETS.length + 1];
  }
  return { buckets, count, sum };
}
