/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of
 * a prime size, filled by letting each member claim slots in its own
 * permutation of the table, in turns proportional to its weight. A key goes
 * to `table[key % size]`. Removing one of N members changes about 1/N of the
 * table (its own slots, plus a little churn), so about 1/N of the keys move.
 *
 * When the member a key maps to is not usable (down, disabled, draining, or
 * already tried), the slots after it are probed in order: the key's next
 * preference, the same for every worker, and each remaining member takes
 * over in proportion to its share of the table.
 *
 * @module
 */
import { hashString } from "./hash.ts";
import { usable } from "./balancer.ts";
import type { Excluded, Picker } from "./picker.ts";
import { RoundRobin } from "./roundrobin.ts";

/** Default table size: a prime, so every skip walks the whole table; at least 100 × members up to 655. */
export const MAGLEV_SIZE = 65537;

/**
 * The Maglev table for members named `names` with `weights` (0 gets no slot;
 * all 0 counts as all 1): each entry is a member position (0-based).
 * `size` must be a prime above the member count.
 */
export function buildMaglevTable(names: readonly string[], weights: readonly number[], size = MAGLEV_SIZE): Uint16Array {
  const n = names.length;
  const table = new Uint16Array(size);
  if (n === 0) return table;
  const w = weights.some((x) => x > 0) ? weights : weights.map(() => 1);
  const maxWeight = Math.max(...w);
  const pos = new Int32Array(n), skip = new Int32Array(n), credit = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    pos[i] = hashString(names[i], 0, names[i].length, 0x5bd1e995) % size;
    skip[i] = (hashString(names[i], 0, names[i].length, 0x1b873593) % (size - 1)) + 1;
  }
  const filled = new Uint8Array(size);
  let count = 0;
  while (count < size) {
    for (let i = 0; i < n && count < size; i++) {
      credit[i] += w[i];
      while (credit[i] >= maxWeight && count < size) {
        credit[i] -= maxWeight;
        let c = pos[i];
        while (filled[c] === 1) c = (c + skip[i]) % size;
        pos[i] = (c + skip[i]) % size;
        filled[c] = 1;
        table[c] = i;
        count++;
      }
    }
  }
  return table;
}

/** Consistent hashing over `members`; picks without a key go round robin. */
export class Maglev implements Picker {
  readonly #table: Uint16Array;
  readonly #fallback: RoundRobin;

  constructor(
    private readonly members: readonly number[],
    private readonly control: Int32Array,
    names: readonly string[],
    weights: readonly number[],
    size = MAGLEV_SIZE,
  ) {
    this.#table = buildMaglevTable(names, weights, size);
    this.#fallback = new RoundRobin(members, control);
  }

  /** The key's member, or its next usable preference; round robin without a key; -1 when none is usable. */
  pick(exclude: Excluded | undefined, key: number): number {
    if (key < 0 || !this.#anyUsable(exclude)) return this.#fallback.pick(exclude);
    const table = this.#table, size = table.length, members = this.members, ctl = this.control;
    let at = key % size;
    for (let probes = 0; probes < size; probes++) {
      const j = members[table[at]];
      if (usable(ctl, j) && !exclude?.has(j)) return j;
      if (++at === size) at = 0;
    }
    // No slot holds a usable member (those left have config weight 0): any usable one.
    return this.#fallback.pick(exclude);
  }

  /** Whether a probe can succeed (else it would walk the whole table). */
  #anyUsable(exclude: Excluded | undefined): boolean {
    for (let i = 0; i < this.members.length; i++) {
      const j = this.members[i];
      if (usable(this.control, j) && !exclude?.has(j)) return true;
    }
    return false;
  }
}
