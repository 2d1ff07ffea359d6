/**
 * An L4 TCP session: accept → connect to an upstream through the
 * {@linkcode UpstreamConnector} (trying the next one on refusal or timeout)
 * → a {@linkcode Tunnel} of two spliced streams until both directions end.
 *
 * Timeouts count progress, not events: the idle timeout counts from the last
 * byte moved either way, and a direction whose destination took nothing for
 * `sendTimeoutMs` while bytes wait for it (a zero window) ends the session.
 *
 * A listener with `accessLog` gets a line per closed connection saying why it
 * closed (./tcp_log.ts); the session notes the reason at each place it closes.
 *
 * @module
 */
import { formatEndpoint } from "../../ffi/sockaddr.ts";
import { clientKey } from "../balance/client_key.ts";
import { addressKey, KEY_CLIENT_IP } from "../balance/hashkey.ts";
import { observe } from "../stats/histogram.ts";
import { F, H } from "../stats/layout.ts";
import type { ConnectionInfo, ListenerSettings, Session, WorkerContext } from "./context.ts";
import { Endpoint } from "./io/endpoint.ts";
import { type Handler, SOCKET_EVENTS } from "./io/loop.ts";
import { peerAddress, setNoDelay } from "./io/sockets.ts";
import { Stream } from "./io/stream.ts";
import { Tunnel, TUNNEL_DONE, TUNNEL_RESET, TUNNEL_YIELD } from "./io/tunnel.ts";
import { type ClientOrigin, ProxyHeaderSource } from "./proxy_header.ts";
import { clientEndpoint, type CloseReason, connectionRecord } from "./tcp_log.ts";
import { CONNECTED, type ConnectResult, EXHAUSTED, PENDING, UpstreamConnector } from "./upstream/connector.ts";

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
const STATE_NAMES = ["connecting", "open", "closed"];

/** One proxied TCP connection. */
export class TcpSession implements Handler, Session {
  state = CONNECTING;
  readonly startedAt: number;
  readonly #client: Endpoint;
  readonly #upstream = new Endpoint(-1);
  readonly #tunnel: Tunnel;
  readonly #connector: UpstreamConnector;
  #openedAt = 0;
  /** Why it closed (the per-connection log's `reason`). */
  #reason: CloseReason = "error";
  /** A shutdown or reload began: an abort now is the grace deadline's. */
  #draining = false;
  /** The client's `ip:port` for the log, read at accept (only when the listener logs). */
  #clientName = "";

