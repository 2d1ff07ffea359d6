/**
 * Stats history on the main thread: once a second it sums the workers'
 * counters (the same read `/stats` does: workers never wait) and keeps, per
 * scope, one point per second for 15 minutes and one per minute for 24 hours.
 * A point is {@link POINT_SIZE} float32 numbers (rates, gauges, latency
 * quantiles: src/stats/rates.ts), so memory is fixed once the scopes are known:
 * {@link historyBytes}. Scopes are the totals plus each listener, route and
 * upstream of the current config (at most {@link MAX_HISTORY_SCOPES}); a scope
 * that leaves the config leaves the history.
 *
 * @module
 */
import { setInterval, clearInterval } from "node:timers";
import type { Gathered } from "./aggregate.ts";
import type { ScopeNames } from "./archive.ts";
import { SCOPE_SIZE } from "./layout.ts";
import { POINT_LAYOUT, POINT_SIZE, writePoint } from "./rates.ts";

/** Points kept at 1 s (15 min) and at 1 min (24 h). */
export const SECOND_POINTS = 900;
export const MINUTE_POINTS = 1440;

/** Listener, route and upstream scopes kept at most (the totals come on top); later ones keep no history. */
export const MAX_HISTORY_SCOPES = 64;

/** The windows `/stats/history` serves: which ring, and how many of its points. */
export const HISTORY_WINDOWS = {
  "15m": { ring: "seconds", points: SECOND_POINTS, step: 1 },
  "1h": { ring: "minutes", points: 60, step: 60 },
  "24h": { ring: "minutes", points: MINUTE_POINTS, step: 60 },
} as const;

/** One window name. */
export type HistoryWindow = keyof typeof HISTORY_WINDOWS;

/** Whether `text` names a window. */
export function isHistoryWindow(text: string): text is HistoryWindow {
  return Object.hasOwn(HISTORY_WINDOWS, text);
}

/** Bytes held for one scope: both rings' points and both baselines. */
export const SCOPE_HISTORY_BYTES = (SECOND_POINTS + MINUTE_POINTS) * POINT_SIZE * 4 + 2 * SCOPE_SIZE * 8;

/** Bytes held by the shared time columns (float64 time, float32 interval, per ring slot). */
export const TIME_HISTORY_BYTES = (SECOND_POINTS + MINUTE_POINTS) * 12;

/** Memory of a history with `scopes` scopes (totals included): the bound is `historyBytes(MAX_HISTORY_SCOPES + 1)`. */
export function historyBytes(scopes: number): number {
  return TIME_HISTORY_BYTES + Math.min(scopes, MAX_HISTORY_SCOPES + 1) * SCOPE_HISTORY_BYTES;
}

/** One scope's history as served: arrays aligned with `time`, null where there was no data. */
export interface ScopeHistory {
  readonly rates: Record<keyof typeof POINT_LAYOUT.rates, (number | null)[]>;
  readonly gauges: Record<keyof typeof POINT_LAYOUT.gauges, (number | null)[]>;
  readonly latency: Record<keyof typeof POINT_LAYOUT.latency, Record<"p50" | "p95" | "p99", (number | null)[]>>;
}

/** The `/stats/history` document. */
export interface HistoryDocument {
  readonly window: HistoryWindow;
  readonly step_seconds: number;
  /** End of each point's interval, Unix ms (as `/events`' `time`). */
  readonly time: number[];
  /** Length of each point's interval, seconds: rate × interval is the count. */
  readonly interval_seconds: number[];
  readonly totals: ScopeHistory;
  readonly listeners: Record<string, ScopeHistory>;
  readonly routes: Record<string, ScopeHistory>;
  readonly upstreams: Record<string, ScopeHistory>;
  /** Scopes past {@link MAX_HISTORY_SCOPES}: no history kept. */
  readonly untracked: string[];
  /** Bytes the history holds now. */
  readonly memory_bytes: number;
}

/** Slots of a fixed-size ring of points: time and interval per slot. */
class TimeRing {
  readonly times: Float64Array;
  readonly intervals: Float32Array;
  head = 0;
  length = 0;

  constructor(readonly capacity: number) {
    this.times = new Float64Array(capacity);
    this.intervals = new Float32Array(capacity);
  }

