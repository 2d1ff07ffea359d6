/**
 * Every address of a host name, for DNS discovery: with `dns.servers`, A and
 * AAAA queries to those servers (a fresh resolver each time, so no cache hides
 * a change); without, the system resolver (`getaddrinfo`, all answers).
 * Failures throw ResolveError in spliced's words, as {@link resolveHost} does.
 *
 * @module
 */
import { lookup, Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import { DNS_TIMEOUT_MS, isHostName } from "../address.ts";
import { ResolveError } from "../errors.ts";

/** Resolves a host to its addresses (IP literals, sorted, at least one); throws ResolveError. */
export type AddressResolver = (host: string) => Promise<string[]>;

const REASONS: Record<string, string> = {
  ENOTFOUND: "no such host",
  ENODATA: "the name has no address",
  ETIMEOUT: "the DNS lookup timed out",
  ESERVFAIL: "the DNS server failed",
  EREFUSED: "the DNS server refused the query",
  ECONNREFUSED: "the DNS server refused the query",
};

/** A resolver asking `servers` (`IP:PORT` each), or the system resolver without them. */
export function addressResolver(servers?: readonly string[], timeoutMs = DNS_TIMEOUT_MS): AddressResolver {
  return async (host) => {
    if (isIP(host)) return [host];
    if (!isHostName(host)) throw new ResolveError(host, "not a valid host name");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ResolveError(host, `no answer in ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      const found = await Promise.race([servers ? ask(servers, host, timeoutMs) : system(host), timeout]);
      if (found.length === 0) throw new ResolveError(host, "the name has no address");
      return [...new Set(found)].sort();
    } catch (err) {
      if (err instanceof ResolveError) throw err;
      const code = String((err as { code?: unknown }).code ?? "");
      throw new ResolveError(host, REASONS[code] ?? (code ? `lookup failed (${code})` : "lookup failed"));
    } finally {
      clearTimeout(timer);
    }
  };
}

async function system(host: string): Promise<string[]> {
  const all = await lookup(host, { all: true });
  return all.map((a) => a.address);
}

/** A and AAAA from `servers`; an error only when both queries fail. */
async function ask(servers: readonly string[], host: string, timeoutMs: number): Promise<string[]> {
  const r = new Resolver({ timeout: timeoutMs, tries: 1 });
  r.setServers([...servers]);
  const [v4, v6] = await Promise.allSettled([r.resolve4(host), r.resolve6(host)]);
  if (v4.status === "rejected" && v6.status === "rejected") throw v4.reason;
  return [...(v4.status === "fulfilled" ? v4.value : []), ...(v6.status === "fulfilled" ? v6.value : [])];
}
