/**
 * Upstream selection over a shared control block: each group balances with
 * its algorithm (round robin, least connections, two random choices, Maglev
 * hashing; see policies.ts) over the upstreams `usable()` allows. States,
 * weights and health live in a shared Int32Array the main thread writes, and
 * active connections are counted there by every worker, so an admin change
 * is seen by every worker on its next pick, with no message.
 *
 * @module
 */

import { type HashKey, NO_HASH_KEY, parseHashKey } from "./hashkey.ts";
import { type Excluded, NO_KEY, type Picker } from "./picker.ts";
import { type BalanceInit, makePicker, type MemberInfo, ROUND_ROBIN } from "./policies.ts";

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

/**
 * Picks upstreams among a group (global indexes into the control array)
 * with the group's algorithm: primaries first; backups only when no primary
 * is usable (or every usable one was tried).
 */
export class Balancer {
  /** Global indexes of this group's upstreams, primaries and backups. */
  readonly members: readonly number[];
  /** What a hashing group hashes (kind KEY_NONE otherwise). */
  readonly hashKey: HashKey;
  readonly #primary: Picker;
  readonly #backup: Picker | null;

  constructor(
    members: readonly number[],
    /** The shared control array (S_ACTIVE is counted here by the connector). */
    readonly control: Int32Array,
    balance: BalanceInit = ROUND_ROBIN,
    /** Per global index: id, config weight, backup. */
    info: readonly MemberInfo[] = [],
  ) {
    this.members = members;
    this.hashKey = balance.policy === "hash" ? parseHashKey(balance.hashKey ?? "clientIp") : NO_HASH_KEY;
    const primaries = members.filter((j) => !info[j]?.backup), backups = members.filter((j) => info[j]?.backup === true);
    this.#primary = makePicker(balance.policy, primaries, control, info);
    this.#backup = backups.length > 0 ? makePicker(balance.policy, backups, control, info) : null;
  }

  /** Next upstream (global index) not in `exclude`, or -1 when none is usable. `key`: a hash key, or NO_KEY. */
  next(exclude?: Excluded, key: number = NO_KEY): number {
    const j = this.#primary.pick(exclude, key);
    if (j >= 0 || this.#backup === null) return j;
    return this.#backup.pick(exclude, key);
  }
}
