/**
 * An HTTP/1.1 client connection: heads parsed in JS, bodies spliced.
 *
 * One exchange at a time (pipelined requests wait in the input buffer or the
 * socket and are answered in order). While an exchange runs, the request body
 * (client → upstream) and the response (upstream → client) move
 * independently, so 100-continue and early responses work. A 101 response
 * to an upgrade turns the connection into a spliced tunnel.
 *
 * @module
 */
import * as C from "../../ffi/constants.ts";
import { formatEndpoint } from "../../ffi/sockaddr.ts";
import { encodeLatin1 } from "../http/chars.ts";
import { plainResponse } from "../http/errors.ts";
import { HeadScan, type HeadLimits } from "../http/head.ts";
import { parseRequestHead, type RequestHead } from "../http/request.ts";
import { parseResponseHead, type ResponseHead } from "../http/response.ts";
import { clientResponseHead, clientResponsePlan, upstreamRequestHead } from "../http/rewrite.ts";
import { observe } from "../stats/histogram.ts";
import { F, H } from "../stats/layout.ts";
import { B_DONE, B_FAILED, BodyForwarder } from "./body.ts";
import type { ConnectionInfo, Session, UpstreamTarget } from "./context.ts";
import type { HttpListenerSettings, HttpWorkerContext } from "./http_context.ts";
import { InBuffer } from "./inbuf.ts";
import { SOCKET_EVENTS, type Handler } from "./loop.ts";
import type { RouteInit } from "./protocol.ts";
import { matchRoute } from "./routes.ts";
import { peerAddress, setInt, setLingerReset, setNoDelay, socketError, startConnect } from "./sockets.ts";
import { type FileSender, serveStatic } from "./static.ts";
import { Endpoint, T_DONE, T_FAILED, T_WAITING, Transfer, UNTIL_EOF } from "./transfer.ts";

/** Waiting for a request head (or idle between requests). */
const IDLE = 0;
/** An exchange with an upstream is running. */
const EXCHANGE = 1;
/** Sending a response JS made (error, static head), then maybe keep going. */
const LOCAL = 2;
/** Spliced both ways after a 101. */
const TUNNEL = 3;
const CLOSED = 4;
/** Error sent, write side shut, dropping what the client still sends. */
const LINGER = 5;
const PHASE_NAMES = ["idle", "exchange", "local", "tunnel", "closed", "closing"];
const LINGER_MS = 2000;

/** Upstream side of an exchange. */
const U_NONE = 0, U_CONNECTING = 1, U_HEAD = 2, U_BODY = 3, U_DONE = 4;

const TUNNEL_IDLE_MS = 3_600_000;

/** One HTTP client connection. */
export class HttpSession implements Handler, Session {
  readonly client: Endpoint;
  up: Endpoint | null = null;
  #phase = IDLE;
  #upPhase = U_NONE;
  #cin: InBuffer;
  #uin: InBuffer | null = null;
  readonly #c2u: Transfer;
  readonly #u2c: Transfer;
  #reqBody: BodyForwarder;
  #respBody: BodyForwarder | null = null;
  #req: RequestHead | null = null;
  #route: RouteInit | null = null;
  #target: UpstreamTarget | null = null;
  #tried = new Set<number>();
  #fromPool = false;
  #resp: ResponseHead | null = null;
  #keepClient = false;
  #closeAfterLocal = false;
  #status = 0;
  #clientAddress: string;
  readonly startedAt: number;
  #lastActive: number;
  #exchangeStarted = 0;
  #headStarted = 0;
  #connectStarted = 0;
  #upstreamStarted = 0;
  #limits: HeadLimits;
  /** Resumable scan state of the head being read on each side (keeps slow heads linear). */
  readonly #requestScan = new HeadScan();
  readonly #responseScan = new HeadScan();

