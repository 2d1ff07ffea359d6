/**
 * What every balancing algorithm implements: pick one member of a group.
 *
 * @module
 */

/** Upstreams a pick must skip (already tried for this request or connection). */
export interface Excluded {
  has(index: number): boolean;
}

/** No hash key for this pick (no `hashKey`, or the request lacks it). */
export const NO_KEY = -1;

/**
 * One algorithm over one tier (primaries or backups) of a group. `pick`
 * returns a usable member's global index not in `exclude`, or -1; `key` is
 * an unsigned 32-bit hash, or {@linkcode NO_KEY}. It allocates nothing.
 */
export interface Picker {
  pick(exclude: Excluded | undefined, key: number): number;
}
