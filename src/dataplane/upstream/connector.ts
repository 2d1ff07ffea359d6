/**
 * The upstream connector, shared by TCP and HTTP sessions: pick an upstream
 * from a balancer, take an idle pooled connection or start a non-blocking
 * connect, time it out, try the next upstream on refusal or timeout, and
 * count every attempt (connect_failures, connect_timeouts, the upstream's
 * connections_total and upstream_connect_seconds). Later balancing and
 * health work plugs in here.
 *
 * ```ts
 * const r = connector.begin(balancer, true);   // CONNECTED | PENDING | EXHAUSTED
 * // on an event for connector.fd while PENDING:  r = connector.settle();
 * // on the sweep:                                 r = connector.checkTimeout(now);
 * // a pooled connection that turned out stale:    r = connector.retry();
 * ```
 *
 * @module
 */
import * as C from "../../../ffi/constants.ts";
import { type Balancer, CONTROL_SLOTS, S_ACTIVE } from "../../balance/balancer.ts";
import { NO_KEY } from "../../balance/picker.ts";
import { observe } from "../../stats/histogram.ts";
import { F, H } from "../../stats/layout.ts";
import type { UpstreamTarget, WorkerContext } from "../context.ts";
import { type Handler, SOCKET_EVENTS } from "../io/loop.ts";
import { socketError, startConnect } from "../io/sockets.ts";
import type { UpstreamPool } from "./pool.ts";
import { TriedSet } from "./tried.ts";
import { passiveFailure, passiveSuccess } from "../../health/passive.ts";

/** `fd` is a connected socket to `target`. */
export const CONNECTED = 0;
/** A connect is in flight: wait for an event on `fd`, or the timeout. */
export const PENDING = 1;
/** No usable upstream is left to try (`attempts` tells whether any was). */
export const EXHAUSTED = 2;
/** Result of the connector's steps. */
export type ConnectResult = typeof CONNECTED | typeof PENDING | typeof EXHAUSTED;

const PEEK = C.MSG_PEEK | C.MSG_DONTWAIT;

/** One session's way to an upstream. */
export class UpstreamConnector {
  /** The chosen upstream, once one was picked. */
  target: UpstreamTarget | null = null;
  /** The upstream socket (connected or connecting), or -1. */
  fd = -1;
  /** `fd` came from the keep-alive pool (and the probe found it quiet: nothing to read yet). */
  fromPool = false;
  /** Upstreams picked for this request or connection. */
  attempts = 0;
  /** When the current connect started (ms). */
  startedAt = 0;
  /** Pooled connections are taken from under this key (a PROXY header's), or the plain pool when null. */
  poolKey: string | null = null;
  /**
   * Hash key of this connection or request for a `"balance": "hash"` group
   * (set by the session before `begin`), or NO_KEY: round robin.
   */
  key = NO_KEY;
  #balancer: Balancer | null = null;
  /** The upstream whose S_ACTIVE this connector holds one of, or -1. */
  #held = -1;
  #usePool = false;
  readonly #tried = new TriedSet();
  readonly #probe = new Uint8Array(1);

  constructor(
    private readonly ctx: WorkerContext,
    /** Receives the events of the upstream socket. */
    private readonly handler: Handler,
    /** Listener scope base (counted with the totals and the upstream). */
    private readonly listenerBase: number,
    /** Connect timeout in ms. */
    private readonly timeoutMs: number,
    private readonly pool: UpstreamPool | null = null,
  ) {}

  /** Starts over for a new request: forgets what was tried, then picks and connects. */
  begin(balancer: Balancer, usePool: boolean): ConnectResult {
    this.release();
    this.#balancer = balancer;
    this.#usePool = usePool && this.pool !== null;
    this.#tried.clear();
    this.attempts = 0;
    return this.#next();
  }

  /** The pending connect got an event: CONNECTED, or the next attempt's result. */
  settle(): ConnectResult {
    if (socketError(this.ctx.sys, this.fd) !== 0) return this.#failed(F.connect_failures);
    const c = this.ctx.counters, t = this.target!;
    if (!t.count5xx) passiveSuccess(this.ctx.upstreamControl, t);
    c[t.base + F.connections_total]++;
    const seconds = (this.ctx.now - this.startedAt) / 1000;
    observe(c, H.upstream_connect_seconds, seconds);
    observe(c, this.listenerBase + H.upstream_connect_seconds, seconds);
    observe(c, t.base + H.upstream_connect_seconds, seconds);
    return CONNECTED;
  }

