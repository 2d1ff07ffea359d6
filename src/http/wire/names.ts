/**
 * Field names and methods recognised as bytes: the few names the proxy acts
 * on get a small id (compared case-insensitively, by length first); the
 * common methods are interned so that reading them allocates nothing.
 *
 * @module
 */

/** Any field name the proxy does not act on. */
export const N_OTHER = 0;
/** `host` */
export const N_HOST = 1;
/** `content-length` */
export const N_CONTENT_LENGTH = 2;
/** `transfer-encoding` */
export const N_TRANSFER_ENCODING = 3;
/** `connection` */
export const N_CONNECTION = 4;
/** `upgrade` */
export const N_UPGRADE = 5;
/** `expect` */
export const N_EXPECT = 6;
/** `te` */
export const N_TE = 7;
/** `trailer` */
export const N_TRAILER = 8;
/** `keep-alive` */
export const N_KEEP_ALIVE = 9;
/** `proxy-connection` */
export const N_PROXY_CONNECTION = 10;
/** `x-forwarded-for` */
export const N_X_FORWARDED_FOR = 11;
/** `x-forwarded-proto` */
export const N_X_FORWARDED_PROTO = 12;
/** `x-forwarded-host` */
export const N_X_FORWARDED_HOST = 13;
/** `via` */
export const N_VIA = 14;
/** One more than the largest id (size of per-id tables). */
export const N_COUNT = 15;

/** The lowercase name of each id (index = id; `""` for {@linkcode N_OTHER}). */
export const NAME_OF: readonly string[] = [
  "",
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "expect",
  "te",
  "trailer",
  "keep-alive",
  "proxy-connection",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "via",
];

/** ASCII lowercase of each byte (other bytes unchanged). */
export const LOWER: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
  return t;
})();

/** The bytes of an ASCII string. */
export function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Longest name with an id ("transfer-encoding", "x-forwarded-proto"). */
const MAX_NAME = 17;

/**
 * The one candidate id per (length, lowercase first byte), at
 * `length * 256 + byte`: no two names with an id share both, so a name is
 * recognised by one table read and one compare of its bytes.
 */
const CANDIDATE: Uint8Array = (() => {
  const t = new Uint8Array((MAX_NAME + 1) * 256);
  for (let id = 1; id < N_COUNT; id++) {
    const name = NAME_OF[id];
    const at = name.length * 256 + name.charCodeAt(0);
    if (t[at] !== 0) throw new Error(`names ${NAME_OF[t[at]]} and ${name} share length and first byte`);
    t[at] = id;
  }
  return t;
})();

/** The lowercase bytes of each id's name (index = id). */
const NAME_BYTES: Uint8Array[] = NAME_OF.map((n) => asciiBytes(n));

/** True when `buf[at, at + want.length)` equals the lowercase `want`, ignoring ASCII case. */
export function equalsLower(buf: Uint8Array, at: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (LOWER[buf[at + i]] !== want[i]) return false;
  return true;
}

/** The id of the field name `buf[start, end)` (case-insensitive), {@linkcode N_OTHER} for any other. */
export function nameId(buf: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n > MAX_NAME || n <= 0) return N_OTHER;
  const id = CANDIDATE[n * 256 + LOWER[buf[start]]];
  if (id === N_OTHER) return N_OTHER;
  const want = NAME_BYTES[id];
  for (let i = 1; i < n; i++) if (LOWER[buf[start + i]] !== want[i]) return N_OTHER;
  return id;
}

/** Hop-by-hop ids (RFC 9110 §7.6.1) and content-length: never copied as received. */
export const DROPPED_ID: Uint8Array = (() => {
  const t = new Uint8Array(N_COUNT);
  for (const id of [N_CONNECTION, N_KEEP_ALIVE, N_PROXY_CONNECTION, N_TE, N_TRAILER, N_TRANSFER_ENCODING, N_UPGRADE, N_CONTENT_LENGTH]) {
    t[id] = 1;
  }
  return t;
})();

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
const METHOD_BYTES = METHODS.map(asciiBytes);

/** The interned method string when `buf[start, end)` is a common method (case-sensitive), else undefined. */
export function internedMethod(buf: Uint8Array, start: number, end: number): string | undefined {
  const n = end - start;
  for (let i = 0; i < METHODS.length; i++) {
    const m = METHOD_BYTES[i];
    if (m.length === n && sameBytes(buf, start, m)) return METHODS[i];
  }
  return undefined;
}

function sameBytes(buf: Uint8Array, at: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (buf[at + i] !== want[i]) return false;
  return true;
}

/** True when the string `s` has exactly the bytes `buf[start, end)` (latin1), so it can be reused. */
export function sameString(s: string | undefined, buf: Uint8Array, start: number, end: number): boolean {
  if (s === undefined || s.length !== end - start) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}
