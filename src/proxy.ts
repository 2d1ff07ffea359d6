/**
 * `startProxy`: validates a config, binds every listener, starts the
 * data-plane workers and (optionally) the admin server, and returns a handle
 * to read stats, change upstreams, reload and shut down gracefully.
 *
 * @module
 */
import { formatEndpoint, type IpEndpoint } from "../ffi/sockaddr.ts";
import process from "node:process";
import { loadSys, type Sys } from "../ffi/mod.ts";
import { ResolveError } from "./errors.ts";
import { CONTROL_SLOTS, DISABLED, DRAINING } from "./balance/balancer.ts";
import { assertPreflight, loadConfigFile, validateConfig, type ConfigInput, type ValidConfig } from "./config.ts";
import type { ConnectionInfo } from "./dataplane/context.ts";
import { raiseFileLimit } from "./dataplane/io/sockets.ts";
import { bindAll, launch, newSockets, resolveTopology, retire, shutdownGeneration, unusedSockets, type Generation } from "./generation.ts";
import {
  counters, gather, histogramSnapshot, snapshot, type HistogramsSnapshot, type StatsLabels, type StatsSnapshot,
} from "./stats/aggregate.ts";
import type { AdminServer } from "./admin/server.ts";
import { StatsArchive } from "./stats/archive.ts";
import { StatsHistory, type HistoryDocument, type HistoryWindow } from "./stats/history.ts";
import { S_ACTIVE } from "./balance/balancer.ts";
import { HealthMonitor } from "./health/monitor.ts";
import { readinessReasons } from "./health/readiness.ts";
import { applyHealthSettings, healthTargets } from "./health/settings.ts";
import { DnsDiscovery } from "./discovery/dns.ts";
import { checkAddRequest, UpstreamChangeError, withAdditions, type AddedUpstream, type UpstreamRequest } from "./discovery/live.ts";
import type { Resolution } from "./generation.ts";
import { handOver, readUpgradePid, removePidFile, writePidFile } from "./upgrade.ts";
import { type LogOptions, processLog } from "./log/logger.ts";
import { logDrained, logDraining, logRetiring, summarize } from "./log/drain.ts";

export type { ValidConfig };
export type { UpstreamRequest };
export type { ConnectionInfo };

/** Upstream states as shown in `/stats` and `/upstreams`. */
export type UpstreamState = "up" | "draining" | "disabled";

/** Whether the proxy can serve, and why not. */
export interface Readiness {
  readonly ready: boolean;
  readonly reasons: string[];
}

/** Options of {@link startProxy}. */
export interface StartOptions {
  /** Named in config errors (default: the config path, or "config"). */
  readonly source?: string;
  /** The file the config came from; `reload()` re-reads it. */
  readonly configPath?: string;
  /** Written with this process's pid once ready; removed on close. */
  readonly pidFile?: string;
  /**
   * Zero-downtime upgrade: the pid file of a running spliced whose listening
   * addresses this one shares (SO_REUSEPORT) instead of failing as busy; once
   * ready it sends that process SIGTERM, so it drains and exits.
   */
  readonly upgradeFrom?: string;
  /**
   * The process log (src/log/): a format or level given here beats the
   * config's `log` block; `sink` receives each line (default: stdout for the
   * start lines, stderr for the rest). Default: text, info, as the config says.
   */
  readonly log?: LogOptions;
}

