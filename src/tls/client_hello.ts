/**
 * A TLS ClientHello reader for SNI routing: a pure function over the bytes a
 * client sent first, which may hold part of the hello (wait for more), the
 * whole hello spread over several TLS records, or something that is not TLS.
 * Nothing is decrypted and nothing is consumed: the caller forwards every
 * byte it buffered, unchanged, once a route is chosen.
 *
 * ```ts
 * const hello = new ClientHello();
 * const r = readClientHello(buf, 0, n, 18 * 1024, hello);
 * if (r === HELLO_OK) route(hello.sni, hello.alpn);   // sni "" when the client sent none
 * ```
 *
 * Checks (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7301 §3.1): records of content
 * type handshake (22) with a 3.x version and 1 to 2^14 bytes; the first
 * handshake message is a ClientHello (type 1) of at most
 * {@linkcode MAX_HELLO_BYTES}; every length inside it adds up exactly; no
 * extension twice; a host_name of letters, digits, `-`, `_` and dots (no
 * empty label, no trailing dot, at most 255 bytes); ALPN names of 1 to 255
 * bytes. An SSLv2-style hello (no SNI possible) is {@linkcode HELLO_NOT_TLS}.
 *
 * @module
 */

/** The whole ClientHello was read; see the {@linkcode ClientHello} it filled. */
export const HELLO_OK = 0;
/** The bytes so far are a valid prefix: read more. */
export const HELLO_NEED_MORE = 1;
/** The first bytes are not a TLS handshake record. */
export const HELLO_NOT_TLS = 2;
/** A TLS record or ClientHello that breaks the format. */
export const HELLO_MALFORMED = 3;
/** The ClientHello (or the records carrying it) would not fit in the limit. */
export const HELLO_TOO_LARGE = 4;
/** Result of {@linkcode readClientHello}. */
export type HelloResult =
  | typeof HELLO_OK
  | typeof HELLO_NEED_MORE
  | typeof HELLO_NOT_TLS
  | typeof HELLO_MALFORMED
  | typeof HELLO_TOO_LARGE;

/** Largest ClientHello body accepted (the handshake message's own length field). */
export const MAX_HELLO_BYTES = 16 * 1024;
/** Bytes of a TLS record header. */
export const RECORD_HEADER = 5;
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const MAX_RECORD = 1 << 14;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const HOST_NAME = 0;

/** What a ClientHello said, filled by {@linkcode readClientHello}. */
export class ClientHello {
  /** The host_name of the server_name extension, lower-cased; "" when absent. */
  sni = "";
  /** The ALPN protocol names, in the client's order; empty when absent. */
  alpn: string[] = [];

  /** Forgets what an earlier hello said. */
  clear(): void {
    this.sni = "";
    this.alpn = [];
  }
}

/**
 * Reads a ClientHello from `buf[start, end)`, the bytes a client sent first.
 * `limit`: most bytes (records and their headers) the caller will buffer; a
 * hello that needs more is {@linkcode HELLO_TOO_LARGE}. Fills `out` on
 * {@linkcode HELLO_OK}. Calling again with more bytes re-reads from `start`.
 */
export function readClientHello(buf: Uint8Array, start: number, end: number, limit: number, out: ClientHello): HelloResult {
  out.clear();
  const body = new Uint8Array(Math.min(end - start, MAX_HELLO_BYTES + 4));
  let have = 0; // handshake bytes gathered from the records so far
  let need = -1; // handshake bytes of the whole message, once its header is in
  let p = start;
  for (;;) {
    if (p === start && end > start && buf[start] !== HANDSHAKE) return HELLO_NOT_TLS;
    if (p + 1 < end && buf[p + 1] !== 3) return p === start ? HELLO_NOT_TLS : HELLO_MALFORMED;
    if (p + RECORD_HEADER - start > limit) return HELLO_TOO_LARGE;
    if (end - p < RECORD_HEADER) return HELLO_NEED_MORE;
    if (buf[p] !== HANDSHAKE) return HELLO_MALFORMED;
    const length = (buf[p + 3] << 8) | buf[p + 4];
    if (length === 0 || length > MAX_RECORD) return HELLO_MALFORMED;
    const recordEnd = p + RECORD_HEADER + length;
    const take = Math.min(length, end - p - RECORD_HEADER, need < 0 ? length : need - have);
    if (have + take > body.length) return HELLO_TOO_LARGE;
    body.set(buf.subarray(p + RECORD_HEADER, p + RECORD_HEADER + take), have);
    have += take;
    if (need < 0 && have >= 4) {
      if (body[0] !== CLIENT_HELLO) return HELLO_MALFORMED;
      const n = (body[1] << 16) | (body[2] << 8) | body[3];
      if (n > MAX_HELLO_BYTES) return HELLO_TOO_LARGE;
      need = 4 + n;
    }
    if (need >= 0 && have >= need) {
      return parseHelloBody(body, 4, need, out) ? HELLO_OK : HELLO_MALFORMED;
    }
    if (recordEnd > end) return recordEnd - start > limit ? HELLO_TOO_LARGE : HELLO_NEED_MORE;
    p = recordEnd;
  }
}

