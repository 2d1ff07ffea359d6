/**
 * The lines a started spliced prints on stdout: version, runtime and worker
 * count, each listener's address and targets, the admin address (text, or
 * JSON records with `--log-format json`).
 *
 * @module
 */
import process from "node:process";
import { formatEndpoint } from "../../ffi/sockaddr.ts";
import { type Logger, processLog } from "../log/logger.ts";
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

/**
 * Prints what `proxy` listens on, once it is ready: on stdout, at every log
 * level, as text lines or (`--log-format json`) JSON records of the events
 * `start`, `listener` and `admin`.
 */
export function announce(proxy: Proxy, runtime: string, log: Logger = processLog): void {
  const cfg = proxy.config;
  const workers = `${cfg.workers} worker${cfg.workers === 1 ? "" : "s"}`;
  log.announce("start", `spliced ${VERSION} on ${runtime}, ${workers}`, { version: VERSION, runtime, workers: cfg.workers, pid: process.pid });
  for (const l of cfg.listeners) {
    const bound = proxy.address(l.name);
    const address = formatEndpoint(bound);
    log.announce("listener", `listener ${l.name} ${l.mode} ${address} -> ${targets(l)}`, {
      name: l.name, mode: l.mode, address, port: bound.port, targets: targets(l),
    });
  }
  const admin = proxy.adminAddress();
  if (!admin) return;
  const url = `http://${formatEndpoint(admin)}/`;
  log.announce("admin", `admin ${url} (dashboard; API: /stats /metrics /upstreams ...)`, { address: formatEndpoint(admin), port: admin.port, url });
}
