/**
 * Encoding and decoding of `struct sockaddr_in` / `sockaddr_in6`.
 * Ports and addresses are in network byte order; the family is host order.
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";
import { AF_INET, AF_INET6, SOCKADDR_IN6_SIZE, SOCKADDR_IN_SIZE, SOCKADDR_MAX } from "./constants.ts";

/** An IP literal and a port. */
export interface IpEndpoint {
  readonly host: string;
  readonly port: number;
}

/** A socket address ready to pass to bind/connect. */
export interface Sockaddr {
  readonly family: number;
  readonly bytes: Uint8Array;
  readonly length: number;
}

/** Encodes an IPv4 or IPv6 literal and port. Throws TypeError for a host name. */
export function encodeSockaddr({ host, port }: IpEndpoint): Sockaddr {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port out of range: ${port}`);
  }
  if (isIPv4(host)) return encode4(host, port);
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (isIPv6(bare)) return encode6(bare, port);
  throw new TypeError(`not an IP address literal: ${host}`);
}

function encode4(host: string, port: number): Sockaddr {
  const bytes = new Uint8Array(SOCKADDR_MAX);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port, false);
  host.split(".").forEach((part, i) => (bytes[4 + i] = Number(part)));
  return { family: AF_INET, bytes, length: SOCKADDR_IN_SIZE };
}

function encode6(host: string, port: number): Sockaddr {
  const bytes = new Uint8Array(SOCKADDR_MAX);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port, false);
  ipv6Groups(host).forEach((group, i) => view.setUint16(8 + 2 * i, group, false));
  return { family: AF_INET6, bytes, length: SOCKADDR_IN6_SIZE };
}

/** Expands an IPv6 literal (with `::` and an optional dotted IPv4 tail) to 8 groups. */
export function ipv6Groups(host: string): number[] {
  let text = host.split("%")[0];
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split(".").map(Number);
    text = text.slice(0, -dotted[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (s: string | undefined) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const zeros = tail === undefined ? [] : new Array(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

/** Decodes a socket address written by the kernel (getsockname, getpeername). */
export function decodeSockaddr(bytes: Uint8Array): IpEndpoint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = view.getUint16(0, true);
  const port = view.getUint16(2, false);
  if (family === AF_INET) return { host: Array.from(bytes.subarray(4, 8)).join("."), port };
  if (family === AF_INET6) {
    const groups = Array.from({ length: 8 }, (_, i) => view.getUint16(8 + 2 * i, false).toString(16));
    const host = isV4Mapped(groups) ? `::ffff:${Array.from(bytes.subarray(20, 24)).join(".")}` : compressIpv6(groups);
    return { host, port };
  }
  throw new RangeError(`unknown address family ${family}`);
}

/** Whether 8 hex groups hold an IPv4-mapped address (`::ffff:a.b.c.d`, RFC 5952 section 5). */
function isV4Mapped(groups: string[]): boolean {
  return groups.slice(0, 5).every((g) => g === "0") && groups[5] === "ffff";
}

function compressIpv6(groups: string[]): string {
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

/** Formats an endpoint as `host:port`, bracketing IPv6. */
export function formatEndpoint({ host, port }: IpEndpoint): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
