/**
 * Counters of config generations that have ended. A reload retires a
 * generation; once its workers stopped, its counters are folded in here and
 * the generation itself is let go, so a process that reloads every minute
 * keeps flat memory and a `stats()` cost that does not grow.
 *
 * @module
 */
import { gather, type Gathered, type GenerationView } from "./aggregate.ts";
import { F, SCOPE_SIZE } from "./layout.ts";

/** Names of the scopes the current config has; others are dropped from the archive (totals keep them). */
export interface ScopeNames {
  readonly listenerNames: readonly string[];
  readonly routeIds: readonly string[];
  readonly upstreamIds: readonly string[];
}

/** Gauges: what an ended generation had open is not open any more. */
const GAUGES = [F.connections_active, F.pipes_open];

/** Summed counters of every ended generation, by scope name. */
export class StatsArchive {
  readonly #sums: Gathered = { totals: new Float64Array(SCOPE_SIZE), listeners: new Map(), routes: new Map(), upstreams: new Map() };

  /** Adds an ended generation's counters; keeps per-scope sums only for names in `current`. */
  fold(ended: GenerationView, current: ScopeNames): void {
    const g = gather([ended]);
    addInto(this.#sums.totals, g.totals);
    mergeMap(this.#sums.listeners, g.listeners);
    mergeMap(this.#sums.routes, g.routes);
    mergeMap(this.#sums.upstreams, g.upstreams);
    prune(this.#sums.listeners, current.listenerNames);
    prune(this.#sums.routes, current.routeIds);
    prune(this.#sums.upstreams, current.upstreamIds);
  }

  /** The archived sums: a base for {@link gather}. */
  get sums(): Gathered {
    return this.#sums;
  }

  /** How many scopes it holds (bounded by the current config's). */
  get size(): number {
    return this.#sums.listeners.size + this.#sums.routes.size + this.#sums.upstreams.size;
  }
}

function addInto(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < SCOPE_SIZE; i++) into[i] += from[i];
  for (const f of GAUGES) into[f] = 0;
}

function mergeMap(into: Map<string, Float64Array>, from: Map<string, Float64Array>): void {
  for (const [name, raw] of from) {
    let slot = into.get(name);
    if (!slot) into.set(name, (slot = new Float64Array(SCOPE_SIZE)));
    addInto(slot, raw);
  }
}

function prune(map: Map<string, Float64Array>, keep: readonly string[]): void {
  const names = new Set(keep);
  for (const name of [...map.keys()]) if (!names.has(name)) map.delete(name);
}
