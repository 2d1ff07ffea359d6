/**
 * An HTTP/1.1 client connection: connection-level state only (phases,
 * keep-alive, pipelining, drain, the client socket and its buffers). Each
 * request becomes an {@linkcode Exchange} with an upstream, or a
 * {@linkcode LocalAnswer} (errors, static files); a 101 becomes a
 * {@linkcode Tunnel}.
 *
 * Phases: READING (a request head, or idle between requests) → EXCHANGE |
 * LOCAL → READING again when kept alive; TUNNEL after a 101; LINGER after an
 * error answer (write side shut, client bytes dropped); CLOSED. Pipelined
 * requests wait in the input buffer or the socket and are answered in order.
 *
 * @module
 */
import * as C from "../../../ffi/constants.ts";
import { formatEndpoint } from "../../../ffi/sockaddr.ts";
import type { HeadLimits } from "../../http/head.ts";
import { BODY_LENGTH, BODY_NONE, type RequestView } from "../../http/wire/mod.ts";
import { observe } from "../../stats/histogram.ts";
import { F, H } from "../../stats/layout.ts";
import type { ConnectionInfo, Session, UpstreamTarget } from "../context.ts";
import type { HttpListenerSettings, HttpWorkerContext } from "../http_context.ts";
import { Endpoint } from "../io/endpoint.ts";
import { InBuffer } from "../io/inbuf.ts";
import { type Handler, SOCKET_EVENTS } from "../io/loop.ts";
import { peerAddress, setNoDelay } from "../io/sockets.ts";
import { Stream } from "../io/stream.ts";
import { Tunnel, TUNNEL_DONE, TUNNEL_RESET, TUNNEL_YIELD } from "../io/tunnel.ts";
import type { RouteInit } from "../protocol.ts";
import { type ClientOrigin, ProxyHeaderSource } from "../proxy_header.ts";
import { RequestId } from "../request_id.ts";
import { addressKey, KEY_NONE, requestKey } from "../../balance/hashkey.ts";
import { REFUSED_TARGET, RouteChoice } from "./routing.ts";
import { Exchange, type ExchangeOutcome, X_CLOSE, X_DONE, X_EARLY, X_ERROR, X_TUNNEL, X_WAIT, X_YIELD } from "./exchange.ts";
import { RequestHeads, ResponseHeads } from "./heads.ts";
import { L_DONE, L_FAILED, LINGER_MS, LocalAnswer, lingerDone } from "./local.ts";

const READING = 0, EXCHANGE = 1, LOCAL = 2, TUNNEL = 3, LINGER = 4, CLOSED = 5;
const PEEK = C.MSG_PEEK | C.MSG_DONTWAIT;
/** After a reload, a kept-alive client connection idle this long is closed (one busy sooner gets `Connection: close`). */
const RETIRE_IDLE_MS = 1000;
const PROBE = new Uint8Array(1);
const PHASE_NAMES = ["idle", "exchange", "local", "tunnel", "closing", "closed"];
/** A tunnel with no byte moving either way for this long is closed. */
const TUNNEL_IDLE_MS = 3_600_000;
/** Phase changes one drive may make before it lets other connections run. */
const MAX_TURNS = 64;

/** One HTTP client connection. */
export class HttpSession implements Handler, Session {
  readonly startedAt: number;
  readonly #client: Endpoint;
  readonly #up = new Endpoint(-1);
  readonly #cin: InBuffer;
  readonly #uin: InBuffer;
  readonly #c2u: Stream;
  readonly #u2c: Stream;
  readonly #exchange: Exchange;
  readonly #local: LocalAnswer;
  readonly #limits: HeadLimits;
  readonly #requestHeads: RequestHeads;
  readonly #routing = new RouteChoice();
  readonly #clientAddress: string;
  readonly #origin: ClientOrigin | null;
  /** The current request's id (listener `requestId`), or null when ids are off. */
  readonly #requestId: RequestId | null;
  #phase = READING;
  #tunnel: Tunnel | null = null;
  #draining = false;
  #softDrain = false;
  /** The request being answered (the reused view); null while reading one, or for a head that did not parse. */
  #req: RequestView | null = null;
  #route: RouteInit | null = null;
  /** When the current head's first byte arrived, or the connection went idle. */
  #headStartedAt = 0;
  #idleSince: number;
  #lingerUntil = 0;
  /** Stream totals when the current request began (the access log counts per request). */
  #inAt = 0;
  #outAt = 0;
  #splicedAt = 0;

