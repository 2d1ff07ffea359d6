/**
 * The stream engine: every byte that moves from one fd to another in the
 * data plane (TCP tunnels, HTTP bodies, 101 tunnels) moves through a
 * {@linkcode Stream}. This is the one module that calls splice(2).
 *
 * One direction, `src` → `dst`:
 * 1. bytes JS queued with {@linkcode Stream.push} (heads, chunk lines, body
 *    bytes that came with a head) go first, joined into one write(2);
 * 2. then up to `remaining` bytes (or until EOF with {@linkcode UNTIL_EOF})
 *    are spliced src → pipe → dst.
 *
 * Invariants (after HAProxy's raw_sock_to_pipe and Go's splicePump):
 * - EAGAIN from splice(src→pipe) cannot tell "socket empty" from "pipe full",
 *   so the stream never reads while its pipe holds bytes: it flushes first.
 * - The pipe is taken from the pool only while bytes move and given back
 *   empty; a pipe that still holds bytes when the stream is released is closed.
 * - EINVAL/ENOSYS on the first splice, before any byte moved, switches the
 *   stream to read/write through the worker's copy buffer, losing nothing.
 *   EINTR is retried; 0 is EOF.
 * - A step moves at most `ctx.budget` bytes out of `src`, then returns
 *   {@linkcode S_YIELD}: the caller runs it again after other connections had
 *   their turn, so one fast flow cannot hold its worker.
 * - Bytes passed to `push` are borrowed until the next `step` returns; what
 *   `dst` did not take by then is copied, so callers may push views of
 *   reused buffers.
 *
 * @module
 */
import { EAGAIN, EINTR, EINVAL, ENOSYS, EPIPE, SPLICE_F_MOVE, SPLICE_F_NONBLOCK } from "../../../ffi/constants.ts";
import type { Sys } from "../../../ffi/sys.ts";
import { F } from "../../stats/layout.ts";
import type { Endpoint } from "./endpoint.ts";
import type { Pipe, PipePool } from "./pipe_pool.ts";

const SPLICE_FLAGS = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;

/** Waiting for readiness of `src` or `dst`. */
export const S_WAITING = 0;
/** Everything asked for was delivered (for UNTIL_EOF: `src` ended and all was flushed). */
export const S_DONE = 1;
/** A socket failed (`errno`, `failedAtDst`) or `src` ended early (`truncated`). */
export const S_FAILED = 2;
/** The step used its byte budget; more can move now. Run it again soon. */
export const S_YIELD = 3;
/** Result of {@linkcode Stream.step}. */
export type StepResult = typeof S_WAITING | typeof S_DONE | typeof S_FAILED | typeof S_YIELD;

/** `remaining` value meaning "splice until the source's EOF". */
export const UNTIL_EOF = -1;

/** What streams share within a worker. */
export interface IoContext {
  readonly sys: Sys;
  readonly pool: PipePool;
  /** The worker's counters. */
  readonly counters: Float64Array;
  /** Reused buffer for the copy path. */
  readonly copyBuffer: Uint8Array;
  /** Reused buffer for joining queued pieces into one write. */
  readonly joinBuffer: Uint8Array;
  /** Reused buffer outgoing heads are written into (grown when a head does not fit). */
  headBuffer: Uint8Array;
  /** Most bytes one step takes out of its source. */
  budget: number;
  /** Monotonic milliseconds, refreshed by the worker once per epoll batch. */
  now: number;
}

/** One direction of a connection. */
export class Stream {
  /** Bytes still to splice after the queue, or UNTIL_EOF. */
  remaining = 0;
  /** Positive errno of the failure. */
  errno = 0;
  /** The failure was on the destination side. */
  failedAtDst = false;
  /** `src` ended before `remaining` reached 0. */
  truncated = false;
  /** Bytes delivered to dst, by path (never reset: a connection's totals). */
  spliced = 0;
  copied = 0;
  /** The stream uses read/write since splice was refused. */
  copyMode = false;
  /** When a byte was last taken from src (ms, `ctx.now`). */
  lastRead = 0;
  /** When a byte was last delivered to dst. */
  lastWrite = 0;
  /** Since when bytes have waited for dst to take them (0 when none wait or dst keeps up). */
  stalledSince = 0;
  #pipe: Pipe | null = null;
  #pipeBytes = 0;
  // The queue: pieces [#head, #count) of these arrays, which never shrink (no allocation once warm).
  #bufs: (Uint8Array | null)[] = [];
  #starts: number[] = [];
  #ends: number[] = [];
  #head = 0;
  #count = 0;
  #borrowed = false;

  constructor(
    public src: Endpoint,
    public dst: Endpoint,
    /** Counter slot of this direction (bytes_client_to_upstream / bytes_upstream_to_client). */
    readonly directionField: number,
    /** Counter scope bases this stream counts into (totals, listener, route, upstream). */
    readonly scopes: number[],
  ) {}

