/**
 * The session's heads on bytes: parse a request or response head out of an
 * input buffer into a reused view (src/http/wire), and queue the rewritten
 * head on a stream, written into the worker's reused head buffer. On the
 * steady keep-alive path nothing here allocates: route options are compiled
 * once per connection and route, and strings only exist for what routing
 * needs (method, target, Host), reused while their bytes repeat.
 *
 * A view's spans point into the input buffer it was parsed from: the head
 * must be written before that buffer is compacted or refilled.
 *
 * With request ids on (../request_id.ts), the id's header is removed from
 * what is copied both ways (as a route's `remove` would) and written as the
 * head's last field instead; with them off nothing here changes.
 *
 * @module
 */
import { encodeLatin1 } from "../../http/chars.ts";
import { HeadScan, type HeadLimits } from "../../http/head.ts";
import type { RequestHead } from "../../http/request.ts";
import { upstreamRequestHead } from "../../http/rewrite.ts";
import {
  type CompiledRequestOptions,
  type CompiledResponseOptions,
  compileRequestOptions,
  compileResponseOptions,
  parseRequestInto,
  type RequestOptionsInput,
  parseResponseInto,
  RequestView,
  ResponseView,
  toRequestHead,
  writeClientResponse,
  writeUpstreamRequest,
} from "../../http/wire/mod.ts";
import type { InBuffer } from "../io/inbuf.ts";
import type { IoContext, Stream } from "../io/stream.ts";
import type { RouteInit } from "../protocol.ts";
import type { RequestId } from "../request_id.ts";

/** The proxy's name in Via. */
export const VIA_NAME = "spliced";

/** One connection's request heads: its view, scan state and compiled route options. */
export class RequestHeads {
  readonly view = new RequestView();
  readonly #scan = new HeadScan();
  #route: RouteInit | null = null;
  #options: CompiledRequestOptions | null = null;

  /** `idHeader`: the listener's request id header, if ids are on. */
  constructor(private readonly clientAddress: string, private readonly idHeader?: string) {}

