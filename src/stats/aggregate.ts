/**
 * Sums the workers' counters into the `/stats` JSON shape. Reads only:
 * the workers keep writing while this runs and never wait for it.
 *
 * @module
 */
import { FIELDS, SCOPE_SIZE, type Field } from "./layout.ts";

/** One set of counters, by name. */
export type Counters = Record<Field, number>;

/** Names and metadata of scopes, to label the sums. */
export interface StatsLabels {
  readonly listeners: readonly { readonly name: string; readonly listen: string }[];
  readonly upstreams: readonly {
    readonly id: string;
    readonly listener: string;
    readonly address: string;
    readonly state: string;
    readonly weight: number;
  }[];
}

/** The `/stats` document. Field names are a stable interface. */
export interface StatsSnapshot {
  readonly runtime: string;
  readonly uptime_seconds: number;
  readonly totals: Counters;
  readonly workers: Counters[];
  readonly listeners: Record<string, Counters & { listen: string }>;
  readonly upstreams: Record<string, Counters & { listener: string; address: string; state: string; weight: number }>;
}

/** Reads one scope of one buffer (or the sum over several) into named counters. */
export function readScope(views: readonly Float64Array[], scope: number): Counters {
  const out = {} as Counters;
  const base = scope * SCOPE_SIZE;
  FIELDS.forEach((name, i) => {
    let sum = 0;
    for (const v of views) sum += v[base + i];
    out[name] = sum;
  });
  return out;
}

/** Builds the whole snapshot. */
export function snapshot(
  views: readonly Float64Array[],
  labels: StatsLabels,
  runtime: string,
  uptimeSeconds: number,
): StatsSnapshot {
  const L = labels.listeners.length;
  const listeners: StatsSnapshot["listeners"] = {};
  labels.listeners.forEach((l, i) => (listeners[l.name] = { ...readScope(views, 1 + i), listen: l.listen }));
  const upstreams: StatsSnapshot["upstreams"] = {};
  labels.upstreams.forEach((u, j) => {
    upstreams[u.id] = {
      ...readScope(views, 1 + L + j), listener: u.listener, address: u.address, state: u.state, weight: u.weight,
    };
  });
  return {
    runtime,
    uptime_seconds: uptimeSeconds,
    totals: readScope(views, 0),
    workers: views.map((v) => readScope([v], 0)),
    listeners,
    upstreams,
  };
}
