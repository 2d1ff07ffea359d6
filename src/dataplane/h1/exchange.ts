/**
 * One request/response exchange with an upstream: its request, route,
 * upstream connection, both bodies and its timings. The request body
 * (client → upstream) and the response (upstream → client) move
 * independently, so 100-continue and early responses work.
 *
 * Phases: CONNECTING → AWAITING_HEAD → RESPONSE_BODY → COMPLETE. Each step
 * returns an {@linkcode ExchangeOutcome} for the session to act on. One object
 * per session is reused: {@linkcode Exchange.begin} is the one place its
 * per-request state is set, so nothing is reset by hand elsewhere.
 *
 * Deadlines count bytes moved, never events: 504 when the upstream sent no
 * byte of its answer for `upstreamTimeout` after the last request byte it
 * took; closed when the client took no byte of a waiting response for
 * `sendTimeout` (or the upstream none of a waiting request body).
 *
 * @module
 */
import type { HeadLimits } from "../../http/head.ts";
import {
  BODY_CLOSE,
  BODY_NONE,
  PLAN_DECHUNK,
  PLAN_KEEP_ALIVE,
  PLAN_SEND,
  type RequestView,
  responsePlan,
} from "../../http/wire/mod.ts";
import { F } from "../../stats/layout.ts";
import type { UpstreamTarget } from "../context.ts";
import type { HttpListenerSettings, HttpWorkerContext } from "../http_context.ts";
import type { Endpoint } from "../io/endpoint.ts";
import type { InBuffer } from "../io/inbuf.ts";
import type { Handler } from "../io/loop.ts";
import { S_FAILED, type Stream } from "../io/stream.ts";
import { EAGAIN } from "../../../ffi/constants.ts";
import type { RouteInit } from "../protocol.ts";
import { CONNECTED, type ConnectResult, EXHAUSTED, PENDING, UpstreamConnector } from "../upstream/connector.ts";
import type { ProxyHeaderSource } from "../proxy_header.ts";
import type { RequestId } from "../request_id.ts";
import { B_DONE, B_FAILED, B_YIELD, BodyForwarder } from "./body.ts";
import type { RequestHeads, ResponseHeads } from "./heads.ts";

/** Waiting for readiness. */
export const X_WAIT = 0;
/** A stream used its byte budget: step again soon. */
export const X_YIELD = 1;
/** Request and response complete: the session may read the next request. */
export const X_DONE = 2;
/** The response is complete but the request body is not: close after the answer. */
export const X_EARLY = 3;
/** A 101 (or 2xx to CONNECT) was queued: the connection becomes a tunnel. */
export const X_TUNNEL = 4;
/** Answer locally with `errorStatus` (nothing of a response was sent yet). */
export const X_ERROR = 5;
/** Part of a response went out and the exchange cannot finish: close the connection. */
export const X_CLOSE = 6;
/** What an exchange step asks the session to do. */
export type ExchangeOutcome = 0 | 1 | 2 | 3 | 4 | 5 | 6;

const CONNECTING = 0, AWAITING_HEAD = 1, RESPONSE_BODY = 2, COMPLETE = 3;

/** Informational (1xx) responses forwarded per exchange; more is a broken upstream (502). */
export const MAX_INFORMATIONAL = 32;

/** Methods whose request may be sent again after a stale pooled connection failed (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/** The session parts an exchange works with. */
export interface ExchangeParts {
  readonly up: Endpoint;
  readonly cin: InBuffer;
  readonly uin: InBuffer;
  readonly c2u: Stream;
  readonly u2c: Stream;
  readonly requestHeads: RequestHeads;
  readonly responseHeads: ResponseHeads;
  readonly limits: HeadLimits;
  /** The PROXY header a route with `sendProxyProtocol` sends first on a new upstream connection. */
  readonly proxyHeader: ProxyHeaderSource;
  /** The current request's id (listener `requestId`), or null when ids are off. */
  readonly requestId: RequestId | null;
  /** An upstream was picked: its scope counts the streams' bytes from now on. */
  upstreamChosen(target: UpstreamTarget): void;
}

