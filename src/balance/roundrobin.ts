/**
 * Smooth weighted round robin (as nginx does it): each pick adds every
 * usable member's weight to its running score, takes the highest and
 * subtracts the total from it. Weights 5,1,1 give 0,0,1,0,2,0,0.
 *
 * @module
 */
import { CONTROL_SLOTS, S_WEIGHT, usable } from "./balancer.ts";
import type { Excluded, Picker } from "./picker.ts";

/** Smooth weighted round robin over `members` (global indexes). */
export class RoundRobin implements Picker {
  readonly #current: Int32Array;

  constructor(private readonly members: readonly number[], private readonly control: Int32Array) {
    this.#current = new Int32Array(members.length);
  }

  /** The next usable member not in `exclude`, or -1. */
  pick(exclude: Excluded | undefined): number {
    let best = -1, total = 0;
    const ctl = this.control, cur = this.#current, members = this.members;
    for (let i = 0; i < members.length; i++) {
      const j = members[i];
      if (!usable(ctl, j) || exclude?.has(j)) continue;
      const weight = Atomics.load(ctl, j * CONTROL_SLOTS + S_WEIGHT);
      cur[i] += weight;
      total += weight;
      if (best < 0 || cur[i] > cur[best]) best = i;
    }
    if (best < 0) return -1;
    cur[best] -= total;
    return members[best];
  }
}
