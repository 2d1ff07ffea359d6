/**
 * The `Sys` interface: the only way spliced talks to the kernel.
 *
 * Every call takes numbers and typed arrays and returns a number that is
 * `>= 0` on success or `-errno` on failure. errno is read by the backend on
 * the calling thread immediately after the call; it never escapes as global
 * state. Typed arrays are passed as pointers to their first byte.
 *
 * @module
 */

import { SYS_openat2 } from "./constants.ts";

/** A typed array handed to C as a pointer (or `null` for NULL). */
export type Ptr = ArrayBufferView | null;

/** Thin, errno-folding wrappers over the libc calls spliced needs. */
export interface Sys {
  /** Name of the backend: `"deno"` or `"bun"`. */
  readonly runtime: string;
  /** The C library the backend loaded: `glibc 2.36`, `musl` (see ffi/libc.ts); absent in test fakes. */
  readonly libc?: string;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  listen(fd: number, backlog: number): number;
  /** accept4(2) without the peer address. */
  accept4(fd: number, flags: number): number;
  connect(fd: number, addr: Uint8Array, len: number): number;
  close(fd: number): number;
  shutdown(fd: number, how: number): number;
  setsockopt(fd: number, level: number, name: number, val: Ptr, len: number): number;
  /** getsockopt(2); `lenBox[0]` holds the buffer size in and the result size out. */
  getsockopt(fd: number, level: number, name: number, val: Ptr, lenBox: Uint32Array): number;
  getsockname(fd: number, addr: Uint8Array, lenBox: Uint32Array): number;
  getpeername(fd: number, addr: Uint8Array, lenBox: Uint32Array): number;
  epollCreate1(flags: number): number;
  epollCtl(epfd: number, op: number, fd: number, event: Ptr): number;
  epollWait(epfd: number, events: Uint32Array, maxEvents: number, timeoutMs: number): number;
  pipe2(fds: Int32Array, flags: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  /** splice(2) with NULL offsets (both ends are sockets or pipes). */
  splice(fdIn: number, fdOut: number, len: number, flags: number): number;
  /** sendfile(2); `offset[0]` is advanced by the kernel. */
  sendfile(outFd: number, inFd: number, offset: BigInt64Array, count: number): number;
  read(fd: number, buf: Ptr, len: number): number;
  write(fd: number, buf: Ptr, len: number): number;
  /** recv(2), e.g. with MSG_PEEK | MSG_DONTWAIT to probe a socket without consuming. */
  recv(fd: number, buf: Ptr, len: number, flags: number): number;
  /** send(2), e.g. with MSG_DONTWAIT | MSG_NOSIGNAL to write a socket without blocking. */
  send(fd: number, buf: Ptr, len: number, flags: number): number;
  eventfd(initval: number, flags: number): number;
  getrlimit(resource: number, rlim: BigUint64Array): number;
  setrlimit(resource: number, rlim: BigUint64Array): number;
  /** open(2); `path` is a NUL-terminated UTF-8 string. */
  open(path: Uint8Array, flags: number, mode: number): number;
  /** openat(2); `path` is a NUL-terminated UTF-8 string, relative to `dirfd` (or AT_FDCWD). */
  openat(dirfd: number, path: Uint8Array, flags: number, mode: number): number;
  /**
   * openat2(2) through syscall(2) (glibc has no wrapper): `how` is `struct open_how`
   * as three u64 (flags, mode, resolve), `size` its byte size. -ENOSYS before Linux 5.6.
   */
  openat2(dirfd: number, path: Uint8Array, how: BigUint64Array, size: number): number;
  fstat(fd: number, st: Uint8Array): number;
}

/** Raw libc functions as a backend loaded them: C semantics, -1 on error. */
// deno-lint-ignore no-explicit-any
export type RawSymbols = Record<string, (...args: any[]) => any>;

/**
 * Builds a {@link Sys} from raw libc symbols and an errno reader of the
 * calling thread. Shared by both backends so they differ only in loading.
 */
export function makeSys(runtime: string, s: RawSymbols, errno: () => number, libc?: string): Sys {
  const fold = (r: number): number => (r === -1 ? -errno() : r);
  return {
    runtime,
    libc,
    socket: (d, t, p) => fold(s.socket(d, t, p)),
    bind: (fd, a, l) => fold(s.bind(fd, a, l)),
    listen: (fd, b) => fold(s.listen(fd, b)),
    accept4: (fd, f) => fold(s.accept4(fd, null, null, f)),
    connect: (fd, a, l) => fold(s.connect(fd, a, l)),
    close: (fd) => fold(s.close(fd)),
    shutdown: (fd, h) => fold(s.shutdown(fd, h)),
    setsockopt: (fd, lv, n, v, l) => fold(s.setsockopt(fd, lv, n, v, l)),
    getsockopt: (fd, lv, n, v, lb) => fold(s.getsockopt(fd, lv, n, v, lb)),
    getsockname: (fd, a, lb) => fold(s.getsockname(fd, a, lb)),
    getpeername: (fd, a, lb) => fold(s.getpeername(fd, a, lb)),
    epollCreate1: (f) => fold(s.epoll_create1(f)),
    epollCtl: (ep, op, fd, ev) => fold(s.epoll_ctl(ep, op, fd, ev)),
    epollWait: (ep, evs, m, t) => fold(s.epoll_wait(ep, evs, m, t)),
    pipe2: (fds, f) => fold(s.pipe2(fds, f)),
    fcntl: (fd, c, a) => fold(s.fcntl(fd, c, a)),
    splice: (i, o, n, f) => fold(s.splice(i, null, o, null, n, f)),
    sendfile: (o, i, off, n) => fold(s.sendfile(o, i, off, n)),
    read: (fd, b, n) => fold(s.read(fd, b, n)),
    write: (fd, b, n) => fold(s.write(fd, b, n)),
    recv: (fd, b, n, f) => fold(s.recv(fd, b, n, f)),
    send: (fd, b, n, f) => fold(s.send(fd, b, n, f)),
    eventfd: (v, f) => fold(s.eventfd(v, f)),
    getrlimit: (r, l) => fold(s.getrlimit(r, l)),
    setrlimit: (r, l) => fold(s.setrlimit(r, l)),
    open: (p, f, m) => fold(s.open(p, f, m)),
    openat: (d, p, f, m) => fold(s.openat(d, p, f, m)),
    openat2: (d, p, how, n) => fold(s.syscall(SYS_openat2, d, p, how, n)),
    fstat: (fd, st) => fold(s.fstat(fd, st)),
  };
}

/** Thrown when the FFI layer cannot be loaded; the message says how to fix it. */
export class FfiUnavailableError extends Error {
  override name = "FfiUnavailableError";
}
