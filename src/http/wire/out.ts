/**
 * The output cursor the head writers share: one per worker (JS runs one
 * writer at a time), so writing allocates nothing. A write past the end of
 * the output marks the cursor full; {@linkcode end} then returns -1.
 *
 * Spans are copied four bytes at a time through DataViews (one per buffer,
 * made once and kept in a WeakMap): about twice as fast as a byte loop on
 * both JITs, and unlike `out.set(src.subarray(..))` it allocates nothing.
 * Only spans of {@linkcode SET_MIN} bytes or more use `set` (one subarray
 * object, ~30-45 ns flat, cheaper than the loop from there).
 *
 * @module
 */

const EMPTY: Uint8Array = new Uint8Array(0);

/** Spans at least this long are copied with `Uint8Array#set` (allocates a subarray); shorter ones by words. */
export const SET_MIN = 512;

/** Spans shorter than this are copied byte by byte (labels, tokens: no DataView lookup). */
const WORDS_MIN = 24;

const views = new WeakMap<Uint8Array, DataView>();

/** A DataView on exactly the bytes of `a`, made once per array. */
function viewOf(a: Uint8Array): DataView {
  let v = views.get(a);
  if (v === undefined) views.set(a, v = new DataView(a.buffer, a.byteOffset, a.byteLength));
  return v;
}

/** The cursor's state: one object of fixed shape (module `let`s cost a hole check per access). */
class Cursor {
  out: Uint8Array = EMPTY;
  outView: DataView = viewOf(EMPTY);
  pos = 0;
  full = false;
  src: Uint8Array = EMPTY;
  srcView: DataView = this.outView;
  /** The source before `src` (heads alternate between the input and the constants): no WeakMap lookup when it comes back. */
  src2: Uint8Array = EMPTY;
  srcView2: DataView = this.outView;
}

const W = new Cursor();

/** Starts writing into `target` at `at`. */
export function begin(target: Uint8Array, at: number): void {
  if (target !== W.out) {
    W.out = target;
    W.outView = viewOf(target);
  }
  W.pos = at;
  W.full = at > target.length;
}

/** The offset after the last byte written, or -1 when the output was too small. */
export function end(): number {
  return W.full ? -1 : W.pos;
}

/** False (and the cursor full) when `n` more bytes do not fit. */
function room(n: number): boolean {
  if (W.full) return false;
  if (W.pos + n <= W.out.length) return true;
  W.full = true;
  return false;
}

/** One byte. */
export function putByte(b: number): void {
  if (!room(1)) return;
  W.out[W.pos++] = b;
}

/** Two bytes (e.g. CRLF, ", "). */
export function putPair(a: number, b: number): void {
  if (!room(2)) return;
  const o = W.out, p = W.pos;
  o[p] = a;
  o[p + 1] = b;
  W.pos = p + 2;
}

/** All of `bytes` (short constants and compiled options). */
export function putBytes(bytes: Uint8Array): void {
  putSpan(bytes, 0, bytes.length);
}

/** `src[start, end)`. */
export function putSpan(src: Uint8Array, start: number, end: number): void {
  const n = end - start;
  if (!room(n)) return;
  const o = W.out, p = W.pos;
  if (n < WORDS_MIN) for (let i = 0; i < n; i++) o[p + i] = src[start + i];
  else if (n < SET_MIN) copyWords(src, start, end, p);
  else o.set(src.subarray(start, end), p);
  W.pos = p + n;
}

/** `src[start, end)` to `out` at `p`, four bytes per step, then the rest byte by byte. */
function copyWords(src: Uint8Array, start: number, end: number, p: number): void {
  if (src !== W.src) {
    const was = W.src, wasView = W.srcView;
    W.srcView = src === W.src2 ? W.srcView2 : viewOf(src);
    W.src = src;
    W.src2 = was;
    W.srcView2 = wasView;
  }
  const o = W.out, d = W.outView, sv = W.srcView;
  let i = start;
  for (; i + 4 <= end; i += 4, p += 4) d.setUint32(p, sv.getUint32(i, true), true);
  for (; i < end; i++) o[p++] = src[i];
}

/** A non-negative integer below 2^53 in decimal, as `String(n)` writes it. */
export function putDecimal(n: number): void {
  if (n > 0x7fffffff) return putLargeDecimal(n);
  const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : decimalDigits(n);
  if (!room(digits)) return;
  const o = W.out, p = W.pos;
  let m = n | 0;
  for (let i = p + digits - 1; i >= p; i--) {
    const q = (m / 10) | 0;
    o[i] = 0x30 + m - q * 10;
    m = q;
  }
  W.pos = p + digits;
}

function decimalDigits(n: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  return digits;
}

/** {@linkcode putDecimal} past int32. */
function putLargeDecimal(n: number): void {
  const digits = decimalDigits(n);
  if (!room(digits)) return;
  const o = W.out, p = W.pos;
  for (let i = digits - 1; i >= 0; i--) {
    o[p + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  W.pos = p + digits;
}
