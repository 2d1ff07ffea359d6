/**
 * A log writer that never blocks its worker: lines go into a fixed-size
 * buffer and leave it through non-blocking write(2)s, on the sweep, at stop,
 * or as soon as a batch is worth a system call. A line that does not fit is
 * dropped (and the caller counts it); a line is never cut: only whole lines
 * enter the buffer.
 *
 * Targets:
 * - a file path: opened `O_APPEND` (each write lands whole at the end, so the
 *   lines of several workers never interleave), reopened on demand (SIGUSR1,
 *   logrotate) while the queued lines stay queued;
 * - `-`, stdout: when fd 1 is a regular file it is written as it is (regular
 *   files ignore O_NONBLOCK, and a second open file description would write
 *   over the main thread's output); otherwise (a pipe, a terminal) the worker
 *   opens `/proc/self/fd/1` again with O_NONBLOCK, a description of its own, so
 *   fd 1 of the main thread keeps its flags. A socket (Bun's stdout pipes,
 *   systemd's journal) cannot be opened again: it is written with
 *   send(MSG_DONTWAIT), which does not block whatever the socket's flags.
 *
 * On a pipe, a write of at most PIPE_BUF bytes is atomic, so writes there are
 * cut at a line end at most PIPE_BUF bytes on (a longer single line goes alone).
 * A Unix stream socket takes such a write in one buffer, whole or not at all.
 *
 * @module
 */
import * as C from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { SysError } from "../errors.ts";

/** Bytes a pipe writes atomically (Linux). */
const PIPE_BUF = 4096;
const NEWLINE = 10;
const utf8 = new TextEncoder();

/** A fixed-size buffer of whole lines waiting to be written. */
export class LineQueue {
  readonly #buf: Uint8Array;
  #start = 0;
  #end = 0;

  /** A queue of `capacity` bytes, allocated once. */
  constructor(capacity: number) {
    this.#buf = new Uint8Array(capacity);
  }

  /** Bytes waiting. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /** Appends `text` and a newline; false (nothing appended) when it does not fit. */
  push(text: string): boolean {
    if (this.#buf.length - this.#end < text.length * 3 + 1 && this.#start > 0) this.#compact();
    const room = this.#buf.length - this.#end - 1;
    if (room < text.length) return false; // even all-ASCII would not fit
    const r = utf8.encodeInto(text, this.#buf.subarray(this.#end, this.#end + room));
    if (r.read !== text.length) return false;
    this.#end += r.written;
    this.#buf[this.#end++] = NEWLINE;
    return true;
  }

  /**
   * Writes what `write` takes, in pieces of at most `chunk` bytes cut after a
   * newline. Returns 0 when empty, or the error that stopped it (-EAGAIN: the
   * target is full for now).
   */
  drain(write: (buf: Uint8Array, len: number) => number, chunk: number): number {
    while (this.#end > this.#start) {
      const len = this.#piece(chunk);
      const n = write(this.#buf.subarray(this.#start), len);
      if (n === -C.EINTR) continue;
      if (n <= 0) return n < 0 ? n : -C.EAGAIN;
      this.#start += n;
    }
    this.#start = this.#end = 0;
    return 0;
  }

  /** Length of the next write: whole lines up to `chunk` bytes, or one longer line. */
  #piece(chunk: number): number {
    const pending = this.#end - this.#start;
    if (pending <= chunk) return pending;
    const cut = this.#buf.lastIndexOf(NEWLINE, this.#start + chunk - 1);
    if (cut >= this.#start) return cut + 1 - this.#start;
    return this.#buf.indexOf(NEWLINE, this.#start) + 1 - this.#start;
  }

  #compact(): void {
    this.#buf.copyWithin(0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#start = 0;
  }
}

/** An open log destination: its fd and how big one write may be. */
export interface LogFd {
  readonly fd: number;
  /** Ours to close (not the process's stdout). */
  readonly owned: boolean;
  /** Largest write: unbounded for a regular file, PIPE_BUF otherwise. */
  readonly chunk: number;
  /** Written with send(MSG_DONTWAIT) rather than write(2). */
  readonly socket: boolean;
}

const statBuf = new Uint8Array(256);

/** The file type bits of `fd` (S_IFREG, S_IFSOCK...), or -1. */
function fileType(sys: Sys, fd: number): number {
  if (sys.fstat(fd, statBuf) < 0) return -1;
  return new DataView(statBuf.buffer).getUint32(C.statLayout().mode, true) & C.S_IFMT;
}

function described(sys: Sys, fd: number, owned: boolean): LogFd {
  const type = fileType(sys, fd);
  return { fd, owned, chunk: type === C.S_IFREG ? Number.MAX_SAFE_INTEGER : PIPE_BUF, socket: type === C.S_IFSOCK };
}

function openStdout(sys: Sys): LogFd {
  const type = fileType(sys, 1);
  if (type === C.S_IFREG || type === C.S_IFSOCK) return described(sys, 1, false);
  const fd = sys.open(utf8.encode("/proc/self/fd/1\0"), C.O_WRONLY | C.O_NONBLOCK | C.O_CLOEXEC, 0);
  if (fd < 0) throw new SysError("access log - (reopening stdout without blocking)", -fd);
  return { fd, owned: true, chunk: PIPE_BUF, socket: false };
}

/** Writes `len` bytes of `buf` to `out` without blocking; a Sys result. */
export function writeLog(sys: Sys, out: LogFd, buf: Uint8Array, len: number): number {
  return out.socket ? sys.send(out.fd, buf, len, C.MSG_DONTWAIT | C.MSG_NOSIGNAL) : sys.write(out.fd, buf, len);
}

/** Opens a log target: `-` for stdout or a file path (created, appended). Throws SysError. */
export function openLogTarget(sys: Sys, target: string): LogFd {
  if (target === "-") return openStdout(sys);
  const flags = C.O_WRONLY | C.O_CREAT | C.O_APPEND | C.O_NONBLOCK | C.O_CLOEXEC;
  const fd = sys.open(utf8.encode(`${target}\0`), flags, 0o644);
  if (fd < 0) throw new SysError(`access log ${target}`, -fd);
  return described(sys, fd, true);
}
