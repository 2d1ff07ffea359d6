/**
 * What one history point holds for one scope, computed from two raw scope
 * blocks (the cumulative counters of {@link ./layout.ts} at the start and
 * the end of the interval): counters as rates per second, gauges as they
 * were at the end, and latency quantiles from the histogram deltas.
 *
 * @module
 */
import { BUCKETS, type HistogramName } from "./histogram.ts";
import { F, H, type Field } from "./layout.ts";

/** Counters shown as rates per second (delta over the interval), by their `/stats` name. */
export const RATE_FIELDS = [
  "bytes_spliced", "bytes_copied", "bytes_sendfile", "bytes_client_to_upstream", "bytes_upstream_to_client",
  "connections_total", "requests_total",
  "responses_1xx", "responses_2xx", "responses_3xx", "responses_4xx", "responses_5xx",
  "connect_failures", "connect_timeouts", "upstream_timeouts", "send_timeouts", "idle_timeouts", "errors",
  "resets", "local_4xx", "local_5xx",
] as const satisfies readonly Field[];

/** Gauges: the value at the end of the interval. */
export const GAUGE_FIELDS = ["connections_active"] as const satisfies readonly Field[];

/** Histograms whose quantiles each point carries. */
export const LATENCY_HISTOGRAMS = ["http_request_seconds", "upstream_connect_seconds"] as const satisfies readonly HistogramName[];

/** The quantiles, by name. */
export const QUANTILES = { p50: 0.5, p95: 0.95, p99: 0.99 } as const;

/** One quantile name. */
export type QuantileName = keyof typeof QUANTILES;

const QUANTILE_NAMES = Object.keys(QUANTILES) as QuantileName[];

/** Numbers per point per scope: rates, gauges, then each histogram's quantiles. */
export const POINT_SIZE = RATE_FIELDS.length + GAUGE_FIELDS.length + LATENCY_HISTOGRAMS.length * QUANTILE_NAMES.length;

/** Offset of the first gauge and of the first quantile inside a point. */
const GAUGES_AT = RATE_FIELDS.length;
const QUANTILES_AT = GAUGES_AT + GAUGE_FIELDS.length;

/**
 * The `q` quantile (0..1) of a histogram given as per-bucket (not cumulative)
 * counts over {@link BUCKETS} and a total `count` (the rest is the +Inf
 * bucket). Linear inside the bucket, as Prometheus' `histogram_quantile`;
 * in the +Inf bucket, the largest finite bound. NaN when `count` is 0.
 */
export function quantile(buckets: ArrayLike<number>, count: number, q: number): number {
  if (!(count > 0)) return NaN;
  const rank = q * count;
  let below = 0;
  for (let i = 0; i < BUCKETS.length; i++) {
    const n = buckets[i];
    if (below + n >= rank && n > 0) {
      const lower = i === 0 ? 0 : BUCKETS[i - 1];
      return lower + (BUCKETS[i] - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return BUCKETS[BUCKETS.length - 1];
}

/** Reusable scratch for histogram deltas (one point is computed at a time, on the main thread). */
const delta = new Float64Array(BUCKETS.length);

/** Writes one scope's point for the interval `prev` → `cur` (`seconds` long) into `out` at `at`. */
export function writePoint(cur: Float64Array, prev: Float64Array, seconds: number, out: Float32Array, at: number): void {
  const dt = Math.max(seconds, 1e-3);
  for (let i = 0; i < RATE_FIELDS.length; i++) {
    const f = F[RATE_FIELDS[i]];
    out[at + i] = Math.max(0, cur[f] - prev[f]) / dt; // a restarted worker's counters start again at 0: never negative
  }
  for (let i = 0; i < GAUGE_FIELDS.length; i++) out[at + GAUGES_AT + i] = cur[F[GAUGE_FIELDS[i]]];
  let k = at + QUANTILES_AT;
  for (const name of LATENCY_HISTOGRAMS) {
    const base = H[name];
    for (let b = 0; b < BUCKETS.length; b++) delta[b] = Math.max(0, cur[base + b] - prev[base + b]);
    const count = Math.max(0, cur[base + BUCKETS.length] - prev[base + BUCKETS.length]);
    for (const q of QUANTILE_NAMES) out[k++] = quantile(delta, count, QUANTILES[q]);
  }
}

/** Where each number of a point sits, by its name in the history document. */
export interface PointLayout {
  readonly rates: Readonly<Record<(typeof RATE_FIELDS)[number], number>>;
  readonly gauges: Readonly<Record<(typeof GAUGE_FIELDS)[number], number>>;
  readonly latency: Readonly<Record<(typeof LATENCY_HISTOGRAMS)[number], Readonly<Record<QuantileName, number>>>>;
}

/** The offsets of every number in a point. */
export const POINT_LAYOUT: PointLayout = {
  rates: Object.fromEntries(RATE_FIELDS.map((f, i) => [f, i])) as PointLayout["rates"],
  gauges: Object.fromEntries(GAUGE_FIELDS.map((f, i) => [f, GAUGES_AT + i])) as PointLayout["gauges"],
  latency: Object.fromEntries(LATENCY_HISTOGRAMS.map((h, j) => [
    h, Object.fromEntries(QUANTILE_NAMES.map((q, i) => [q, QUANTILES_AT + j * QUANTILE_NAMES.length + i])),
  ])) as PointLayout["latency"],
};

/** Quantiles (and count) of a cumulative histogram, for `/stats/latency`. Null quantiles without observations. */
export function quantilesOf(h: { readonly buckets: readonly number[]; readonly count: number; readonly sum: number }): {
  count: number; sum_seconds: number; p50: number | null; p95: number | null; p99: number | null;
} {
  const q = (p: number) => {
    const v = quantile(h.buckets, h.count, p);
    return Number.isNaN(v) ? null : v;
  };
  return { count: h.count, sum_seconds: h.sum, p50: q(QUANTILES.p50), p95: q(QUANTILES.p95), p99: q(QUANTILES.p99) };
}
