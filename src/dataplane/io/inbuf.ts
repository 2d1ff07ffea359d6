/**
 * A per-socket input buffer for the bytes JS must see: HTTP heads, chunk-size
 * lines, and whatever arrived together with them.
 *
 * @module
 */
import { EAGAIN, EINTR } from "../../../ffi/constants.ts";
import type { Sys } from "../../../ffi/sys.ts";
import type { Endpoint } from "./endpoint.ts";
import type { Stream } from "./stream.ts";

/** Result of {@link InBuffer.fill}: bytes read, 0 at EOF, or -errno (-EAGAIN: nothing now). */
export type FillResult = number;

/** Free backing arrays by capacity, per worker (each worker has its own module instance). */
const free = new Map<number, Uint8Array[]>();
const MAX_FREE = 256;

/**
 * Bytes `buf[start, end)` read from one socket and not consumed yet. The
 * backing array is taken from a per-worker pool on first use and given back
 * by {@link InBuffer.release} when empty, so idle connections hold none.
 */
export class InBuffer {
  #buf: Uint8Array | null = null;
  start = 0;
  end = 0;

  constructor(readonly capacity: number) {}

  /** The backing array (taken from the pool if the buffer had none). */
  get buf(): Uint8Array {
    return (this.#buf ??= free.get(this.capacity)?.pop() ?? new Uint8Array(this.capacity));
  }

  /** Gives the backing array back to the pool if no unconsumed byte is in it. */
  release(): void {
    if (this.#buf === null || this.size > 0) return;
    const list = free.get(this.capacity) ?? [];
    if (list.length < MAX_FREE) list.push(this.#buf);
    free.set(this.capacity, list);
    this.#buf = null;
    this.start = this.end = 0;
  }

  /** Unconsumed byte count. */
  get size(): number {
    return this.end - this.start;
  }

  /** Marks `n` bytes consumed. */
  consume(n: number): void {
    this.start += n;
    if (this.start === this.end) this.start = this.end = 0;
  }

  /**
   * Queues up to `n` unconsumed bytes on `stream` without copying and marks
   * them consumed; returns how many. The stream borrows them until its next
   * step returns, so step it before this buffer is filled again.
   */
  moveTo(stream: Stream, n: number): number {
    const k = n < this.size ? n : this.size;
    if (k <= 0) return 0;
    stream.push(this.buf, this.start, this.start + k);
    this.start += k;
    if (this.start === this.end) this.start = this.end = 0;
    return k;
  }

  /**
   * Reads up to `max` more bytes from `ep` (compacting first). Updates the
   * endpoint's readiness (a short read clears it) and EOF. Returns bytes read, 0 (EOF) or -errno.
   */
  fill(sys: Sys, ep: Endpoint, max = this.buf.length): FillResult {
    if (this.start > 0 && this.end + Math.min(max, 512) > this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    const room = Math.min(max, this.buf.length - this.end);
    if (room <= 0) return -EAGAIN;
    for (;;) {
      const buf = this.buf;
      const n = sys.read(ep.fd, this.end === 0 ? buf : buf.subarray(this.end), room);
      if (n > 0) {
        this.end += n;
        // A short read drained the socket: with edge-triggered epoll, anything that arrives
        // later raises a new event, so skip the read that would only say EAGAIN.
        if (n < room && !ep.hup) ep.readable = false;
        return n;
      }
      if (n === 0) { ep.eof = true; return 0; }
      if (n === -EINTR) continue;
      if (n === -EAGAIN) ep.readable = false;
      return n;
    }
  }
}
