/**
 * A scripted fake {@linkcode Sys} for the stream engine's unit tests (not
 * part of the API, never used end to end): sockets are byte queues with an
 * optional EOF and a send window, pipes are bounded byte queues, and any
 * call can be made to return a scripted result on cue.
 *
 * @module
 */
import * as C from "../../../ffi/constants.ts";
import type { Ptr, Sys } from "../../../ffi/sys.ts";

/** One fake socket: what it will give to reads and what it accepted from writes. */
export class FakeSocket {
  /** Bytes waiting to be read, in order. */
  inbox: number[] = [];
  /** The peer closed its write side: reads return 0 once the inbox is empty. */
  eof = false;
  /** Bytes accepted from writes and splices. */
  readonly sent: number[] = [];
  /** How many more bytes the socket accepts before EAGAIN (Infinity: no limit). */
  window = Infinity;
  /** shutdown(2) calls on this socket. */
  shutdownCalls = 0;
  /** SO_LINGER was set (a reset on close). */
  lingerReset = false;

  constructor(readonly fd: number) {}

  /** Adds bytes for the reader. */
  give(bytes: Uint8Array): void {
    for (const b of bytes) this.inbox.push(b);
  }

  /** What was sent, as bytes. */
  get sentBytes(): Uint8Array {
    return Uint8Array.from(this.sent);
  }
}

interface FakePipe {
  bytes: number[];
  size: number;
}

/** A scripted result: the next call of `call` (optionally on `fd`) returns `result` without doing anything. */
export interface Cue {
  call: "splice" | "read" | "write";
  result: number;
  /** Only when the call's source (read/splice) or destination (write) is this fd. */
  fd?: number;
}

/** The fake kernel. */
export class FakeSys {
  readonly sockets = new Map<number, FakeSocket>();
  readonly #pipes = new Map<number, { pipe: FakePipe; end: "r" | "w" }>();
  readonly cues: Cue[] = [];
  readonly calls: string[] = [];
  #nextFd = 100;
  closed = 0;
  /** Largest single write the fake accepts (to force short writes). */
  maxWrite = Infinity;

  /** A new fake socket. */
  socket(): FakeSocket {
    const s = new FakeSocket(this.#nextFd++);
    this.sockets.set(s.fd, s);
    return s;
  }

  /** Bytes sitting in pipes that are still open. */
  get bytesInPipes(): number {
    let n = 0;
    for (const { pipe, end } of this.#pipes.values()) if (end === "r") n += pipe.bytes.length;
    return n;
  }

  /** The Sys the code under test uses. */
  get sys(): Sys {
    return this.#sys ??= this.#makeSys();
  }
  #sys: Sys | undefined;

  #cue(call: Cue["call"], fd: number): number | undefined {
    const i = this.cues.findIndex((c) => c.call === call && (c.fd === undefined || c.fd === fd));
    if (i < 0) return undefined;
    return this.cues.splice(i, 1)[0].result;
  }

  #take(from: number[], n: number): number[] {
    return from.splice(0, n);
  }

  #readFrom(fd: number, max: number): number[] | number {
    const s = this.sockets.get(fd);
    if (s === undefined) return -C.EBADF;
    if (s.inbox.length === 0) return s.eof ? 0 : -C.EAGAIN;
    return this.#take(s.inbox, Math.min(max, s.inbox.length));
  }

  #writeTo(fd: number, bytes: number[]): number {
    const s = this.sockets.get(fd);
    if (s === undefined) return -C.EBADF;
    const n = Math.min(bytes.length, s.window, this.maxWrite);
    if (n <= 0) return -C.EAGAIN;
    s.window -= n;
    for (let i = 0; i < n; i++) s.sent.push(bytes[i]);
    return n;
  }

  #splice(fdIn: number, fdOut: number, len: number): number {
    this.calls.push(`splice ${fdIn}->${fdOut} ${len}`);
    const cued = this.#cue("splice", fdIn);
    if (cued !== undefined) return cued;
    const pin = this.#pipes.get(fdIn), pout = this.#pipes.get(fdOut);
    if (pout && pout.end === "w") {
      const room = pout.pipe.size - pout.pipe.bytes.length;
      if (room === 0) return -C.EAGAIN;
      const got = this.#readFrom(fdIn, Math.min(len, room));
      if (typeof got === "number") return got;
      pout.pipe.bytes.push(...got);
      return got.length;
    }
    if (pin && pin.end === "r") {
      if (pin.pipe.bytes.length === 0) return -C.EAGAIN;
      const want = pin.pipe.bytes.slice(0, Math.min(len, pin.pipe.bytes.length));
      const n = this.#writeTo(fdOut, want);
      if (n > 0) pin.pipe.bytes.splice(0, n);
      return n;
    }
    return -C.EINVAL;
  }

  #makeSys(): Sys {
    const notUsed = () => -C.ENOSYS;
    return {
      runtime: "fake",
      socket: notUsed, bind: notUsed, listen: notUsed, accept4: notUsed, connect: notUsed,
      close: (fd) => {
        this.closed++;
        this.#pipes.delete(fd);
        this.sockets.delete(fd);
        return 0;
      },
      shutdown: (fd) => {
        const s = this.sockets.get(fd);
        if (s) s.shutdownCalls++;
        return s ? 0 : -C.EBADF;
      },
      setsockopt: (fd, level, name) => {
        const s = this.sockets.get(fd);
        if (s && level === C.SOL_SOCKET && name === C.SO_LINGER) s.lingerReset = true;
        return 0;
      },
      getsockopt: notUsed, getsockname: notUsed, getpeername: notUsed,
      epollCreate1: notUsed, epollCtl: notUsed, epollWait: notUsed,
      pipe2: (fds) => {
        const pipe: FakePipe = { bytes: [], size: 65536 };
        const r = this.#nextFd++, w = this.#nextFd++;
        this.#pipes.set(r, { pipe, end: "r" });
        this.#pipes.set(w, { pipe, end: "w" });
        (fds as Int32Array)[0] = r;
        (fds as Int32Array)[1] = w;
        return 0;
      },
      fcntl: (fd, cmd, arg) => {
        const p = this.#pipes.get(fd);
        if (!p) return -C.EBADF;
        if (cmd === C.F_SETPIPE_SZ) p.pipe.size = arg;
        return p.pipe.size;
      },
      splice: (i, o, n) => this.#splice(i, o, n),
      sendfile: notUsed,
      read: (fd, buf, n) => this.#read(fd, buf, n),
      write: (fd, buf, n) => this.#write(fd, buf, n),
      recv: notUsed, send: notUsed, eventfd: notUsed, getrlimit: notUsed, setrlimit: notUsed, open: notUsed, openat: notUsed, openat2: notUsed, fstat: notUsed,
    };
  }

  #read(fd: number, buf: Ptr, n: number): number {
    this.calls.push(`read ${fd} ${n}`);
    const cued = this.#cue("read", fd);
    if (cued !== undefined) return cued;
    const got = this.#readFrom(fd, n);
    if (typeof got === "number") return got;
    (buf as Uint8Array).set(got, 0);
    return got.length;
  }

  #write(fd: number, buf: Ptr, n: number): number {
    this.calls.push(`write ${fd} ${n}`);
    const cued = this.#cue("write", fd);
    if (cued !== undefined) return cued;
    return this.#writeTo(fd, Array.from((buf as Uint8Array).subarray(0, n)));
  }
}

/** Deterministic test bytes: `n` bytes starting at `seed`. */
export function bytes(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed + i * 7) & 0xff;
  return out;
}
