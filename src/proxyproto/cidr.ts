/**
 * CIDR lists (`listeners[].trustedProxies`): `10.0.0.0/8`, `2001:db8::/32`,
 * or a bare address for one host. An IPv4-mapped IPv6 peer (a dual-stack
 * listener) is matched as its IPv4 address.
 *
 * @module
 */
import { isIPv4 } from "node:net";
import { ipv4Bytes, ipv6Bytes, unmapped } from "./ip.ts";

/** One network: its address bytes and prefix length. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/**
 * Parses `ADDRESS/PREFIX` or a bare address. Throws SyntaxError (not an
 * address) or RangeError (prefix too long, or host bits set).
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const host = slash < 0 ? text : text.slice(0, slash);
  const v4 = isIPv4(host);
  let bytes: Uint8Array;
  try {
    bytes = v4 ? ipv4Bytes(host) : ipv6Bytes(host);
  } catch {
    throw new SyntaxError(`expected an address or CIDR (10.0.0.0/8, 2001:db8::/32), got ${JSON.stringify(text)}`);
  }
  const max = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: max };
  const p = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > max) {
    throw new RangeError(`prefix length in ${JSON.stringify(text)} must be from 0 to ${max}`);
  }
  const cidr = { bytes, prefix: Number(p) };
  if (!hostBitsClear(cidr)) throw new RangeError(`${JSON.stringify(text)} has bits set past /${p} (the network is written with them zero)`);
  return cidr;
}

function hostBitsClear({ bytes, prefix }: Cidr): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) return false;
  }
  return true;
}

/** Whether `bytes` (same family as `cidr`) fall in it. */
function inside(cidr: Cidr, bytes: Uint8Array): boolean {
  if (bytes.length !== cidr.bytes.length) return false;
  const full = cidr.prefix >> 3, rest = cidr.prefix & 7;
  for (let i = 0; i < full; i++) if (bytes[i] !== cidr.bytes[i]) return false;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[full] & mask) === (cidr.bytes[full] & mask);
}

/** A list of networks, matched against peer addresses. */
export class CidrSet {
  readonly #cidrs: readonly Cidr[];

  /** Parses every entry (throws as {@linkcode parseCidr} does). */
  constructor(texts: readonly string[]) {
    this.#cidrs = texts.map(parseCidr);
  }

  /** Whether the IP literal `host` is in one of the networks (false for a string that is no IP address). */
  has(host: string): boolean {
    const h = unmapped(host);
    let bytes: Uint8Array;
    try {
      bytes = isIPv4(h) ? ipv4Bytes(h) : ipv6Bytes(h);
    } catch {
      return false;
    }
    return this.#cidrs.some((c) => inside(c, bytes));
  }
}
