/**
 * Forwards one HTTP message body with its framing over a {@linkcode Stream}:
 * Content-Length bodies are spliced exactly; close-delimited bodies until
 * EOF; chunked bodies have each chunk-size line read and checked in JS and
 * re-written in canonical form.
 *
 * Chunk data small enough to sit in the input buffer is validated there,
 * CRLF after the data included, before any of it is queued: a bad chunk is
 * never forwarded. Larger chunks are spliced and their CRLF is checked after.
 *
 * Order invariants: nothing is queued while the stream still has spliced
 * bytes in flight (elements are parsed only after the stream finished the
 * previous one), and the stream is stepped before the input buffer is filled
 * again (queued bytes may be borrowed from it).
 *
 * @module
 */
import { EAGAIN } from "../../../ffi/constants.ts";
import { chunkSizeLine, forwardableTrailers, parseChunkDataEnd, parseChunkLine, parseTrailers } from "../../http/chunked.ts";
import { encodeLatin1 } from "../../http/chars.ts";
import { DEFAULT_LIMITS, HeadScan } from "../../http/head.ts";
import { BODY_CHUNKED, BODY_LENGTH, BODY_NONE } from "../../http/wire/mod.ts";
import type { InBuffer } from "../io/inbuf.ts";
import { type IoContext, S_DONE, S_FAILED, S_WAITING, S_YIELD, type Stream, UNTIL_EOF } from "../io/stream.ts";

const LENGTH = 0, CHUNK_LINE = 1, CHUNK_DATA = 2, CHUNK_CRLF = 3, TRAILERS = 4, LAST = 5, DONE = 6, SMALL_CHUNK = 7;
/** Read at most this much while looking for a chunk line, so large chunk data stays in the socket for splice. */
const LINE_READ = 4096;
/** Chunks up to this size are read whole into the input buffer and checked before forwarding. */
const SMALL_CHUNK_MAX = 8192;
const CRLF = encodeLatin1("\r\n");
const LAST_CHUNK = encodeLatin1("0\r\n");
const CRLF_LAST_CHUNK = encodeLatin1("\r\n0\r\n");

/** Body forwarding is waiting for readiness. */
export const B_WAITING = 0;
/** The whole body was delivered. */
export const B_DONE = 1;
/** Malformed framing (`status` 400/502), too large (413), a socket error, or an early EOF. */
export const B_FAILED = 2;
/** The stream used its byte budget: step again soon. */
export const B_YIELD = 3;

/** One body on its way over `stream`, with `input` holding what JS read of it. */
export class BodyForwarder {
  #state = DONE;
  readonly #scan = new HeadScan();
  #pendingCrlf = false;
  #chunkSize = 0;
  #maxBody = Number.MAX_SAFE_INTEGER;
  #failed = false;
  /** Body bytes (chunk data) seen so far, for the size limit. */
  bodyBytes = 0;
  /** Why it failed: an HTTP status for framing problems, 0 for socket errors/EOF. */
  status = 0;
  reason = "";
  /** Send chunk data without chunk framing (a chunked response to an HTTP/1.0 client). */
  dechunk = false;

  constructor(
    private readonly input: InBuffer,
    private readonly stream: Stream,
    /** Status to report for malformed framing: 400 from clients, 502 from upstreams. */
    private readonly badStatus: number,
  ) {}