  constructor(private readonly ctx: HttpWorkerContext, private readonly listener: HttpListenerSettings, fd: number) {
    this.client = new Endpoint(fd);
    this.#cin = new InBuffer(listener.http.maxHeadBytes);
    this.#limits = { maxHeadBytes: listener.http.maxHeadBytes, maxHeaders: 100, maxTargetBytes: Math.min(8192, listener.http.maxHeadBytes) };
    const scopes = [0, listener.base];
    this.#c2u = new Transfer(F.bytes_client_to_upstream, scopes);
    this.#u2c = new Transfer(F.bytes_upstream_to_client, scopes.slice());
    this.#reqBody = new BodyForwarder(this.#cin, this.#c2u, Number.MAX_SAFE_INTEGER, 400);
    this.startedAt = this.#lastActive = ctx.now;
    const peer = peerAddress(ctx.sys, fd);
    this.#clientAddress = peer ? peer.host : "";
  }

  /** Registers the client socket and reads its first request. */
  start(): void {
    setNoDelay(this.ctx.sys, this.client.fd);
    this.#count(F.connections_total, 1);
    this.#count(F.connections_active, 1);
    if (this.ctx.loop.add(this.client.fd, SOCKET_EVENTS, this) < 0) return this.#close();
    this.#drive();
  }