/** One request and its response. */
export class Exchange {
  /** The request (the connection's reused view; valid while the exchange runs). */
  req: RequestView | null = null;
  route: RouteInit | null = null;
  /** Status sent to the client (0 until a final head was queued). */
  status = 0;
  errorStatus = 0;
  errorReason = "";
  /** The client connection may carry another request afterwards. */
  keepClient = false;
  upstreamStartedAt = 0;
  readonly connector: UpstreamConnector;
  #phase = COMPLETE;
  #target = "";
  #informational = 0;
  #forceClose = false;
  /** Bytes of the request head still at the start of the client's input buffer (0 once sent). */
  #headPending = 0;
  /** The response's framing is close-delimited or it asked to close: the upstream connection ends with it. */
  #upstreamCloses = false;
  /** The response stream's delivered bytes when the final head was queued (nothing of it sent while equal). */
  #finalHeadAt = -1;
  readonly #reqBody: BodyForwarder;
  readonly #respBody: BodyForwarder;

  constructor(
    private readonly ctx: HttpWorkerContext,
    private readonly listener: HttpListenerSettings,
    private readonly parts: ExchangeParts,
    handler: Handler,
  ) {
    this.connector = new UpstreamConnector(ctx, handler, listener.base, listener.connectTimeoutMs, ctx.upstreamPool);
    this.#reqBody = new BodyForwarder(parts.cin, parts.c2u, 400);
    this.#respBody = new BodyForwarder(parts.uin, parts.u2c, 502);
  }

  /**
   * Starts the parsed request (`headLength` bytes still in the client's input
   * buffer) on `route`, forwarded with `target`: picks an upstream and connects.
   */
  begin(headLength: number, route: RouteInit, target: string, forceClose: boolean): ExchangeOutcome {
    this.req = this.parts.requestHeads.view;
    this.route = route;
    this.#headPending = headLength;
    this.#upstreamCloses = true;
    this.status = this.errorStatus = 0;
    this.errorReason = "";
    this.keepClient = false;
    this.upstreamStartedAt = 0;
    this.#target = target;
    this.#informational = 0;
    this.#forceClose = forceClose;
    this.#phase = CONNECTING;
    // A connection that carried a PROXY header is pooled apart, for a client whose header is the same bytes.
    const send = route.sendProxyProtocol;
    this.connector.poolKey = send === undefined ? null : this.parts.proxyHeader.key(send);
    return this.#connected(this.connector.begin(this.listener.balancers[route.group], true));
  }

  /** Whether an upstream connect is in flight. */
  get connecting(): boolean {
    return this.#phase === CONNECTING;
  }

  /** An event on the upstream socket while connecting. */
  settle(): ExchangeOutcome {
    return this.#connected(this.connector.settle());
  }

