/**
 * PROXY protocol v1: one text line, at most 107 bytes with its CRLF:
 * `PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n`, `PROXY TCP6 ...`, or
 * `PROXY UNKNOWN` (anything up to the CRLF is ignored).
 *
 * Strict: single spaces, addresses of the named family in standard form (no
 * leading zeros in IPv4, no IPv6 zone), ports 0-65535 in decimal without
 * leading zeros, only printable ASCII, a CR only as part of the final CRLF.
 * Bytes are judged in order, so a prefix of the input is either INCOMPLETE
 * or judged the same as the whole input.
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";
import { canonicalIpv6 } from "./ip.ts";
import { INCOMPLETE, invalid, type ParseResult, type ProxyAddresses, type ProxyHeader } from "./types.ts";

/** Longest v1 line, CRLF included. */
export const V1_MAX_BYTES = 107;
const PREFIX = "PROXY ";
const PORT = /^(0|[1-9]\d{0,4})$/;

/** Parses a v1 header at `buf[start, end)`. */
export function parseV1(buf: Uint8Array, start: number, end: number): ParseResult {
  const avail = end - start;
  for (let i = 0; i < PREFIX.length; i++) {
    if (i >= avail) return INCOMPLETE;
    if (buf[start + i] !== PREFIX.charCodeAt(i)) return invalid("not a PROXY protocol v1 header");
  }
  const limit = Math.min(avail, V1_MAX_BYTES);
  for (let i = PREFIX.length; i < limit; i++) {
    const c = buf[start + i];
    if (c === 0x0d) {
      if (i + 1 >= avail) return INCOMPLETE;
      if (buf[start + i + 1] !== 0x0a) return invalid("v1 header: CR not followed by LF");
      return parseLine(latin1(buf, start + PREFIX.length, start + i), i + 2);
    }
    if (c < 0x20 || c > 0x7e) return invalid("v1 header: a byte that is not printable ASCII before the CRLF");
  }
  return avail >= V1_MAX_BYTES ? invalid(`v1 header: no CRLF within ${V1_MAX_BYTES} bytes`) : INCOMPLETE;
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/** The line after `PROXY ` and before the CRLF; `length` is the whole header's. */
function parseLine(line: string, length: number): ParseResult {
  if (line === "UNKNOWN" || line.startsWith("UNKNOWN ")) return done(length, null);
  const parts = line.split(" ");
  if (parts.length !== 5) return invalid("v1 header: expected PROXY TCP4|TCP6 SOURCE DESTINATION SPORT DPORT");
  const [proto, src, dst, sport, dport] = parts;
  if (proto !== "TCP4" && proto !== "TCP6") return invalid(`v1 header: unknown protocol ${JSON.stringify(proto)}`);
  const v4 = proto === "TCP4";
  const valid = v4 ? isIPv4 : (s: string) => isIPv6(s) && !s.includes("%");
  if (!valid(src) || !valid(dst)) return invalid(`v1 header: addresses are not ${v4 ? "IPv4" : "IPv6"} addresses`);
  if (!PORT.test(sport) || !PORT.test(dport) || Number(sport) > 65535 || Number(dport) > 65535) {
    return invalid("v1 header: ports must be 0 to 65535 without leading zeros");
  }
  const host = v4 ? (s: string) => s : canonicalIpv6;
  return done(length, {
    family: v4 ? "tcp4" : "tcp6",
    source: { host: host(src), port: Number(sport) },
    destination: { host: host(dst), port: Number(dport) },
  });
}

function done(length: number, addresses: ProxyAddresses | null): ParseResult {
  const header: ProxyHeader = { version: 1, local: false, addresses };
  return { status: "done", length, header };
}

/** The v1 line for `addresses` (null: `PROXY UNKNOWN`). */
export function writeV1(addresses: ProxyAddresses | null): Uint8Array {
  const a = addresses;
  const line = a === null
    ? "PROXY UNKNOWN\r\n"
    : `PROXY ${a.family === "tcp4" ? "TCP4" : "TCP6"} ${a.source.host} ${a.destination.host} ${a.source.port} ${a.destination.port}\r\n`;
  return Uint8Array.from(line, (ch) => ch.charCodeAt(0));
}