/** A running proxy. */
export interface Proxy {
  /** The validated config it runs now. */
  readonly config: ValidConfig;
  /** The config file `reload()` reads, if any. */
  readonly configPath: string | undefined;
  /** Sums of every worker's counters. Never blocks a worker. */
  stats(): StatsSnapshot;
  /** Histograms (connection duration, upstream connect time, HTTP latency) by scope. */
  histograms(): HistogramsSnapshot;
  /** Rates and latency quantiles per scope: 15 min of 1 s points (`15m`), or 1 min points (`1h`, `24h`); with `since` (Unix ms), only later points. */
  history(window: HistoryWindow, since?: number): HistoryDocument;
  /** Up to `limit` open connections across workers (asks each worker; answers within ~1 s). */
  connections(limit?: number): Promise<ConnectionInfo[]>;
  /** Listeners bound and at least one usable upstream per listener. */
  readiness(): Readiness;
  /** Bound address of a listener (the first one by default). */
  address(listener?: string): IpEndpoint;
  /** Bound address of the admin server, if any. */
  adminAddress(): IpEndpoint | undefined;
  /** Sets an upstream's state (by id `listener/host:port`); false if unknown. */
  setUpstreamState(id: string, state: UpstreamState): boolean;
  /** Sets an upstream's weight (0-1000); false if unknown. */
  setUpstreamWeight(id: string, weight: number): boolean;
  /**
   * Adds an upstream on every worker (a new generation of the running config
   * plus this change; open connections kept). Resolves with the ids of its
   * members (one, or one per address with `dns`). Throws UpstreamChangeError.
   * Forgotten on restart and on a reload from the file unless the file has it.
   */
  addUpstream(request: UpstreamRequest): Promise<string[]>;
  /**
   * Drains an upstream, then removes it: new connections stop at once, open
   * ones finish. False if unknown; throws UpstreamChangeError (kind `last`)
   * for the last member of its group. Forgotten on restart and reload.
   */
  removeUpstream(id: string): Promise<boolean>;
  /**
   * Applies a new config (by default: re-reads `configPath`) without dropping
   * open connections. Throws ConfigError and changes nothing when it is invalid.
   */
  reload(input?: ConfigInput): Promise<ValidConfig>;
  /**
   * Test-only, with SPLICED_TEST_HOOKS=1 in the environment: makes worker
   * `worker` throw from its next sweep, to prove it is replaced. False otherwise.
   */
  injectWorkerFault(worker: number): boolean;
  /** Closes and reopens the file access logs in every worker, and the operational log file (SIGUSR1, logrotate). */
  reopenLogs(): void;
  /** Graceful shutdown: stop accepting, let connections finish up to the grace period, then close. */
  close(gracePeriodMs?: number): Promise<void>;
  /** Resolves once the proxy is fully closed. */
  readonly closed: Promise<void>;
}

const STATE_CODES: Record<UpstreamState, number> = { up: 0, draining: DRAINING, disabled: DISABLED };
const STATE_NAMES: UpstreamState[] = ["up", "draining", "disabled"];

/** Starts a proxy from a config object (validated here; errors name the source). */
export async function startProxy(input: ConfigInput | ValidConfig, options: StartOptions = {}): Promise<Proxy> {
  const source = options.source ?? options.configPath ?? "config";
  const config = validateConfig(input, source);
  await assertPreflight(config, source);
  processLog.configure(options.log ?? {});
  processLog.follow(config.log);
  const oldPid = options.upgradeFrom === undefined ? undefined : readUpgradePid(options.upgradeFrom);
  const sys = await loadSys();
  raiseFileLimit(sys);
  let proxy: RunningProxy | undefined;
  const dns = config.dns && new DnsDiscovery(config.dns, () => proxy?.rediscover() ?? Promise.resolve());
  const topology = await resolveTopology(config, { addresses: dns && ((h) => dns.addresses(h)) }).catch((err) => {
    dns?.close();
    throw err;
  });
  applyHealthSettings(config, topology);
  const bound = bindAll(sys, config, undefined, oldPid !== undefined);
  let admin: AdminServer | undefined;
  try {
    admin = await startAdmin(config, oldPid !== undefined);
    const gen = await launch(sys, 1, config, bound, topology);
    proxy = new RunningProxy(sys, gen, admin, options, dns);
    if (options.pidFile !== undefined) writePidFile(options.pidFile);
  } catch (err) {
    dns?.close();
    if (proxy) await proxy.close(0);
    else for (const b of bound.values()) for (const fd of b.fds) sys.close(fd);
    await admin?.close();
    throw err;
  }
  if (oldPid !== undefined) {
    handOver(oldPid);
    if (config.admin && !admin) proxy.adminAfter(oldPid);
  }
  return proxy;
}

