/**
 * The output cursor the head writers share: one per worker (JS runs one
 * writer at a time), so writing allocates nothing. A write past the end of
 * the output marks the cursor full; {@linkcode end} then returns -1.
 *
 * @module
 */

let out: Uint8Array = new Uint8Array(0);
let pos = 0;
let full = false;

/** Spans at least this long are copied with `Uint8Array#set` (a subarray); shorter ones byte by byte. */
export const SET_MIN = 96;

/** Starts writing into `target` at `at`. */
export function begin(target: Uint8Array, at: number): void {
  out = target;
  pos = at;
  full = at > target.length;
}

/** The offset after the last byte written, or -1 when the output was too small. */
export function end(): number {
  const r = full ? -1 : pos;
  out = EMPTY;
  return r;
}

const EMPTY: Uint8Array = new Uint8Array(0);

function room(n: number): boolean {
  if (pos + n <= out.length) return true;
  full = true;
  return false;
}

/** One byte. */
export function putByte(b: number): void {
  if (full || !room(1)) return;
  out[pos++] = b;
}

/** Two bytes (e.g. CRLF, ", "). */
export function putPair(a: number, b: number): void {
  if (full || !room(2)) return;
  out[pos] = a;
  out[pos + 1] = b;
  pos += 2;
}

/** All of `bytes` (short constants and compiled options). */
export function putBytes(bytes: Uint8Array): void {
  putSpan(bytes, 0, bytes.length);
}

/** `src[start, end)`. */
export function putSpan(src: Uint8Array, start: number, end: number): void {
  const n = end - start;
  if (full || !room(n)) return;
  if (n >= SET_MIN) out.set(src.subarray(start, end), pos);
  else for (let i = 0; i < n; i++) out[pos + i] = src[start + i];
  pos += n;
}

/** A non-negative integer below 2^53 in decimal, as `String(n)` writes it. */
export function putDecimal(n: number): void {
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  if (full || !room(digits)) return;
  for (let i = digits - 1; i >= 0; i--) {
    out[pos + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  pos += digits;
}
