/**
 * The lines a started spliced prints on stdout: version, runtime and worker
 * count, each listener's address and targets, the admin address.
 *
 * @module
 */
import { formatEndpoint } from "../../ffi/sockaddr.ts";
import type { Proxy } from "../proxy.ts";
import { type UpstreamEntry, upstreamEntryOf } from "../config/schema.ts";
import { VERSION } from "../version.ts";

type Listener = Proxy["config"]["listeners"][number];

/** Where a listener sends: its upstreams, or each route's (`static:ROOT` for files). */
function targets(l: Listener): string {
  if (l.mode === "tcp") return addresses(l.upstreams);
  if (l.mode === "tls") return l.routes.map((r) => `${r.sni ?? "default"}=${addresses(r.upstreams)}`).join(" ");
  return l.routes.map((r) => (r.upstreams ? addresses(r.upstreams) : `static:${r.static!.root}`)).join(" ");
}

/** `a:1,b:2` (object entries by their address). */
function addresses(list: readonly UpstreamEntry[]): string {
  return list.map((u) => upstreamEntryOf(u).address).join(",");
}

/** Prints what `proxy` listens on, once it is ready. */
export function announce(proxy: Proxy, runtime: string): void {
  const cfg = proxy.config;
  console.log(`spliced ${VERSION} on ${runtime}, ${cfg.workers} worker${cfg.workers === 1 ? "" : "s"}`);
  for (const l of cfg.listeners) console.log(`listener ${l.name} ${l.mode} ${formatEndpoint(proxy.address(l.name))} -> ${targets(l)}`);
  const admin = proxy.adminAddress();
  if (admin) console.log(`admin http://${formatEndpoint(admin)}/ (dashboard; API: /stats /metrics /upstreams ...)`);
}
