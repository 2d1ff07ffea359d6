/**
 * One worker's data plane: its epoll loop, listeners, sessions, pipe pool
 * and counters. `run()` blocks in epoll_wait and only yields to the
 * runtime's event loop when the main thread wakes it through its eventfd.
 *
 * @module
 */
import * as C from "../../ffi/constants.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import type { Sys } from "../../ffi/sys.ts";
import { Balancer } from "../balance/balancer.ts";
import { DEFAULT_FALL } from "../health/passive.ts";
import { check } from "../errors.ts";
import { F, listenerBase, routeBase, upstreamBase } from "../stats/layout.ts";
import { AccessLog } from "./h1/access_log.ts";
import { HttpSession } from "./h1/session.ts";
import type { HttpListenerSettings, HttpWorkerContext } from "./http_context.ts";
import { UpstreamPool } from "./upstream/pool.ts";
import type { ConnectionInfo, ListenerSettings, Resumable, Session, UpstreamTarget } from "./context.ts";
import type { IoContext } from "./io/stream.ts";
import { WorkerListener } from "./listener.ts";
import { EventLoop, type Handler } from "./io/loop.ts";
import { PipePool } from "./io/pipe_pool.ts";
import { CONTROL_SEQ, type WorkerInit } from "./protocol.ts";
import { type ClientOrigin, proxyAcceptSettings, ProxyHeaderReader } from "./proxy_header.ts";
import { TcpSession } from "./tcp.ts";
import { TlsSession, type TlsListenerSettings, tlsSettings } from "./tls.ts";

/** How often timeouts and paused listeners are checked, in ms. */
const SWEEP_MS = 100;
/** Sweeps between two trims of the idle pipe pool. */
const TRIM_EVERY = 20;
const COPY_BUFFER_SIZE = 64 * 1024;
/**
 * Bytes one stream step may take from its source before other connections get
 * a turn: ~2 ms of one flow at 2 GB/s. 1 MiB cost Deno ~15 % more CPU per GB
 * with 4 iperf3 streams on one worker (a yield per pipe-full); 4 MiB measured
 * within the run-to-run spread of 16 MiB (bench/RESULTS.md).
 */
const STEP_BUDGET = 4 * 1024 * 1024;
/**
 * Idle upstream keep-alive connections are closed after this long: below the
 * 5 s keep-alive timeout of Node's HTTP server, so spliced closes first.
 */
const UPSTREAM_IDLE_MS = 4000;

/** Events of one worker's data plane, for its host (the Worker shell). */
export interface DataPlaneEvents {
  drained(): void;
  error(err: unknown): void;
}

/** A worker's whole data plane. */
export class DataPlane {
  readonly ctx: HttpWorkerContext;
  readonly balancers: Balancer[];
  readonly #logs: AccessLog[] = [];
  readonly listeners: WorkerListener[] = [];
  readonly sessions = new Set<Session>();
  #control: Int32Array;
  #received = 0;
  #wakeFd: number;
  #wakeBuf = new BigUint64Array(1);
  #woken = false;
  #draining = false;
  #stopped = false;
  /** Sessions open when the drain (or retire) began, and those `stop()` closed: see {@link drainCounts}. */
  #openAtDrain: number | undefined;
  #cutAtStop = 0;
  #nextSweep = 0;
  #sweeps = 0;
  /** Sessions that used their byte budget, run again after the next epoll batch. */
  #later: Resumable[] = [];
  #running: Resumable[] = [];