  /** Takes the next slot for a point ending at `time` and lasting `seconds`. */
  push(time: number, seconds: number): number {
    const slot = this.head;
    this.times[slot] = time;
    this.intervals[slot] = seconds;
    this.head = (slot + 1) % this.capacity;
    this.length = Math.min(this.length + 1, this.capacity);
    return slot;
  }

  /** Slots of the last `n` points, oldest first. */
  last(n: number): number[] {
    const count = Math.min(n, this.length);
    const first = (this.head - count + this.capacity) % this.capacity;
    return Array.from({ length: count }, (_, i) => (first + i) % this.capacity);
  }
}

type Kind = "listeners" | "routes" | "upstreams";

/** One scope's points in both rings, and the raw counters each ring's last point ended at. */
interface Series {
  readonly kind: Kind | "totals";
  readonly name: string;
  readonly seconds: Float32Array;
  readonly minutes: Float32Array;
  readonly secondBase: Float64Array;
  readonly minuteBase: Float64Array;
}

function newSeries(kind: Series["kind"], name: string, base: Float64Array): Series {
  return {
    kind, name,
    seconds: new Float32Array(SECOND_POINTS * POINT_SIZE).fill(NaN),
    minutes: new Float32Array(MINUTE_POINTS * POINT_SIZE).fill(NaN),
    secondBase: base.slice(), minuteBase: base.slice(),
  };
}

/** What a tick reads: the summed counters and the names of the current scopes. */
export interface HistorySample {
  readonly gathered: Gathered;
  readonly names: ScopeNames;
}

const ZERO = new Float64Array(SCOPE_SIZE);
const MINUTE_MS = 60_000;

