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

/**
 * Slots per upstream in the shared control array (Int32, one block per
 * upstream, written with Atomics):
 *   S_STATE    admin state: UP, DRAINING, DISABLED (main thread writes)
 *   S_WEIGHT   weight 0-1000 (main thread writes)
 *   S_HEALTH   HEALTH_UNCHECKED, HEALTH_UP, HEALTH_DOWN (health checks write)
 *   S_ACTIVE   connections in use to it, across workers (workers add/sub)
 *   S_FAILURES consecutive failures seen by real traffic (workers add; a success stores 0)
 */
export const CONTROL_SLOTS = 5;
/** Slot offsets inside one upstream's block. */
export const S_STATE = 0, S_WEIGHT = 1, S_HEALTH = 2, S_ACTIVE = 3, S_FAILURES = 4;
/** Health as stored in S_HEALTH: no check configured or none finished yet. */
export const HEALTH_UNCHECKED = 0;
/** Health as stored in S_HEALTH: the last `rise` checks passed. */
export const HEALTH_UP = 1;
/** Health as stored in S_HEALTH: `fall` checks (or passive failures) in a row failed. */
export const HEALTH_DOWN = 2;

/** True when upstream `j` may get new traffic: admin state up, weight above 0, not known down. */
export function usable(control: Int32Array, j: number): boolean {
  const base = j * CONTROL_SLOTS;
  return Atomics.load(control, base + S_STATE) === UP && Atomics.load(control, base + S_WEIGHT) > 0 &&
    Atomics.load(control, base + S_HEALTH) !== HEALTH_DOWN;
}

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
      if (!usable(ctl, j) || exclude?.has(j)) continue;
      const weight = Atomics.load(ctl, j * CONTROL_SLOTS + S_WEIGHT);
      cur[i] += weight;
      total += weight;
      if (best < 0 || cur[i] > cur[best]) best = i;
    }
    if (best < 0) return -1;
    cur[best] -= total;
    return this.members[best];
  }
}
