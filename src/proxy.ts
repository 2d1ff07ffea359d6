/**
 * `startProxy`: validates a config, binds every listener, starts the
 * data-plane workers and (optionally) the admin server, and returns a handle
 * to read stats and to shut down gracefully.
 *
 * @module
 */
import { formatEndpoint, type IpEndpoint } from "../ffi/sockaddr.ts";
import { loadSys, type Sys } from "../ffi/mod.ts";
import { parseHostPort, resolveHost } from "./address.ts";
import { allocateUpstreamControl, CONTROL_SLOTS, DISABLED, DRAINING } from "./balance/balancer.ts";
import { bindListener, type BoundListener } from "./bind.ts";
import { validateConfig, type ConfigInput, type ValidConfig } from "./config.ts";
import { raiseFileLimit } from "./dataplane/sockets.ts";
import type { ListenerInit, UpstreamInit } from "./dataplane/protocol.ts";
import { allocateCounters } from "./stats/layout.ts";
import { snapshot, type StatsLabels, type StatsSnapshot } from "./stats/aggregate.ts";
import { WorkerHandle } from "./workers.ts";
import type { AdminServer } from "./admin/server.ts";

/** Upstream states as shown in `/stats` and `/upstreams`. */
export type UpstreamState = "up" | "draining" | "disabled";

/** A running proxy. */
export interface Proxy {
  /** The validated config it runs. */
  readonly config: ValidConfig;
  /** Sums of every worker's counters. Never blocks a worker. */
  stats(): StatsSnapshot;
  /** Bound address of a listener (the first one by default). */
  address(listener?: string): IpEndpoint;
  /** Bound address of the admin server, if any. */
  adminAddress(): IpEndpoint | undefined;
  /** Sets an upstream's state (by id `listener/host:port`); false if unknown. */
  setUpstreamState(id: string, state: UpstreamState): boolean;
  /** Sets an upstream's weight (0-1000); false if unknown. */
  setUpstreamWeight(id: string, weight: number): boolean;
  /** Graceful shutdown: stop accepting, let connections finish up to the grace period, then close. */
  close(gracePeriodMs?: number): Promise<void>;
  /** Resolves once the proxy is fully closed. */
  readonly closed: Promise<void>;
}

export type { ValidConfig };

interface Runtime {
  sys: Sys;
  config: ValidConfig;
  bound: Map<string, BoundListener>;
  upstreams: UpstreamInit[];
  labels: StatsLabels;
  control: Int32Array;
  workers: WorkerHandle[];
  counters: Float64Array[];
  startedAt: number;
}

/** Starts a proxy from a config object (validated here; errors name `source`). */
export async function startProxy(input: ConfigInput | ValidConfig, source = "config"): Promise<Proxy> {
  const config = validateConfig(input, source);
  const sys = await loadSys();
  raiseFileLimit(sys);
  const upstreams = await resolveUpstreams(config);
  const bound = bindAll(sys, config);
  let admin: AdminServer | undefined;
  try {
    if (config.admin) admin = await (await import("./admin/server.ts")).serveAdminFor(config.admin.listen);
    const rt = await launch(sys, config, bound, upstreams);
    return makeProxy(rt, admin);
  } catch (err) {
    for (const b of bound.values()) for (const fd of b.fds) sys.close(fd);
    await admin?.close();
    throw err;
  }
}

async function resolveUpstreams(config: ValidConfig): Promise<UpstreamInit[]> {
  const out: UpstreamInit[] = [];
  for (const l of config.listeners) {
    for (const text of l.upstreams) {
      const { host, port } = parseHostPort(text);
      const ip = await resolveHost(host);
      out.push({ index: out.length, id: `${l.name}/${text}`, host: ip, port });
    }
  }
  return out;
}

function bindAll(sys: Sys, config: ValidConfig): Map<string, BoundListener> {
  const bound = new Map<string, BoundListener>();
  try {
    for (const l of config.listeners) {
      bound.set(l.name, bindListener(sys, parseHostPort(l.listen), config.workers, l.backlog));
    }
    return bound;
  } catch (err) {
    for (const b of bound.values()) for (const fd of b.fds) sys.close(fd);
    throw err;
  }
}