/** The admin server; in an upgrade, undefined while the old process still holds its address. */
async function startAdmin(config: ValidConfig, upgrading: boolean): Promise<AdminServer | undefined> {
  if (!config.admin) return undefined;
  const { serveAdminFor } = await import("./admin/server.ts");
  try {
    return await serveAdminFor(config.admin);
  } catch (err) {
    if (upgrading && /address already in use/.test((err as Error).message)) return undefined;
    throw err;
  }
}

class RunningProxy implements Proxy {
  readonly closed: Promise<void>;
  #markClosed!: () => void;
  #closing: Promise<void> | undefined;
  /** Counters of generations that ended (reloads), folded so the generations themselves can go. */
  readonly #archive = new StatsArchive();
  #retiring = new Set<Generation>();
  #reloading: Promise<unknown> = Promise.resolve();
  readonly #startedAt = Date.now();
  /** Worker restarts of generations no longer kept. */
  #restartsBefore = 0;
  /** Active health checks and passive bookkeeping (src/health/). */
  readonly #health = new HealthMonitor();
  /** Stats history, sampled once a second on the main thread (src/stats/history.ts). */
  readonly #history = new StatsHistory();

  readonly configPath: string | undefined;
  readonly #pidFile: string | undefined;
  /** The config as given (file or object), without the run-time changes below. */
  #base: ValidConfig;
  /** Upstreams added at run time, and ids removed: forgotten by a reload. */
  #added: AddedUpstream[] = [];
  #removed = new Set<string>();
  #dns: DnsDiscovery | undefined;

