/**
 * A TLS passthrough session: read the client's ClientHello into a buffer
 * (however it is split into segments and records), pick a route by its SNI
 * ({@linkcode SniRouter}: exact, longest wildcard, default), connect through
 * the {@linkcode UpstreamConnector}, write the buffered bytes to the upstream
 * first, then splice both ways in a {@linkcode Tunnel}. Nothing is decrypted:
 * the handshake, and the certificate the client sees, are the upstream's.
 *
 * Phases: HELLO → CONNECTING → OPEN → CLOSED. In HELLO, bytes that are not a
 * TLS handshake, a malformed ClientHello or one past {@linkcode HELLO_BUFFER}
 * close the connection (`tls_bad_hello`), as does no complete hello within
 * `clientHelloTimeout` (`tls_hello_timeouts`) or a server name no route takes
 * when there is no default route (`tls_no_route`). A client that closes before
 * sending a byte is closed without a count (a TCP health check does that).
 *
 * A listener with `accessLog` gets a line per closed connection, as TCP's
 * (./tcp_log.ts), with the ClientHello's `sni` once one was read.
 *
 * @module
 */
import { EAGAIN } from "../../ffi/constants.ts";
import { formatEndpoint } from "../../ffi/sockaddr.ts";
import { clientKey } from "../balance/client_key.ts";
import { addressKey, KEY_CLIENT_IP } from "../balance/hashkey.ts";
import { observe } from "../stats/histogram.ts";
import { F, H } from "../stats/layout.ts";
import { ClientHello, HELLO_NEED_MORE, HELLO_OK, MAX_HELLO_BYTES, readClientHello } from "../tls/client_hello.ts";
import { SniRouter } from "../tls/sni_router.ts";
import type { ConnectionInfo, ListenerSettings, Session, WorkerContext } from "./context.ts";
import { Endpoint } from "./io/endpoint.ts";
import { type ClientOrigin, ProxyHeaderSource } from "./proxy_header.ts";
import { clientEndpoint, type CloseReason, connectionRecord } from "./tcp_log.ts";
import { InBuffer } from "./io/inbuf.ts";
import { type Handler, SOCKET_EVENTS } from "./io/loop.ts";
import { peerAddress, setNoDelay } from "./io/sockets.ts";
import { Stream } from "./io/stream.ts";
import { Tunnel, TUNNEL_DONE, TUNNEL_RESET, TUNNEL_YIELD } from "./io/tunnel.ts";
import type { RouteInit, TlsInit } from "./protocol.ts";
import { CONNECTED, type ConnectResult, EXHAUSTED, PENDING, UpstreamConnector } from "./upstream/connector.ts";

/**
 * Bytes buffered for a ClientHello: a 16 KiB hello plus the headers of the
 * records that carry it, with room for a hello cut into many small records.
 */
export const HELLO_BUFFER = MAX_HELLO_BYTES + 4 * 1024;

const HELLO = 0, CONNECTING = 1, OPEN = 2, CLOSED = 3;
const STATE_NAMES = ["hello", "connecting", "open", "closed"];

/** A route entry of the SNI router. */
interface SniEntry {
  readonly sni: string | undefined;
  readonly route: RouteInit;
}

/** A TLS listener's settings in a worker. */
export interface TlsListenerSettings extends ListenerSettings {
  readonly tls: TlsInit;
  readonly router: SniRouter<SniEntry>;
  /** Balancers by group index (shared by the worker's listeners). */
  readonly balancers: readonly ListenerSettings["balancer"][];
}

/** The worker context a TLS session needs: the common one and route counter scopes. */
export type TlsWorkerContext = WorkerContext & { routeBase(index: number): number };

/** Builds a TLS listener's worker settings (its SNI router once per worker). */
export function tlsSettings(common: ListenerSettings, tls: TlsInit, balancers: readonly ListenerSettings["balancer"][]): TlsListenerSettings {
  const router = new SniRouter(tls.routes.map((route) => ({ sni: route.host, route })));
  return { ...common, tls, router, balancers };
}

