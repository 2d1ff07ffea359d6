/**
 * The balancing algorithms by name (`balance` in the config), and the
 * picker each builds for one tier of a group.
 *
 * @module
 */
import { LeastConn } from "./leastconn.ts";
import { Maglev } from "./maglev.ts";
import type { Picker } from "./picker.ts";
import { Random2 } from "./random2.ts";
import { RoundRobin } from "./roundrobin.ts";

/** The `balance` values; the first is the default. */
export const BALANCE_POLICIES = ["roundrobin", "leastconn", "random2", "hash"] as const;
/** A balancing algorithm. */
export type BalancePolicy = typeof BALANCE_POLICIES[number];

/** A group's balancing as sent to workers. */
export interface BalanceInit {
  readonly policy: BalancePolicy;
  /** With "hash": `clientIp`, `path`, `header:NAME` or `cookie:NAME`. */
  readonly hashKey?: string;
}

/** Smooth weighted round robin, no key. */
export const ROUND_ROBIN: BalanceInit = { policy: "roundrobin" };

/** What a balancer knows of an upstream beyond the control block: its id, config weight and role. */
export interface MemberInfo {
  readonly id: string;
  /** The config weight (initial S_WEIGHT; Maglev table shares). Default 1. */
  readonly weight?: number;
  /** Gets traffic only when no primary of its group is usable. */
  readonly backup?: boolean;
}

/** The picker of `policy` over `members` (global indexes; `info` by global index). */
export function makePicker(policy: BalancePolicy, members: readonly number[], control: Int32Array, info: readonly MemberInfo[]): Picker {
  switch (policy) {
    case "leastconn":
      return new LeastConn(members, control);
    case "random2":
      return new Random2(members, control);
    case "hash":
      return new Maglev(members, control, members.map((j) => info[j]?.id ?? String(j)), members.map((j) => info[j]?.weight ?? 1));
    default:
      return new RoundRobin(members, control);
  }
}
