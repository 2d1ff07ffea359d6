/**
 * Request ids (an HTTP listener's `requestId: { "header": "X-Request-ID" }`):
 * each request keeps the id its client sent in that header, or gets a new
 * one; the proxy forwards it upstream, returns it to the client and logs it.
 *
 * An incoming id is kept when it is 1 to {@linkcode MAX_ID_LENGTH} bytes of
 * visible ASCII (0x21-0x7e); the first field of that name counts, and an
 * invalid one is replaced. A new id is 32 lowercase hex digits: 16 bytes of
 * `crypto.getRandomValues`, the form of nginx's `$request_id`. 128 random bits
 * need no coordination to be unique across workers, processes and restarts;
 * the random bytes are drawn 4 KiB at a time.
 *
 * The id lives in bytes: writing it into a head copies bytes, and its string
 * is made only for the access log or a response the proxy makes itself.
 *
 * @module
 */
import { CR, LF } from "../http/chars.ts";
import { asciiBytes, equalsLower } from "../http/wire/names.ts";
import { F_ID, F_NAME, F_NAME_END, F_VALUE, F_VALUE_END, type RequestView, STRIDE } from "../http/wire/mod.ts";
import { N_OTHER } from "../http/wire/names.ts";

/** Longest incoming id kept (longer ones are replaced). */
export const MAX_ID_LENGTH = 200;
/** Random bytes a new id takes. */
const ID_BYTES = 16;
/** Random bytes drawn at once: ids for 256 requests. */
const POOL_BYTES = 4096;
const HEX = asciiBytes("0123456789abcdef");

// Per worker: each worker has its own module instance, so no two share a pool.
const pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;

/** One connection's current request id, and how its header is written. */
export class RequestId {
  /** The id's bytes: `bytes[0, length)`. */
  readonly bytes = new Uint8Array(MAX_ID_LENGTH);
  length = 0;
  /** `Name: ` as configured (case kept), written before the id. */
  readonly #prefix: Uint8Array;
  /** The name lowercased, to find the field in a request. */
  readonly #lower: Uint8Array;
  #text: string | null = null;

  /** `header`: the configured name (validated as a header name by the config). */
  constructor(readonly header: string) {
    this.#prefix = asciiBytes(`${header}: `);
    this.#lower = asciiBytes(header.toLowerCase());
  }

  /**
   * The id of the request in `view` (parsed from `buf`): its header's value
   * when valid, else a new one. `view` null (a head that did not parse): a new one.
   */
  take(view: RequestView | null, buf: Uint8Array): void {
    this.#text = null;
    if (view !== null && this.#copyFrom(view, buf)) return;
    this.#fresh();
  }

  /** The id as a string (made once per request, when asked). */
  text(): string {
    return this.#text ??= String.fromCharCode.apply(null, this.bytes.subarray(0, this.length) as unknown as number[]);
  }

  /**
   * Adds `Name: id` as the last field of the head in `out[0, end)` (which ends
   * with its empty line); returns the new end, or -1 when `out` is too small.
   */
  appendTo(out: Uint8Array, end: number): number {
    const p = this.#prefix, n = this.length;
    if (end + p.length + n + 2 > out.length) return -1;
    let at = end - 2; // before the empty line
    // Byte loops: for a few dozen bytes they beat TypedArray.set, which has a fixed cost per call.
    for (let i = 0; i < p.length; i++) out[at + i] = p[i];
    at += p.length;
    const b = this.bytes;
    for (let i = 0; i < n; i++) out[at + i] = b[i];
    at += n;
    out[at++] = CR;
    out[at++] = LF;
    out[at++] = CR;
    out[at++] = LF;
    return at;
  }

  /** Copies the first field of the configured name when its value is a valid id. */
  #copyFrom(view: RequestView, buf: Uint8Array): boolean {
    const f = view.fields, want = this.#lower;
    for (let i = 0; i < view.fieldCount; i++) {
      const at = i * STRIDE;
      if (f[at + F_ID] !== N_OTHER || f[at + F_NAME_END] - f[at + F_NAME] !== want.length) continue;
      if (!equalsLower(buf, f[at + F_NAME], want)) continue;
      return this.#copyValue(buf, f[at + F_VALUE], f[at + F_VALUE_END]);
    }
    return false;
  }

  #copyValue(buf: Uint8Array, start: number, end: number): boolean {
    const n = end - start;
    if (n < 1 || n > MAX_ID_LENGTH) return false;
    for (let i = start; i < end; i++) if (buf[i] < 0x21 || buf[i] > 0x7e) return false;
    const b = this.bytes;
    for (let i = 0; i < n; i++) b[i] = buf[start + i];
    this.length = n;
    return true;
  }

  /** A new id: 16 random bytes as 32 hex digits. */
  #fresh(): void {
    if (poolAt + ID_BYTES > POOL_BYTES) {
      crypto.getRandomValues(pool);
      poolAt = 0;
    }
    const b = this.bytes;
    for (let i = 0; i < ID_BYTES; i++) {
      const v = pool[poolAt + i];
      b[2 * i] = HEX[v >> 4];
      b[2 * i + 1] = HEX[v & 15];
    }
    poolAt += ID_BYTES;
    this.length = 2 * ID_BYTES;
  }
}
