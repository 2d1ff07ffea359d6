/**
 * Opening files under a static root with no gap between check and open:
 * the root is opened as a directory fd, the path is opened relative to it,
 * and the fstat of the opened fd is the only check of what it is.
 *
 * - `openat2(rootfd, path, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` where the
 *   kernel has it (Linux 5.6+): symlinks are followed only while their whole
 *   resolution stays beneath the root; an absolute link, or one whose target
 *   steps above the root (even to come back), fails with EXDEV.
 * - Before 5.6 (openat2 gives ENOSYS) a walk of `openat` calls, one segment
 *   at a time with O_NOFOLLOW: no symlink is followed at all.
 *
 * Files open with O_NONBLOCK (a FIFO or device never blocks the worker) and
 * O_NOCTTY (a tty never becomes the controlling terminal).
 *
 * @module
 */
import * as C from "../../../ffi/constants.ts";
import type { Sys } from "../../../ffi/sys.ts";

/** Flags every served file is opened with. */
export const FILE_FLAGS = C.O_RDONLY | C.O_NONBLOCK | C.O_NOCTTY | C.O_CLOEXEC;

const utf8 = new TextEncoder();

/** A NUL-terminated UTF-8 path (as node:fs encodes names, so "café.txt" names the same file). */
function cpath(path: string): Uint8Array {
  return utf8.encode(`${path}\0`);
}

/** Opens the root directory itself as an O_PATH fd (symlinks in the configured root are the operator's). */
export function openRoot(sys: Sys, root: string): number {
  return sys.open(cpath(root), C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC, 0);
}

const how = new BigUint64Array([BigInt(FILE_FLAGS), 0n, BigInt(C.RESOLVE_BENEATH | C.RESOLVE_NO_MAGICLINKS)]);
/** The Sys backends whose kernel answered openat2 with ENOSYS: they walk from then on. */
const withoutOpenat2 = new WeakSet<Sys>();

/**
 * Opens `segments` (no "", "." or "..") under `rootFd` with {@link FILE_FLAGS};
 * no segments opens the root itself. Returns the fd or -errno.
 */
export function openBeneath(sys: Sys, rootFd: number, segments: readonly string[]): number {
  if (!withoutOpenat2.has(sys)) {
    const fd = sys.openat2(rootFd, cpath(segments.length === 0 ? "." : segments.join("/")), how, C.OPEN_HOW_SIZE);
    if (fd !== -C.ENOSYS) return fd;
    withoutOpenat2.add(sys);
  }
  return walkBeneath(sys, rootFd, segments);
}

/**
 * The fallback of {@link openBeneath}: each directory opened with
 * O_PATH | O_DIRECTORY | O_NOFOLLOW from the one before, the last segment
 * with FILE_FLAGS | O_NOFOLLOW, so a symlink anywhere fails (ELOOP/ENOTDIR).
 */
export function walkBeneath(sys: Sys, rootFd: number, segments: readonly string[]): number {
  if (segments.length === 0) return sys.openat(rootFd, cpath("."), FILE_FLAGS, 0);
  let dir = rootFd;
  for (const seg of segments.slice(0, -1)) {
    const next = sys.openat(dir, cpath(seg), C.O_PATH | C.O_DIRECTORY | C.O_NOFOLLOW | C.O_CLOEXEC, 0);
    if (dir !== rootFd) sys.close(dir);
    if (next < 0) return next;
    dir = next;
  }
  const fd = sys.openat(dir, cpath(segments[segments.length - 1]), FILE_FLAGS | C.O_NOFOLLOW, 0);
  if (dir !== rootFd) sys.close(dir);
  return fd;
}

/** What fstat says of an open fd: its type (`st_mode & S_IFMT`) and the facts validators need. */
export interface Facts {
  readonly type: number;
  readonly size: number;
  readonly ino: number;
  readonly mtimeMs: number;
}

const statBuf = new Uint8Array(256);
const statView = new DataView(statBuf.buffer);

/** fstat(2) of `fd` as {@link Facts}, or -errno. */
export function factsOf(sys: Sys, fd: number): Facts | number {
  const r = sys.fstat(fd, statBuf);
  if (r < 0) return r;
  const L = C.statLayout();
  return {
    type: statView.getUint32(L.mode, true) & C.S_IFMT,
    size: Number(statView.getBigInt64(L.fileSize, true)),
    ino: Number(statView.getBigUint64(L.ino, true) & 0xffffffffn),
    mtimeMs: Number(statView.getBigInt64(L.mtimeSec, true)) * 1000 +
      Math.floor(Number(statView.getBigInt64(L.mtimeNsec, true)) / 1e6),
  };
}

/** An open fd with its facts. */
export interface Opened extends Facts {
  readonly fd: number;
}

/** Opens `segments` under `rootFd` and fstats the fd; -errno (fd closed) when either fails. */
export function openWithFacts(sys: Sys, rootFd: number, segments: readonly string[]): Opened | number {
  const fd = openBeneath(sys, rootFd, segments);
  if (fd < 0) return fd;
  const facts = factsOf(sys, fd);
  if (typeof facts === "number") {
    sys.close(fd);
    return facts;
  }
  return { fd, ...facts };
}
