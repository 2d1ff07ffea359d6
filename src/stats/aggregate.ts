/**
 * Sums the workers' counters into the `/stats` JSON shape and the
 * histograms behind `/metrics`. Reads only: workers keep writing while this
 * runs and never wait for it. Scopes are matched by name across config
 * generations, so counters survive a reload.
 *
 * @module
 */
import { BUCKETS, HISTOGRAMS, readHistogram, type HistogramName, type HistogramValue } from "./histogram.ts";
import { FIELDS, H, SCOPE_SIZE, type Field } from "./layout.ts";
import type { HealthView } from "../health/monitor.ts";

/** One set of counters, by name. */
export type Counters = Record<Field, number>;

/** The counter buffers of one generation of workers, with the names of their scopes. */
export interface GenerationView {
  readonly views: readonly Float64Array[];
  readonly listenerNames: readonly string[];
  /** `listener/route` for every HTTP route. */
  readonly routeIds: readonly string[];
  readonly upstreamIds: readonly string[];
}

/** Raw scope slots summed across workers (and generations), by scope name. */
export interface Gathered {
  readonly totals: Float64Array;
  readonly listeners: Map<string, Float64Array>;
  readonly routes: Map<string, Float64Array>;
  readonly upstreams: Map<string, Float64Array>;
}

/** Metadata shown next to the counters. */
export interface StatsLabels {
  readonly listeners: readonly { readonly name: string; readonly listen: string; readonly mode: string }[];
  readonly routes: readonly {
    readonly id: string;
    readonly listener: string;
    readonly host: string | null;
    readonly path: string;
    readonly target: string;
  }[];
  readonly upstreams: readonly {
    readonly id: string;
    readonly listener: string;
    readonly address: string;
    readonly state: string;
    readonly weight: number;
    /** Gets traffic only when no primary of its group is usable. */
    readonly backup?: boolean;
    /** Connections in use to it now, across workers (S_ACTIVE: what leastconn and random2 compare). */
    readonly in_use?: number;
    /** Health checks' view (src/health/monitor.ts), when the proxy watches it. */
    readonly health?: HealthView;
  }[];
}

/** The `/stats` document. Field names are a stable interface. */
export interface StatsSnapshot {
  readonly runtime: string;
  /** The C library the FFI loaded: `glibc 2.36`, `musl` (ffi/libc.ts). */
  readonly libc: string;
  readonly uptime_seconds: number;
  readonly generation: number;
  /** Data-plane workers replaced after a failure, since start. */
  readonly worker_restarts: number;
  /** Workers that failed and are not running again yet. */
  readonly workers_down: number;
  /** Config generations still running: the current one plus those finishing their connections after a reload. */
  readonly generations_live: number;
  readonly totals: Counters;
  readonly workers: Counters[];
  readonly listeners: Record<string, Counters & { listen: string; mode: string }>;
  readonly routes: Record<string, Counters & { listener: string; host: string | null; path: string; target: string }>;
  readonly upstreams: Record<string, Counters & { listener: string; address: string; state: string; weight: number; backup: boolean; in_use: number } & Partial<HealthView>>;
}

/** Histograms by scope, for `/metrics`. */
export interface HistogramsSnapshot {
  readonly bounds: readonly number[];
  readonly totals: Record<HistogramName, HistogramValue>;
  readonly listeners: Record<string, Record<HistogramName, HistogramValue>>;
  readonly routes: Record<string, Record<HistogramName, HistogramValue>>;
  readonly upstreams: Record<string, Record<HistogramName, HistogramValue>>;
  /** Active health check durations by upstream id (`spliced_health_check_duration_seconds`). */
  readonly healthChecks?: Record<string, HistogramValue>;
}

function sumScope(views: readonly Float64Array[], scope: number, into: Float64Array): void {
  const base = scope * SCOPE_SIZE;
  for (const v of views) for (let i = 0; i < SCOPE_SIZE; i++) into[i] += v[base + i];
}

function slot(map: Map<string, Float64Array>, name: string): Float64Array {
  let raw = map.get(name);
  if (!raw) map.set(name, (raw = new Float64Array(SCOPE_SIZE)));
  return raw;
}

