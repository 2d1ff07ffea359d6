/**
 * `HOST:PORT` parsing and name resolution for listeners and upstreams.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

/** A host (name or IP literal, IPv6 without brackets) and a port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses `host:port`, `[v6]:port` or `:port` (all addresses). Throws SyntaxError. */
export function parseHostPort(text: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.%\w]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) throw new SyntaxError(`expected HOST:PORT or [IPv6]:PORT, got "${text}"`);
  const host = m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]);
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`port out of range in "${text}"`);
  if (m[1] !== undefined && isIP(host) !== 6) throw new SyntaxError(`not an IPv6 address in "${text}"`);
  return { host, port };
}

/** Resolves a host name to one IP literal (IP literals pass through). */
export async function resolveHost(host: string): Promise<string> {
  if (isIP(host)) return host;
  const { address } = await lookup(host);
  return address;
}
