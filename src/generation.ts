/**
 * A generation: one config's set of bound listeners, resolved upstreams and
 * running workers. A reload starts a new generation (reusing the listening
 * sockets of listeners whose address did not change, so no connection is
 * refused), then retires the old one: its workers stop accepting and finish
 * their open connections, then stop.
 *
 * @module
 */
import { formatEndpoint } from "../ffi/sockaddr.ts";
import type { Sys } from "../ffi/sys.ts";
import { isIP } from "node:net";
import { parseHostPort, resolveHost } from "./address.ts";
import { allocateUpstreamControl, CONTROL_SLOTS, S_HEALTH, S_STATE, S_WEIGHT } from "./balance/balancer.ts";
import { type BalanceInit, ROUND_ROBIN } from "./balance/policies.ts";
import { type UpstreamEntry, upstreamEntryOf } from "./config/schema.ts";

/** What a reload keeps of an upstream it still has: admin state, weight, health. */
const CARRIED_SLOTS = [S_STATE, S_WEIGHT, S_HEALTH];
import { bindListener, type BoundListener } from "./bind.ts";
import type { ValidConfig } from "./config.ts";
import type { ListenerInit, RouteInit, UpstreamInit } from "./dataplane/protocol.ts";
import { openListener } from "./dataplane/io/sockets.ts";
import type { GenerationView, StatsLabels } from "./stats/aggregate.ts";
import { allocateCounters } from "./stats/layout.ts";
import { tlsRouteInit } from "./tls/route_init.ts";
import { proxyProtocolInit } from "./config/proxy_protocol.ts";
import { supervise, type WorkerHealth, type WorkerStart } from "./supervision.ts";
import { WorkerHandle } from "./workers.ts";

/** One config's running data plane. */
export interface Generation extends GenerationView {
  readonly id: number;
  readonly config: ValidConfig;
  /** Bound sockets by listener name. */
  readonly bound: Map<string, BoundListener>;
  readonly upstreams: readonly UpstreamInit[];
  readonly topology: Topology;
  readonly labels: StatsLabels;
  /** Shared upstream state/weight array. */
  readonly control: Int32Array;
  readonly workers: WorkerHandle[];
  /** Supervision of the workers: restarts after a failure. */
  readonly health: WorkerHealth;
}


/** Upstreams, balancing groups and routes of a config, host names resolved. */
export interface Topology {
  readonly upstreams: UpstreamInit[];
  readonly groups: number[][];
  /** Routes per listener (empty for TCP listeners). */
  readonly routes: RouteInit[][];
  /** Balancing group of each TCP listener (-1 for HTTP). */
  readonly listenerGroups: number[];
  /** Balancing algorithm of each group (by group index). */
  readonly balance: BalanceInit[];
}

/**
 * How upstream host names become members. Without `addresses` (no `dns` block)
 * a name is one member, its first address, id `prefix/host:port`; with it each
 * address is one, id `prefix/host:port#ip` (IP literals keep `prefix/ip:port`).
 * Ids in `removed` are left out (removed through the admin API).
 */
export interface Resolution {
  readonly addresses?: (host: string) => Promise<string[]>;
  readonly removed?: ReadonlySet<string>;
}

/** Resolves every upstream and numbers groups and routes. */
export async function resolveTopology(config: ValidConfig, how: Resolution = {}): Promise<Topology> {
  const t: Topology = { upstreams: [], groups: [], routes: [], listenerGroups: [], balance: [] };
  const addGroup = (entries: readonly UpstreamEntry[], prefix: string, balance: BalanceInit) => addGroupTo(t, how, entries, prefix, balance);
  let routeIndex = 0;
  for (const l of config.listeners) {
    if (l.mode === "tcp") {
      t.listenerGroups.push(await addGroup(l.upstreams, l.name, { policy: l.balance, hashKey: l.hashKey }));
      t.routes.push([]);
      continue;
    }
    if (l.mode === "tls") {
      t.listenerGroups.push(-1);
      const routes: RouteInit[] = [];
      for (const r of l.routes) {
        const id = `${l.name}/${r.name}`;
        const group = await addGroup(r.upstreams, id, { policy: r.balance, hashKey: r.hashKey });
        routes.push(tlsRouteInit(routeIndex++, id, r.sni, group));
      }
      t.routes.push(routes);
      continue;
    }
    t.listenerGroups.push(-1);
    const routes: RouteInit[] = [];
    for (const r of l.routes) {
      const id = `${l.name}/${r.name}`;
      const group = r.upstreams ? await addGroup(r.upstreams, id, { policy: r.balance, hashKey: r.hashKey }) : -1;
      routes.push({
        index: routeIndex++, id, host: r.host, path: r.path, stripPrefix: r.stripPrefix, group,
        staticRoot: r.static?.root, staticIndex: r.static?.index ?? "index.html",
        staticDotfiles: r.static?.dotfiles ?? "deny",
        requestHeaders: r.requestHeaders, responseHeaders: r.responseHeaders, maxBodySize: r.maxBodySize,
        sendProxyProtocol: r.sendProxyProtocol ?? l.sendProxyProtocol,
      });
    }
    t.routes.push(routes);
  }
  return t;
}

