/**
 * Parsing the start of a connection as a PROXY protocol header of the
 * versions a listener accepts, and writing one for an upstream.
 *
 * @module
 */
import { isIPv4 } from "node:net";
import { type Address, unmapped } from "./ip.ts";
import { type AcceptMode, invalid, type ParseResult, type ProxyAddresses, type ProxyVersion } from "./types.ts";
import { parseV1, writeV1 } from "./v1.ts";
import { parseV2, V2_SIGNATURE, writeV2 } from "./v2.ts";

/** Bytes to look at to find any whole header (v2's limit; v1's is 107). */
export { V2_MAX_BYTES as MAX_HEADER_BYTES } from "./v2.ts";

/**
 * Parses the header at `buf[start, end)` if it is of a version `accept`
 * allows: INCOMPLETE (read more), invalid with a reason, or done with its
 * length. Never throws. Feeding any prefix of the input gives INCOMPLETE or
 * the same result as the whole input.
 */
export function parseProxyHeader(buf: Uint8Array, start: number, end: number, accept: AcceptMode): ParseResult {
  if (start >= end) return { status: "incomplete" };
  const first = buf[start];
  if (first === V2_SIGNATURE[0] && accept !== "v1") return parseV2(buf, start, end);
  if (first === 0x50 && accept !== "v2") return parseV1(buf, start, end);
  return invalid(accept === "any" ? "not a PROXY protocol header" : `not a PROXY protocol ${accept} header`);
}

/**
 * The header telling an upstream about a connection from `source` to
 * `destination`. IPv4-mapped IPv6 addresses count as IPv4; a pair of
 * different families is sent as IPv6 (the IPv4 one mapped).
 */
export function writeProxyHeader(version: ProxyVersion, source: Address, destination: Address): Uint8Array {
  const addresses = pairOf(source, destination);
  return version === 1 ? writeV1(addresses) : writeV2(addresses);
}

function pairOf(source: Address, destination: Address): ProxyAddresses {
  const s = unmapped(source.host), d = unmapped(destination.host);
  if (isIPv4(s) && isIPv4(d)) return { family: "tcp4", source: { host: s, port: source.port }, destination: { host: d, port: destination.port } };
  const six = (h: string) => (isIPv4(h) ? `::ffff:${h}` : h);
  return { family: "tcp6", source: { host: six(s), port: source.port }, destination: { host: six(d), port: destination.port } };
}