  /** Bytes delivered in all. */
  get moved(): number {
    return this.spliced + this.copied;
  }

  /** True when no queued byte and no byte in the pipe waits for dst. */
  get idle(): boolean {
    return this.#head === this.#count && this.#pipeBytes === 0;
  }

  /** Queues `buf[start, end)` ahead of anything spliced later (borrowed until the next step returns). */
  push(buf: Uint8Array, start = 0, end = buf.length): void {
    if (end <= start) return;
    const i = this.#count++;
    if (i === this.#bufs.length) {
      this.#bufs.push(buf);
      this.#starts.push(start);
      this.#ends.push(end);
    } else {
      this.#bufs[i] = buf;
      this.#starts[i] = start;
      this.#ends[i] = end;
    }
    this.#borrowed = true;
  }

  /** Moves what can move now. */
  step(ctx: IoContext): StepResult {
    const movedBefore = this.moved;
    const r = this.#run(ctx);
    if (this.#borrowed) this.#ownQueue();
    if (r === S_WAITING && !this.idle && !this.dst.writable) {
      if (this.stalledSince === 0 || this.moved !== movedBefore) this.stalledSince = ctx.now;
    } else {
      this.stalledSince = 0;
    }
    return r;
  }

  /** Makes the stream ready for another message on the same sockets (keeps totals). */
  reuse(ctx: IoContext): void {
    this.release(ctx);
    this.errno = 0;
    this.failedAtDst = false;
    this.truncated = false;
    this.stalledSince = 0;
  }

  /** Gives back the pipe (closed if it still holds bytes) and drops the queue. */
  release(ctx: IoContext): void {
    if (this.#pipe !== null) ctx.pool.release(this.#pipe, this.#pipeBytes === 0);
    this.#pipe = null;
    this.#pipeBytes = 0;
    this.#clearQueue();
    this.remaining = 0;
  }

  #run(ctx: IoContext): StepResult {
    let taken = 0;
    for (;;) {
      if (this.#head < this.#count) {
        const r = this.#flushQueue(ctx);
        if (r !== S_DONE) return r;
      }
      if (this.#pipeBytes > 0) {
        const r = this.#flushPipe(ctx);
        if (r !== S_DONE) return r;
      }
      if (this.remaining === 0) return this.#idlePipe(ctx, S_DONE);
      if (this.src.eof) return this.#sourceEnded(ctx);
      if (taken >= ctx.budget) return this.#idlePipe(ctx, this.src.readable ? S_YIELD : S_WAITING);
      if (!this.src.readable) return this.#idlePipe(ctx, S_WAITING);
      const n = this.copyMode ? this.#readCopy(ctx, ctx.budget - taken) : this.#fillPipe(ctx);
      if (n < 0) return n === -1 ? S_FAILED : this.#idlePipe(ctx, S_WAITING);
      taken += n;
    }
  }

  /** Reads into the pipe: bytes read (0 for EOF or EINTR), -1 failed, -2 would block. */
  #fillPipe(ctx: IoContext): number {
    if (this.#pipe === null) {
      const got = ctx.pool.acquire();
      if (typeof got === "number") return this.#fail(-got, false);
      this.#pipe = got;
    }
    const size = this.#pipe.size;
    const want = this.remaining === UNTIL_EOF || this.remaining > size ? size : this.remaining;
    const n = ctx.sys.splice(this.src.fd, this.#pipe.w, want, SPLICE_FLAGS);
    if (n > 0) return this.#took(ctx, n, true);
    if (n === 0) { this.src.eof = true; return 0; }
    if (n === -EAGAIN) { this.src.readable = false; return -2; }
    if (n === -EINTR) return 0;
    if ((n === -EINVAL || n === -ENOSYS) && this.moved === 0 && !this.copyMode) return this.#fallBack(ctx);
    return this.#fail(-n, false);
  }

  /** Copy path: reads into the copy buffer and queues what was read. */
  #readCopy(ctx: IoContext, budget: number): number {
    const buf = ctx.copyBuffer;
    let want = buf.length < budget ? buf.length : budget;
    if (this.remaining !== UNTIL_EOF && this.remaining < want) want = this.remaining;
    const n = ctx.sys.read(this.src.fd, buf, want);
    if (n > 0) {
      this.push(buf, 0, n);
      return this.#took(ctx, n, false);
    }
    if (n === 0) { this.src.eof = true; return 0; }
    if (n === -EAGAIN) { this.src.readable = false; return -2; }
    if (n === -EINTR) return 0;
    return this.#fail(-n, false);
  }

