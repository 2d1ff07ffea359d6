/**
 * Upstream selection: smooth weighted round robin (as nginx does it) over the
 * upstreams whose shared state is "up". Weights and states live in a shared
 * Int32Array the main thread writes, so an admin change is seen by every
 * worker on its next pick, with no message.
 *
 * @module
 */

/** Upstream states as stored in the shared control array. */
export const UP = 0;
export const DRAINING = 1;
export const DISABLED = 2;

/** Slots per upstream in the shared control array: state, weight. */
export const CONTROL_SLOTS = 2;

/** Allocates the shared control array for `n` upstreams, all up with weight 1. */
export function allocateUpstreamControl(n: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(Math.max(1, n) * CONTROL_SLOTS * 4);
  const view = new Int32Array(sab);
  for (let j = 0; j < n; j++) view[j * CONTROL_SLOTS + 1] = 1;
  return sab;
}

/** Picks upstreams among a listener's group (global indexes into the control array). */
export class Balancer {
  #current: number[];

  constructor(
    /** Global indexes of this group's upstreams. */
    readonly members: readonly number[],
    private readonly control: Int32Array,
  ) {
    this.#current = members.map(() => 0);
  }

  /** Next upstream (global index) not in `exclude`, or -1 when none is usable. */
  next(exclude?: { has(index: number): boolean }): number {
    let best = -1, total = 0;
    const ctl = this.control, cur = this.#current;
    for (let i = 0; i < this.members.length; i++) {
      const j = this.members[i];
      const weight = Atomics.load(ctl, j * CONTROL_SLOTS + 1);
      if (Atomics.load(ctl, j * CONTROL_SLOTS) !== UP || weight <= 0 || exclude?.has(j)) continue;
      cur[i] += weight;
      total += weight;
      if (best < 0 || cur[i] > cur[best]) best = i;
    }
    if (best < 0) return -1;
    cur[best] -= total;
    return this.members[best];
  }
}