  /** Readiness from epoll for the client or the upstream socket. */
  onEvent(fd: number, events: number): void {
    this.#lastActive = this.ctx.now;
    const ep = fd === this.client.fd ? this.client : this.up;
    if (ep === null || ep.fd !== fd) return;
    if (events & (C.EPOLLIN | C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR)) ep.readable = true;
    if (events & (C.EPOLLOUT | C.EPOLLHUP | C.EPOLLERR)) ep.writable = true;
    if (ep === this.up && this.#upPhase === U_CONNECTING) this.#connectDone();
    this.#drive();
  }

  /** Timeouts: idle keep-alive, slow head (408), silent upstream (504), connect. */
  checkTimers(now: number): void {
    this.#checkDeadlines(now);
    if (this.#phase !== CLOSED) this.#drive();
  }

  /** Stop keeping the client alive; an idle connection closes now (graceful shutdown). */
  drain(): void {
    this.#draining = true;
    if (this.#phase === IDLE && this.#cin.size === 0) this.#close();
  }

  #draining = false;

  #checkDeadlines(now: number): void {
    const http = this.listener.http;
    if (this.#phase === IDLE) {
      if (this.#cin.size > 0 && now - this.#headStarted >= http.headTimeoutMs) return this.#localError(408, "request head not complete in time");
      if (this.#cin.size === 0 && now - this.#lastActive >= this.listener.idleTimeoutMs) return this.#close();
    } else if (this.#phase === EXCHANGE) {
      if (this.#upPhase === U_CONNECTING && now - this.#connectStarted >= this.listener.connectTimeoutMs) {
        this.#countUp(F.connect_timeouts);
        return this.#connectFailed();
      }
      if (now - this.#lastActive >= http.upstreamTimeoutMs) {
        if (this.#upPhase <= U_HEAD) return this.#upstreamError(504, "upstream did not answer in time");
        return this.#close();
      }
    } else if (this.#phase === TUNNEL && now - this.#lastActive >= TUNNEL_IDLE_MS) {
      this.#close();
    } else if (this.#phase === LOCAL && now - this.#lastActive >= http.upstreamTimeoutMs) {
      this.#close();
    } else if (this.#phase === LINGER && now >= this.#lingerUntil) {
      this.#close();
    }
  }

  /** Closes at once. */
  abort(): void {
    this.#close();
  }

  /** A snapshot for the admin's connection list. */
  describe(now: number): ConnectionInfo {
    const peer = peerAddress(this.ctx.sys, this.client.fd);
    return {
      listener: this.listener.name,
      client: peer ? formatEndpoint(peer) : "",
      upstream: this.#target?.id ?? "",
      state: PHASE_NAMES[this.#phase],
      age_seconds: (now - this.startedAt) / 1000,
      bytes_client_to_upstream: this.#c2u.spliced + this.#c2u.copied,
      bytes_upstream_to_client: this.#u2c.spliced + this.#u2c.copied,
      bytes_spliced: this.#c2u.spliced + this.#u2c.spliced,
      bytes_copied: this.#c2u.copied + this.#u2c.copied,
    };
  }

  /** Runs every part that can make progress. */
  #drive(): void {
    for (let guard = 0; guard < 64 && this.#phase !== CLOSED; guard++) {
      const before = this.#phase;
      if (this.#phase === IDLE) this.#readHead();
      else if (this.#phase === EXCHANGE) this.#exchange();
      else if (this.#phase === LOCAL) this.#flushLocal();
      else if (this.#phase === TUNNEL) this.#tunnel();
      else if (this.#phase === LINGER) this.#linger();
      if (this.#phase === before) return;
    }
  }

  // ---- request head ------------------------------------------------------

  #readHead(): void {
    const cin = this.#cin;
    for (;;) {
      if (cin.size > 0) {
        const r = parseRequestHead(cin.buf, cin.start, cin.end, this.#limits, this.#requestScan);
        if (r.kind === "ok") {
          cin.consume(r.length);
          return this.#startRequest(r.head);
        }
        if (r.kind === "error") return this.#localError(r.status, r.reason);
      }
      if (this.client.eof) return this.#close();
      if (!this.client.readable) return cin.release();
      const wasEmpty = cin.size === 0;
      const n = cin.fill(this.ctx.sys, this.client);
      if (n === 0) return this.#close();
      if (n < 0) return n === -C.EAGAIN ? cin.release() : this.#close();
      if (wasEmpty) this.#headStarted = this.ctx.now;
    }
  }

  #startRequest(req: RequestHead): void {
    this.#req = req;
    this.#exchangeStarted = this.ctx.now;
    this.#status = 0;
    this.#c2u.spliced = this.#c2u.copied = this.#u2c.spliced = this.#u2c.copied = 0;
    const route = matchRoute(this.listener.http.routes, req.host, req.target);
    this.#route = route ?? null;
    this.#setScopes(route, null);
    this.#count(F.requests_total, 1);
    if (!route) return this.#localError(404, "no route", req.framing.kind === "none");
    if (req.framing.kind === "length" && req.framing.length > route.maxBodySize) {
      return this.#localError(413, "body larger than the route allows");
    }
    if (route.staticRoot !== undefined) return this.#serveStatic(route, req);
    this.#reqBody = new BodyForwarder(this.#cin, this.#c2u, route.maxBodySize, 400);
    this.#tried.clear();
    this.#noPool = false;
    this.#phase = EXCHANGE;
    this.#pickUpstream();
  }

  // ---- upstream connection -------------------------------------------------

  #pickUpstream(): void {
    const j = this.listener.balancers[this.#route!.group].next(this.#tried);
    if (j < 0) {
      return this.#tried.size === 0 ? this.#upstreamError(503, "no upstream available") : this.#upstreamError(502, "upstream refused");
    }
    this.#tried.add(j);
    this.#target = this.ctx.upstreams[j];
    this.#setScopes(this.#route, this.#target);
    const pooled = this.#noPool ? -1 : this.ctx.upstreamPool.take(j);
    if (pooled >= 0) {
      this.#fromPool = true;
      this.up = new Endpoint(pooled);
      this.ctx.loop.setHandler(pooled, this);
      return this.#sendRequest();
    }
    this.#fromPool = false;
    const t = this.#target;
    const { fd, result } = startConnect(this.ctx.sys, t.family, t.addr, t.addrLen);
    if (fd < 0) return this.#upstreamError(502, "cannot create socket");
    this.up = new Endpoint(fd);
    if ((result !== 0 && result !== -C.EINPROGRESS) || this.ctx.loop.add(fd, SOCKET_EVENTS, this) < 0) {
      return this.#connectFailed();
    }
    this.#upPhase = U_CONNECTING;
    this.#connectStarted = this.ctx.now;
  }

  #connectDone(): void {
    if (socketError(this.ctx.sys, this.up!.fd) !== 0) return this.#connectFailed();
    const c = this.ctx.counters, base = this.#target!.base;
    c[base + F.connections_total]++;
    observe(c, base + H.upstream_connect_seconds, (this.ctx.now - this.#connectStarted) / 1000);
    this.#sendRequest();
  }

  #connectFailed(): void {
    this.#countUp(F.connect_failures);
    this.#dropUpstream(false);
    this.#pickUpstream();
  }

  #sendRequest(): void {
    const req = this.#req!, route = this.#route!;
    const head = upstreamRequestHead(req, {
      clientAddress: this.#clientAddress, proto: "http", viaName: "spliced",
      setHeaders: route.requestHeaders?.set, removeHeaders: route.requestHeaders?.remove,
      pathPrefixStrip: route.stripPrefix ? route.path : undefined,
    });
    this.#c2u.release(this.ctx.pump);
    this.#c2u.push(encodeLatin1(head));
    this.#reqBody.start(req.framing);
    if (this.#reqBody.failed) return this.#upstreamError(this.#reqBody.status, this.#reqBody.reason);
    this.#upPhase = U_HEAD;
    this.#upstreamStarted = this.ctx.now;
    this.#uin ??= new InBuffer(this.listener.http.maxHeadBytes);
    this.#respBody = null;
    this.#resp = null;
    this.#responseScan.reset();
  }

  // ---- the exchange --------------------------------------------------------

  #exchange(): void {
    if (this.#upPhase === U_CONNECTING || this.up === null) return;
    if (!this.#reqBody.done) {
      const r = this.#reqBody.step(this.ctx.pump, this.client, this.up);
      if (r === B_FAILED) return this.#requestBodyFailed();
    }
    if (this.#upPhase === U_HEAD) {
      this.#readResponseHead();
      if (this.#phase !== EXCHANGE) return;
      if (this.#upPhase === U_HEAD && !this.#u2c.idle && this.#u2c.step(this.ctx.pump, this.up!, this.client) === T_FAILED) {
        return this.#close();
      }
    }
    if (this.#upPhase === U_BODY) {
      const r = this.#respBody!.step(this.ctx.pump, this.up!, this.client);
      if (r === B_FAILED) return this.#close();
      if (r === B_DONE) this.#upPhase = U_DONE;
    }
    if (this.#upPhase === U_DONE && this.#reqBody.done) this.#finishExchange();
    else if (this.#upPhase === U_DONE) this.#earlyResponse();
  }

  /** The response is complete but the request body is not: answer stands, the connection ends. */
  #earlyResponse(): void {
    this.#log();
    this.#lingerClose();
  }

  #requestBodyFailed(): void {
    const body = this.#reqBody;
    if (this.#upPhase <= U_HEAD && body.status !== 0) return this.#upstreamError(body.status, body.reason);
    if (this.#c2u.failedAtDst && this.#upPhase <= U_HEAD) return this.#upstreamError(502, "upstream closed while receiving the request");
    this.#close();
  }

  #readResponseHead(): void {
    const uin = this.#uin!, up = this.up!;
    for (;;) {
      if (uin.size > 0) {
        const r = parseResponseHead(uin.buf, uin.start, uin.end, this.#limits, this.#req!.method, this.#responseScan);
        if (r.kind === "error") return this.#upstreamError(502, `bad response from upstream: ${r.reason}`);
        if (r.kind === "ok") {
          uin.consume(r.length);
          this.#onResponseHead(r.head);
          if (this.#upPhase !== U_HEAD) return;
          continue;
        }
      }
      if (up.eof) return this.#noResponse("upstream closed without a response");
      if (!up.readable) return;
      const n = uin.fill(this.ctx.sys, up);
      if (n === 0) return this.#noResponse("upstream closed without a response");
      if (n < 0 && n !== -C.EAGAIN) return this.#noResponse("upstream connection failed");
      if (n < 0) return;
    }
  }

  /**
   * The upstream closed before answering. A kept-alive connection may have been
   * closed by the upstream just as we reused it: retry once on a new connection
   * when the request had no body (nothing was lost). Otherwise 502.
   */
  #noResponse(reason: string): void {
    const retry = this.#fromPool && this.#uin!.size === 0 && this.#req!.framing.kind === "none";
    if (!retry) return this.#upstreamError(502, reason);
    this.#dropUpstream(true);
    this.#tried.delete(this.#target!.index);
    this.#noPool = true;
    this.#pickUpstream();
  }

  #noPool = false;

  #onResponseHead(resp: ResponseHead): void {
    const req = this.#req!, route = this.#route!;
    const informational = resp.status < 200 && resp.status !== 101;
    const plan = clientResponsePlan(resp, { clientVersion: req.version, keepAlive: req.keepAlive });
    if (informational) {
      if (plan.send) this.#u2c.push(encodeLatin1(clientResponseHead(resp, { clientVersion: req.version, keepAlive: true, viaName: "spliced" })));
      return;
    }
    this.#resp = resp;
    this.#status = resp.status;
    this.#countStatus(resp.status);
    const head = clientResponseHead(resp, {
      clientVersion: req.version, keepAlive: req.keepAlive, viaName: "spliced", forceClose: this.#draining,
      setHeaders: route.responseHeaders?.set, removeHeaders: route.responseHeaders?.remove,
    });
    this.#u2c.push(encodeLatin1(head));
    if (resp.tunnel && req.upgrade !== undefined) return this.#startTunnel();
    this.#keepClient = plan.keepAlive && !this.#draining;
    this.#respBody = new BodyForwarder(this.#uin!, this.#u2c, Number.MAX_SAFE_INTEGER, 502);
    this.#respBody.dechunk = plan.dechunk;
    this.#respBody.start(resp.framing);
    this.#upPhase = U_BODY;
  }

  #finishExchange(): void {
    const resp = this.#resp!;
    const upstreamReusable = resp.keepAlive && resp.framing.kind !== "close" && this.#uin!.size === 0 && !this.up!.eof;
    this.#log();
    if (upstreamReusable && this.listener.http.upstreamKeepAlive > 0) {
      const fd = this.up!.fd;
      this.up = null;
      this.ctx.upstreamPool.put(this.#target!.index, fd, this.ctx.now, (h) => this.ctx.loop.setHandler(fd, h));
    } else {
      this.#dropUpstream(false);
    }
    this.#upPhase = U_NONE;
    this.#uin?.release();
    if (!this.#keepClient) return this.#close();
    this.#phase = IDLE;
    this.#headStarted = this.ctx.now;
  }

  // ---- tunnel (101) ------------------------------------------------------------

  #startTunnel(): void {
    this.#phase = TUNNEL;
    this.#upPhase = U_NONE;
    this.#u2c.push(this.#uin!.take(this.#uin!.size));
    this.#u2c.remaining = UNTIL_EOF;
    this.#c2u.push(this.#cin.take(this.#cin.size));
    this.#c2u.remaining = UNTIL_EOF;
    this.#log();
    this.#tunnelDone = [false, false];
  }

  #tunnelDone: [boolean, boolean] = [false, false];

  #tunnel(): void {
    const pairs: [Transfer, Endpoint, Endpoint][] = [[this.#c2u, this.client, this.up!], [this.#u2c, this.up!, this.client]];
    for (let i = 0; i < 2; i++) {
      if (this.#tunnelDone[i]) continue;
      const [t, src, dst] = pairs[i];
      const r = t.step(this.ctx.pump, src, dst);
      if (r === T_FAILED) {
        setLingerReset(this.ctx.sys, t.failedAtDst ? src.fd : dst.fd);
        return this.#close();
      }
      if (r === T_DONE) {
        this.#tunnelDone[i] = true;
        this.ctx.sys.shutdown(dst.fd, C.SHUT_WR);
      }
    }
    if (this.#tunnelDone[0] && this.#tunnelDone[1]) this.#close();
  }

  // ---- responses made here -----------------------------------------------------

  #serveStatic(route: RouteInit, req: RequestHead): void {
    this.#u2c.release(this.ctx.pump);
    const result = serveStatic(this.ctx.sys, route, req, this.#u2c);
    this.#status = result.status;
    this.#countStatus(result.status);
    this.#file = result.file ?? null;
    // Hold the head back until the file follows it, so both leave in full packets (as nginx's tcp_nopush).
    if (this.#file !== null) setInt(this.ctx.sys, this.client.fd, C.IPPROTO_TCP, C.TCP_CORK, 1);
    this.#keepClient = req.keepAlive && result.keepAlive && req.framing.kind === "none";
    this.#closeAfterLocal = !this.#keepClient;
    this.#phase = LOCAL;
  }

  #file: FileSender | null = null;

  /** An error answered before any upstream response: closes the upstream side. */
  #upstreamError(status: number, reason: string): void {
    this.#dropUpstream(true);
    this.#localError(status, reason);
  }

  /** Sends a short error response; keeps the connection only when `keep` and the request allows. */
  #localError(status: number, reason: string, keep = false): void {
    if (this.#phase === IDLE && this.#req === null) this.#count(F.requests_total, 1);
    this.#status = status;
    this.#countStatus(status);
    this.#u2c.release(this.ctx.pump);
    this.#u2c.push(plainResponse(status, reason, { keepAlive: keep && this.#req?.keepAlive === true, headOnly: this.#req?.method === "HEAD" }));
    this.#keepClient = keep && this.#req?.keepAlive === true;
    this.#closeAfterLocal = !this.#keepClient;
    this.#phase = LOCAL;
  }

  #flushLocal(): void {
    const r = this.#u2c.step(this.ctx.pump, this.client, this.client);
    if (r === T_WAITING) return;
    if (r === T_FAILED) return this.#close();
    if (this.#file !== null) {
      const f = this.#file.step(this.ctx.pump, this.client, this.#u2c.scopes);
      if (f === T_WAITING) return;
      this.#u2c.copied += this.#file.sent;
      this.#file.close();
      this.#file = null;
      setInt(this.ctx.sys, this.client.fd, C.IPPROTO_TCP, C.TCP_CORK, 0);
      if (f === T_FAILED) return this.#close();
    }
    this.#log();
    if (this.#closeAfterLocal || this.#draining) return this.#lingerClose();
    this.#phase = IDLE;
    this.#req = null;
    this.#headStarted = this.ctx.now;
  }

  /**
   * After an error response: shut our write side, then read and drop what the
   * client still sends (up to a few seconds) before closing, so unread request
   * bytes do not make the kernel reset the connection and destroy the response.
   */
  #lingerClose(): void {
    this.#dropUpstream(true);
    this.ctx.sys.shutdown(this.client.fd, C.SHUT_WR);
    this.#phase = LINGER;
    this.#lingerUntil = this.ctx.now + LINGER_MS;
    this.#linger();
  }

  #lingerUntil = 0;

  #linger(): void {
    for (;;) {
      if (this.client.eof || this.ctx.now >= this.#lingerUntil) return this.#close();
      if (!this.client.readable) return;
      this.#cin.start = this.#cin.end = 0;
      const n = this.#cin.fill(this.ctx.sys, this.client);
      if (n === 0 || (n < 0 && n !== -C.EAGAIN)) return this.#close();
      if (n < 0) return;
    }
  }

  // ---- bookkeeping ---------------------------------------------------------------

  #dropUpstream(failed: boolean): void {
    const up = this.up;
    if (up === null) return;
    this.up = null;
    this.#upPhase = U_NONE;
    if (failed) this.#c2u.release(this.ctx.pump);
    this.ctx.loop.remove(up.fd);
    this.ctx.sys.close(up.fd);
  }

  #close(): void {
    if (this.#phase === CLOSED) return;
    this.#phase = CLOSED;
    this.#c2u.release(this.ctx.pump);
    this.#u2c.release(this.ctx.pump);
    this.#dropUpstream(true);
    this.ctx.loop.remove(this.client.fd);
    this.ctx.sys.close(this.client.fd);
    this.#cin.start = this.#cin.end = 0;
    this.#cin.release();
    if (this.#uin) {
      this.#uin.start = this.#uin.end = 0;
      this.#uin.release();
    }
    this.#file?.close();
    this.#file = null;
    this.#count(F.connections_active, -1);
    observe(this.ctx.counters, H.connection_duration_seconds, (this.ctx.now - this.startedAt) / 1000);
    observe(this.ctx.counters, this.listener.base + H.connection_duration_seconds, (this.ctx.now - this.startedAt) / 1000);
    this.ctx.sessionClosed(this, this.listener);
  }

  /** Counts into totals and listener. */
  #count(field: number, delta: number): void {
    this.ctx.counters[field] += delta;
    this.ctx.counters[this.listener.base + field] += delta;
    if (field === F.requests_total && this.#route) this.ctx.counters[this.ctx.routeBase(this.#route.index) + field]++;
  }

  #countUp(field: number): void {
    this.ctx.counters[field]++;
    this.ctx.counters[this.listener.base + field]++;
    if (this.#target) this.ctx.counters[this.#target.base + field]++;
  }

  #countStatus(status: number): void {
    const field = status < 200 ? F.responses_1xx : status < 300 ? F.responses_2xx : status < 400 ? F.responses_3xx
      : status < 500 ? F.responses_4xx : F.responses_5xx;
    for (const base of this.#c2u.scopes) this.ctx.counters[base + field]++;
  }

  /** Points both transfers' counters at totals, listener, route and upstream scopes. */
  #setScopes(route: RouteInit | undefined | null, target: UpstreamTarget | null): void {
    const routeBase = route ? this.ctx.routeBase(route.index) : -1;
    pointScopes(this.#c2u.scopes, routeBase, target);
    pointScopes(this.#u2c.scopes, routeBase, target);
  }

  #log(): void {
    const req = this.#req;
    const elapsed = (this.ctx.now - this.#exchangeStarted) / 1000;
    for (const base of this.#c2u.scopes) observe(this.ctx.counters, base + H.http_request_seconds, elapsed);
    const log = this.listener.accessLog;
    if (!log) return;
    log.write({
      time: new Date().toISOString(), listener: this.listener.name, route: this.#route?.id ?? "",
      client: this.#clientAddress, method: req?.method ?? "", target: req?.target ?? "", host: req?.host ?? "",
      status: this.#status, bytes_in: this.#c2u.spliced + this.#c2u.copied, bytes_out: this.#u2c.spliced + this.#u2c.copied,
      bytes_spliced: this.#c2u.spliced + this.#u2c.spliced, upstream: this.#target?.id ?? "",
      duration_ms: Math.round((this.ctx.now - this.#exchangeStarted) * 100) / 100,
      upstream_ms: this.#upstreamStarted ? Math.round((this.ctx.now - this.#upstreamStarted) * 100) / 100 : 0,
    });
  }
}

/** Keeps totals and listener (the first two), then adds the route and upstream scopes, in place. */
function pointScopes(scopes: number[], routeBase: number, target: UpstreamTarget | null): void {
  scopes.length = 2;
  if (routeBase >= 0) scopes.push(routeBase);
  if (target) scopes.push(target.base);
}
