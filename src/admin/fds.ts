/**
 * The admin server's share of the process's file descriptors. The data plane
 * (worker threads, same fd table) must never fail to accept because the admin
 * server took the last fds: the admin server admits a new connection only
 * while the open fds stay below `RLIMIT_NOFILE - fdReserve(limit)`.
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { RLIMIT_NOFILE } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/mod.ts";

/** Fds left to the data plane: an eighth of the limit, at least 64, at most 4096. */
export function fdReserve(limit: number): number {
  return Math.min(4096, Math.max(64, Math.floor(limit / 8)));
}

/** Open fds of this process (the entries of /proc/self/fd; its own listing fd included). */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** The soft RLIMIT_NOFILE, read now (spliced raises it at start); Infinity if unknown. */
export function fileLimit(sys: Sys): number {
  const rlim = new BigUint64Array(2);
  if (sys.getrlimit(RLIMIT_NOFILE, rlim) < 0 || rlim[0] > BigInt(Number.MAX_SAFE_INTEGER)) return Infinity;
  return Number(rlim[0]);
}

/** Open fds and the limit the admin server must stay under. */
export interface FdUse {
  readonly open: number;
  /** The admin server admits a connection only while `open < ceiling`. */
  readonly ceiling: number;
}

/** Reads the fd use of the process now (one readdir of /proc/self/fd and one getrlimit). */
export function fdUse(sys: Sys): FdUse {
  const limit = fileLimit(sys);
  return { open: openFds(), ceiling: limit - fdReserve(limit) };
}
