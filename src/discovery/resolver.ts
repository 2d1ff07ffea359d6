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
import { DNS_TIMEOUT_MS, lookupWithin } from "../address.ts";
import { ResolveError } from "../errors.ts";

/** Resolves a host to its addresses (IP literals, sorted, at least one); throws ResolveError. */
export type AddressResolver = (host: string) => Promise<string[]>;


/** A resolver asking `servers` (`IP:PORT` each), or the system resolver without them. */
export function addressResolver(servers?: readonly string[], timeoutMs = DNS_TIMEOUT_MS): AddressResolver {
  return async (host) => {
    if (isIP(host)) return [host];
    return await lookupWithin(host, timeoutMs, async () => {
      const found = await (servers ? ask(servers, host, timeoutMs) : system(host));
      if (found.length === 0) throw new ResolveError(host, "the name has no address");
      return [...new Set(found)].sort();
    });
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
