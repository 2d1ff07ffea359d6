/**
 * Power of two random choices: two distinct usable members drawn at random,
 * the one with the lower active/weight wins; on a tie, a coin weighted by
 * their weights decides. Spreads like random when idle and steers around a
 * loaded member without the herding of a global least-connections.
 *
 * @module
 */
import { CONTROL_SLOTS, S_ACTIVE, S_WEIGHT, usable } from "./balancer.ts";
import type { Excluded, Picker } from "./picker.ts";

/** Two random choices by active/weight. */
export class Random2 implements Picker {
  /** Usable members of the current pick (reused). */
  readonly #candidates: Int32Array;

  constructor(
    private readonly members: readonly number[],
    private readonly control: Int32Array,
    /** Uniform in [0, 1); a test may pass its own. */
    private readonly random: () => number = Math.random,
  ) {
    this.#candidates = new Int32Array(members.length);
  }

  /** One of two random usable members (not excluded), or -1. */
  pick(exclude: Excluded | undefined): number {
    const ctl = this.control, c = this.#candidates;
    let n = 0;
    for (let i = 0; i < this.members.length; i++) {
      const j = this.members[i];
      if (usable(ctl, j) && !exclude?.has(j)) c[n++] = j;
    }
    if (n <= 1) return n === 0 ? -1 : c[0];
    const x = Math.floor(this.random() * n);
    let y = Math.floor(this.random() * (n - 1));
    if (y >= x) y++;
    return this.#better(c[x], c[y]);
  }

  #better(a: number, b: number): number {
    const ctl = this.control;
    const aw = Atomics.load(ctl, a * CONTROL_SLOTS + S_WEIGHT), bw = Atomics.load(ctl, b * CONTROL_SLOTS + S_WEIGHT);
    const aLoad = Atomics.load(ctl, a * CONTROL_SLOTS + S_ACTIVE) * bw;
    const bLoad = Atomics.load(ctl, b * CONTROL_SLOTS + S_ACTIVE) * aw;
    if (aLoad !== bLoad) return aLoad < bLoad ? a : b;
    return this.random() * (aw + bw) < aw ? a : b;
  }
}