  /** Parses the head at the start of `input` (not consumed): its length, 0 for "read more", -1 for an error in the view. */
  read(input: InBuffer, limits: HeadLimits): number {
    if (input.size === 0) return 0;
    return parseRequestInto(this.view, input.buf, input.start, input.end, limits, this.#scan);
  }

  /** Today's object form of the parsed head, for the slow paths (static files); allocates. */
  toHead(input: InBuffer): RequestHead {
    return toRequestHead(this.view, input.buf);
  }

  /**
   * Queues on `out` the head to send upstream for the parsed request (its bytes
   * still in `input`), forwarded with `target` (the normalised path), with the
   * request's `id` as its last field when ids are on.
   */
  queueUpstream(io: IoContext, out: Stream, input: InBuffer, route: RouteInit, target: string, id: RequestId | null): void {
    const v = this.view;
    if (target !== v.target) return out.push(encodeLatin1(this.#slowHead(input, route, target, id)));
    const o = this.#optionsFor(route);
    let n = writeUpstreamRequest(v, input.buf, io.headBuffer, 0, o);
    while (n < 0) n = writeUpstreamRequest(v, input.buf, growHeadBuffer(io), 0, o);
    if (id !== null) n = withId(io, n, id);
    out.push(io.headBuffer, 0, n);
  }

  /** A target that normalisation changed is written by the string path (rare). */
  #slowHead(input: InBuffer, route: RouteInit, target: string, id: RequestId | null): string {
    const req = { ...this.toHead(input), target, targetForm: "origin" as const };
    const head = upstreamRequestHead(req, this.#input(route));
    return id === null ? head : `${head.slice(0, -2)}${id.header}: ${id.text()}\r\n\r\n`;
  }

  #optionsFor(route: RouteInit): CompiledRequestOptions {
    if (this.#route === route && this.#options !== null) return this.#options;
    this.#route = route;
    return this.#options = compileRequestOptions(this.#input(route));
  }

  /** The rewrite options of `route` for this connection (compiled or used by the string path). */
  #input(route: RouteInit): RequestOptionsInput {
    return {
      clientAddress: this.clientAddress, proto: "http", viaName: VIA_NAME,
      setHeaders: route.requestHeaders?.set, removeHeaders: removals(requestRemovals, route, route.requestHeaders, this.idHeader),
      pathPrefixStrip: route.stripPrefix ? route.path : undefined,
    };
  }
}

/** Compiled response options by route (per worker: each worker has its own module instance). */
const responseOptions = new WeakMap<RouteInit, CompiledResponseOptions>();

/**
 * A route's `remove` list with the request id header added: one array per
 * route (a route has one listener, so one header), since compiled edits are
 * cached by the list's identity.
 */
const requestRemovals = new WeakMap<RouteInit, readonly string[]>();
const responseRemovals = new WeakMap<RouteInit, readonly string[]>();

/** The names to remove for `ops`, one of `route`'s header edits: with `idHeader` too when ids are on. */
function removals(
  cache: WeakMap<RouteInit, readonly string[]>, route: RouteInit, ops: RouteInit["requestHeaders"], idHeader: string | undefined,
): readonly string[] | undefined {
  if (idHeader === undefined) return ops?.remove;
  let list = cache.get(route);
  if (list === undefined) cache.set(route, list = [...(ops?.remove ?? []), idHeader]);
  return list;
}

/** Writes the request id as the last field of the head in the worker's head buffer `[0, n)`; returns its new end. */
function withId(io: IoContext, n: number, id: RequestId): number {
  let end = id.appendTo(io.headBuffer, n);
  while (end < 0) {
    const bigger = new Uint8Array(io.headBuffer.length * 2);
    bigger.set(io.headBuffer.subarray(0, n));
    io.headBuffer = bigger;
    end = id.appendTo(bigger, n);
  }
  return end;
}

/** One connection's response heads. */
export class ResponseHeads {
  readonly view = new ResponseView();
  readonly #scan = new HeadScan();

  /** `idHeader`: the listener's request id header, if ids are on. */
  constructor(private readonly idHeader?: string) {}

  /** Forgets a partly scanned head (a new exchange). */
  reset(): void {
    this.#scan.reset();
  }

  /** Parses the head at the start of `input` (not consumed), for a `method` request. */
  read(input: InBuffer, limits: HeadLimits, method: string): number {
    if (input.size === 0) return 0;
    return parseResponseInto(this.view, input.buf, input.start, input.end, limits, method, this.#scan);
  }

  /**
   * Queues on `out` the head to send the client for the parsed response (its
   * bytes still in `input`), with the request's `id` as its last field when
   * given (a final response, ids on).
   */
  queueClient(
    io: IoContext, out: Stream, input: InBuffer, route: RouteInit, req: RequestView, keepAlive: boolean, forceClose: boolean,
    id: RequestId | null,
  ): void {
    const o = optionsOf(route, this.idHeader);
    let n = writeClientResponse(this.view, input.buf, io.headBuffer, 0, o, req.version, keepAlive, forceClose);
    while (n < 0) n = writeClientResponse(this.view, input.buf, growHeadBuffer(io), 0, o, req.version, keepAlive, forceClose);
    if (id !== null) n = withId(io, n, id);
    out.push(io.headBuffer, 0, n);
  }
}

/** A route's compiled response options (the upstream's request id header removed when ids are on: the proxy writes it). */
function optionsOf(route: RouteInit, idHeader: string | undefined): CompiledResponseOptions {
  let o = responseOptions.get(route);
  if (o === undefined) {
    const removeHeaders = removals(responseRemovals, route, route.responseHeaders, idHeader);
    o = compileResponseOptions({ viaName: VIA_NAME, setHeaders: route.responseHeaders?.set, removeHeaders });
    responseOptions.set(route, o);
  }
  return o;
}

/** Doubles the worker's head buffer (a head with large edits did not fit). */
function growHeadBuffer(io: IoContext): Uint8Array {
  io.headBuffer = new Uint8Array(io.headBuffer.length * 4);
  return io.headBuffer;
}