  #took(ctx: IoContext, n: number, piped: boolean): number {
    if (piped) this.#pipeBytes = n;
    if (this.remaining !== UNTIL_EOF) this.remaining -= n;
    this.lastRead = ctx.now;
    return n;
  }

  #fallBack(ctx: IoContext): number {
    this.copyMode = true;
    if (this.#pipe !== null) ctx.pool.release(this.#pipe, true);
    this.#pipe = null;
    const c = ctx.counters, scopes = this.scopes;
    for (let i = 0; i < scopes.length; i++) c[scopes[i] + F.splice_fallbacks]++;
    return 0;
  }

  #flushPipe(ctx: IoContext): StepResult {
    const pipe = this.#pipe!;
    while (this.#pipeBytes > 0) {
      if (!this.dst.writable) return S_WAITING;
      const n = ctx.sys.splice(pipe.r, this.dst.fd, this.#pipeBytes, SPLICE_FLAGS);
      if (n > 0) {
        this.#pipeBytes -= n;
        this.#delivered(ctx, n, true);
        continue;
      }
      if (n === -EAGAIN) { this.dst.writable = false; return S_WAITING; }
      if (n === -EINTR) continue;
      this.#fail(n === 0 ? EPIPE : -n, true);
      return S_FAILED;
    }
    return S_DONE;
  }

  #flushQueue(ctx: IoContext): StepResult {
    if (this.#count - this.#head > 1) this.#join(ctx);
    const bufs = this.#bufs, starts = this.#starts, ends = this.#ends;
    while (this.#head < this.#count) {
      if (!this.dst.writable) return S_WAITING;
      const i = this.#head, buf = bufs[i]!, start = starts[i], len = ends[i] - start;
      const n = ctx.sys.write(this.dst.fd, start === 0 ? buf : buf.subarray(start), len);
      if (n === -EAGAIN) { this.dst.writable = false; return S_WAITING; }
      if (n === -EINTR) continue;
      if (n < 0) {
        this.#fail(-n, true);
        return S_FAILED;
      }
      this.#delivered(ctx, n, false);
      if (n === len) this.#head++;
      else {
        starts[i] = start + n;
        this.dst.writable = false; // a short write filled the send buffer: wait for EPOLLOUT
      }
    }
    this.#clearQueue();
    return S_DONE;
  }

  /** Joins the queued pieces into the join buffer when they fit, for one write. */
  #join(ctx: IoContext): void {
    const out = ctx.joinBuffer;
    let total = 0;
    for (let i = this.#head; i < this.#count; i++) total += this.#ends[i] - this.#starts[i];
    if (total > out.length) return;
    let at = 0;
    for (let i = this.#head; i < this.#count; i++) {
      const buf = this.#bufs[i]!, s = this.#starts[i], e = this.#ends[i];
      if (e - s < 64) for (let j = s; j < e; j++) out[at++] = buf[j];
      else { out.set(buf.subarray(s, e), at); at += e - s; }
    }
    this.#clearQueue();
    this.push(out, 0, total);
  }

  /** Copies what is still queued out of borrowed memory. */
  #ownQueue(): void {
    this.#borrowed = false;
    if (this.#head === this.#count) return;
    let total = 0;
    for (let i = this.#head; i < this.#count; i++) total += this.#ends[i] - this.#starts[i];
    const own = new Uint8Array(total);
    let at = 0;
    for (let i = this.#head; i < this.#count; i++) {
      own.set(this.#bufs[i]!.subarray(this.#starts[i], this.#ends[i]), at);
      at += this.#ends[i] - this.#starts[i];
    }
    this.#clearQueue();
    this.push(own, 0, total);
    this.#borrowed = false;
  }

  #clearQueue(): void {
    const bufs = this.#bufs;
    for (let i = 0; i < this.#count; i++) bufs[i] = null;
    this.#head = this.#count = 0;
  }

  #sourceEnded(ctx: IoContext): StepResult {
    if (this.remaining === UNTIL_EOF) return this.#idlePipe(ctx, S_DONE);
    this.truncated = true;
    return this.#idlePipe(ctx, S_FAILED);
  }

  /** Gives the (empty) pipe back to the pool and returns `r`. */
  #idlePipe(ctx: IoContext, r: StepResult): StepResult {
    if (this.#pipe !== null && this.#pipeBytes === 0) {
      ctx.pool.release(this.#pipe, true);
      this.#pipe = null;
    }
    return r;
  }

  /** Records a failure; returns the fill result "failed" (-1). */
  #fail(errno: number, atDst: boolean): -1 {
    this.errno = errno;
    this.failedAtDst = atDst;
    return -1;
  }

  #delivered(ctx: IoContext, n: number, spliced: boolean): void {
    const c = ctx.counters, scopes = this.scopes, dir = this.directionField;
    const how = spliced ? F.bytes_spliced : F.bytes_copied;
    for (let i = 0; i < scopes.length; i++) {
      c[scopes[i] + dir] += n;
      c[scopes[i] + how] += n;
    }
    if (spliced) this.spliced += n;
    else this.copied += n;
    this.lastWrite = ctx.now;
  }
}