  /** Moves the request body and the response as far as they go. */
  step(): ExchangeOutcome {
    if (this.#phase === CONNECTING) return X_WAIT;
    let yielded = false;
    if (!this.#reqBody.done) {
      const r = this.#reqBody.step(this.ctx.io);
      if (r === B_FAILED) return this.#requestBodyFailed();
      yielded = r === B_YIELD;
    }
    if (this.#phase === AWAITING_HEAD) {
      const r = this.#awaitHead();
      if (r !== X_WAIT) return r;
    }
    if (this.#phase === RESPONSE_BODY) {
      const r = this.#respBody.step(this.ctx.io);
      if (r === B_FAILED) return this.#responseBodyFailed();
      if (r === B_DONE) this.#phase = COMPLETE;
      yielded ||= r === B_YIELD;
    }
    if (this.#phase === COMPLETE) return this.#reqBody.done ? X_DONE : X_EARLY;
    return yielded ? X_YIELD : X_WAIT;
  }

  /** Connect timeout, upstream timeout (504), send timeout. */
  checkTimers(now: number): ExchangeOutcome {
    if (this.#phase === CONNECTING) return this.#connected(this.connector.checkTimeout(now));
    const { c2u, u2c } = this.parts;
    const send = this.listener.sendTimeoutMs;
    if ((u2c.stalledSince > 0 && now - u2c.stalledSince >= send) || (c2u.stalledSince > 0 && now - c2u.stalledSince >= send)) {
      return this.#timedOut(F.send_timeouts, "upstream did not take the request in time");
    }
    const lastProgress = Math.max(this.upstreamStartedAt, c2u.lastWrite, u2c.lastRead, c2u.lastRead);
    if (now - lastProgress < this.listener.http.upstreamTimeoutMs) return X_WAIT;
    return this.#timedOut(F.upstream_timeouts, "upstream did not answer in time");
  }

  /**
   * The exchange ended cleanly: the upstream connection goes back to the
   * pool when it can carry another request (no stray byte, no EOF).
   */
  finish(): void {
    const up = this.parts.up;
    const reusable = !this.#upstreamCloses && this.parts.uin.size === 0 && !up.eof &&
      this.#reqBody.done && this.listener.http.upstreamKeepAlive > 0;
    if (reusable) {
      const fd = this.connector.detach();
      this.ctx.upstreamPool.put(this.connector.target!.index, fd, this.ctx.now, this.connector.poolKey);
    } else {
      this.connector.drop();
    }
    this.#end();
  }

  /** Drops the upstream connection (an error, a close, or the end of a tunnel). */
  abort(): void {
    this.connector.drop();
    this.#end();
  }

  /** Takes the upstream socket for a tunnel. */
  detachUpstream(): number {
    this.#phase = COMPLETE;
    return this.connector.detach(true);
  }

  #end(): void {
    this.#phase = COMPLETE;
    this.#consumeHead();
    this.parts.up.reset(-1);
    this.parts.uin.start = this.parts.uin.end = 0;
    this.parts.uin.release();
  }

  #connected(r: ConnectResult): ExchangeOutcome {
    if (r === PENDING) return X_WAIT;
    if (r === EXHAUSTED) {
      return this.connector.attempts === 0 ? this.#error(503, "no upstream available") : this.#error(502, "upstream refused");
    }
    if (r === CONNECTED) return this.#sendRequest();
    return X_WAIT;
  }

  /**
   * Queues the request head and starts its body. A retry (no body) writes the
   * head again from the same view: nothing refilled the client's input buffer
   * since, so the spans still point at its bytes.
   */
  #sendRequest(): ExchangeOutcome {
    const { c2u, up, cin } = this.parts, req = this.req!;
    this.parts.upstreamChosen(this.connector.target!);
    up.reset(this.connector.fd);
    if (this.connector.fromPool) up.readable = false; // the probe just found nothing to read
    c2u.reuse(this.ctx.io);
    const send = this.route!.sendProxyProtocol;
    if (send !== undefined && !this.connector.fromPool) c2u.push(this.parts.proxyHeader.bytes(send));
    this.parts.requestHeads.queueUpstream(this.ctx.io, c2u, cin, this.route!, this.#target, this.parts.requestId);
    this.#consumeHead();
    this.#reqBody.start(req.body, req.contentLength, this.route!.maxBodySize);
    if (this.#reqBody.failed) return this.#error(this.#reqBody.status, this.#reqBody.reason);
    this.upstreamStartedAt = this.ctx.now;
    this.parts.responseHeads.reset();
    this.#phase = AWAITING_HEAD;
    return this.step();
  }

  /** Marks the request head consumed from the client's input buffer (once). */
  #consumeHead(): void {
    if (this.#headPending === 0) return;
    this.parts.cin.consume(this.#headPending);
    this.#headPending = 0;
  }

  #requestBodyFailed(): ExchangeOutcome {
    const body = this.#reqBody;
    if (this.#phase > AWAITING_HEAD) return X_CLOSE;
    if (body.status !== 0) return this.#error(body.status, body.reason);
    if (this.parts.c2u.failedAtDst) return this.#error(502, "upstream closed while receiving the request");
    return X_CLOSE;
  }

  /**
   * The response body failed. When not one byte of the final response reached
   * the client yet (a bad chunk that came with the head is found before the
   * head is written), what is queued is dropped and the client gets a 502;
   * otherwise the connection closes mid-message.
   */
  #responseBodyFailed(): ExchangeOutcome {
    const u2c = this.parts.u2c;
    if (u2c.moved !== this.#finalHeadAt) return X_CLOSE;
    u2c.reuse(this.ctx.io);
    this.status = 0;
    const b = this.#respBody;
    return this.#error(502, b.status !== 0 ? `bad response body from upstream: ${b.reason}` : `upstream response ended early: ${b.reason}`);
  }

  /** Reads the response head; X_WAIT also when it moved on to the body. */
  #awaitHead(): ExchangeOutcome {
    const { uin, up, u2c, responseHeads } = this.parts;
    for (;;) {
      const n = responseHeads.read(uin, this.parts.limits, this.req!.method);
      if (n < 0) return this.#error(502, `bad response from upstream: ${responseHeads.view.errorReason}`);
      if (n > 0) {
        const r = this.#onResponseHead(n);
        if (r !== X_WAIT || this.#phase !== AWAITING_HEAD) return r;
        continue;
      }
      if (up.eof) return this.#noResponse("upstream closed without a response");
      if (!up.readable) break;
      const got = uin.fill(this.ctx.sys, up);
      if (got === 0) return this.#noResponse("upstream closed without a response");
      if (got < 0 && got !== -EAGAIN) {
        if (!this.connector.fromPool) this.connector.report(false);
        return this.#noResponse("upstream connection failed");
      }
      if (got < 0) break;
      u2c.lastRead = this.ctx.now;
    }
    return X_WAIT;
  }

  /**
   * The upstream closed before answering. A pooled connection may have been
   * closed by the upstream just as it was reused: send the request again on a
   * new connection when nothing can have been lost (no body) and the method
   * is idempotent. Otherwise 502.
   */
  #noResponse(reason: string): ExchangeOutcome {
    const req = this.req!;
    const retry = this.connector.fromPool && this.parts.uin.size === 0 && this.#informational === 0 &&
      req.body === BODY_NONE && IDEMPOTENT.has(req.method);
    if (!retry) return this.#error(502, reason);
    this.connector.count(F.retries);
    this.parts.up.reset(-1);
    this.#phase = CONNECTING;
    return this.#connected(this.connector.retry());
  }

  /** A response head of `length` bytes was parsed: queue what the client gets of it. */
  #onResponseHead(length: number): ExchangeOutcome {
    const req = this.req!, { u2c, uin, responseHeads } = this.parts, v = responseHeads.view, io = this.ctx.io;
    if (v.status < 200 && v.status !== 101) {
      if (++this.#informational > MAX_INFORMATIONAL) return this.#error(502, "too many informational responses from upstream");
      if (responsePlan(v, req.version, req.keepAlive) & PLAN_SEND) responseHeads.queueClient(io, u2c, uin, this.route!, req, true, false, null);
      uin.consume(length);
      // Sent now (or copied out of the shared head buffer) before the next head is parsed.
      return u2c.step(io) === S_FAILED ? X_CLOSE : X_WAIT;
    }
    const plan = responsePlan(v, req.version, req.keepAlive, this.#forceClose);
    this.status = v.status;
    if (this.connector.target?.count5xx) this.connector.report(v.status < 500);
    this.#upstreamCloses = !v.keepAlive || v.body === BODY_CLOSE;
    this.#finalHeadAt = u2c.moved;
    responseHeads.queueClient(io, u2c, uin, this.route!, req, req.keepAlive, this.#forceClose, this.parts.requestId);
    uin.consume(length);
    if (v.tunnel && req.upgrade !== undefined) {
      return u2c.step(io) === S_FAILED ? X_CLOSE : X_TUNNEL;
    }
    this.keepClient = (plan & PLAN_KEEP_ALIVE) !== 0;
    this.#respBody.start(v.body, v.contentLength, Number.MAX_SAFE_INTEGER, (plan & PLAN_DECHUNK) !== 0);
    this.#phase = RESPONSE_BODY;
    return X_WAIT;
  }

  #timedOut(field: number, reason: string): ExchangeOutcome {
    this.connector.count(field);
    if (this.#phase !== AWAITING_HEAD || this.#informational > 0) return X_CLOSE;
    return this.#error(504, reason);
  }

  #error(status: number, reason: string): ExchangeOutcome {
    this.errorStatus = status;
    this.errorReason = reason;
    return X_ERROR;
  }
}
