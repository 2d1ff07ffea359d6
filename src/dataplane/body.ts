/**
 * Forwards one HTTP message body with its framing: Content-Length bodies are
 * spliced exactly; chunked bodies have each chunk-size line read and checked
 * in JS (re-written in canonical form) while the chunk data is spliced;
 * close-delimited bodies are spliced until EOF. Bytes that arrived in the
 * input buffer (with the head) are sent first.
 *
 * Order invariant: nothing is queued to the destination while the transfer
 * still has spliced bytes in flight, so queued lines never overtake data.
 *
 * @module
 */
import { EAGAIN } from "../../ffi/constants.ts";
import type { ResponseFraming } from "../http/response.ts";
import { chunkSizeLine, parseChunkDataEnd, parseChunkLine, parseTrailers } from "../http/chunked.ts";
import { DEFAULT_LIMITS, HeadScan } from "../http/head.ts";
import { encodeLatin1 } from "../http/chars.ts";
import type { InBuffer } from "./inbuf.ts";
import type { PumpContext } from "./pump.ts";
import { T_DONE, T_FAILED, T_WAITING, UNTIL_EOF, type Endpoint, type Transfer } from "./transfer.ts";

const LENGTH = 0, CHUNK_LINE = 1, CHUNK_DATA = 2, CHUNK_CRLF = 3, TRAILERS = 4, LAST = 5, DONE = 6;
/** Read at most this much while looking for a chunk line, so chunk data stays in the socket for splice. */
const LINE_READ = 512;
const CRLF = encodeLatin1("\r\n");

/** Body forwarding is waiting for readiness. */
export const B_WAITING = 0;
/** The whole body was delivered. */
export const B_DONE = 1;
/** Malformed framing (`status` 400/502), too large (413), a socket error, or an early EOF. */
export const B_FAILED = 2;

/** One body on its way from `src` to `dst`. */
export class BodyForwarder {
  #state = DONE;
  readonly #scan = new HeadScan();
  #pendingCrlf = false;
  /** Body bytes (chunk data) seen so far, for the size limit. */
  bodyBytes = 0;
  /** Why it failed: an HTTP status for framing problems, 0 for socket errors/EOF. */
  status = 0;
  reason = "";
  /** Send chunk data without chunk framing (a chunked response to an HTTP/1.0 client). */
  dechunk = false;

  constructor(
    private readonly input: InBuffer,
    private readonly transfer: Transfer,
    private readonly maxBody: number,
    /** Status to report for malformed framing: 400 from clients, 502 from upstreams. */
    private readonly badStatus: number,
  ) {}

  /** Starts a body with `framing`; the head was already queued on the transfer. */
  start(framing: ResponseFraming): void {
    this.#failed = false;
    this.#scan.reset();
    this.#pendingCrlf = false;
    this.bodyBytes = 0;
    this.status = 0;
    if (framing.kind === "none") { this.#state = LAST; return; }
    if (framing.kind === "chunked") { this.#state = CHUNK_LINE; return; }
    const total = framing.kind === "length" ? framing.length : UNTIL_EOF;
    if (total !== UNTIL_EOF && total > this.maxBody) return this.#tooLarge();
    const buffered = this.input.take(total === UNTIL_EOF ? this.input.size : total);
    this.bodyBytes = total === UNTIL_EOF ? buffered.length : total;
    this.transfer.push(buffered);
    this.transfer.remaining = total === UNTIL_EOF ? UNTIL_EOF : total - buffered.length;
    this.#state = LENGTH;
  }

  /** True once the body is fully delivered. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** Moves the body forward; B_WAITING, B_DONE or B_FAILED. */
  step(ctx: PumpContext, src: Endpoint, dst: Endpoint): number {
    if (this.#failed) return B_FAILED;
    for (;;) {
      switch (this.#state) {
        case DONE:
          return B_DONE;
        case LENGTH:
        case CHUNK_DATA:
        case LAST: {
          const t = this.transfer.step(ctx, src, dst);
          if (t === T_WAITING) return B_WAITING;
          if (t === T_FAILED) return this.#fail(0, this.transfer.truncated ? "body ended early" : "socket error");
          this.#state = this.#state === CHUNK_DATA ? CHUNK_CRLF : DONE;
          continue;
        }
        case CHUNK_LINE:
        case CHUNK_CRLF:
        case TRAILERS: {
          const r = this.#parse(ctx, src);
          if (r !== B_DONE) return r;
          if (this.#failed) return B_FAILED;
          continue;
        }
      }
    }
  }

  /** Parses the next framing element from the input buffer, reading more when needed. */
  #parse(ctx: PumpContext, src: Endpoint): number {
    const { buf, start, end } = this.input;
    const r = this.#state === CHUNK_LINE ? parseChunkLine(buf, start, end, this.#scan)
      : this.#state === CHUNK_CRLF ? parseChunkDataEnd(buf, start, end)
      : parseTrailers(buf, start, end, DEFAULT_LIMITS, this.#scan);
    if (r.kind === "error") return this.#fail(this.badStatus, r.reason);
    if (r.kind === "incomplete") return this.#readMore(ctx, src);
    this.input.consume(r.length);
    if (this.#state === CHUNK_CRLF) {
      this.#pendingCrlf = true;
      this.#state = CHUNK_LINE;
    } else if (this.#state === CHUNK_LINE && "size" in r) {
      this.#chunk(r.size);
    } else if ("fields" in r) {
      this.#trailers(r.fields);
    }
    return B_DONE;
  }

  #chunk(size: number): void {
    const prefix = this.#pendingCrlf ? "\r\n" : "";
    this.#pendingCrlf = false;
    if (size === 0) {
      if (!this.dechunk) this.transfer.push(encodeLatin1(`${prefix}0\r\n`));
      this.#state = TRAILERS;
      return;
    }
    this.bodyBytes += size;
    if (this.bodyBytes > this.maxBody) return this.#tooLarge();
    if (!this.dechunk) this.transfer.push(encodeLatin1(`${prefix}${chunkSizeLine(size)}`));
    const buffered = this.input.take(size);
    this.transfer.push(buffered);
    this.transfer.remaining = size - buffered.length;
    this.#state = CHUNK_DATA;
  }

  #trailers(fields: readonly [string, string][]): void {
    this.#state = LAST;
    if (this.dechunk) return;
    let text = "";
    for (const [name, value] of fields) text += `${name}: ${value}\r\n`;
    this.transfer.push(text === "" ? CRLF : encodeLatin1(`${text}\r\n`));
  }

  #readMore(ctx: PumpContext, src: Endpoint): number {
    if (src.eof) return this.#fail(0, "body ended early");
    if (!src.readable) return B_WAITING;
    const n = this.input.fill(ctx.sys, src, LINE_READ);
    if (n > 0) return B_DONE;
    if (n === -EAGAIN) return B_WAITING;
    if (n === 0) return this.#fail(0, "body ended early");
    return this.#fail(0, "socket error");
  }

  #tooLarge(): void {
    this.#state = LAST;
    this.status = 413;
    this.reason = "body larger than the route allows";
    this.#failed = true;
  }

  #failed = false;

  /** Whether start() or step() found the body unacceptable. */
  get failed(): boolean {
    return this.#failed;
  }

  #fail(status: number, reason: string): number {
    this.status = status;
    this.reason = reason;
    this.#failed = true;
    return B_FAILED;
  }
}