/** The history: {@link tick} it (or {@link start} its timer), {@link read} a window. */
export class StatsHistory {
  readonly #seconds = new TimeRing(SECOND_POINTS);
  readonly #minutes = new TimeRing(MINUTE_POINTS);
  readonly #series = new Map<string, Series>();
  #untracked: string[] = [];
  #lastSecond: number | undefined;
  #lastMinute = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Samples now, then every `intervalMs`, on an unref'd timer (it never keeps the process alive). */
  start(sample: () => HistorySample, intervalMs = 1000): void {
    if (this.#timer) return;
    const tick = () => this.tick(sample());
    tick();
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer; the points stay readable. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Adds one sample taken at `now` (Unix ms): a 1 s point, and a 1 min point when a minute turned. */
  tick(sample: HistorySample, now = Date.now()): void {
    const live = this.#sync(sample);
    if (this.#lastSecond === undefined) {
      this.#lastSecond = this.#lastMinute = now;
      return;
    }
    const s = this.#seconds.push(now, (now - this.#lastSecond) / 1000);
    for (const [series, raw, fresh] of live) advance(series.seconds, series.secondBase, raw, s, (now - this.#lastSecond) / 1000, fresh);
    this.#lastSecond = now;
    if (Math.floor(now / MINUTE_MS) === Math.floor(this.#lastMinute / MINUTE_MS)) return;
    const seconds = (now - this.#lastMinute) / 1000;
    const m = this.#minutes.push(now, seconds);
    for (const [series, raw, fresh] of live) advance(series.minutes, series.minuteBase, raw, m, seconds, fresh);
    this.#lastMinute = now;
  }

  /** The points of `window` (only those later than `since`, Unix ms, when given), oldest first. */
  read(window: HistoryWindow, since = -Infinity): HistoryDocument {
    const w = HISTORY_WINDOWS[window];
    const ring = w.ring === "seconds" ? this.#seconds : this.#minutes;
    const slots = ring.last(w.points).filter((i) => ring.times[i] > since);
    const doc: HistoryDocument = {
      window, step_seconds: w.step,
      time: slots.map((i) => ring.times[i]),
      interval_seconds: slots.map((i) => Math.round(ring.intervals[i] * 1e3) / 1e3),
      totals: emptyScope(), listeners: {}, routes: {}, upstreams: {},
      untracked: [...this.#untracked], memory_bytes: this.memoryBytes,
    };
    for (const series of this.#series.values()) {
      const view = scopeView(w.ring === "seconds" ? series.seconds : series.minutes, slots);
      if (series.kind === "totals") Object.assign(doc.totals, view);
      else doc[series.kind][series.name] = view;
    }
    return doc;
  }

  /** Bytes held now (rings and baselines). */
  get memoryBytes(): number {
    let n = this.#seconds.times.byteLength + this.#seconds.intervals.byteLength + this.#minutes.times.byteLength + this.#minutes.intervals.byteLength;
    for (const s of this.#series.values()) n += s.seconds.byteLength + s.minutes.byteLength + s.secondBase.byteLength + s.minuteBase.byteLength;
    return n;
  }

  /** Scopes with history now, totals included. */
  get scopes(): number {
    return this.#series.size;
  }

  /**
   * Matches the series to the sample's scopes: new ones start, gone ones go.
   * Returns [series, raw, fresh]; a fresh series has no point this tick. A
   * scope that came with a reload counts from zero, so what it did before this
   * tick is in its first point; one seen at the first tick, or that was past
   * the cap, starts from its counters as they are (fresh).
   */
  #sync(sample: HistorySample): [Series, Float64Array, boolean][] {
    const first = this.#lastSecond === undefined;
    const wasUntracked = new Set(this.#untracked);
    const { gathered: g, names } = sample;
    const wanted: [Series["kind"], string, Float64Array][] = [["totals", "", g.totals]];
    const named: [Kind, readonly string[]][] = [["listeners", names.listenerNames], ["routes", names.routeIds], ["upstreams", names.upstreamIds]];
    const untracked: string[] = [];
    for (const [kind, list] of named) {
      for (const name of list) {
        if (wanted.length <= MAX_HISTORY_SCOPES) wanted.push([kind, name, g[kind].get(name) ?? ZERO]);
        else untracked.push(`${kind.slice(0, -1)}:${name}`);
      }
    }
    this.#untracked = untracked;
    const keep = new Set(wanted.map(([kind, name]) => `${kind}:${name}`));
    for (const key of [...this.#series.keys()]) if (!keep.has(key)) this.#series.delete(key);
    return wanted.map(([kind, name, raw]) => {
      const key = `${kind}:${name}`;
      const have = this.#series.get(key);
      if (have) return [have, raw, false];
      const fresh = first || wasUntracked.has(`${kind.slice(0, -1)}:${name}`);
      const made = newSeries(kind, name, fresh ? raw : ZERO);
      this.#series.set(key, made);
      return [made, raw, fresh];
    });
  }
}

/** Writes the point in `slot` (NaN for a fresh series) and moves the baseline to `raw`. */
function advance(points: Float32Array, base: Float64Array, raw: Float64Array, slot: number, seconds: number, fresh: boolean): void {
  if (fresh) points.fill(NaN, slot * POINT_SIZE, (slot + 1) * POINT_SIZE);
  else writePoint(raw, base, seconds, points, slot * POINT_SIZE);
  base.set(raw);
}

function round(v: number, scale: number): number | null {
  return Number.isNaN(v) ? null : Math.round(v * scale) / scale;
}

function column(points: Float32Array, slots: number[], offset: number, scale: number): (number | null)[] {
  return slots.map((i) => round(points[i * POINT_SIZE + offset], scale));
}

function emptyScope(): ScopeHistory {
  return scopeView(new Float32Array(0), []);
}

/** One scope's columns for `slots`: rates to 1/1000, latency to the microsecond. */
function scopeView(points: Float32Array, slots: number[]): ScopeHistory {
  const map = <K extends string>(offsets: Readonly<Record<K, number>>, scale: number) =>
    Object.fromEntries(Object.entries<number>(offsets).map(([k, at]) => [k, column(points, slots, at, scale)])) as Record<K, (number | null)[]>;
  const latency = {} as ScopeHistory["latency"];
  for (const [name, offsets] of Object.entries(POINT_LAYOUT.latency)) {
    latency[name as keyof ScopeHistory["latency"]] = map(offsets, 1e6);
  }
  return { rates: map(POINT_LAYOUT.rates, 1e3), gauges: map(POINT_LAYOUT.gauges, 1), latency };
}