  /**
   * Starts a body framed as `kind` (BODY_NONE, BODY_LENGTH with `length`,
   * BODY_CHUNKED, BODY_CLOSE), at most `maxBody` bytes; the head was already
   * queued on the stream.
   */
  start(kind: number, length: number, maxBody = Number.MAX_SAFE_INTEGER, dechunk = false): void {
    this.#failed = false;
    this.#scan.reset();
    this.#pendingCrlf = false;
    this.#maxBody = maxBody;
    this.dechunk = dechunk;
    this.bodyBytes = 0;
    this.status = 0;
    this.reason = "";
    if (kind === BODY_NONE) { this.#state = LAST; return; }
    if (kind === BODY_CHUNKED) { this.#state = CHUNK_LINE; return; }
    const total = kind === BODY_LENGTH ? length : UNTIL_EOF;
    if (total !== UNTIL_EOF && total > maxBody) {
      this.#tooLarge();
      return;
    }
    this.bodyBytes = total === UNTIL_EOF ? 0 : total;
    this.stream.remaining = total;
    this.#state = LENGTH;
  }

  /** True once the body is fully delivered. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** Whether start() or step() found the body unacceptable. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Moves the body forward. */
  step(ctx: IoContext): number {
    if (this.#failed) return B_FAILED;
    for (;;) {
      switch (this.#state) {
        case DONE:
          return B_DONE;
        case LENGTH:
        case CHUNK_DATA:
        case LAST: {
          if (this.#state === LENGTH) this.#takeBuffered();
          const r = this.#stepStream(ctx);
          if (r !== B_DONE) return r;
          this.#state = this.#state === CHUNK_DATA ? CHUNK_CRLF : DONE;
          continue;
        }
        case SMALL_CHUNK: {
          const r = this.#smallChunk(ctx);
          if (r !== B_DONE) return r;
          continue;
        }
        default: {
          const r = this.#parse(ctx);
          if (r !== B_DONE) return r;
          continue;
        }
      }
    }
  }

  /** Length and close-delimited bodies: queue what came with the head, then splice the rest. */
  #takeBuffered(): void {
    const s = this.stream;
    if (this.input.size === 0 || s.remaining === 0) return;
    const moved = this.input.moveTo(s, s.remaining === UNTIL_EOF ? this.input.size : s.remaining);
    if (s.remaining !== UNTIL_EOF) s.remaining -= moved;
    else this.bodyBytes += moved;
  }

  #stepStream(ctx: IoContext): number {
    const r = this.stream.step(ctx);
    if (r === S_DONE) return B_DONE;
    if (r === S_WAITING) return B_WAITING;
    if (r === S_YIELD) return B_YIELD;
    return this.#fail(0, this.stream.truncated ? "body ended early" : "socket error");
  }

  /** Parses the next framing element from the input buffer, reading more when needed. */
  #parse(ctx: IoContext): number {
    const { buf, start, end } = this.input;
    const r = this.#state === CHUNK_LINE ? parseChunkLine(buf, start, end, this.#scan)
      : this.#state === CHUNK_CRLF ? parseChunkDataEnd(buf, start, end)
      : parseTrailers(buf, start, end, DEFAULT_LIMITS, this.#scan);
    if (r.kind === "error") return this.#fail(this.badStatus, r.reason);
    if (r.kind === "incomplete") return this.#readMore(ctx, LINE_READ);
    this.input.consume(r.length);
    if (this.#state === CHUNK_CRLF) {
      this.#pendingCrlf = true;
      this.#state = CHUNK_LINE;
    } else if (this.#state === CHUNK_LINE && "size" in r) {
      return this.#chunk(r.size);
    } else if ("fields" in r) {
      this.#trailers(r.fields);
    }
    return B_DONE;
  }

  #chunk(size: number): number {
    if (size === 0) {
      if (!this.dechunk) this.stream.push(this.#takeCrlf() ? CRLF_LAST_CHUNK : LAST_CHUNK);
      this.#state = TRAILERS;
      return B_DONE;
    }
    this.bodyBytes += size;
    if (this.bodyBytes > this.#maxBody) return this.#tooLarge();
    this.#chunkSize = size;
    if (size <= SMALL_CHUNK_MAX && size + 2 <= this.input.capacity) {
      this.#state = SMALL_CHUNK;
      return B_DONE;
    }
    this.#queueChunkLine(size);
    this.stream.remaining = size - this.input.moveTo(this.stream, size);
    this.#state = CHUNK_DATA;
    return B_DONE;
  }

  /** A small chunk: wait until its data and CRLF are buffered, check the CRLF, then queue it. */
  #smallChunk(ctx: IoContext): number {
    const size = this.#chunkSize, input = this.input;
    if (input.size < size + 2) return this.#readMore(ctx, Math.max(LINE_READ, size + 2 - input.size));
    const end = parseChunkDataEnd(input.buf, input.start + size, input.end);
    if (end.kind === "error") return this.#fail(this.badStatus, end.reason);
    this.#queueChunkLine(size);
    input.moveTo(this.stream, size);
    input.consume(2);
    this.#pendingCrlf = true;
    this.#state = CHUNK_LINE;
    return B_DONE;
  }

  #queueChunkLine(size: number): void {
    const crlf = this.#takeCrlf();
    if (this.dechunk) return;
    this.stream.push(encodeLatin1(crlf ? `\r\n${chunkSizeLine(size)}` : chunkSizeLine(size)));
  }

  /** Whether the CRLF that ends the previous chunk's data is still to be sent. */
  #takeCrlf(): boolean {
    const pending = this.#pendingCrlf;
    this.#pendingCrlf = false;
    return pending;
  }

  #trailers(fields: readonly [string, string][]): void {
    this.#state = LAST;
    if (this.dechunk) return;
    let text = "";
    for (const [name, value] of forwardableTrailers(fields)) text += `${name}: ${value}\r\n`;
    this.stream.push(text === "" ? CRLF : encodeLatin1(`${text}\r\n`));
  }

  /** Flushes what is queued (it may borrow the input buffer), then reads up to `max` more bytes. */
  #readMore(ctx: IoContext, max: number): number {
    if (!this.stream.idle) {
      const r = this.#stepStream(ctx);
      if (r !== B_DONE) return r;
    }
    const src = this.stream.src;
    if (src.eof) return this.#fail(0, "body ended early");
    if (!src.readable) return B_WAITING;
    const n = this.input.fill(ctx.sys, src, max);
    if (n > 0) return B_DONE;
    if (n === -EAGAIN) return B_WAITING;
    if (n === 0) return this.#fail(0, "body ended early");
    return this.#fail(0, "socket error");
  }

  #tooLarge(): number {
    this.#state = LAST;
    this.status = 413;
    this.reason = "body larger than the route allows";
    this.#failed = true;
    return B_FAILED;
  }

  #fail(status: number, reason: string): number {
    this.status = status;
    this.reason = reason;
    this.#failed = true;
    return B_FAILED;
  }
}
