/**
 * The session's seam to the head parsers and writers: parse a request or a
 * response head out of an input buffer, and queue the rewritten head on a
 * stream. Nothing here keeps state between calls but the scans it is given.
 *
 * @module
 */
import { encodeLatin1 } from "../../http/chars.ts";
import type { HeadLimits, HeadScan } from "../../http/head.ts";
import { parseRequestHead, type RequestHead } from "../../http/request.ts";
import { parseResponseHead, type ResponseHead } from "../../http/response.ts";
import { clientResponseHead, upstreamRequestHead } from "../../http/rewrite.ts";
import type { InBuffer } from "../io/inbuf.ts";
import type { Stream } from "../io/stream.ts";
import type { RouteInit } from "../protocol.ts";

/** The proxy's name in Via. */
export const VIA_NAME = "spliced";

/** A head, an error to answer with, or undefined for "read more". */
export type HeadOutcome<T> = T | { status: number; reason: string } | undefined;

/** Parses the request head at the start of `input` and consumes it when complete. */
export function readRequestHead(input: InBuffer, limits: HeadLimits, scan: HeadScan): HeadOutcome<RequestHead> {
  if (input.size === 0) return undefined;
  const r = parseRequestHead(input.buf, input.start, input.end, limits, scan);
  if (r.kind === "incomplete") return undefined;
  if (r.kind === "error") return { status: r.status, reason: r.reason };
  input.consume(r.length);
  return r.head;
}

/** Parses the response head at the start of `input` (to a `method` request) and consumes it. */
export function readResponseHead(
  input: InBuffer,
  limits: HeadLimits,
  method: string,
  scan: HeadScan,
): HeadOutcome<ResponseHead> {
  if (input.size === 0) return undefined;
  const r = parseResponseHead(input.buf, input.start, input.end, limits, method, scan);
  if (r.kind === "incomplete") return undefined;
  if (r.kind === "error") return { status: 502, reason: `bad response from upstream: ${r.reason}` };
  input.consume(r.length);
  return r.head;
}

/** True when a read outcome is an error to answer. */
export function isHeadError<T extends object>(x: HeadOutcome<T>): x is { status: number; reason: string } {
  return x !== undefined && "status" in x && "reason" in x && !("headers" in x);
}

/** Queues the head sent upstream for `req` on `route`, routed by `path` (the normalised target). */
export function queueRequestHead(out: Stream, req: RequestHead, route: RouteInit, clientAddress: string, target: string): void {
  const head = upstreamRequestHead(target === req.target ? req : { ...req, target, targetForm: "origin" }, {
    clientAddress, proto: "http", viaName: VIA_NAME,
    setHeaders: route.requestHeaders?.set, removeHeaders: route.requestHeaders?.remove,
    pathPrefixStrip: route.stripPrefix ? route.path : undefined,
  });
  out.push(encodeLatin1(head));
}

/** Options of a response head sent to the client. */
export interface ClientHeadOptions {
  readonly req: RequestHead;
  readonly route: RouteInit | null;
  readonly keepAlive: boolean;
  readonly forceClose: boolean;
}

/** Queues the head sent to the client for `resp`. */
export function queueResponseHead(out: Stream, resp: ResponseHead, o: ClientHeadOptions): void {
  const head = clientResponseHead(resp, {
    clientVersion: o.req.version, keepAlive: o.keepAlive, viaName: VIA_NAME, forceClose: o.forceClose,
    setHeaders: o.route?.responseHeaders?.set, removeHeaders: o.route?.responseHeaders?.remove,
  });
  out.push(encodeLatin1(head));
}
