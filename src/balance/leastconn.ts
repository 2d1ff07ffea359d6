/**
 * Least connections, weighted: the usable member with the lowest
 * active/weight, active being S_ACTIVE (connections in use to it across all
 * workers). Ties go round robin: the scan starts after the last pick.
 *
 * @module
 */
import { CONTROL_SLOTS, S_ACTIVE, S_WEIGHT, usable } from "./balancer.ts";
import type { Excluded, Picker } from "./picker.ts";

/** Fewest active connections per unit of weight. */
export class LeastConn implements Picker {
  #start = 0;

  constructor(private readonly members: readonly number[], private readonly control: Int32Array) {}

  /** The member with the lowest active/weight (not excluded), or -1. */
  pick(exclude: Excluded | undefined): number {
    const ctl = this.control, members = this.members, n = members.length;
    let best = -1, bestActive = 0, bestWeight = 1;
    for (let k = 0; k < n; k++) {
      const i = (this.#start + k) % n, j = members[i];
      if (!usable(ctl, j) || exclude?.has(j)) continue;
      const active = Atomics.load(ctl, j * CONTROL_SLOTS + S_ACTIVE);
      const weight = Atomics.load(ctl, j * CONTROL_SLOTS + S_WEIGHT);
      // active / weight < bestActive / bestWeight, without dividing
      if (best < 0 || active * bestWeight < bestActive * weight) {
        best = i;
        bestActive = active;
        bestWeight = weight;
      }
    }
    if (best < 0) return -1;
    this.#start = (best + 1) % n;
    return members[best];
  }
}
