/**
 * The pump: moves bytes in one direction, src socket → dst socket.
 *
 * Splice path: src → pipe → dst with SPLICE_F_NONBLOCK|SPLICE_F_MOVE. EAGAIN
 * from splice(src→pipe) cannot tell "socket empty" from "pipe full", so the
 * flow counts the bytes sitting in its pipe and never reads while the pipe
 * holds data: it flushes first. The pipe is taken from the pool when there is
 * something to read and returned as soon as it is empty, so an idle flow holds
 * no pipe.
 *
 * Copy path: when the first splice fails with EINVAL/ENOSYS before any byte
 * moved, the flow falls back to read/write through one reused buffer, keeping
 * only bytes the destination did not take yet.
 *
 * Readiness is edge-triggered: `srcReady`/`dstReady` are set by epoll events
 * and cleared only by EAGAIN, so the pump never busy-loops and never waits on
 * a socket that still has work.
 *
 * @module
 */
import { EAGAIN, EINTR, EINVAL, ENOSYS, SHUT_WR, SPLICE_F_MOVE, SPLICE_F_NONBLOCK } from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { F } from "../stats/layout.ts";
import type { Pipe, PipePool } from "./pipe_pool.ts";

const SPLICE_FLAGS = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;

/** The pump is waiting for readiness. */
export const WAITING = 0;
/** Source reached EOF, everything was delivered and dst was shut for writing. */
export const FINISHED = 1;
/** A socket failed; see `Flow.errno` and `Flow.failedAtDst`. */
export const FAILED = 2;

/** What the pump shares within a worker. */
export interface PumpContext {
  readonly sys: Sys;
  readonly pool: PipePool;
  /** The worker's counters. */
  readonly counters: Float64Array;
  /** Reused buffer for the copy path. */
  readonly copyBuffer: Uint8Array;
}

/** One direction of a connection. */
export class Flow {
  pipe: Pipe | null = null;
  /** Bytes spliced into the pipe and not yet out of it. */
  pipeBytes = 0;
  srcReady = true;
  dstReady = true;
  srcEof = false;
  finished = false;
  /** True once the flow switched to read/write. */
  copyMode = false;
  /** Copy path: bytes read but not yet written. */
  pending: Uint8Array | null = null;
  /** Bytes delivered to dst. */
  moved = 0;
  spliced = 0;
  copied = 0;
  /** Positive errno of the failure, when FAILED. */
  errno = 0;
  /** Whether the failure was on the destination side. */
  failedAtDst = false;

  constructor(
    public src: number,
    public dst: number,
    /** Counter slot of this direction: bytes_client_to_upstream or bytes_upstream_to_client. */
    readonly directionField: number,
    /** Scope bases this flow counts into (totals, listener, upstream...). */
    public scopes: number[],
  ) {}
}

/** Moves what can be moved now; returns WAITING, FINISHED or FAILED. */
export function pump(ctx: PumpContext, flow: Flow): number {
  if (flow.finished) return FINISHED;
  return flow.copyMode ? pumpCopy(ctx, flow) : pumpSplice(ctx, flow);
}

function pumpSplice(ctx: PumpContext, flow: Flow): number {
  const sys = ctx.sys;
  for (;;) {
    if (flow.pipeBytes > 0) {
      if (!flow.dstReady) return WAITING;
      const n = sys.splice(flow.pipe!.r, flow.dst, flow.pipeBytes, SPLICE_FLAGS);
      if (n > 0) {
        flow.pipeBytes -= n;
        account(ctx, flow, n, true);
        continue;
      }
      if (n === -EAGAIN) { flow.dstReady = false; return WAITING; }
      if (n === -EINTR) continue;
      return fail(flow, n === 0 ? EINVAL : -n, true);
    }
    if (flow.srcEof) return finish(ctx, flow);
    if (!flow.srcReady) return idle(ctx, flow);
    if (flow.pipe === null) {
      const got = ctx.pool.acquire();
      if (typeof got === "number") return fail(flow, -got, false);
      flow.pipe = got;
    }
    const n = sys.splice(flow.src, flow.pipe.w, flow.pipe.size, SPLICE_FLAGS);
    if (n > 0) { flow.pipeBytes = n; continue; }
    if (n === 0) { flow.srcEof = true; continue; }
    if (n === -EAGAIN) { flow.srcReady = false; return idle(ctx, flow); }
    if (n === -EINTR) continue;
    if ((n === -EINVAL || n === -ENOSYS) && flow.moved === 0) return fallBack(ctx, flow);
    return fail(flow, -n, false);
  }
}