/** A cursor over a byte range, with the length-prefixed reads a ClientHello needs. */
class Reader {
  constructor(readonly b: Uint8Array, public p: number, readonly end: number) {}

  /** Bytes left. */
  get left(): number {
    return this.end - this.p;
  }

  u8(): number {
    return this.p < this.end ? this.b[this.p++] : -1;
  }

  u16(): number {
    if (this.p + 2 > this.end) return -1;
    const v = (this.b[this.p] << 8) | this.b[this.p + 1];
    this.p += 2;
    return v;
  }

  /** A sub-reader over the next `n` bytes (and skips them), or null past the end. */
  take(n: number): Reader | null {
    if (n < 0 || this.p + n > this.end) return null;
    const r = new Reader(this.b, this.p, this.p + n);
    this.p += n;
    return r;
  }
}

/** Parses the ClientHello body `b[start, end)`; false when it is malformed. */
function parseHelloBody(b: Uint8Array, start: number, end: number, out: ClientHello): boolean {
  const r = new Reader(b, start, end);
  if (r.u8() !== 3 || r.u8() < 0 || !r.take(32)) return false; // legacy_version, random
  const session = r.u8();
  if (session < 0 || session > 32 || !r.take(session)) return false;
  const suites = r.u16();
  if (suites < 2 || suites % 2 !== 0 || !r.take(suites)) return false;
  const compression = r.u8();
  if (compression < 1 || !r.take(compression)) return false;
  if (r.left === 0) return true; // no extensions (TLS 1.2 allows it)
  const ext = r.take(r.u16());
  return ext !== null && r.left === 0 && parseExtensions(ext, out);
}

function parseExtensions(r: Reader, out: ClientHello): boolean {
  const seen = new Set<number>();
  while (r.left > 0) {
    const type = r.u16();
    const data = r.take(r.u16());
    if (type < 0 || data === null || seen.has(type)) return false;
    seen.add(type);
    if (type === EXT_SERVER_NAME && !parseServerName(data, out)) return false;
    if (type === EXT_ALPN && !parseAlpn(data, out)) return false;
  }
  return true;
}

/** server_name: a list of (name_type, name); the host_name is taken, other types skipped. */
function parseServerName(r: Reader, out: ClientHello): boolean {
  if (r.left === 0) return true; // the empty form a server sends back; tolerated
  const list = r.take(r.u16());
  if (list === null || r.left !== 0 || list.left === 0) return false;
  while (list.left > 0) {
    const type = list.u8();
    const name = list.take(list.u16());
    if (type < 0 || name === null) return false;
    if (type !== HOST_NAME) continue;
    if (out.sni !== "") return false; // two host_names
    const host = hostName(name.b.subarray(name.p, name.end));
    if (host === null) return false;
    out.sni = host;
  }
  return true;
}

/** `b` as a lower-case host name, or null when it is not one (letters, digits, - and _, dot-separated labels of 1-63). */
export function hostName(b: Uint8Array): string | null {
  if (b.length === 0 || b.length > 255) return null;
  let text = "";
  let label = 0;
  for (let i = 0; i < b.length; i++) {
    let c = b[i];
    if (c === 0x2e) {
      if (label === 0) return null;
      label = 0;
    } else if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f) label++;
    else if (c >= 0x41 && c <= 0x5a) {
      c += 0x20;
      label++;
    } else return null;
    if (label > 63) return null;
    text += String.fromCharCode(c);
  }
  return label === 0 ? null : text;
}

/** application_layer_protocol_negotiation: a non-empty list of 1-255 byte names. */
function parseAlpn(r: Reader, out: ClientHello): boolean {
  const list = r.take(r.u16());
  if (list === null || r.left !== 0 || list.left === 0) return false;
  const names: string[] = [];
  while (list.left > 0) {
    const n = list.u8();
    const name = list.take(n);
    if (n < 1 || name === null) return false;
    names.push(String.fromCharCode(...name.b.subarray(name.p, name.end)));
  }
  out.alpn = names;
  return true;
}