/** Sums every generation's scopes by name, on top of `base` (e.g. ended generations' sums) when given. */
export function gather(gens: readonly GenerationView[], base?: Gathered): Gathered {
  const out: Gathered = { totals: new Float64Array(SCOPE_SIZE), listeners: new Map(), routes: new Map(), upstreams: new Map() };
  if (base) {
    out.totals.set(base.totals);
    for (const key of ["listeners", "routes", "upstreams"] as const) {
      for (const [name, raw] of base[key]) out[key].set(name, raw.slice());
    }
  }
  for (const g of gens) {
    const L = g.listenerNames.length, R = g.routeIds.length;
    sumScope(g.views, 0, out.totals);
    g.listenerNames.forEach((name, i) => sumScope(g.views, 1 + i, slot(out.listeners, name)));
    g.routeIds.forEach((id, r) => sumScope(g.views, 1 + L + r, slot(out.routes, id)));
    g.upstreamIds.forEach((id, j) => sumScope(g.views, 1 + L + R + j, slot(out.upstreams, id)));
  }
  return out;
}

/** Names the counters of one raw scope. */
export function counters(raw: Float64Array): Counters {
  const out = {} as Counters;
  FIELDS.forEach((name, i) => (out[name] = raw[i]));
  return out;
}

function histograms(raw: Float64Array): Record<HistogramName, HistogramValue> {
  const out = {} as Record<HistogramName, HistogramValue>;
  for (const name of HISTOGRAMS) out[name] = readHistogram([raw], H[name]);
  return out;
}

/** Builds the `/stats` document for the current labels. */
export function snapshot(
  g: Gathered,
  current: GenerationView,
  labels: StatsLabels,
  meta: { runtime: string; libc?: string; uptimeSeconds: number; generation: number; workerRestarts: number; workersDown: number; generationsLive: number },
): StatsSnapshot {
  const empty = new Float64Array(SCOPE_SIZE);
  const listeners: StatsSnapshot["listeners"] = {};
  for (const l of labels.listeners) {
    listeners[l.name] = { ...counters(g.listeners.get(l.name) ?? empty), listen: l.listen, mode: l.mode };
  }
  const routes: StatsSnapshot["routes"] = {};
  for (const r of labels.routes) {
    routes[r.id] = { ...counters(g.routes.get(r.id) ?? empty), listener: r.listener, host: r.host, path: r.path, target: r.target };
  }
  const upstreams: StatsSnapshot["upstreams"] = {};
  for (const u of labels.upstreams) {
    upstreams[u.id] = {
      ...counters(g.upstreams.get(u.id) ?? empty), listener: u.listener, address: u.address, state: u.state, weight: u.weight,
      backup: u.backup ?? false, in_use: u.in_use ?? 0,
      ...u.health,
    };
  }
  const workers = current.views.map((v) => {
    const raw = new Float64Array(SCOPE_SIZE);
    sumScope([v], 0, raw);
    return counters(raw);
  });
  return {
    runtime: meta.runtime, libc: meta.libc ?? "unknown", uptime_seconds: meta.uptimeSeconds, generation: meta.generation,
    worker_restarts: meta.workerRestarts, workers_down: meta.workersDown, generations_live: meta.generationsLive,
    totals: counters(g.totals), workers, listeners, routes, upstreams,
  };
}

/** Builds the histograms of the current scopes. */
export function histogramSnapshot(g: Gathered, labels: StatsLabels): HistogramsSnapshot {
  const empty = new Float64Array(SCOPE_SIZE);
  const listeners: HistogramsSnapshot["listeners"] = {};
  for (const l of labels.listeners) listeners[l.name] = histograms(g.listeners.get(l.name) ?? empty);
  const routes: HistogramsSnapshot["routes"] = {};
  for (const r of labels.routes) routes[r.id] = histograms(g.routes.get(r.id) ?? empty);
  const upstreams: HistogramsSnapshot["upstreams"] = {};
  for (const u of labels.upstreams) upstreams[u.id] = histograms(g.upstreams.get(u.id) ?? empty);
  return { bounds: [...BUCKETS], totals: histograms(g.totals), listeners, routes, upstreams };
}
