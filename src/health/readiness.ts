/**
 * Readiness by upstreams: every balancing group (a TCP listener's, an HTTP
 * route's) needs one usable upstream, that is admin state up, weight above 0
 * and not known down (unchecked counts as healthy). Each group with none is
 * one reason, naming why each of its upstreams is out.
 *
 * @module
 */
import { CONTROL_SLOTS, S_STATE, S_WEIGHT, usable } from "../balance/balancer.ts";
import type { Generation } from "../generation.ts";
import type { HealthView } from "./monitor.ts";

const STATES = ["up", "draining", "disabled"];

/** Why upstream `j` gets no new traffic. */
function whyOut(gen: Generation, j: number, view: HealthView | undefined): string {
  const base = j * CONTROL_SLOTS;
  const state = Atomics.load(gen.control, base + S_STATE);
  if (state !== 0) return STATES[state] ?? "out";
  if (Atomics.load(gen.control, base + S_WEIGHT) <= 0) return "weight 0";
  return view?.last_error ? `down (${view.last_error})` : "down";
}

/** The balancing groups of listener `i`. */
function groupsOf(gen: Generation, i: number): number[] {
  const own = gen.topology.listenerGroups[i];
  const routes = (gen.topology.routes[i] ?? []).map((r) => r.group);
  return [own, ...routes].filter((g) => g !== undefined && g >= 0);
}

/** One reason per balancing group of `gen` that has no usable upstream. */
export function readinessReasons(gen: Generation, view: (id: string) => HealthView | undefined): string[] {
  const reasons: string[] = [];
  const { topology, control } = gen;
  gen.config.listeners.forEach((l, i) => {
    for (const g of groupsOf(gen, i)) {
      const members = topology.groups[g];
      if (members.some((j) => usable(control, j))) continue;
      const scope = topology.upstreams[members[0]]?.id.replace(/\/[^/]*$/, "") ?? "group";
      const why = members.map((j) => `${topology.upstreams[j].id} ${whyOut(gen, j, view(topology.upstreams[j].id))}`);
      reasons.push(`listener ${l.name}: no usable upstream in ${scope}: ${why.join(", ")}`);
    }
  });
  return reasons;
}
