/**
 * The admin server's share of the process's file descriptors. The data plane
 * (worker threads, same fd table) must never fail to accept because the admin
 * server took the last fds: the admin server admits a new connection only
 * while the open fds stay below `RLIMIT_NOFILE - fdReserve(limit)`.
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { EMFILE, ENFILE, O_CLOEXEC, O_DIRECTORY, O_RDONLY, RLIMIT_NOFILE } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/mod.ts";

/** Fds left to the data plane: an eighth of the limit, at least 64, at most 4096. */
export function fdReserve(limit: number): number {
  return Math.min(4096, Math.max(64, Math.floor(limit / 8)));
}

const FD_DIR = new TextEncoder().encode("/proc/self/fd\0");
const statBuf = new Uint8Array(256);
/** Offset of st_size in struct stat, the same on x86_64 and aarch64. */
const ST_SIZE = 48;

/**
 * Open fds of this process, or undefined when it cannot be known here;
 * Infinity when not one more can be opened (EMFILE, ENFILE). Linux 6.2+
 * reports the count as the size of /proc/self/fd (one open and fstat through
 * FFI: Deno's permissions refuse /proc/self to `node:fs` without
 * --allow-all); older kernels say 0, then the entries are counted.
 */
export function openFds(sys: Sys): number | undefined {
  const fd = sys.open(FD_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd === -EMFILE || fd === -ENFILE) return Infinity;
  if (fd >= 0) {
    const r = sys.fstat(fd, statBuf);
    sys.close(fd);
    const size = r < 0 ? 0 : Number(new DataView(statBuf.buffer).getBigInt64(ST_SIZE, true));
    if (size > 0) return size - 1; // not the one just closed
  }
  try {
    return readdirSync("/proc/self/fd").length - 1; // not readdir's own
  } catch {
    return undefined;
  }
}

/** The soft RLIMIT_NOFILE, read now (spliced raises it at start); Infinity if unknown. */
export function fileLimit(sys: Sys): number {
  const rlim = new BigUint64Array(2);
  if (sys.getrlimit(RLIMIT_NOFILE, rlim) < 0 || rlim[0] > BigInt(Number.MAX_SAFE_INTEGER)) return Infinity;
  return Number(rlim[0]);
}

/** Open fds and the limit the admin server must stay under. */
export interface FdUse {
  /** Undefined when unknown (an old kernel under Deno): then only the connection cap applies. */
  readonly open: number | undefined;
  /** The admin server admits a connection only while `open < ceiling`. */
  readonly ceiling: number;
}

/** Reads the fd use of the process now (an open, fstat and close of /proc/self/fd, and one getrlimit). */
export function fdUse(sys: Sys): FdUse {
  const limit = fileLimit(sys);
  return { open: openFds(sys), ceiling: limit - fdReserve(limit) };
}
