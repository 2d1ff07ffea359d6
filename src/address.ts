/**
 * `HOST:PORT` parsing and name resolution for listeners and upstreams.
 *
 * - `parseHostPort` takes `host:port`, `[v6]:port` and `:port` (all IPv4
 *   addresses); the host is an IP literal or a syntactically valid host name.
 * - A listener's address must be an IP literal ({@link checkListenAddress}):
 *   spliced binds it without a DNS lookup, so the same text binds the same
 *   address on every start and reload.
 * - An upstream needs a host and a port from 1 to 65535 ({@link checkUpstreamAddress});
 *   its host name is resolved at start and on reload ({@link resolveHost}).
 *
 * Every message is spliced's own, the same on both runtimes.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { isIP, isIPv4 } from "node:net";
import { ipv6Groups } from "../ffi/sockaddr.ts";
import { ResolveError } from "./errors.ts";

/** A host (name or IP literal, IPv6 without brackets) and a port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const SHAPE = /^(?:\[([^\]]*)\]|([^:\[\]]*)):(\d+)$/;
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** The host as written (`""` for `:port`), the port, and whether the host was in brackets. */
function split(text: string): { host: string; port: number; bracketed: boolean } {
  const m = SHAPE.exec(text.trim());
  if (!m) {
    const hint = /^[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:\d+$/.test(text.trim()) ? ` (an IPv6 address goes in brackets: [::1]:PORT)` : "";
    throw new SyntaxError(`expected HOST:PORT or [IPv6]:PORT, got ${quote(text)}${hint}`);
  }
  const port = Number(m[3]);
  if (m[3].length > 5 || port > 65535) throw new RangeError(`port out of range in ${quote(text)} (use 0 to 65535)`);
  return { host: m[1] ?? m[2], port, bracketed: m[1] !== undefined };
}

/** Parses `host:port`, `[v6]:port` or `:port` (all addresses). Throws SyntaxError or RangeError. */
export function parseHostPort(text: string): HostPort {
  const { host, port, bracketed } = split(text);
  if (bracketed) {
    if (isIP(host) !== 6) throw new SyntaxError(`not an IPv6 address in ${quote(text)}`);
    return { host, port };
  }
  if (host === "") return { host: "0.0.0.0", port };
  if (/^[0-9.]+$/.test(host)) {
    if (!isIPv4(host)) throw new SyntaxError(`"${host}" is not a valid IPv4 address (four numbers from 0 to 255, as 127.0.0.1)`);
    return { host, port };
  }
  if (!isHostName(host)) throw new SyntaxError(`${quote(host)} is not a valid host name or IP address`);
  return { host, port };
}

/** True for a syntactically valid DNS host name (labels of letters, digits, `-` and `_`; an optional final dot). */
export function isHostName(host: string): boolean {
  const bare = host.endsWith(".") ? host.slice(0, -1) : host;
  if (bare.length === 0 || bare.length > 253) return false;
  return bare.split(".").every((label) => LABEL.test(label)) && !/^[0-9.]+$/.test(bare);
}

/**
 * A listener's address: an IP literal (`:PORT` is every IPv4 address). A host
 * name is refused with the address to write instead.
 */
export function checkListenAddress(text: string): HostPort {
  const hp = parseHostPort(text);
  if (isIP(hp.host)) return hp;
  const instead = hp.host.toLowerCase() === "localhost"
    ? `127.0.0.1:${hp.port} (or [::1]:${hp.port})`
    : `0.0.0.0:${hp.port} for every IPv4 address, [::]:${hp.port} for every address`;
  throw new SyntaxError(`"${hp.host}" is a host name: a listen address is an IP address; use ${instead}`);
}

/** An upstream's address: a host (name or IP literal) and a port from 1 to 65535. */
export function checkUpstreamAddress(text: string): HostPort {
  const raw = split(text);
  if (raw.host === "" && !raw.bracketed) throw new SyntaxError(`the host is missing in ${quote(text)} (expected HOST:PORT)`);
  const hp = parseHostPort(text);
  if (hp.port === 0) throw new RangeError(`port 0 in ${quote(text)}: an upstream needs a port from 1 to 65535`);
  return hp;
}

/** The IP literal in a canonical form: IPv6 expanded, IPv4-mapped IPv6 as IPv4. */
export function canonicalIp(ip: string): string {
  if (isIPv4(ip)) return ip;
  const groups = ipv6Groups(ip);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  return groups.map((g) => g.toString(16)).join(":");
}

const ANY6 = "0:0:0:0:0:0:0:0";

/**
 * Whether two listening addresses (IP literals) would take the same
 * connections: same port (not 0) and the same address, or one of them the
 * wildcard covering the other (`0.0.0.0` every IPv4 address; `[::]` every
 * address, IPv4 included, as Linux binds it dual-stack by default).
 */
export function addressesOverlap(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  const x = canonicalIp(a.host), y = canonicalIp(b.host);
  if (x === y || x === ANY6 || y === ANY6) return true;
  return (x === "0.0.0.0" && isIPv4(y)) || (y === "0.0.0.0" && isIPv4(x));
}

/** The address as people write it: `1.2.3.4:80`, `[::1]:80`. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** How long {@link resolveHost} waits for an answer by default. */
export const DNS_TIMEOUT_MS = 5000;

const REASONS: Record<string, string> = {
  ENOTFOUND: "no such host",
  EAI_NONAME: "no such host",
  ENODATA: "the name has no address",
  EAI_NODATA: "the name has no address",
  EAI_AGAIN: "temporary failure in name resolution",
  ETIMEOUT: "the DNS lookup timed out",
  ESERVFAIL: "the DNS server failed",
  EREFUSED: "the DNS server refused the query",
  ECONNREFUSED: "the DNS server refused the query",
};

/**
 * Runs one DNS lookup of `host` (validated first; IP literals never get here)
 * for at most `timeoutMs`, turning every failure into ResolveError,
 * `cannot resolve "HOST": REASON`, in the same words on every runtime.
 */
export async function lookupWithin<T>(host: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  if (!isHostName(host)) throw new ResolveError(host, "not a valid host name");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ResolveError(host, `no answer in ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([work(), timeout]);
  } catch (err) {
    if (err instanceof ResolveError) throw err;
    const code = String((err as { code?: unknown }).code ?? "");
    throw new ResolveError(host, REASONS[code] ?? (code ? `lookup failed (${code})` : "lookup failed"));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves a host name to one IP literal (IP literals pass through). Throws
 * ResolveError (see {@link lookupWithin}); waits at most `timeoutMs`.
 */
export async function resolveHost(host: string, timeoutMs = DNS_TIMEOUT_MS): Promise<string> {
  if (isIP(host)) return host;
  return await lookupWithin(host, timeoutMs, async () => {
    const { address } = await lookup(host);
    if (typeof address !== "string" || !isIP(address)) throw new ResolveError(host, "the name has no address");
    return address;
  });
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}
