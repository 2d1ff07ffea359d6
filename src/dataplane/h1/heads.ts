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

/** The proxy's name in Via. */
export const VIA_NAME = "spliced";

/** One connection's request heads: its view, scan state and compiled route options. */
export class RequestHeads {
  readonly view = new RequestView();
  readonly #scan = new HeadScan();
  #route: RouteInit | null = null;
  #options: CompiledRequestOptions | null = null;

  constructor(private readonly clientAddress: string) {}

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
   * still in `input`), forwarded with `target` (the normalised path).
   */
  queueUpstream(io: IoContext, out: Stream, input: InBuffer, route: RouteInit, target: string): void {
    const v = this.view;
    if (target !== v.target) return out.push(encodeLatin1(this.#slowHead(input, route, target)));
    const o = this.#optionsFor(route);
    let n = writeUpstreamRequest(v, input.buf, io.headBuffer, 0, o);
    while (n < 0) n = writeUpstreamRequest(v, input.buf, growHeadBuffer(io), 0, o);
    out.push(io.headBuffer, 0, n);
  }

  /** A target that normalisation changed is written by the string path (rare). */
  #slowHead(input: InBuffer, route: RouteInit, target: string): string {
    const req = { ...this.toHead(input), target, targetForm: "origin" as const };
    return upstreamRequestHead(req, this.#input(route));
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
      setHeaders: route.requestHeaders?.set, removeHeaders: route.requestHeaders?.remove,
      pathPrefixStrip: route.stripPrefix ? route.path : undefined,
    };
  }
}

/** Compiled response options by route (per worker: each worker has its own module instance). */
const responseOptions = new WeakMap<RouteInit, CompiledResponseOptions>();

/** One connection's response heads. */
export class ResponseHeads {
  readonly view = new ResponseView();
  readonly #scan = new HeadScan();

  /** Forgets a partly scanned head (a new exchange). */
  reset(): void {
    this.#scan.reset();
  }

  /** Parses the head at the start of `input` (not consumed), for a `method` request. */
  read(input: InBuffer, limits: HeadLimits, method: string): number {
    if (input.size === 0) return 0;
    return parseResponseInto(this.view, input.buf, input.start, input.end, limits, method, this.#scan);
  }

  /** Queues on `out` the head to send the client for the parsed response (its bytes still in `input`). */
  queueClient(io: IoContext, out: Stream, input: InBuffer, route: RouteInit | null, req: RequestView, keepAlive: boolean, forceClose: boolean): void {
    const o = optionsOf(route);
    let n = writeClientResponse(this.view, input.buf, io.headBuffer, 0, o, req.version, keepAlive, forceClose);
    while (n < 0) n = writeClientResponse(this.view, input.buf, growHeadBuffer(io), 0, o, req.version, keepAlive, forceClose);
    out.push(io.headBuffer, 0, n);
  }
}

const NO_ROUTE_OPTIONS = compileResponseOptions({ viaName: VIA_NAME });

function optionsOf(route: RouteInit | null): CompiledResponseOptions {
  if (route === null) return NO_ROUTE_OPTIONS;
  let o = responseOptions.get(route);
  if (o === undefined) {
    o = compileResponseOptions({ viaName: VIA_NAME, setHeaders: route.responseHeaders?.set, removeHeaders: route.responseHeaders?.remove });
    responseOptions.set(route, o);
  }
  return o;
}

/** Doubles the worker's head buffer (a head with large edits did not fit). */
function growHeadBuffer(io: IoContext): Uint8Array {
  io.headBuffer = new Uint8Array(io.headBuffer.length * 4);
  return io.headBuffer;
}
