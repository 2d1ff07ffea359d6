/**
 * Moving one HTTP message part between two sockets: first bytes that JS
 * holds (heads, chunk-size lines, bytes that arrived with a head), then up to
 * `remaining` bytes spliced straight from the source socket (or until EOF).
 *
 * Readiness lives on the {@link Endpoint}s (set by epoll events, cleared by
 * EAGAIN) because both directions of an HTTP connection share the sockets.
 *
 * @module
 */
import { EAGAIN, EINTR, SPLICE_F_MOVE, SPLICE_F_NONBLOCK } from "../../ffi/constants.ts";
import { F } from "../stats/layout.ts";
import type { Pipe } from "./pipe_pool.ts";
import type { PumpContext } from "./pump.ts";

const SPLICE_FLAGS = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;
/** Queued pieces up to this many bytes in all are written with one write(2). */
const COALESCE_MAX = 64 * 1024;

/** One socket of a session with its readiness. */
export class Endpoint {
  readable = true;
  writable = true;
  /** Read side reached EOF. */
  eof = false;
  constructor(public fd: number) {}
}

/** Waiting for readiness. */
export const T_WAITING = 0;
/** Everything asked for was delivered. */
export const T_DONE = 1;
/** A socket failed (`errno`), or the source ended early (`truncated`). */
export const T_FAILED = 2;

/** Means "splice until the source's EOF". */
export const UNTIL_EOF = -1;

/** One direction's queued bytes and spliced remainder. */
export class Transfer {
  #queue: Uint8Array[] = [];
  #pipe: Pipe | null = null;
  #pipeBytes = 0;
  /** Bytes still to splice from the source, or UNTIL_EOF. */
  remaining = 0;
  errno = 0;
  truncated = false;
  failedAtDst = false;
  /** Bytes delivered, by path. */
  spliced = 0;
  copied = 0;

  constructor(
    /** Counter slot of this direction (bytes_client_to_upstream / bytes_upstream_to_client). */
    readonly directionField: number,
    /** Scope bases counted into. */
    public scopes: number[],
  ) {}

  /** Queues bytes JS holds; they are written before anything spliced after them. */
  push(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#queue.push(bytes);
  }

  /** Whether nothing is queued or in the pipe. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#pipeBytes === 0;
  }

  /** Moves what it can; T_DONE once the queue, the pipe and `remaining` are all empty. */
  step(ctx: PumpContext, src: Endpoint, dst: Endpoint): number {
    for (;;) {
      if (this.#queue.length > 0) {
        const status = this.#flushQueue(ctx, dst);
        if (status !== T_DONE) return status;
      }
      if (this.#pipeBytes > 0) {
        const status = this.#flushPipe(ctx, dst);
        if (status !== T_DONE) return status;
      }
      if (this.remaining === 0) return this.#finish(ctx);
      if (src.eof) {
        if (this.remaining === UNTIL_EOF) return this.#finish(ctx);
        this.truncated = true;
        return T_FAILED;
      }
      if (!src.readable) return this.#idle(ctx);
      const status = this.#fillPipe(ctx, src);
      if (status !== T_DONE) return status;
    }
  }

  /** Gives back the pipe when the session ends (closed if it still holds bytes). */
  release(ctx: PumpContext): void {
    if (this.#pipe !== null) ctx.pool.release(this.#pipe, this.#pipeBytes === 0);
    this.#pipe = null;
    this.#pipeBytes = 0;
    this.#queue.length = 0;
    this.remaining = 0;
    this.errno = 0;
    this.truncated = false;
    this.failedAtDst = false;
  }

  #fillPipe(ctx: PumpContext, src: Endpoint): number {
    if (this.#pipe === null) {
      const got = ctx.pool.acquire();
      if (typeof got === "number") return this.#fail(-got, false);
      this.#pipe = got;
    }
    const want = this.remaining === UNTIL_EOF ? this.#pipe.size : Math.min(this.remaining, this.#pipe.size);
    const n = ctx.sys.splice(src.fd, this.#pipe.w, want, SPLICE_FLAGS);
    if (n > 0) {
      this.#pipeBytes = n;
      if (this.remaining !== UNTIL_EOF) this.remaining -= n;
      return T_DONE;
    }
    if (n === 0) { src.eof = true; return T_DONE; }
    if (n === -EAGAIN) { src.readable = false; return this.#idle(ctx); }
    if (n === -EINTR) return T_DONE;
    return this.#fail(-n, false);
  }

  #flushPipe(ctx: PumpContext, dst: Endpoint): number {
    while (this.#pipeBytes > 0) {
      if (!dst.writable) return T_WAITING;
      const n = ctx.sys.splice(this.#pipe!.r, dst.fd, this.#pipeBytes, SPLICE_FLAGS);
      if (n > 0) { this.#pipeBytes -= n; this.#account(ctx, n, true); continue; }
      if (n === -EAGAIN) { dst.writable = false; return T_WAITING; }
      if (n === -EINTR) continue;
      return this.#fail(n === 0 ? 32 : -n, true);
    }
    return T_DONE;
  }

  #flushQueue(ctx: PumpContext, dst: Endpoint): number {
    const q = this.#queue;
    if (q.length > 1) this.#coalesce();
    while (q.length > 0) {
      if (!dst.writable) return T_WAITING;
      const data = q[0];
      const n = ctx.sys.write(dst.fd, data, data.length);
      if (n === -EAGAIN) { dst.writable = false; return T_WAITING; }
      if (n === -EINTR) continue;
      if (n < 0) return this.#fail(-n, true);
      this.#account(ctx, n, false);
      if (n === data.length) q.shift();
      else q[0] = data.subarray(n);
    }
    return T_DONE;
  }

  /** Joins small queued pieces (a head and the body bytes that came with it) into one write. */
  #coalesce(): void {
    const q = this.#queue;
    let total = 0;
    for (const piece of q) total += piece.length;
    if (total > COALESCE_MAX) return;
    const joined = new Uint8Array(total);
    let at = 0;
    for (const piece of q) {
      joined.set(piece, at);
      at += piece.length;
    }
    q.length = 0;
    q.push(joined);
  }

  #idle(ctx: PumpContext): number {
    if (this.#pipe !== null && this.#pipeBytes === 0) {
      ctx.pool.release(this.#pipe, true);
      this.#pipe = null;
    }
    return T_WAITING;
  }

  #finish(ctx: PumpContext): number {
    this.#idle(ctx);
    return T_DONE;
  }

  #fail(errno: number, atDst: boolean): number {
    this.errno = errno;
    this.failedAtDst = atDst;
    return T_FAILED;
  }

  #account(ctx: PumpContext, n: number, spliced: boolean): void {
    const c = ctx.counters;
    const how = spliced ? F.bytes_spliced : F.bytes_copied;
    for (const base of this.scopes) {
      c[base + this.directionField] += n;
      c[base + how] += n;
    }
    if (spliced) this.spliced += n;
    else this.copied += n;
  }
}
