/**
 * An L4 TCP session: accept → connect to an upstream (trying the next one on
 * refusal or timeout) → two spliced flows until both directions finish.
 *
 * Half-close: EOF on one side becomes shutdown(SHUT_WR) on the other, and the
 * session ends when both flows finished. A reset or write failure on one side
 * resets the other (SO_LINGER {1, 0}) and ends the session.
 *
 * @module
 */
import * as C from "../../ffi/constants.ts";
import { observe } from "../stats/histogram.ts";
import { F, H } from "../stats/layout.ts";
import type { ConnectionInfo, ListenerSettings, Session, UpstreamTarget, WorkerContext } from "./context.ts";
import { SOCKET_EVENTS, type Handler } from "./loop.ts";
import { FAILED, Flow, pump, releaseFlow } from "./pump.ts";
import { peerAddress, setLingerReset, setNoDelay, socketError, startConnect } from "./sockets.ts";
import { formatEndpoint } from "../../ffi/sockaddr.ts";

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
const STATE_NAMES = ["connecting", "open", "closed"];

const READABLE = C.EPOLLIN | C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR;
const WRITABLE = C.EPOLLOUT | C.EPOLLHUP | C.EPOLLERR;

/** One proxied TCP connection. */
export class TcpSession implements Handler, Session {
  upstream = -1;
  target: UpstreamTarget | null = null;
  state = CONNECTING;
  readonly c2u: Flow;
  readonly u2c: Flow;
  readonly startedAt: number;
  #tried = new Set<number>();
  #deadline = 0;
  #connectStarted = 0;
  #lastActive: number;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly listener: ListenerSettings,
    readonly client: number,
  ) {
    const scopes = [0, listener.base];
    this.c2u = new Flow(client, -1, F.bytes_client_to_upstream, scopes);
    this.u2c = new Flow(-1, client, F.bytes_upstream_to_client, scopes.slice());
    this.startedAt = this.#lastActive = ctx.now;
  }

  /** Registers the client and starts connecting. */
  start(): void {
    setNoDelay(this.ctx.sys, this.client);
    this.#count(F.connections_total, 1, false);
    this.#count(F.connections_active, 1, false);
    if (this.ctx.loop.add(this.client, SOCKET_EVENTS, this) < 0) return this.#close(false);
    this.#connectNext();
  }

  /** Dispatches an epoll event for the client or the upstream socket. */
  onEvent(fd: number, events: number): void {
    this.#lastActive = this.ctx.now;
    if (fd === this.client) {
      if (events & READABLE) this.c2u.srcReady = true;
      if (events & WRITABLE) this.u2c.dstReady = true;
    } else if (this.state === CONNECTING) {
      return this.#connectDone();
    } else {
      if (events & READABLE) this.u2c.srcReady = true;
      if (events & WRITABLE) this.c2u.dstReady = true;
    }
    if (this.state === OPEN) this.#run();
  }

  /** Closes the session if its connect or idle deadline passed. */
  checkTimers(now: number): void {
    if (this.state === CONNECTING && now >= this.#deadline) {
      this.#count(F.connect_timeouts, 1, true);
      this.#dropUpstream();
      this.#connectNext();
    } else if (this.state === OPEN && now - this.#lastActive >= this.listener.idleTimeoutMs) {
      this.#count(F.idle_timeouts, 1, true);
      this.#close(false);
    }
  }

  /** A TCP stream has no request boundary: it keeps going until it ends. */
  drain(): void {}

  /** Closes both sockets now. */
  abort(): void {
    this.#close(false);
  }

  #connectNext(): void {
    const ctx = this.ctx;
    const j = this.listener.balancer.next(this.#tried);
    if (j < 0) return this.#close(true);
    this.#tried.add(j);
    const target = ctx.upstreams[j];
    this.target = target;
    const { fd, result } = startConnect(ctx.sys, target.family, target.addr, target.addrLen);
    if (fd < 0) return this.#connectFailed();
    this.upstream = fd;
    if (result !== 0 && result !== -C.EINPROGRESS) return this.#connectFailed();
    if (ctx.loop.add(fd, SOCKET_EVENTS, this) < 0) return this.#connectFailed();
    this.#connectStarted = ctx.now;
    this.#deadline = ctx.now + this.listener.connectTimeoutMs;
    this.state = CONNECTING;
  }

  #connectDone(): void {
    const err = socketError(this.ctx.sys, this.upstream);
    if (err !== 0) return this.#connectFailed();
    this.#opened();
  }

  #connectFailed(): void {
    this.#count(F.connect_failures, 1, true);
    this.#dropUpstream();
    this.#connectNext();
  }

  #dropUpstream(): void {
    if (this.upstream >= 0) {
      this.ctx.loop.remove(this.upstream);
      this.ctx.sys.close(this.upstream);
      this.upstream = -1;
    }
  }

  #opened(): void {
    const base = this.target!.base;
    this.state = OPEN;
    this.c2u.dst = this.upstream;
    this.u2c.src = this.upstream;
    this.c2u.scopes.push(base);
    this.u2c.scopes.push(base);
    this.ctx.counters[base + F.connections_total]++;
    this.ctx.counters[base + F.connections_active]++;
    this.#observe(H.upstream_connect_seconds, (this.ctx.now - this.#connectStarted) / 1000);
    this.#lastActive = this.ctx.now;
    this.#run();
  }

  #run(): void {
    const ctx = this.ctx.pump;
    if (pump(ctx, this.c2u) === FAILED) return this.#reset(this.c2u);
    if (pump(ctx, this.u2c) === FAILED) return this.#reset(this.u2c);
    if (this.c2u.finished && this.u2c.finished) this.#close(false);
  }

  /** A flow failed: reset the side that is still there, then close. */
  #reset(flow: Flow): void {
    const survivor = flow.failedAtDst ? flow.src : flow.dst;
    setLingerReset(this.ctx.sys, survivor);
    this.#count(F.errors, 1, true);
    this.#close(false);
  }

  #close(failed: boolean): void {
    if (this.state === CLOSED) return;
    const wasOpen = this.state === OPEN;
    this.state = CLOSED;
    const { sys, loop, pump: pctx } = this.ctx;
    releaseFlow(pctx, this.c2u);
    releaseFlow(pctx, this.u2c);
    this.#dropUpstream();
    loop.remove(this.client);
    sys.close(this.client);
    if (failed) this.#count(F.errors, 1, false);
    this.#count(F.connections_active, -1, false);
    if (wasOpen) this.ctx.counters[this.target!.base + F.connections_active]--;
    this.#observe(H.connection_duration_seconds, (this.ctx.now - this.startedAt) / 1000, wasOpen);
    this.ctx.sessionClosed(this, this.listener);
  }

  /** A snapshot for the admin's connection list. */
  describe(now: number): ConnectionInfo {
    const peer = peerAddress(this.ctx.sys, this.client);
    return {
      listener: this.listener.name,
      client: peer ? formatEndpoint(peer) : "",
      upstream: this.target?.id ?? "",
      state: STATE_NAMES[this.state],
      age_seconds: (now - this.startedAt) / 1000,
      bytes_client_to_upstream: this.c2u.moved,
      bytes_upstream_to_client: this.u2c.moved,
      bytes_spliced: this.c2u.spliced + this.u2c.spliced,
      bytes_copied: this.c2u.copied + this.u2c.copied,
    };
  }

  /** Records a histogram observation in the totals, listener and (if chosen) upstream scopes. */
  #observe(offset: number, seconds: number, upstreamToo = true): void {
    const c = this.ctx.counters;
    observe(c, offset, seconds);
    observe(c, this.listener.base + offset, seconds);
    if (upstreamToo && this.target) observe(c, this.target.base + offset, seconds);
  }

  /** Adds to a counter in the totals and listener scopes (and the upstream's if asked). */
  #count(field: number, delta: number, upstreamToo: boolean): void {
    const c = this.ctx.counters;
    c[field] += delta;
    c[this.listener.base + field] += delta;
    if (upstreamToo && this.target) c[this.target.base + field] += delta;
  }
}