  constructor(readonly sys: Sys, readonly init: WorkerInit, private readonly events: DataPlaneEvents) {
    const counters = new Float64Array(init.counters);
    const loop = new EventLoop(sys);
    const pool = new PipePool(sys, init.pipeSize);
    const now = performance.now();
    const io: IoContext = {
      sys, pool, counters, now, budget: STEP_BUDGET,
      copyBuffer: new Uint8Array(COPY_BUFFER_SIZE), joinBuffer: new Uint8Array(COPY_BUFFER_SIZE),
      headBuffer: new Uint8Array(COPY_BUFFER_SIZE),
    };
    const upstreams = init.upstreams.map((u) => toTarget(u, init.listeners.length + init.routeCount));
    const L = init.listeners.length;
    const keepAlive = Math.max(0, ...init.listeners.map((l) => l.http?.upstreamKeepAlive ?? 0));
    this.ctx = {
      sys, loop, io, counters, upstreams, now, upstreamControl: new Int32Array(init.upstreamControl),
      sessionClosed: (s, l) => this.#sessionClosed(s, l),
      runLater: (s) => this.#later.push(s),
      upstreamPool: new UpstreamPool(sys, loop, keepAlive, UPSTREAM_IDLE_MS),
      routeBase: (index) => routeBase(L, index),
    };
    const control = new Int32Array(init.upstreamControl);
    this.balancers = init.groups.map((members, g) => new Balancer(members, control, init.balance?.[g], init.upstreams));
    // Workers start their rounds at different places, so N workers spread N first clients.
    for (const b of this.balancers) for (let i = 0; i < init.workerIndex; i++) b.next();
    this.#control = new Int32Array(init.control);
    this.#wakeFd = init.wakeFd;
    this.#setUpListeners();
    const waker: Handler = { onEvent: () => this.#onWake() };
    check("epoll_ctl(eventfd)", loop.add(this.#wakeFd, C.EPOLLIN | C.EPOLLET, waker));
  }

  /** A message from the main thread arrived. */
  messageReceived(): void {
    this.#received++;
  }

  /** Runs until stopped. */
  async run(): Promise<void> {
    const ctx = this.ctx;
    const onError = (err: unknown, h: Handler) => this.#handlerFailed(err, h);
    const tick = () => void (ctx.now = ctx.io.now = performance.now());
    while (!this.#stopped) {
      const timeout = this.#later.length > 0 ? 0 : Math.max(0, Math.ceil(this.#nextSweep - ctx.now));
      ctx.loop.poll(timeout, tick, onError);
      if (this.#later.length > 0) {
        tick(); // the batch may have taken a while: sessions resumed now see the time they run
        this.#resumeLater(onError);
      }
      if (ctx.now >= this.#nextSweep) this.#sweep();
      if (this.#woken) await this.#yieldForMessages();
    }
    this.#teardown();
  }

  /** Runs the sessions that yielded; those that yield again wait for the next batch. */
  #resumeLater(onError: (err: unknown, h: Handler) => void): void {
    const run = this.#later;
    this.#later = this.#running;
    this.#running = run;
    for (let i = 0; i < run.length; i++) {
      const s = run[i];
      try {
        s.resume();
      } catch (err) {
        onError(err, s as unknown as Handler);
      }
    }
    run.length = 0;
  }

  /** Graceful: stop accepting; report `drained` once no session is left. */
  drain(): void {
    this.#openAtDrain ??= this.sessions.size;
    this.#draining = true;
    for (const l of this.listeners) l.close();
    for (const s of [...this.sessions]) s.drain();
    this.#checkDrained();
  }

  /** Stops watching the listeners without closing them (a newer generation owns them now). */
  retire(): void {
    this.#openAtDrain ??= this.sessions.size;
    this.#draining = true;
    for (const l of this.listeners) l.detach();
    for (const s of [...this.sessions]) s.drain(true);
    this.#checkDrained();
  }

  /** Up to `limit` open connections, oldest first. */
  connections(limit: number): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    for (const s of this.sessions) {
      if (out.length >= limit) break;
      out.push(s.describe(this.ctx.now));
    }
    return out;
  }

  /**
   * Reopens every file access log (logrotate moved the files: SIGUSR1);
   * queued lines go to the new files. Returns one message per log that could
   * not be reopened (it keeps writing to its old file).
   */
  reopenLogs(): string[] {
    const failed: string[] = [];
    for (const log of this.#logs) {
      try {
        log.reopen();
      } catch (err) {
        failed.push(err instanceof Error ? err.message : String(err));
      }
    }
    return failed;
  }

  /** Closes every session and ends `run()`. */
  stop(): void {
    this.drain();
    if (!this.#stopped) this.#cutAtStop = this.sessions.size;
    for (const s of [...this.sessions]) s.abort();
    this.#stopped = true;
  }

  /** How the drain went: connections open when it began, and those still open (closed) at `stop()`. */
  drainCounts(): { open: number; cut: number } {
    return { open: this.#openAtDrain ?? 0, cut: this.#cutAtStop };
  }

  #setUpListeners(): void {
    const { sys, loop, counters } = this.ctx;
    const active = new Int32Array(this.init.active);
    for (const l of this.init.listeners) {
      const common: ListenerSettings = {
        index: l.index, name: l.name, base: listenerBase(l.index),
        connectTimeoutMs: l.connectTimeoutMs, idleTimeoutMs: l.idleTimeoutMs,
        sendTimeoutMs: l.sendTimeoutMs,
        proxyAccept: proxyAcceptSettings(l), sendProxyProtocol: l.sendProxyProtocol,
        balancer: l.group >= 0 ? this.balancers[l.group] : new Balancer([], new Int32Array(0)),
        accessLog: this.#openLog(l.accessLog ?? "off", listenerBase(l.index)),
      };
      const settings = l.http ? this.#httpSettings(common, l.http) : l.tls ? tlsSettings(common, l.tls, this.balancers) : common;
      const accept = (wl: WorkerListener, fd: number) => this.#accepted(wl, fd);
      const wl = new WorkerListener(sys, loop, l.fd, settings, l.maxConnections, active, counters, accept);
      check(`epoll_ctl(listener ${l.name})`, wl.register());
      this.listeners.push(wl);
    }
  }

  #httpSettings(common: ListenerSettings, http: NonNullable<WorkerInit["listeners"][number]["http"]>): HttpListenerSettings {
    return { ...common, http, balancers: this.balancers, accessLog: this.#openLog(http.accessLog, common.base) };
  }

  /** Opens a listener's access log (`off`: none), reopened with the others on SIGUSR1. */
  #openLog(target: string, base: number): AccessLog | undefined {
    const log = AccessLog.open(this.sys, target, { counters: this.ctx.counters, base });
    if (log) this.#logs.push(log);
    return log;
  }

  #accepted(listener: WorkerListener, fd: number): void {
    const proxy = listener.settings.proxyAccept;
    if (proxy === undefined) return this.#startSession(listener, fd, null);
    const reader = new ProxyHeaderReader(this.ctx, listener.settings, fd, proxy, (r, socket, origin) => {
      this.sessions.delete(r);
      this.#startSession(listener, socket, origin);
    });
    this.sessions.add(reader);
    reader.start();
  }

  /** Starts the listener's session on a new client socket (`origin`: what its PROXY header said). */
  #startSession(listener: WorkerListener, fd: number, origin: ClientOrigin | null): void {
    const settings = listener.settings;
    const session = "http" in settings
      ? new HttpSession(this.ctx, settings as HttpListenerSettings, fd, origin)
      : "tls" in settings
      ? new TlsSession(this.ctx, settings as TlsListenerSettings, fd, origin)
      : new TcpSession(this.ctx, settings, fd, origin);
    this.sessions.add(session);
    session.start();
  }

  #sessionClosed(session: Session, settings: ListenerSettings): void {
    if (!this.sessions.delete(session)) return;
    this.listeners[settings.index]?.released();
    this.ctx.counters[F.pipes_open] = this.ctx.io.pool.open;
    if (this.#draining && this.sessions.size === 0) this.events.drained();
  }

  #sweep(): void {
    if (this.#faultInjected) throw new Error("fault injected by the test hook");
    const now = this.ctx.now;
    this.#nextSweep = now + SWEEP_MS;
    for (const s of this.sessions) s.checkTimers(now);
    for (const l of this.listeners) l.resume();
    this.ctx.upstreamPool.sweep(now);
    if (++this.#sweeps % TRIM_EVERY === 0) this.ctx.io.pool.trim();
    this.ctx.counters[F.pipes_open] = this.ctx.io.pool.open;
    for (const log of this.#logs) log.flush();
  }

  #faultInjected = false;

  /** Test hook: the next sweep throws, as a bug in the data plane would. */
  injectFault(): void {
    this.#faultInjected = true;
  }

  /**
   * After `run()` threw: closes every connection, pipe and pooled upstream,
   * leaves the listening sockets open (a replacement worker takes them over),
   * and never throws.
   */
  abandon(): void {
    for (const s of [...this.sessions]) {
      try {
        s.abort();
      } catch {
        this.sessions.delete(s);
      }
    }
    for (const l of this.listeners) l.detach();
    try {
      this.#teardown();
    } catch {
      // best effort: the worker is going away
    }
  }

  #checkDrained(): void {
    if (this.sessions.size === 0) this.events.drained();
  }

  #onWake(): void {
    this.sys.read(this.#wakeFd, this.#wakeBuf, 8);
    this.#woken = true;
  }

  /** Lets the runtime deliver every message the main thread has posted. */
  async #yieldForMessages(): Promise<void> {
    this.#woken = false;
    while (this.#received < Atomics.load(this.#control, CONTROL_SEQ)) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  #handlerFailed(err: unknown, handler: Handler): void {
    this.ctx.counters[F.errors]++;
    this.events.error(err);
    if (this.sessions.has(handler as unknown as Session)) (handler as unknown as Session).abort();
  }

  #teardown(): void {
    this.ctx.upstreamPool.closeAll();
    for (const log of this.#logs) log.close();
    this.ctx.io.pool.drain();
    this.ctx.loop.close();
    this.sys.close(this.#wakeFd);
    this.ctx.counters[F.pipes_open] = this.ctx.io.pool.open;
  }
}

function toTarget(u: WorkerInit["upstreams"][number], scopesBefore: number): UpstreamTarget {
  const addr = encodeSockaddr(u);
  return {
    index: u.index, id: u.id, family: addr.family, addr: addr.bytes, addrLen: addr.length,
    base: upstreamBase(scopesBefore, 0, u.index),
    fall: u.passiveFall ?? DEFAULT_FALL, count5xx: u.passive5xx ?? false,
  };
}
