/**
 * PROXY protocol v2: a 16-byte binary preamble (12-byte signature, version
 * and command, family and transport, length), the address block, then TLVs.
 *
 * Strict: version 2; command LOCAL or PROXY; a known family byte; for PROXY
 * over TCP (0x11, 0x21) an address block of the full size, then TLVs that
 * fill the rest exactly (each is skipped: spliced uses none). UDP is refused
 * (spliced proxies streams). LOCAL, UNSPEC and AF_UNIX keep the socket's
 * own addresses, and their block is skipped whole. Bytes are judged in order,
 * so a prefix of the input is either INCOMPLETE or judged as the whole is.
 *
 * @module
 */
import { formatIpv4, formatIpv6, ipv4Bytes, ipv6Bytes } from "./ip.ts";
import { INCOMPLETE, invalid, type ParseResult, type ProxyAddresses, type ProxyHeader } from "./types.ts";

/** The v2 signature. */
export const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
/** Largest v2 header accepted, preamble included. */
export const V2_MAX_BYTES = 4096;
const PREAMBLE = 16;

const TCP4 = 0x11, UDP4 = 0x12, TCP6 = 0x21, UDP6 = 0x22, UNIX_STREAM = 0x31, UNIX_DGRAM = 0x32, UNSPEC = 0x00;
/** Address block size by family byte. */
const BLOCK: Record<number, number> = { [UNSPEC]: 0, [TCP4]: 12, [UDP4]: 12, [TCP6]: 36, [UDP6]: 36, [UNIX_STREAM]: 216, [UNIX_DGRAM]: 216 };

/** One TLV to write (tests and senders that add them). */
export interface Tlv {
  readonly type: number;
  readonly value: Uint8Array;
}

/** Parses a v2 header at `buf[start, end)`. */
export function parseV2(buf: Uint8Array, start: number, end: number): ParseResult {
  const avail = end - start;
  for (let i = 0; i < V2_SIGNATURE.length; i++) {
    if (i >= avail) return INCOMPLETE;
    if (buf[start + i] !== V2_SIGNATURE[i]) return invalid("not a PROXY protocol v2 header");
  }
  if (avail < 13) return INCOMPLETE;
  const verCmd = buf[start + 12];
  if (verCmd >> 4 !== 2) return invalid(`v2 header: version ${verCmd >> 4}, expected 2`);
  const command = verCmd & 15;
  if (command > 1) return invalid(`v2 header: unknown command ${command}`);
  if (avail < 14) return INCOMPLETE;
  const family = buf[start + 13];
  if (BLOCK[family] === undefined) return invalid(`v2 header: unknown address family and protocol 0x${family.toString(16).padStart(2, "0")}`);
  const local = command === 0;
  if (!local && (family === UDP4 || family === UDP6 || family === UNIX_DGRAM)) return invalid("v2 header: a datagram protocol on a stream listener");
  if (avail < PREAMBLE) return INCOMPLETE;
  const len = (buf[start + 14] << 8) | buf[start + 15];
  if (PREAMBLE + len > V2_MAX_BYTES) return invalid(`v2 header: ${PREAMBLE + len} bytes, more than the ${V2_MAX_BYTES} accepted`);
  if (len < BLOCK[family] && !local) return invalid(`v2 header: address block of ${len} bytes, expected at least ${BLOCK[family]}`);
  if (avail < PREAMBLE + len) return INCOMPLETE;
  const length = PREAMBLE + len;
  if (local || family === UNSPEC) return done(length, local, null);
  const at = start + PREAMBLE;
  const reason = checkTlvs(buf, at + BLOCK[family], start + length);
  if (reason !== "") return invalid(reason);
  return done(length, false, family === UNIX_STREAM ? null : addresses(buf, at, family === TCP4));
}

/** "" when `buf[from, to)` is a whole number of TLVs, else the reason. */
function checkTlvs(buf: Uint8Array, from: number, to: number): string {
  let i = from;
  while (i < to) {
    if (to - i < 3) return "v2 header: a truncated TLV";
    const n = (buf[i + 1] << 8) | buf[i + 2];
    if (i + 3 + n > to) return "v2 header: a TLV longer than the header";
    i += 3 + n;
  }
  return "";
}

function addresses(buf: Uint8Array, at: number, v4: boolean): ProxyAddresses {
  const size = v4 ? 4 : 16;
  const ip = v4 ? formatIpv4 : formatIpv6;
  const ports = at + 2 * size;
  return {
    family: v4 ? "tcp4" : "tcp6",
    source: { host: ip(buf, at), port: (buf[ports] << 8) | buf[ports + 1] },
    destination: { host: ip(buf, at + size), port: (buf[ports + 2] << 8) | buf[ports + 3] },
  };
}

function done(length: number, local: boolean, addresses: ProxyAddresses | null): ParseResult {
  const header: ProxyHeader = { version: 2, local, addresses };
  return { status: "done", length, header };
}

/**
 * The v2 header for `addresses` (null: PROXY over UNSPEC; `local`: a LOCAL
 * header, addresses omitted), followed by `tlvs`.
 */
export function writeV2(addresses: ProxyAddresses | null, local = false, tlvs: readonly Tlv[] = []): Uint8Array {
  const a = local ? null : addresses;
  const block = a === null ? 0 : a.family === "tcp4" ? 12 : 36;
  const tlvBytes = tlvs.reduce((n, t) => n + 3 + t.value.length, 0);
  const len = block + tlvBytes;
  if (PREAMBLE + len > V2_MAX_BYTES) throw new RangeError(`a v2 header of ${PREAMBLE + len} bytes is over ${V2_MAX_BYTES}`);
  const out = new Uint8Array(PREAMBLE + len);
  out.set(V2_SIGNATURE);
  out[12] = local ? 0x20 : 0x21;
  out[13] = a === null ? UNSPEC : a.family === "tcp4" ? TCP4 : TCP6;
  out[14] = len >> 8;
  out[15] = len & 255;
  if (a !== null) writeAddresses(out, PREAMBLE, a);
  let i = PREAMBLE + block;
  for (const t of tlvs) {
    out[i] = t.type;
    out[i + 1] = t.value.length >> 8;
    out[i + 2] = t.value.length & 255;
    out.set(t.value, i + 3);
    i += 3 + t.value.length;
  }
  return out;
}

function writeAddresses(out: Uint8Array, at: number, a: ProxyAddresses): void {
  const bytes = a.family === "tcp4" ? ipv4Bytes : ipv6Bytes;
  const src = bytes(a.source.host), dst = bytes(a.destination.host);
  out.set(src, at);
  out.set(dst, at + src.length);
  const ports = at + 2 * src.length;
  out[ports] = a.source.port >> 8;
  out[ports + 1] = a.source.port & 255;
  out[ports + 2] = a.destination.port >> 8;
  out[ports + 3] = a.destination.port & 255;
}