async function launch(sys: Sys, config: ValidConfig, bound: Map<string, BoundListener>, upstreams: UpstreamInit[]): Promise<Runtime> {
  const L = config.listeners.length;
  const active = new SharedArrayBuffer(Math.max(1, L) * 4);
  const controlSab = allocateUpstreamControl(upstreams.length);
  const workers: WorkerHandle[] = [];
  const counters: Float64Array[] = [];
  const groups = groupUpstreams(config, upstreams);
  for (let w = 0; w < config.workers; w++) {
    const sab = allocateCounters(L, upstreams.length);
    counters.push(new Float64Array(sab));
    const listeners: ListenerInit[] = config.listeners.map((l, i) => ({
      index: i, name: l.name, fd: bound.get(l.name)!.fds[w],
      connectTimeoutMs: l.connectTimeout, idleTimeoutMs: l.idleTimeout, maxConnections: l.maxConnections,
      upstreams: groups[i],
    }));
    workers.push(new WorkerHandle(sys, w));
    await workers[w].start({
      pipeSize: config.pipeSize, listeners, upstreams, counters: sab, active, upstreamControl: controlSab,
    });
  }
  const labels = makeLabels(config, bound, upstreams);
  return { sys, config, bound, upstreams, labels, control: new Int32Array(controlSab), workers, counters, startedAt: Date.now() };
}

function groupUpstreams(config: ValidConfig, upstreams: UpstreamInit[]): number[][] {
  return config.listeners.map((l) => upstreams.filter((u) => u.id.startsWith(`${l.name}/`)).map((u) => u.index));
}

function makeLabels(config: ValidConfig, bound: Map<string, BoundListener>, upstreams: UpstreamInit[]): StatsLabels {
  return {
    listeners: config.listeners.map((l) => ({ name: l.name, listen: formatEndpoint(bound.get(l.name)!.address) })),
    upstreams: upstreams.map((u) => ({
      id: u.id, listener: u.id.slice(0, u.id.indexOf("/")), address: formatEndpoint(u), state: "up", weight: 1,
    })),
  };
}

const STATE_CODES: Record<UpstreamState, number> = { up: 0, draining: DRAINING, disabled: DISABLED };
const STATE_NAMES: UpstreamState[] = ["up", "draining", "disabled"];

function makeProxy(rt: Runtime, admin: AdminServer | undefined): Proxy {
  let closing: Promise<void> | undefined;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const indexOf = (id: string) => rt.upstreams.findIndex((u) => u.id === id);
  const proxy: Proxy = {
    config: rt.config,
    closed,
    stats: () => snapshot(rt.counters, currentLabels(rt), rt.sys.runtime, (Date.now() - rt.startedAt) / 1000),
    address: (name) => {
      const b = name === undefined ? rt.bound.values().next().value : rt.bound.get(name);
      if (!b) throw new RangeError(`no listener named "${name}"`);
      return b.address;
    },
    adminAddress: () => admin?.address(),
    setUpstreamState: (id, state) => {
      const j = indexOf(id);
      if (j < 0) return false;
      Atomics.store(rt.control, j * CONTROL_SLOTS, STATE_CODES[state]);
      return true;
    },
    setUpstreamWeight: (id, weight) => {
      const j = indexOf(id);
      if (j < 0) return false;
      Atomics.store(rt.control, j * CONTROL_SLOTS + 1, weight);
      return true;
    },
    close: (grace) => {
      closing ??= shutdown(rt, grace ?? rt.config.gracePeriod, admin).then(markClosed);
      return closing;
    },
  };
  admin?.attach(proxy);
  return proxy;
}

function currentLabels(rt: Runtime): StatsLabels {
  return {
    listeners: rt.labels.listeners,
    upstreams: rt.labels.upstreams.map((u, j) => ({
      ...u,
      state: STATE_NAMES[Atomics.load(rt.control, j * CONTROL_SLOTS)] ?? "up",
      weight: Atomics.load(rt.control, j * CONTROL_SLOTS + 1),
    })),
  };
}

async function shutdown(rt: Runtime, graceMs: number, admin: { close(): Promise<void> } | undefined): Promise<void> {
  const drained = Promise.all(rt.workers.map((w) => w.when("drained")));
  for (const w of rt.workers) w.send({ type: "drain" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
  await Promise.race([drained, graceOver]);
  clearTimeout(timer);
  const stopped = Promise.all(rt.workers.map((w) => w.when("stopped")));
  for (const w of rt.workers) w.send({ type: "stop" });
  await Promise.race([stopped, new Promise((r) => setTimeout(r, 2000))]);
  for (const w of rt.workers) w.terminate();
  await admin?.close();
}