/** The pipe is empty and the source has nothing: give the pipe back. */
function idle(ctx: PumpContext, flow: Flow): number {
  if (flow.pipe !== null) {
    ctx.pool.release(flow.pipe, true);
    flow.pipe = null;
  }
  return WAITING;
}

function finish(ctx: PumpContext, flow: Flow): number {
  idle(ctx, flow);
  flow.finished = true;
  ctx.sys.shutdown(flow.dst, SHUT_WR);
  return FINISHED;
}

function fail(flow: Flow, errno: number, atDst: boolean): number {
  flow.errno = errno;
  flow.failedAtDst = atDst;
  return FAILED;
}

function fallBack(ctx: PumpContext, flow: Flow): number {
  flow.copyMode = true;
  for (const base of flow.scopes) ctx.counters[base + F.splice_fallbacks]++;
  return pumpCopy(ctx, flow);
}

function pumpCopy(ctx: PumpContext, flow: Flow): number {
  for (;;) {
    if (flow.pending !== null) {
      const status = flushPending(ctx, flow);
      if (status !== FINISHED) return status;
    }
    if (flow.srcEof) return finish(ctx, flow);
    if (!flow.srcReady) return WAITING;
    const buf = ctx.copyBuffer;
    const n = ctx.sys.read(flow.src, buf, buf.length);
    if (n === 0) { flow.srcEof = true; continue; }
    if (n === -EAGAIN) { flow.srcReady = false; return WAITING; }
    if (n === -EINTR) continue;
    if (n < 0) return fail(flow, -n, false);
    flow.pending = buf.subarray(0, n);
    const status = flushPending(ctx, flow);
    if (status !== FINISHED) {
      // Keep only what dst did not take, out of the shared buffer.
      if (flow.pending !== null) flow.pending = flow.pending.slice();
      return status;
    }
  }
}

/** Writes `flow.pending`; FINISHED here means "pending is now empty". */
function flushPending(ctx: PumpContext, flow: Flow): number {
  while (flow.pending !== null) {
    if (!flow.dstReady) return WAITING;
    const data = flow.pending;
    const n = ctx.sys.write(flow.dst, data, data.length);
    if (n === -EAGAIN) { flow.dstReady = false; return WAITING; }
    if (n === -EINTR) continue;
    if (n < 0) return fail(flow, -n, true);
    account(ctx, flow, n, false);
    flow.pending = n === data.length ? null : data.subarray(n);
  }
  return FINISHED;
}

/** Counts `n` delivered bytes into every scope of the flow. */
function account(ctx: PumpContext, flow: Flow, n: number, spliced: boolean): void {
  const c = ctx.counters;
  const how = spliced ? F.bytes_spliced : F.bytes_copied;
  const dir = flow.directionField;
  const scopes = flow.scopes;
  for (let i = 0; i < scopes.length; i++) {
    c[scopes[i] + dir] += n;
    c[scopes[i] + how] += n;
  }
  flow.moved += n;
  if (spliced) flow.spliced += n;
  else flow.copied += n;
}

/** Releases the flow's pipe when its connection ends; a non-empty pipe is closed. */
export function releaseFlow(ctx: PumpContext, flow: Flow): void {
  if (flow.pipe !== null) {
    ctx.pool.release(flow.pipe, flow.pipeBytes === 0);
    flow.pipe = null;
    flow.pipeBytes = 0;
  }
  flow.pending = null;
}