  /** PENDING while the connect may still finish; after the timeout, the next attempt's result. */
  checkTimeout(now: number): ConnectResult {
    if (now - this.startedAt < this.timeoutMs) return PENDING;
    return this.#failed(F.connect_timeouts);
  }

  /**
   * A pooled connection failed before any response byte: drop it and try the
   * same upstream again on a fresh connection (never from the pool).
   */
  retry(): ConnectResult {
    this.drop();
    this.#usePool = false;
    if (this.target !== null) this.#tried.delete(this.target.index);
    return this.#next();
  }

  /**
   * Hands the socket over to the caller (it is no longer the connector's).
   * The upstream's active count is given back (the connection is idle in the
   * pool) unless `stillInUse` (a tunnel carries it on: `drop` or `release` later).
   */
  detach(stillInUse = false): number {
    if (!stillInUse) this.release();
    const fd = this.fd;
    this.fd = -1;
    return fd;
  }

  /** Closes the upstream socket, if any. */
  drop(): void {
    this.release();
    if (this.fd < 0) return;
    this.ctx.loop.remove(this.fd);
    this.ctx.sys.close(this.fd);
    this.fd = -1;
  }

  #next(): ConnectResult {
    for (;;) {
      const j = this.#balancer!.next(this.#tried, this.key);
      this.#hold(j);
      if (j < 0) return EXHAUSTED;
      this.#tried.add(j);
      this.attempts++;
      this.target = this.ctx.upstreams[j];
      if (this.#usePool && this.#takePooled(j)) return CONNECTED;
      const r = this.#connect(this.target);
      if (r !== EXHAUSTED) return r;
      this.count(F.connect_failures);
      passiveFailure(this.ctx.upstreamControl, this.target);
    }
  }

  /** Takes a pooled connection that is quiet: no stray byte, no pending EOF. */
  #takePooled(j: number): boolean {
    for (;;) {
      const fd = this.pool!.take(j, this.poolKey);
      if (fd < 0) return false;
      if (this.ctx.sys.recv(fd, this.#probe, 1, PEEK) === -C.EAGAIN) {
        this.fd = fd;
        this.fromPool = true;
        this.ctx.loop.setHandler(fd, this.handler);
        return true;
      }
      this.ctx.loop.remove(fd);
      this.ctx.sys.close(fd);
    }
  }

  /** Starts a connect: PENDING, CONNECTED, or EXHAUSTED meaning "this one failed at once". */
  #connect(t: UpstreamTarget): ConnectResult {
    this.fromPool = false;
    this.startedAt = this.ctx.now;
    const { fd, result } = startConnect(this.ctx.sys, t.family, t.addr, t.addrLen);
    if (fd < 0) return EXHAUSTED;
    this.fd = fd;
    if ((result !== 0 && result !== -C.EINPROGRESS) || this.ctx.loop.add(fd, SOCKET_EVENTS, this.handler) < 0) {
      this.drop();
      return EXHAUSTED;
    }
    return PENDING;
  }

  #failed(field: number): ConnectResult {
    this.count(field);
    passiveFailure(this.ctx.upstreamControl, this.target!);
    this.drop();
    return this.#next();
  }

  /** Passive health: traffic on the chosen upstream failed (`ok` false: a reset, a 5xx) or went well. */
  report(ok: boolean): void {
    if (this.target === null) return;
    if (ok) passiveSuccess(this.ctx.upstreamControl, this.target);
    else passiveFailure(this.ctx.upstreamControl, this.target);
  }

  /**
   * Counts a connection in use to upstream `j` (-1: none) in its shared
   * S_ACTIVE, from the pick (so a burst of connects spreads) until `release`.
   */
  #hold(j: number): void {
    this.release();
    if (j < 0) return;
    Atomics.add(this.#balancer!.control, j * CONTROL_SLOTS + S_ACTIVE, 1);
    this.#held = j;
  }

  /** Gives back the active count this connector holds, if any (idempotent). */
  release(): void {
    if (this.#held < 0) return;
    Atomics.sub(this.#balancer!.control, this.#held * CONTROL_SLOTS + S_ACTIVE, 1);
    this.#held = -1;
  }

  /** Counts one event in the totals, the listener and the chosen upstream. */
  count(field: number): void {
    const c = this.ctx.counters;
    c[field]++;
    c[this.listenerBase + field]++;
    if (this.target !== null) c[this.target.base + field]++;
  }
}