  constructor(
    private readonly sys: Sys,
    private current: Generation,
    private admin: AdminServer | undefined,
    options: StartOptions,
    dns?: DnsDiscovery,
  ) {
    this.#base = current.config;
    this.#dns = dns;
    this.closed = new Promise<void>((resolve) => (this.#markClosed = resolve));
    this.configPath = options.configPath;
    this.#pidFile = options.pidFile;
    this.#history.start(() => ({ gathered: gather([...this.#retiring, this.current], this.#archive.sums), names: this.current }));
    admin?.attach(this);
    this.#health.attach(current.control, healthTargets(current.config, current.topology));
  }

  /** Upgrade: binds the admin address once the old process `pid` let go of it (it does at its exit). */
  adminAfter(pid: number): void {
    const listen = this.config.admin!.listen;
    processLog.info("upgrade", `upgrade: admin ${listen} comes up once pid ${pid} releases it`, { old_pid: pid, admin: listen });
    const retry = async () => {
      if (this.#closing) return;
      try {
        this.admin = await startAdmin(this.config, true);
      } catch (err) {
        const error = (err as Error).message;
        return processLog.error("upgrade", `upgrade: admin not started: ${error}`, { old_pid: pid, admin: listen, error });
      }
      if (!this.admin) return void setTimeout(retry, 200);
      this.admin.attach(this);
      const bound = this.admin.address();
      processLog.info("admin", `upgrade: admin ${listen} up`, {
        old_pid: pid, address: formatEndpoint(bound), port: bound.port, url: `http://${formatEndpoint(bound)}/`,
      });
    };
    setTimeout(retry, 200);
  }

  get config(): ValidConfig {
    return this.current.config;
  }

  stats(): StatsSnapshot {
    const g = gather([...this.#retiring, this.current], this.#archive.sums);
    const meta = {
      runtime: this.sys.runtime, libc: this.sys.libc ?? "unknown", uptimeSeconds: (Date.now() - this.#startedAt) / 1000, generation: this.current.id,
      workerRestarts: this.#restartsBefore + [...this.#retiring, this.current].reduce((n, g) => n + g.health.restarts, 0),
      workersDown: this.current.health.down.size,
      generationsLive: this.#retiring.size + 1,
    };
    return snapshot(g, this.current, this.#labels(), meta);
  }

  history(window: HistoryWindow, since?: number): HistoryDocument {
    return this.#history.read(window, since);
  }

  histograms(): HistogramsSnapshot {
    const hists = histogramSnapshot(gather([...this.#retiring, this.current], this.#archive.sums), this.#labels());
    return { ...hists, healthChecks: this.#health.durations() };
  }

  async connections(limit = 100): Promise<ConnectionInfo[]> {
    const workers = [...this.#retiring, this.current].flatMap((g) => g.workers);
    const lists = await Promise.all(workers.map(async (w) => (await w.connections(limit)).map((c) => ({ ...c, worker: w.index }))));
    return lists.flat().sort((a, b) => b.age_seconds - a.age_seconds).slice(0, limit);
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (this.#closing) reasons.push("shutting down");
    for (const w of this.current.health.down) reasons.push(`worker ${w} failed and is restarting`);
    reasons.push(...readinessReasons(this.current, (id) => this.#health.view(id)));
    return { ready: reasons.length === 0, reasons };
  }

  address(name?: string): IpEndpoint {
    const b = name === undefined ? this.current.bound.values().next().value : this.current.bound.get(name);
    if (!b) throw new RangeError(`no listener named "${name}"`);
    return b.address;
  }

  adminAddress(): IpEndpoint | undefined {
    return this.admin?.address();
  }

  setUpstreamState(id: string, state: UpstreamState): boolean {
    const j = this.#upstreamIndex(id);
    if (j < 0) return false;
    Atomics.store(this.current.control, j * CONTROL_SLOTS, STATE_CODES[state]);
    return true;
  }

  setUpstreamWeight(id: string, weight: number): boolean {
    const j = this.#upstreamIndex(id);
    if (j < 0 || !Number.isInteger(weight) || weight < 0 || weight > 1000) return false;
    Atomics.store(this.current.control, j * CONTROL_SLOTS + 1, weight);
    return true;
  }

  reload(input?: ConfigInput): Promise<ValidConfig> {
    return this.#queue(() => this.#reload(input));
  }

  addUpstream(request: UpstreamRequest): Promise<string[]> {
    return this.#queue(async () => {
      const add = checkAddRequest(this.#base, { ...request });
      const id = `${add.prefix}/${add.entry.address}`;
      const members = () => this.current.upstreams.filter((u) => u.id === id || u.id.startsWith(`${id}#`)).map((u) => u.id);
      if (members().length) throw new UpstreamChangeError("exists", "address", `address: ${id} is already an upstream`);
      const removed = new Set([...this.#removed].filter((r) => r !== id && !r.startsWith(`${id}#`)));
      await this.#apply(this.#base, [...this.#added, add], removed).catch((err) => {
        throw err instanceof ResolveError ? new UpstreamChangeError("invalid", "address", `address: ${err.message}`) : err;
      });
      return members();
    });
  }

  removeUpstream(id: string): Promise<boolean> {
    return this.#queue(async () => {
      const u = this.current.upstreams.find((x) => x.id === id);
      if (!u) return false;
      if (!this.current.upstreams.some((x) => x.group === u.group && x.id !== id)) {
        throw new UpstreamChangeError("last", "id", `${id} is the last upstream of its group: add another first`);
      }
      Atomics.store(this.current.control, u.index * CONTROL_SLOTS, DRAINING);
      const added = this.#added.filter((a) => `${a.prefix}/${a.entry.address}` !== id);
      const removed = added.length < this.#added.length ? this.#removed : new Set([...this.#removed, id]);
      await this.#apply(this.#base, added, removed);
      return true;
    });
  }

  /** DNS answers changed: rebuild the upstreams from the last good sets. */
  rediscover(): Promise<unknown> {
    return this.#queue(() => this.#apply(this.#base, this.#added, this.#removed)).catch((err) => {
      const error = (err as Error).message;
      if (!this.#closing) processLog.error("dns_update_failed", `dns: upstreams not updated: ${error}`, { error });
    });
  }

  #queue<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#reloading.then(task);
    this.#reloading = next.catch(() => {});
    return next;
  }

  injectWorkerFault(worker: number): boolean {
    if (process.env.SPLICED_TEST_HOOKS !== "1") return false;
    const w = this.current.workers[worker];
    if (!w || this.current.health.down.has(worker)) return false;
    w.send({ type: "inject-fault" });
    return true;
  }

  reopenLogs(): void {
    processLog.reopen();
    for (const g of [...this.#retiring, this.current]) for (const w of g.workers) w.send({ type: "reopen-logs" });
  }

  close(grace?: number): Promise<void> {
    this.#closing ??= this.#shutdown(grace ?? this.current.config.gracePeriod).then(() => this.#markClosed());
    return this.#closing;
  }

  async #reload(input?: ConfigInput): Promise<ValidConfig> {
    if (this.#closing) throw new Error("the proxy is shutting down");
    const config = input === undefined ? this.#readConfigFile() : validateConfig(input, "reload");
    await assertPreflight(config, input === undefined ? this.configPath! : "reload");
    const dns = config.dns && new DnsDiscovery(config.dns, () => this.rediscover());
    try {
      await this.#apply(config, [], new Set(), dns);
    } catch (err) {
      dns?.close();
      throw err;
    }
    this.#dns?.close();
    this.#dns = dns;
    processLog.follow(config.log);
    return config;
  }

  /** Runs `base` plus run-time changes as a new generation; on success they become the current ones. */
  async #apply(base: ValidConfig, added: AddedUpstream[], removed: Set<string>, dns = this.#dns): Promise<ValidConfig> {
    if (this.#closing) throw new Error("the proxy is shutting down");
    const config = withAdditions(base, added);
    const how: Resolution = { addresses: dns && ((h) => dns.addresses(h)), removed };
    const old = this.current;
    const topology = await resolveTopology(config, how);
    applyHealthSettings(config, topology);
    const bound = bindAll(this.sys, config, old);
    let next: Generation;
    try {
      next = await launch(this.sys, old.id + 1, config, bound, topology, old);
    } catch (err) {
      for (const fd of newSockets(bound, old)) this.sys.close(fd);
      throw err;
    }
    this.current = next;
    this.#base = base;
    this.#added = added;
    this.#removed = removed;
    this.#health.attach(next.control, healthTargets(config, topology));
    this.#retiring.add(old);
    logRetiring(processLog, old.id, counters(gather([old]).totals).connections_active, next.id);
    processLog.debug("generation", `generation ${next.id} running (${next.workers.length} workers, ${next.upstreams.length} upstreams); generation ${old.id} retiring`, {
      generation: next.id, workers: next.workers.length, upstreams: next.upstreams.map((u) => u.id), retiring: old.id,
    });
    const { detached, finished } = retire(old, unusedSockets(old, next), this.sys);
    finished.finally(() => this.#ended(old));
    await detached;
    return config;
  }

  /** A retired generation's workers stopped: keep its counters, let the rest go. */
  #ended(gen: Generation): void {
    // During a shutdown its workers are counted in the shutdown's own drained line.
    if (!this.#closing) logDrained(processLog, summarize(gen.workers.map((w) => w.drainCounts)), gen.id);
    this.#archive.fold(gen, this.current);
    this.#restartsBefore += gen.health.restarts;
    this.#retiring.delete(gen);
  }

  #readConfigFile(): ValidConfig {
    if (!this.configPath) throw new Error("no config file to reload: the proxy was not started from one");
    return loadConfigFile(this.configPath);
  }

  async #shutdown(graceMs: number): Promise<void> {
    await this.#reloading;
    this.#dns?.close();
    this.#health.close();
    this.#history.stop();
    const gens = [...this.#retiring, this.current];
    logDraining(processLog, this.stats().totals.connections_active, graceMs);
    await Promise.all(gens.map((g) => shutdownGeneration(g, graceMs)));
    logDrained(processLog, summarize(gens.flatMap((g) => g.workers.map((w) => w.drainCounts))));
    if (this.#pidFile !== undefined) removePidFile(this.#pidFile);
    await this.admin?.close();
  }

  #upstreamIndex(id: string): number {
    return this.current.upstreams.findIndex((u) => u.id === id);
  }

  #labels(): StatsLabels {
    const { labels, control } = this.current;
    return {
      listeners: labels.listeners,
      routes: labels.routes,
      upstreams: labels.upstreams.map((u, j) => ({
        ...u,
        state: STATE_NAMES[Atomics.load(control, j * CONTROL_SLOTS)] ?? "up",
        weight: Atomics.load(control, j * CONTROL_SLOTS + 1),
        in_use: Atomics.load(control, j * CONTROL_SLOTS + S_ACTIVE),
        health: this.#health.view(u.id),
      })),
    };
  }
}
