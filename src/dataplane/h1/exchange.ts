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
import { HeadScan, type HeadLimits } from "../../http/head.ts";
import type { RequestHead } from "../../http/request.ts";
import type { ResponseHead } from "../../http/response.ts";
import { clientResponsePlan } from "../../http/rewrite.ts";
import { F } from "../../stats/layout.ts";
import type { UpstreamTarget } from "../context.ts";
import type { HttpListenerSettings, HttpWorkerContext } from "../http_context.ts";
import type { Endpoint } from "../io/endpoint.ts";
import type { InBuffer } from "../io/inbuf.ts";
import type { Handler } from "../io/loop.ts";
import { S_FAILED, type Stream } from "../io/stream.ts";
import type { RouteInit } from "../protocol.ts";
import { CONNECTED, type ConnectResult, EXHAUSTED, PENDING, UpstreamConnector } from "../upstream/connector.ts";
import { B_DONE, B_FAILED, B_YIELD, BodyForwarder } from "./body.ts";
import { isHeadError, queueRequestHead, queueResponseHead, readResponseHead } from "./heads.ts";

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
  readonly client: Endpoint;
  readonly up: Endpoint;
  readonly cin: InBuffer;
  readonly uin: InBuffer;
  readonly c2u: Stream;
  readonly u2c: Stream;
  readonly clientAddress: string;
  readonly limits: HeadLimits;
  /** An upstream was picked: its scope counts the streams' bytes from now on. */
  upstreamChosen(target: UpstreamTarget): void;
}

/** One request and its response. */
export class Exchange {
  req: RequestHead | null = null;
  route: RouteInit | null = null;
  resp: ResponseHead | null = null;
  /** Status sent to the client (0 until a final head was queued). */
  status = 0;
  errorStatus = 0;
  errorReason = "";
  /** The client connection may carry another request afterwards. */
  keepClient = false;
  startedAt = 0;
  upstreamStartedAt = 0;
  readonly connector: UpstreamConnector;
  #phase = COMPLETE;
  #target = "";
  #informational = 0;
  #forceClose = false;
  readonly #reqBody: BodyForwarder;
  readonly #respBody: BodyForwarder;
  readonly #responseScan = new HeadScan();

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

  /** Starts `req` on `route` (forwarded with `target`): picks an upstream and connects. */
  begin(req: RequestHead, route: RouteInit, target: string, forceClose: boolean): ExchangeOutcome {
    this.req = req;
    this.route = route;
    this.resp = null;
    this.status = this.errorStatus = 0;
    this.errorReason = "";
    this.keepClient = false;
    this.startedAt = this.ctx.now;
    this.upstreamStartedAt = 0;
    this.#target = target;
    this.#informational = 0;
    this.#forceClose = forceClose;
    this.#phase = CONNECTING;
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
      if (r === B_FAILED) return X_CLOSE;
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
    const resp = this.resp!, up = this.parts.up;
    const reusable = resp.keepAlive && resp.framing.kind !== "close" && this.parts.uin.size === 0 && !up.eof &&
      this.#reqBody.done && this.listener.http.upstreamKeepAlive > 0;
    if (reusable) {
      const fd = this.connector.detach();
      this.ctx.upstreamPool.put(this.connector.target!.index, fd, this.ctx.now);
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
    return this.connector.detach();
  }

  #end(): void {
    this.#phase = COMPLETE;
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

  #sendRequest(): ExchangeOutcome {
    const { c2u, up } = this.parts, req = this.req!;
    this.parts.upstreamChosen(this.connector.target!);
    up.reset(this.connector.fd);
    if (this.connector.fromPool) up.readable = false; // the probe just found nothing to read
    c2u.reuse(this.ctx.io);
    queueRequestHead(c2u, req, this.route!, this.parts.clientAddress, this.#target);
    this.#reqBody.start(req.framing, this.route!.maxBodySize);
    if (this.#reqBody.failed) return this.#error(this.#reqBody.status, this.#reqBody.reason);
    this.upstreamStartedAt = this.ctx.now;
    this.#responseScan.reset();
    this.#phase = AWAITING_HEAD;
    return this.step();
  }

  #requestBodyFailed(): ExchangeOutcome {
    const body = this.#reqBody;
    if (this.#phase > AWAITING_HEAD) return X_CLOSE;
    if (body.status !== 0) return this.#error(body.status, body.reason);
    if (this.parts.c2u.failedAtDst) return this.#error(502, "upstream closed while receiving the request");
    return X_CLOSE;
  }

  /** Reads the response head; X_WAIT also when it moved on to the body. */
  #awaitHead(): ExchangeOutcome {
    const { uin, up, u2c } = this.parts;
    for (;;) {
      const head = readResponseHead(uin, this.parts.limits, this.req!.method, this.#responseScan);
      if (isHeadError(head)) return this.#error(head.status, head.reason);
      if (head !== undefined) {
        const r = this.#onResponseHead(head);
        if (r !== X_WAIT || this.#phase !== AWAITING_HEAD) return r;
        continue;
      }
      if (up.eof) return this.#noResponse("upstream closed without a response");
      if (!up.readable) break;
      const n = uin.fill(this.ctx.sys, up);
      if (n === 0) return this.#noResponse("upstream closed without a response");
      if (n < 0 && up.readable) return this.#noResponse("upstream connection failed");
      if (n < 0) break;
      u2c.lastRead = this.ctx.now;
    }
    // Forwarded 1xx heads wait for the client here.
    if (!u2c.idle && u2c.step(this.ctx.io) === S_FAILED) return X_CLOSE;
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
      req.framing.kind === "none" && IDEMPOTENT.has(req.method);
    if (!retry) return this.#error(502, reason);
    this.#countRetry();
    this.parts.up.reset(-1);
    this.#phase = CONNECTING;
    return this.#connected(this.connector.retry());
  }

  #countRetry(): void {
    const c = this.ctx.counters, t = this.connector.target;
    c[F.retries]++;
    c[this.listener.base + F.retries]++;
    if (t) c[t.base + F.retries]++;
  }

  #onResponseHead(resp: ResponseHead): ExchangeOutcome {
    const req = this.req!, u2c = this.parts.u2c;
    const plan = clientResponsePlan(resp, { clientVersion: req.version, keepAlive: req.keepAlive });
    if (resp.status < 200 && resp.status !== 101) {
      if (++this.#informational > MAX_INFORMATIONAL) return this.#error(502, "too many informational responses from upstream");
      if (plan.send) queueResponseHead(u2c, resp, { req, route: this.route, keepAlive: true, forceClose: false });
      return X_WAIT;
    }
    this.resp = resp;
    this.status = resp.status;
    queueResponseHead(u2c, resp, { req, route: this.route, keepAlive: req.keepAlive, forceClose: this.#forceClose });
    if (resp.tunnel && req.upgrade !== undefined) return X_TUNNEL;
    this.keepClient = plan.keepAlive && !this.#forceClose;
    this.#respBody.start(resp.framing, Number.MAX_SAFE_INTEGER, plan.dechunk);
    this.#phase = RESPONSE_BODY;
    return X_WAIT;
  }

  #timedOut(field: number, reason: string): ExchangeOutcome {
    const c = this.ctx.counters;
    c[field]++;
    c[this.listener.base + field]++;
    if (this.#phase !== AWAITING_HEAD || this.#informational > 0) return X_CLOSE;
    return this.#error(504, reason);
  }

  #error(status: number, reason: string): ExchangeOutcome {
    this.errorStatus = status;
    this.errorReason = reason;
    return X_ERROR;
  }
}