async function addGroupTo(
  t: Topology, how: Resolution, entries: readonly UpstreamEntry[], prefix: string, balance: BalanceInit = ROUND_ROBIN,
): Promise<number> {
  const group = t.groups.length;
  const members: number[] = [];
  for (const entry of entries) {
    const { address: text, weight, backup } = upstreamEntryOf(entry);
    const { host, port } = parseHostPort(text);
    const each = how.addresses && !isIP(host);
    for (const ip of each ? await how.addresses!(host) : [await resolveHost(host)]) {
      const id = each ? `${prefix}/${text}#${ip}` : `${prefix}/${text}`;
      if (how.removed?.has(id)) continue;
      members.push(t.upstreams.length);
      t.upstreams.push({ index: t.upstreams.length, id, host: ip, port, group, weight, backup });
    }
  }
  t.groups.push(members);
  t.balance.push(balance);
  return group;
}

/**
 * Binds every listener of `config`, reusing `previous` sockets bound to the
 * same `listen` text. On failure closes only what it opened and throws.
 * `shared`: join addresses another process listens on (an upgrade hand-over).
 */
export function bindAll(sys: Sys, config: ValidConfig, previous?: Generation, shared = false): Map<string, BoundListener> {
  const bound = new Map<string, BoundListener>();
  const opened: number[] = [];
  try {
    for (const l of config.listeners) {
      const old = previous && findByListen(previous, l.listen, l.name);
      const b = old ? reuse(sys, old, config.workers, l.backlog, opened) : bindListener(sys, parseHostPort(l.listen), config.workers, l.backlog, shared);
      if (!old) opened.push(...b.fds);
      bound.set(l.name, b);
    }
    return bound;
  } catch (err) {
    for (const fd of opened) sys.close(fd);
    throw err;
  }
}

/**
 * The previous sockets bound where `listen` asks: same text (the listener of the same name first:
 * two listeners may both say `127.0.0.1:0`), or same address and non-zero port.
 */
function findByListen(gen: Generation, listen: string, name: string): BoundListener | undefined {
  const all = gen.config.listeners;
  const l = all.find((x) => x.listen === listen && x.name === name) ?? all.find((x) => x.listen === listen);
  if (l) return gen.bound.get(l.name);
  const { host, port } = parseHostPort(listen);
  if (port === 0) return undefined;
  for (const b of gen.bound.values()) if (b.address.port === port && b.address.host === host) return b;
  return undefined;
}

function reuse(sys: Sys, old: BoundListener, workers: number, backlog: number, opened: number[]): BoundListener {
  const fds = old.fds.slice(0, workers);
  while (fds.length < workers) {
    const fd = openListener(sys, old.address, backlog);
    opened.push(fd);
    fds.push(fd);
  }
  return { fds, address: old.address };
}

/** Sockets in `bound` that `other` does not hold. */
function socketsNotIn(bound: Map<string, BoundListener>, other: Map<string, BoundListener>): number[] {
  const keep = new Set<number>();
  for (const b of other.values()) for (const fd of b.fds) keep.add(fd);
  const out: number[] = [];
  for (const b of bound.values()) for (const fd of b.fds) if (!keep.has(fd)) out.push(fd);
  return out;
}

/** Listener sockets of `old` that `next` does not use: to close once `old` is retired. */
export function unusedSockets(old: Generation, next: Generation): number[] {
  return socketsNotIn(old.bound, next.bound);
}

/** Sockets `bindAll` opened for a new config (not taken over from `old`): to close if it fails. */
export function newSockets(bound: Map<string, BoundListener>, old: Generation): number[] {
  return socketsNotIn(bound, old.bound);
}

/** Starts the workers of a new generation. `carry` supplies upstream states to keep. */
export async function launch(
  sys: Sys, id: number, config: ValidConfig, bound: Map<string, BoundListener>, topology: Topology, carry?: Generation,
): Promise<Generation> {
  const { upstreams } = topology;
  const L = config.listeners.length;
  const active = new SharedArrayBuffer(Math.max(1, L) * 4);
  const controlSab = allocateUpstreamControl(upstreams.length);
  const control = new Int32Array(controlSab);
  for (const u of upstreams) control[u.index * CONTROL_SLOTS + S_WEIGHT] = u.weight ?? 1;
  if (carry) carryUpstreamState(carry, upstreams, control);
  const gen: Generation = {
    id, config, bound, upstreams, topology, control, workers: [], views: [], health: { restarts: 0, down: new Set(), ending: false },
    labels: makeLabels(config, bound, topology),
    listenerNames: config.listeners.map((l) => l.name),
    routeIds: topology.routes.flat().map((r) => r.id),
    upstreamIds: upstreams.map((u) => u.id),
  };
  try {
    for (let w = 0; w < config.workers; w++) await startWorker(sys, gen, w, active, controlSab);
  } catch (err) {
    for (const worker of gen.workers) worker.terminate();
    throw err;
  }
  return gen;
}