  /** `origin`: what an accepted PROXY header said about the client (null: the socket's own addresses). */
  constructor(private readonly ctx: HttpWorkerContext, private readonly listener: HttpListenerSettings, fd: number, origin: ClientOrigin | null = null) {
    const http = listener.http;
    this.#client = new Endpoint(fd);
    this.#cin = new InBuffer(http.maxHeadBytes);
    this.#uin = new InBuffer(http.maxHeadBytes);
    this.#limits = { maxHeadBytes: http.maxHeadBytes, maxHeaders: 100, maxTargetBytes: Math.min(8192, http.maxHeadBytes) };
    this.#c2u = new Stream(this.#client, this.#up, F.bytes_client_to_upstream, [0, listener.base]);
    this.#u2c = new Stream(this.#up, this.#client, F.bytes_upstream_to_client, [0, listener.base]);
    const peer = peerAddress(ctx.sys, fd);
    this.#origin = origin;
    this.#clientAddress = origin ? origin.source.host : peer ? peer.host : "";
    const idHeader = http.requestIdHeader;
    this.#requestId = idHeader === undefined ? null : new RequestId(idHeader);
    this.#requestHeads = new RequestHeads(this.#clientAddress, idHeader);
    this.#exchange = new Exchange(ctx, listener, {
      up: this.#up, cin: this.#cin, uin: this.#uin, c2u: this.#c2u, u2c: this.#u2c,
      requestHeads: this.#requestHeads, responseHeads: new ResponseHeads(idHeader), limits: this.#limits,
      proxyHeader: new ProxyHeaderSource(ctx.sys, fd, origin), requestId: this.#requestId,
      upstreamChosen: (target) => this.#setScopes(this.#route, target),
    }, this);
    this.#local = new LocalAnswer(ctx, this.#u2c);
    this.startedAt = this.#idleSince = ctx.now;
  }

  /** Registers the client socket and reads its first request. */
  start(): void {
    setNoDelay(this.ctx.sys, this.#client.fd);
    this.#count(F.connections_total);
    this.#count(F.connections_active);
    if (this.ctx.loop.add(this.#client.fd, SOCKET_EVENTS, this) < 0) return this.#close();
    this.#drive();
  }

  /** Readiness from epoll for the client or the upstream socket. */
  onEvent(fd: number, events: number): void {
    if (fd === this.#client.fd) this.#client.onEvents(events);
    else if (this.#exchange.connecting && fd === this.#exchange.connector.fd) this.#onExchange(this.#exchange.settle());
    else if (fd === this.#up.fd) this.#up.onEvents(events);
    else return;
    if (this.#phase !== CLOSED) this.#drive();
  }

  /** Runs again after a stream used its byte budget. */
  resume(): void {
    this.#drive();
  }

  /** Deadlines: idle keep-alive, slow head (408), the exchange's, send timeout, tunnel idle, linger. */
  checkTimers(now: number): void {
    const phase = this.#phase;
    if (phase === READING) this.#readingTimers(now);
    else if (phase === EXCHANGE) this.#onExchange(this.#exchange.checkTimers(now));
    else if (phase === LOCAL) this.#sendTimer(now, this.#u2c.stalledSince);
    else if (phase === TUNNEL) this.#tunnelTimers(now);
    else if (phase === LINGER && now >= this.#lingerUntil) this.#close();
    if (this.#phase !== CLOSED && this.#phase !== phase) this.#drive();
  }

  /**
   * Stop keeping the client alive: the next response says `Connection: close`.
   * An idle connection closes now (graceful shutdown), or, when `soft` (a reload:
   * the listener lives on in the new generation), once it has been idle for
   * RETIRE_IDLE_MS, so a client about to send its next request is not cut off.
   */
  drain(soft = false): void {
    this.#draining = true;
    this.#softDrain = soft;
    if (!soft && this.#phase === READING && this.#cin.size === 0) this.#close();
  }

  /** Closes at once. */
  abort(): void {
    this.#close();
  }

  /** The client's IP address: an accepted PROXY header's source, else the socket's peer (X-Forwarded-For, access log). */
  get clientHost(): string {
    return this.#clientAddress;
  }

  /** A snapshot for the admin's connection list. */
  describe(now: number): ConnectionInfo {
    const peer = this.#origin?.source ?? peerAddress(this.ctx.sys, this.#client.fd);
    const c2u = this.#c2u, u2c = this.#u2c;
    return {
      listener: this.listener.name,
      client: peer ? formatEndpoint(peer) : "",
      upstream: this.#exchange.connector.target?.id ?? "",
      state: PHASE_NAMES[this.#phase],
      age_seconds: (now - this.startedAt) / 1000,
      bytes_client_to_upstream: c2u.moved,
      bytes_upstream_to_client: u2c.moved + this.#local.fileBytes,
      bytes_spliced: c2u.spliced + u2c.spliced,
      bytes_copied: c2u.copied + u2c.copied,
    };
  }

  /** Runs every part that can make progress. */
  #drive(): void {
    for (let turn = 0; turn < MAX_TURNS; turn++) {
      const before = this.#phase;
      if (before === READING) this.#readHead();
      else if (before === EXCHANGE) this.#onExchange(this.#exchange.step());
      else if (before === LOCAL) this.#runLocal();
      else if (before === TUNNEL) this.#runTunnel();
      else if (before === LINGER) this.#runLinger();
      if (this.#phase === before || this.#phase === CLOSED) return;
    }
    this.ctx.runLater(this);
  }

  // ---- reading requests ------------------------------------------------------

  #readingTimers(now: number): void {
    const http = this.listener.http;
    if (this.#cin.size > 0 && now - this.#headStartedAt >= http.headTimeoutMs) {
      this.#req = null;
      this.#beginRequest(null);
      return this.#localError(408, "request head not complete in time", false);
    }
    if (this.#cin.size === 0 && now - this.#idleSince >= this.listener.idleTimeoutMs) this.#close();
    else if (this.#softDrain && this.#cin.size === 0 && now - this.#idleSince >= RETIRE_IDLE_MS) this.#lingerClose();
  }

  #readHead(): void {
    const cin = this.#cin, client = this.#client;
    for (;;) {
      const length = this.#requestHeads.read(cin, this.#limits);
      if (length < 0) {
        const view = this.#requestHeads.view;
        this.#beginRequest(null);
        return this.#localError(view.errorStatus, view.errorReason, false);
      }
      if (length > 0) return this.#startRequest(length);
      if (client.eof) return this.#close();
      if (!client.readable) return cin.release();
      const wasEmpty = cin.size === 0;
      const n = cin.fill(this.ctx.sys, client);
      if (n === 0) return this.#close();
      if (n < 0) return n === -C.EAGAIN ? cin.release() : this.#close();
      if (wasEmpty) this.#headStartedAt = this.ctx.now;
    }
  }

  /** Counts the request, takes or makes its id (ids on), and points the streams' counters at its scopes. */
  #beginRequest(req: RequestView | null, route: RouteInit | null = null): void {
    this.#req = req;
    this.#route = route;
    this.#requestId?.take(req, this.#cin.buf);
    this.#inAt = this.#c2u.moved;
    this.#outAt = this.#u2c.moved + this.#local.fileBytes;
    this.#splicedAt = this.#c2u.spliced + this.#u2c.spliced;
    this.#setScopes(route, null);
    this.#count(F.requests_total);
    if (route) this.ctx.counters[this.ctx.routeBase(route.index) + F.requests_total]++;
    this.#exchangeStartedAt = this.ctx.now;
    this.#viaExchange = false;
  }

  #exchangeStartedAt = 0;
  /** The current request went to an upstream (else it was answered here). */
  #viaExchange = false;

  /** A request head of `length` bytes is at the start of the input buffer (not consumed yet). */
  #startRequest(length: number): void {
    const req = this.#requestHeads.view, routed = this.#routing;
    routed.decide(this.listener.http.routes, req);
    const route = routed.route;
    this.#beginRequest(req, route ?? null);
    if (route === undefined || routed.refused || route.staticRoot !== undefined ||
      (req.body === BODY_LENGTH && req.contentLength > route.maxBodySize)) {
      return this.#answerLocally(length, route);
    }
    this.#phase = EXCHANGE;
    this.#viaExchange = true;
    const hashKey = this.listener.balancers[route.group].hashKey;
    if (hashKey.kind !== KEY_NONE) {
      this.#exchange.connector.key = requestKey(hashKey, req, this.#cin.buf, routed.target, addressKey(this.#clientAddress));
    }
    this.#onExchange(this.#exchange.begin(length, route, routed.target, this.#draining));
  }

  /** Refused targets, no route, bodies over the limit and static files: answered here. */
  #answerLocally(length: number, route: RouteInit | undefined): void {
    const req = this.#requestHeads.view;
    if (this.#routing.refused) {
      this.#cin.consume(length);
      return this.#localError(400, REFUSED_TARGET, false);
    }
    if (route === undefined) {
      this.#cin.consume(length);
      return this.#localError(404, "no route", req.body === BODY_NONE);
    }
    if (route.staticRoot === undefined) {
      this.#cin.consume(length);
      return this.#localError(413, "body larger than the route allows", false);
    }
    const head = this.#requestHeads.toHead(this.#cin);
    this.#cin.consume(length);
    this.#local.serveFile(route, head, this.#client, this.#requestId);
    this.#countStatus(this.#local.status);
    this.#phase = LOCAL;
  }

  // ---- the exchange ------------------------------------------------------------

  #onExchange(outcome: ExchangeOutcome): void {
    if (outcome === X_WAIT) return;
    if (outcome === X_YIELD) return this.ctx.runLater(this);
    const ex = this.#exchange;
    if (outcome === X_ERROR) {
      ex.abort();
      this.#c2u.reuse(this.ctx.io);
      return this.#localError(ex.errorStatus, ex.errorReason, false);
    }
    if (ex.status !== 0) this.#countStatus(ex.status);
    this.#log(ex.status);
    if (outcome === X_DONE) return this.#exchangeDone();
    if (outcome === X_EARLY) return this.#lingerClose();
    if (outcome === X_TUNNEL) return this.#startTunnel();
    if (outcome === X_CLOSE) return this.#closeAfterResponse();
  }

  #exchangeDone(): void {
    const ex = this.#exchange;
    ex.finish();
    if (!ex.keepClient) return this.#closeAfterResponse();
    this.#nextRequest();
  }

  /**
   * Ends the connection after a whole response. Bytes the client sent that we
   * never read would turn our close into a reset, and a reset can destroy the
   * response before the client reads it: if any are waiting, close lingering.
   */
  #closeAfterResponse(): void {
    const waiting = this.#cin.size > 0 || this.ctx.sys.recv(this.#client.fd, PROBE, 1, PEEK) > 0;
    if (waiting) this.#lingerClose();
    else this.#close();
  }

  #nextRequest(): void {
    this.#phase = READING;
    this.#req = null;
    this.#headStartedAt = this.#idleSince = this.ctx.now;
    if (this.#draining && !this.#softDrain && this.#cin.size === 0) this.#close();
  }

  // ---- tunnel (101) ---------------------------------------------------------------

  #startTunnel(): void {
    this.#up.reset(this.#exchange.detachUpstream());
    this.#uin.moveTo(this.#u2c, this.#uin.size);
    this.#cin.moveTo(this.#c2u, this.#cin.size);
    this.#tunnel = new Tunnel(this.#c2u, this.#u2c);
    this.#phase = TUNNEL;
  }

  #runTunnel(): void {
    const r = this.#tunnel!.step(this.ctx.io);
    if (r === TUNNEL_YIELD) this.ctx.runLater(this);
    else if (r === TUNNEL_DONE) this.#close();
    else if (r === TUNNEL_RESET) {
      this.#countScopes(F.resets);
      this.#close();
    }
  }

  #tunnelTimers(now: number): void {
    const t = this.#tunnel!;
    this.#sendTimer(now, t.stalledSince);
    if (this.#phase === TUNNEL && now - Math.max(t.lastProgress, this.#exchangeStartedAt) >= TUNNEL_IDLE_MS) this.#close();
  }

  // ---- local answers ------------------------------------------------------------------

  /** Answers the current request (or none, for a head that did not parse) with an error. */
  #localError(status: number, reason: string, keep: boolean): void {
    this.#local.error(status, reason, this.#req, keep, this.#requestId);
    this.#countStatus(status);
    if (status >= 400) this.#countScopes(status < 500 ? F.local_4xx : F.local_5xx);
    this.#phase = LOCAL;
  }

  #runLocal(): void {
    const r = this.#local.step(this.#client);
    if (r === L_FAILED) return this.#close();
    if (r !== L_DONE) return;
    this.#log(this.#local.status);
    if (!this.#local.keepAlive || this.#draining) return this.#lingerClose();
    this.#nextRequest();
  }

  #sendTimer(now: number, stalledSince: number): void {
    if (stalledSince === 0 || now - stalledSince < this.listener.sendTimeoutMs) return;
    this.#count(F.send_timeouts);
    this.#close();
  }

  #lingerClose(): void {
    this.#exchange.abort();
    this.ctx.sys.shutdown(this.#client.fd, C.SHUT_WR);
    this.#phase = LINGER;
    this.#lingerUntil = this.ctx.now + LINGER_MS;
  }

  #runLinger(): void {
    if (lingerDone(this.ctx, this.#client, this.#cin, this.#lingerUntil)) this.#close();
  }

  // ---- bookkeeping ------------------------------------------------------------------------

  #close(): void {
    if (this.#phase === CLOSED) return;
    this.#phase = CLOSED;
    const { io, loop, sys } = this.ctx;
    this.#c2u.release(io);
    this.#u2c.release(io);
    this.#local.release();
    if (this.#tunnel !== null) this.#closeTunnelUpstream();
    this.#exchange.abort();
    loop.remove(this.#client.fd);
    sys.close(this.#client.fd);
    this.#cin.start = this.#cin.end = 0;
    this.#cin.release();
    this.#count(F.connections_active, -1);
    const seconds = (this.ctx.now - this.startedAt) / 1000;
    observe(this.ctx.counters, H.connection_duration_seconds, seconds);
    observe(this.ctx.counters, this.listener.base + H.connection_duration_seconds, seconds);
    this.ctx.sessionClosed(this, this.listener);
  }

  /** The upstream socket a 101 handed to the tunnel: the exchange no longer owns it (its abort forgets `#up`). */
  #closeTunnelUpstream(): void {
    const fd = this.#up.fd;
    if (fd < 0) return;
    this.ctx.loop.remove(fd);
    this.ctx.sys.close(fd);
    this.#up.reset(-1);
  }

  /** Counts into totals and listener. */
  #count(field: number, delta = 1): void {
    this.ctx.counters[field] += delta;
    this.ctx.counters[this.listener.base + field] += delta;
  }

  #countStatus(status: number): void {
    const field = status < 200 ? F.responses_1xx : status < 300 ? F.responses_2xx : status < 400 ? F.responses_3xx
      : status < 500 ? F.responses_4xx : F.responses_5xx;
    this.#countScopes(field);
  }

  /** Counts one into each scope the exchange is counted in (totals, listener, route, upstream). */
  #countScopes(field: number): void {
    const scopes = this.#c2u.scopes;
    for (let i = 0; i < scopes.length; i++) this.ctx.counters[scopes[i] + field]++;
  }

  /** Points both streams' counters at totals, listener, route and upstream scopes. */
  #setScopes(route: RouteInit | null, target: UpstreamTarget | null): void {
    const routeBase = route ? this.ctx.routeBase(route.index) : -1;
    pointScopes(this.#c2u.scopes, routeBase, target);
    pointScopes(this.#u2c.scopes, routeBase, target);
  }

  #log(status: number): void {
    const elapsed = (this.ctx.now - this.#exchangeStartedAt) / 1000;
    const scopes = this.#c2u.scopes;
    for (let i = 0; i < scopes.length; i++) observe(this.ctx.counters, scopes[i] + H.http_request_seconds, elapsed);
    const log = this.listener.accessLog;
    if (!log) return;
    const req = this.#req, ex = this.#exchange, upstream = this.#viaExchange;
    const upstreamMs = upstream && ex.upstreamStartedAt ? this.ctx.now - ex.upstreamStartedAt : 0;
    log.write({
      time: new Date().toISOString(), listener: this.listener.name, route: this.#route?.id ?? "",
      client: this.#clientAddress, method: req?.method ?? "", target: req?.target ?? "", host: req?.host ?? "",
      status, bytes_in: this.#c2u.moved - this.#inAt, bytes_out: this.#u2c.moved + this.#local.fileBytes - this.#outAt,
      bytes_spliced: this.#c2u.spliced + this.#u2c.spliced - this.#splicedAt,
      upstream: upstream ? ex.connector.target?.id ?? "" : "",
      duration_ms: Math.round((this.ctx.now - this.#exchangeStartedAt) * 100) / 100,
      upstream_ms: Math.round(upstreamMs * 100) / 100,
      request_id: this.#requestId?.text(),
    });
  }
}

/** Keeps totals and listener (the first two), then adds the route and upstream scopes, in place. */
function pointScopes(scopes: number[], routeBase: number, target: UpstreamTarget | null): void {
  scopes.length = 2;
  if (routeBase >= 0) scopes.push(routeBase);
  if (target) scopes.push(target.base);
}
