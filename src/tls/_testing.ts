/**
 * Test support: builds ClientHello messages and the TLS records that carry
 * them, with chosen SNI, ALPN and record splits.
 *
 * @module
 */

/** What a built ClientHello holds. */
export interface HelloSpec {
  readonly sni?: string;
  readonly alpn?: readonly string[];
  /** Bytes of a padding extension (type 21), to make the hello larger. */
  readonly padding?: number;
  /** Leave the extensions block out entirely. */
  readonly noExtensions?: boolean;
}

const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u24 = (n: number) => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

function extension(type: number, data: number[]): number[] {
  return [...u16(type), ...u16(data.length), ...data];
}

/** The handshake message (type 1, 24-bit length, body) of a ClientHello. */
export function helloMessage(spec: HelloSpec = {}): Uint8Array {
  const exts: number[] = [];
  if (spec.sni !== undefined) {
    const name = ascii(spec.sni);
    const entry = [0, ...u16(name.length), ...name];
    exts.push(...extension(0, [...u16(entry.length), ...entry]));
  }
  if (spec.alpn) {
    const list = spec.alpn.flatMap((p) => [p.length, ...ascii(p)]);
    exts.push(...extension(16, [...u16(list.length), ...list]));
  }
  exts.push(...extension(43, [2, 3, 4])); // supported_versions: TLS 1.3
  if (spec.padding) exts.push(...extension(21, new Array(spec.padding).fill(0)));
  const body = [
    3, 3, ...new Array(32).fill(7), // legacy_version, random
    32, ...new Array(32).fill(9), // session id
    ...u16(4), 0x13, 0x01, 0x13, 0x02, // cipher suites
    1, 0, // compression: null
    ...(spec.noExtensions ? [] : [...u16(exts.length), ...exts]),
  ];
  return new Uint8Array([1, ...u24(body.length), ...body]);
}

/** TLS records (type 22, version 3.1) carrying `message`, cut into pieces of the given sizes (the rest in a last record). */
export function records(message: Uint8Array, cuts: readonly number[] = []): Uint8Array {
  const out: number[] = [];
  let p = 0;
  for (const size of [...cuts, message.length]) {
    const n = Math.min(size, message.length - p);
    if (n <= 0) break;
    out.push(22, 3, 1, ...u16(n), ...message.subarray(p, p + n));
    p += n;
  }
  return new Uint8Array(out);
}

/** A whole ClientHello in one record. */
export function clientHello(spec: HelloSpec = {}): Uint8Array {
  return records(helloMessage(spec));
}