/** One TLS passthrough connection. */
export class TlsSession implements Handler, Session {
  state = HELLO;
  readonly startedAt: number;
  readonly #client: Endpoint;
  readonly #upstream = new Endpoint(-1);
  readonly #cin = new InBuffer(HELLO_BUFFER);
  readonly #hello = new ClientHello();
  readonly #tunnel: Tunnel;
  readonly #connector: UpstreamConnector;
  #route: RouteInit | null = null;
  #openedAt = 0;
  /** Why it closed (the per-connection log's `reason`). */
  #reason: CloseReason = "error";
  /** A shutdown or reload began: an abort now is the grace deadline's. */
  #draining = false;
  /** The client's `ip:port` for the log, read at accept (only when the listener logs). */
  #clientName = "";

  constructor(
    private readonly ctx: TlsWorkerContext,
    private readonly listener: TlsListenerSettings,
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

  /** Registers the client and reads what it sent so far. */
  start(): void {
    setNoDelay(this.ctx.sys, this.#client.fd);
    this.#count(F.connections_total, 1);
    this.#count(F.connections_active, 1);
    if (this.listener.accessLog) this.#clientName = clientEndpoint(this.ctx.sys, this.#client.fd, this.origin);
    if (this.ctx.loop.add(this.#client.fd, SOCKET_EVENTS, this) < 0) return this.#close(false);
    this.#readHello();
  }

  /** Dispatches an epoll event for the client or the upstream socket. */
  onEvent(fd: number, events: number): void {
    if (fd === this.#client.fd) {
      this.#client.onEvents(events);
      if (this.state === HELLO) return this.#readHello();
    } else if (this.state === CONNECTING) {
      this.#reason = "connect_failed";
      return this.#connected(this.#connector.settle());
    } else this.#upstream.onEvents(events);
    if (this.state === OPEN) this.#run();
  }

  /** Runs the tunnel again after it used its byte budget. */
  resume(): void {
    if (this.state === OPEN) this.#run();
  }

  /** ClientHello timeout, connect timeout, then idle and send timeouts as for TCP. */
  checkTimers(now: number): void {
    if (this.state === HELLO) {
      if (now - this.startedAt >= this.listener.tls.clientHelloTimeoutMs) this.#refuse(F.tls_hello_timeouts, "tls_hello_timeout");
      return;
    }
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
    if (now - Math.max(this.#tunnel.lastProgress, this.#openedAt) >= this.listener.idleTimeoutMs) {
      this.#count(F.idle_timeouts, 1, true);
      this.#reason = "idle_timeout";
      this.#close(false);
    }
  }

  /** A passthrough stream has no request boundary: it keeps going until it ends (or the grace deadline aborts it). */
  drain(): void {
    this.#draining = true;
  }

  /** Closes both sockets now. */
  abort(): void {
    this.#reason = this.#draining ? "drain" : "error";
    this.#close(false);
  }

  /** Reads until the ClientHello is complete, refused, or the socket has nothing more now. */
  #readHello(): void {
    const cin = this.#cin;
    while (this.state === HELLO && this.#client.readable) {
      const n = cin.fill(this.ctx.sys, this.#client);
      if (n === -EAGAIN) return;
      if (n <= 0) return cin.size === 0 ? this.#clientClosed() : this.#refuse(F.tls_bad_hello, "tls_bad_hello");
      const r = readClientHello(cin.buf, cin.start, cin.end, HELLO_BUFFER, this.#hello);
      if (r === HELLO_OK) return this.#pickRoute();
      if (r !== HELLO_NEED_MORE) return this.#refuse(F.tls_bad_hello, "tls_bad_hello");
    }
  }

  #pickRoute(): void {
    const entry = this.listener.router.match(this.#hello.sni);
    if (entry === undefined) return this.#refuse(F.tls_no_route, "tls_no_route");
    const route = this.#route = entry.route;
    const base = this.ctx.routeBase(route.index);
    this.ctx.counters[base + F.connections_total]++;
    this.ctx.counters[base + F.connections_active]++;
    this.#tunnel.forward.scopes.push(base);
    this.#tunnel.backward.scopes.push(base);
    this.state = CONNECTING;
    const balancer = this.listener.balancers[route.group];
    if (balancer.hashKey.kind === KEY_CLIENT_IP) {
      this.#connector.key = this.origin ? addressKey(this.origin.source.host) : clientKey(this.ctx.sys, this.#client.fd);
    }
    this.#reason = "connect_failed";
    this.#connected(this.#connector.begin(balancer, false));
  }

  #connected(r: ConnectResult): void {
    if (r === PENDING) return;
    if (r === EXHAUSTED) {
      if (this.#connector.attempts === 0) this.#reason = "no_upstream";
      return this.#close(true);
    }
    if (r === CONNECTED) this.#opened();
  }

  /** Connected: the buffered ClientHello (and anything after it) goes first, then the tunnel. */
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
    this.#cin.moveTo(this.#tunnel.forward, this.#cin.size);
    this.#run();
    // The stream copied whatever the upstream did not take in that step: the buffer can go back.
    this.#cin.release();
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

  /** Closes a connection refused before it had an upstream, counting why. */
  #refuse(field: number, reason: CloseReason): void {
    this.#count(field, 1);
    this.#reason = reason;
    this.#close(false);
  }

  /** The client closed before sending a byte (a TCP health check does that): no count. */
  #clientClosed(): void {
    this.#reason = "client_closed";
    this.#close(false);
  }

  #close(failed: boolean): void {
    if (this.state === CLOSED) return;
    const wasOpen = this.state === OPEN, helloRead = this.state !== HELLO || this.#reason === "tls_no_route";
    this.state = CLOSED;
    const { sys, loop, io, counters } = this.ctx;
    this.#tunnel.forward.release(io);
    this.#tunnel.backward.release(io);
    this.#connector.drop();
    loop.remove(this.#client.fd);
    sys.close(this.#client.fd);
    this.#cin.consume(this.#cin.size);
    this.#cin.release();
    if (failed) this.#count(F.errors, 1, false);
    this.#count(F.connections_active, -1);
    const seconds = (this.ctx.now - this.startedAt) / 1000;
    if (this.#route) {
      const base = this.ctx.routeBase(this.#route.index);
      counters[base + F.connections_active]--;
      observe(counters, base + H.connection_duration_seconds, seconds);
    }
    if (wasOpen) counters[this.#connector.target!.base + F.connections_active]--;
    this.#observe(H.connection_duration_seconds, seconds, wasOpen);
    if (this.listener.accessLog) this.#log(wasOpen, helloRead);
    this.ctx.sessionClosed(this, this.listener);
  }

  /** The per-connection log line, with the server name once a ClientHello was read. */
  #log(wasOpen: boolean, helloRead: boolean): void {
    const upstream = wasOpen ? this.#connector.target : null;
    const record = connectionRecord(this.listener.name, this.#clientName, upstream, this.#tunnel, this.ctx.now - this.startedAt, this.#reason);
    if (helloRead) record.sni = this.#hello.sni;
    this.listener.accessLog!.write(record);
  }

  /** A snapshot for the admin's connection list, with the ClientHello's SNI and ALPN once read. */
  describe(now: number): ConnectionInfo {
    const peer = peerAddress(this.ctx.sys, this.#client.fd);
    const { forward: c2u, backward: u2c } = this.#tunnel;
    const info: ConnectionInfo = {
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
    return this.state === HELLO ? info : { ...info, sni: this.#hello.sni, alpn: this.#hello.alpn };
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