  constructor(
    private readonly ctx: WorkerContext,
    private readonly listener: ListenerSettings,
    client: number,
    /** What an accepted PROXY header said about the client (null: the socket's own addresses). */
    private readonly origin: ClientOrigin | null = null,
  ) {
    this.#client = new Endpoint(client);
    const c2u = new Stream(this.#client, this.#upstream, F.bytes_client_to_upstream, [0, listener.base]);
    const u2c = new Stream(this.#upstream, this.#client, F.bytes_upstream_to_client, [0, listener.base]);
    this.#tunnel = new Tunnel(c2u, u2c);
    this.#connector = new UpstreamConnector(ctx, this, listener.base, listener.connectTimeoutMs);
    this.startedAt = ctx.now;
  }

  /** Registers the client and starts connecting. */
  start(): void {
    setNoDelay(this.ctx.sys, this.#client.fd);
    this.#count(F.connections_total, 1);
    this.#count(F.connections_active, 1);
    if (this.listener.accessLog) this.#clientName = clientEndpoint(this.ctx.sys, this.#client.fd, this.origin);
    if (this.ctx.loop.add(this.#client.fd, SOCKET_EVENTS, this) < 0) return this.#close(false);
    if (this.listener.balancer.hashKey.kind === KEY_CLIENT_IP) {
      // A PROXY header's client is the client; else the socket's peer, hashed from its address bytes.
      this.#connector.key = this.origin ? addressKey(this.origin.source.host) : clientKey(this.ctx.sys, this.#client.fd);
    }
    this.#reason = "connect_failed";
    this.#connected(this.#connector.begin(this.listener.balancer, false));
  }

  /** Dispatches an epoll event for the client or the upstream socket. */
  onEvent(fd: number, events: number): void {
    if (fd === this.#client.fd) this.#client.onEvents(events);
    else if (this.state === CONNECTING) {
      this.#reason = "connect_failed";
      return this.#connected(this.#connector.settle());
    } else this.#upstream.onEvents(events);
    if (this.state === OPEN) this.#run();
  }

  /** Runs the tunnel again after it used its byte budget. */
  resume(): void {
    if (this.state === OPEN) this.#run();
  }

  /** Connect timeout, idle timeout (bytes moved), send timeout (a stalled destination). */
  checkTimers(now: number): void {
    if (this.state === CONNECTING) {
      this.#reason = "connect_timeout";
      return this.#connected(this.#connector.checkTimeout(now));
    }
    if (this.state !== OPEN) return;
    const stalled = this.#tunnel.stalledSince;
    if (stalled > 0 && now - stalled >= this.listener.sendTimeoutMs) {
      this.#count(F.send_timeouts, 1, true);
      this.#reason = "send_timeout";
      return this.#close(false);
    }
    const last = Math.max(this.#tunnel.lastProgress, this.#openedAt);
    if (now - last >= this.listener.idleTimeoutMs) {
      this.#count(F.idle_timeouts, 1, true);
      this.#reason = "idle_timeout";
      this.#close(false);
    }
  }

  /** The client's IP address: an accepted PROXY header's source, else the socket's peer ("" once gone). */
  get clientHost(): string {
    return this.origin?.source.host ?? peerAddress(this.ctx.sys, this.#client.fd)?.host ?? "";
  }

  /** A TCP stream has no request boundary: it keeps going until it ends (or the grace deadline aborts it). */
  drain(): void {
    this.#draining = true;
  }

  /** Closes both sockets now. */
  abort(): void {
    this.#reason = this.#draining ? "drain" : "error";
    this.#close(false);
  }

  #connected(r: ConnectResult): void {
    if (r === PENDING) return;
    if (r === EXHAUSTED) {
      if (this.#connector.attempts === 0) this.#reason = "no_upstream";
      return this.#close(true);
    }
    if (r === CONNECTED) this.#opened();
  }

  #opened(): void {
    const base = this.#connector.target!.base;
    this.state = OPEN;
    this.#upstream.reset(this.#connector.fd);
    this.#tunnel.forward.scopes.push(base);
    this.#tunnel.backward.scopes.push(base);
    this.ctx.counters[base + F.connections_active]++;
    this.#openedAt = this.ctx.now;
    const send = this.listener.sendProxyProtocol;
    if (send !== undefined) this.#tunnel.forward.push(new ProxyHeaderSource(this.ctx.sys, this.#client.fd, this.origin).bytes(send));
    this.#run();
  }

  #run(): void {
    const r = this.#tunnel.step(this.ctx.io);
    if (r === TUNNEL_YIELD) this.ctx.runLater(this);
    else if (r === TUNNEL_RESET) {
      this.#count(F.errors, 1, true);
      this.#count(F.resets, 1, true);
      if (this.#tunnel.farSideFailed()) this.#connector.report(false);
      this.#reason = "reset";
      this.#close(false);
    } else if (r === TUNNEL_DONE) {
      this.#reason = "eof";
      this.#close(false);
    }
  }

  #close(failed: boolean): void {
    if (this.state === CLOSED) return;
    const wasOpen = this.state === OPEN;
    this.state = CLOSED;
    const { sys, loop, io } = this.ctx;
    this.#tunnel.forward.release(io);
    this.#tunnel.backward.release(io);
    this.#connector.drop();
    loop.remove(this.#client.fd);
    sys.close(this.#client.fd);
    if (failed) this.#count(F.errors, 1, false);
    this.#count(F.connections_active, -1);
    if (wasOpen) this.ctx.counters[this.#connector.target!.base + F.connections_active]--;
    this.#observe(H.connection_duration_seconds, (this.ctx.now - this.startedAt) / 1000, wasOpen);
    const log = this.listener.accessLog;
    if (log) {
      const upstream = wasOpen ? this.#connector.target : null;
      log.write(connectionRecord(this.listener.name, this.#clientName, upstream, this.#tunnel, this.ctx.now - this.startedAt, this.#reason));
    }
    this.ctx.sessionClosed(this, this.listener);
  }

  /** A snapshot for the admin's connection list. */
  describe(now: number): ConnectionInfo {
    const peer = peerAddress(this.ctx.sys, this.#client.fd);
    const { forward: c2u, backward: u2c } = this.#tunnel;
    return {
      listener: this.listener.name,
      client: this.origin ? formatEndpoint(this.origin.source) : peer ? formatEndpoint(peer) : "",
      upstream: this.#connector.target?.id ?? "",
      state: STATE_NAMES[this.state],
      age_seconds: (now - this.startedAt) / 1000,
      bytes_client_to_upstream: c2u.moved,
      bytes_upstream_to_client: u2c.moved,
      bytes_spliced: c2u.spliced + u2c.spliced,
      bytes_copied: c2u.copied + u2c.copied,
    };
  }

  /** Records a histogram observation in the totals, listener and (if chosen) upstream scopes. */
  #observe(offset: number, seconds: number, upstreamToo: boolean): void {
    const c = this.ctx.counters;
    observe(c, offset, seconds);
    observe(c, this.listener.base + offset, seconds);
    const target = this.#connector.target;
    if (upstreamToo && target) observe(c, target.base + offset, seconds);
  }

  /** Adds to a counter in the totals and listener scopes (and the upstream's if asked). */
  #count(field: number, delta: number, upstreamToo = false): void {
    const c = this.ctx.counters;
    c[field] += delta;
    c[this.listener.base + field] += delta;
    const target = this.#connector.target;
    if (upstreamToo && target) c[target.base + field] += delta;
  }
}
