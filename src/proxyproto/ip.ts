/**
 * IP addresses as the PROXY protocol carries them: 4 or 16 bytes in network
 * order on the wire (v2), canonical text everywhere else (v1, logs,
 * X-Forwarded-For). Canonical text is what the kernel-facing code prints too
 * (`ffi/sockaddr.ts`): dotted quads, RFC 5952 IPv6 (lower case, the longest
 * zero run as `::`, IPv4-mapped as `::ffff:a.b.c.d`).
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";
import { ipv6Groups } from "../../ffi/sockaddr.ts";

/** An IP literal (canonical text) and a port. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** The 4 bytes of an IPv4 literal. Throws SyntaxError for anything else. */
export function ipv4Bytes(host: string): Uint8Array {
  if (!isIPv4(host)) throw new SyntaxError(`not an IPv4 address: ${JSON.stringify(host)}`);
  return Uint8Array.from(host.split(".").map(Number));
}

/** The 16 bytes of an IPv6 literal (no zone). Throws SyntaxError for anything else. */
export function ipv6Bytes(host: string): Uint8Array {
  if (host.includes("%") || !isIPv6(host)) throw new SyntaxError(`not an IPv6 address: ${JSON.stringify(host)}`);
  const out = new Uint8Array(16);
  ipv6Groups(host).forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 255;
  });
  return out;
}

/** Canonical text of the IPv4 address at `bytes[at, at + 4)`. */
export function formatIpv4(bytes: Uint8Array, at = 0): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/** Canonical text (RFC 5952) of the IPv6 address at `bytes[at, at + 16)`. */
export function formatIpv6(bytes: Uint8Array, at = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[at + 2 * i] << 8) | bytes[at + 2 * i + 1]);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${formatIpv4(bytes, at + 12)}`;
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** The canonical text of an IPv6 literal. */
export function canonicalIpv6(host: string): string {
  return formatIpv6(ipv6Bytes(host));
}

/** An IPv4-mapped IPv6 literal (`::ffff:1.2.3.4`) as its IPv4 address; anything else unchanged. */
export function unmapped(host: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return m && isIPv4(m[1]) ? m[1] : host;
}