async function startWorker(
  sys: Sys, gen: Generation, w: number, active: SharedArrayBuffer, upstreamControl: SharedArrayBuffer,
): Promise<void> {
  const { config, bound, upstreams, topology } = gen;
  const sab = allocateCounters(config.listeners.length, gen.routeIds.length, upstreams.length);
  (gen.views as Float64Array[]).push(new Float64Array(sab));
  const listeners: ListenerInit[] = config.listeners.map((l, i) => ({
    index: i, name: l.name, fd: bound.get(l.name)!.fds[w], mode: l.mode,
    connectTimeoutMs: l.connectTimeout, idleTimeoutMs: l.idleTimeout, sendTimeoutMs: l.sendTimeout, maxConnections: l.maxConnections,
    group: topology.listenerGroups[i],
    ...proxyProtocolInit(l),
    accessLog: l.mode === "http" ? undefined : l.accessLog,
    http: l.mode === "http"
      ? {
        headTimeoutMs: l.headTimeout, upstreamTimeoutMs: l.upstreamTimeout, maxHeadBytes: l.maxHeadBytes,
        upstreamKeepAlive: l.upstreamKeepAlive, accessLog: l.accessLog, requestIdHeader: l.requestId?.header,
        routes: topology.routes[i],
      }
      : undefined,
    tls: l.mode === "tls" ? { clientHelloTimeoutMs: l.clientHelloTimeout, routes: topology.routes[i] } : undefined,
  }));
  const init: WorkerStart = {
    pipeSize: config.pipeSize, listeners, upstreams, groups: topology.groups, balance: topology.balance, routeCount: gen.routeIds.length,
    counters: sab, active, upstreamControl,
  };
  const worker = new WorkerHandle(sys, w);
  gen.workers.push(worker);
  await worker.start(init);
  supervise(sys, gen, worker, init, 0);
}

function carryUpstreamState(old: Generation, upstreams: UpstreamInit[], control: Int32Array): void {
  for (const u of upstreams) {
    const j = old.upstreams.findIndex((o) => o.id === u.id);
    if (j < 0) continue;
    for (const slot of CARRIED_SLOTS) {
      // A weight changed in the file wins over the live one; otherwise the live one (an admin's) is kept.
      if (slot === S_WEIGHT && (old.upstreams[j].weight ?? 1) !== (u.weight ?? 1)) continue;
      control[u.index * CONTROL_SLOTS + slot] = Atomics.load(old.control, j * CONTROL_SLOTS + slot);
    }
  }
}

function makeLabels(config: ValidConfig, bound: Map<string, BoundListener>, t: Topology): StatsLabels {
  const routes = t.routes.flatMap((list, i) => list.map((r) => ({
    id: r.id, listener: config.listeners[i].name, host: r.host ?? null, path: r.path,
    target: r.staticRoot !== undefined ? `static:${r.staticRoot}` : "upstreams",
  })));
  return {
    listeners: config.listeners.map((l) => ({ name: l.name, listen: formatEndpoint(bound.get(l.name)!.address), mode: l.mode })),
    routes,
    upstreams: t.upstreams.map((u) => ({
      id: u.id, listener: u.id.slice(0, u.id.indexOf("/")), address: u.id.slice(u.id.lastIndexOf("/") + 1), state: "up", weight: 1,
      backup: u.backup ?? false,
    })),
  };
}

/**
 * Retires a generation: its workers stop accepting (resolves `detached` once
 * they all did, so nothing new reaches them), finish their connections, then stop.
 */
export function retire(gen: Generation, closeSockets: number[], sys: Sys): { detached: Promise<void>; finished: Promise<void> } {
  gen.health.ending = true;
  const acks = Promise.all(gen.workers.map((w) => w.when("retired")));
  const drained = Promise.all(gen.workers.map((w) => w.when("drained")));
  for (const w of gen.workers) w.send({ type: "retire" });
  const detached = acks.then(() => {
    for (const fd of closeSockets) sys.close(fd);
  });
  const finished = detached.then(() => drained).then(() => stopWorkers(gen));
  return { detached, finished };
}

/** Graceful stop: drain (close listeners) up to `graceMs`, then stop every worker. */
export async function shutdownGeneration(gen: Generation, graceMs: number): Promise<void> {
  gen.health.ending = true;
  const drained = Promise.all(gen.workers.map((w) => w.when("drained")));
  for (const w of gen.workers) w.send({ type: "drain" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
  await Promise.race([drained, graceOver]);
  clearTimeout(timer);
  await stopWorkers(gen);
}

async function stopWorkers(gen: Generation): Promise<void> {
  const stopped = Promise.all(gen.workers.map((w) => w.when("stopped")));
  for (const w of gen.workers) w.send({ type: "stop" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([stopped, new Promise((r) => (timer = setTimeout(r, 2000)))]);
  clearTimeout(timer);
  for (const w of gen.workers) w.terminate();
}
