/**
 * Helpers for the wire tests (not part of the API): run a head through the
 * string path (../request.ts, ../response.ts, ../rewrite.ts) and the byte
 * path, and assert that both agree.
 *
 * @module
 */
import assert from "node:assert/strict";
import { encodeLatin1 } from "../chars.ts";
import { DEFAULT_LIMITS, type HeadLimits, HeadScan } from "../head.ts";
import { parseRequestHead } from "../request.ts";
import { parseResponseHead } from "../response.ts";
import { type ClientResponseOptions, clientResponseHead, clientResponsePlan, upstreamRequestHead, type UpstreamRequestOptions } from "../rewrite.ts";
import { framed } from "../_testing.ts";
import { compileRequestOptions, compileResponseOptions } from "./options.ts";
import { parseRequestInto, RequestView, toRequestHead } from "./request_view.ts";
import { parseResponseInto, ResponseView, toResponseHead } from "./response_view.ts";
import { PLAN_DECHUNK, PLAN_KEEP_ALIVE, PLAN_SEND, responsePlan, writeClientResponse, writeUpstreamRequest } from "./writer.ts";

/** A parse outcome in one comparable shape. */
export type Outcome = { kind: "incomplete" } | { kind: "error"; status: number; reason: string } | { kind: "ok"; length: number; head: unknown };

/** The byte path's outcome for a request at `buf[start, end)`, into `view`. */
export function requestOutcome(view: RequestView, buf: Uint8Array, start: number, end: number, limits = DEFAULT_LIMITS, scan?: HeadScan): Outcome {
  const n = parseRequestInto(view, buf, start, end, limits, scan);
  if (n === 0) return { kind: "incomplete" };
  if (n < 0) return { kind: "error", status: view.errorStatus, reason: view.errorReason };
  return { kind: "ok", length: n, head: toRequestHead(view, buf) };
}

/** The byte path's outcome for a response. */
export function responseOutcome(
  view: ResponseView,
  buf: Uint8Array,
  start: number,
  end: number,
  method: string,
  limits = DEFAULT_LIMITS,
  scan?: HeadScan,
): Outcome {
  const n = parseResponseInto(view, buf, start, end, limits, method, scan);
  if (n === 0) return { kind: "incomplete" };
  if (n < 0) return { kind: "error", status: view.errorStatus, reason: view.errorReason };
  return { kind: "ok", length: n, head: toResponseHead(view, buf) };
}

/** The string path's outcome in the same shape. */
function stringOutcome(r: { kind: string; status?: number; reason?: string; length?: number; head?: unknown }): Outcome {
  if (r.kind === "ok") return { kind: "ok", length: r.length!, head: r.head };
  if (r.kind === "error") return { kind: "error", status: r.status!, reason: r.reason! };
  return { kind: "incomplete" };
}

/** Asserts that both paths give the same outcome for the request `text`; returns it. */
export function sameRequest(text: string, view = new RequestView(), limits: HeadLimits = DEFAULT_LIMITS): Outcome {
  const { buf, start, end } = framed(text);
  const want = stringOutcome(parseRequestHead(buf, start, end, limits));
  const got = requestOutcome(view, buf, start, end, limits);
  assert.deepEqual(got, want, JSON.stringify(text));
  return got;
}

/** Asserts that both paths give the same outcome for the response `text`; returns it. */
export function sameResponse(text: string, method: string, view = new ResponseView(), limits: HeadLimits = DEFAULT_LIMITS): Outcome {
  const { buf, start, end } = framed(text);
  const want = stringOutcome(parseResponseHead(buf, start, end, limits, method));
  const got = responseOutcome(view, buf, start, end, method, limits);
  assert.deepEqual(got, want, JSON.stringify(text));
  return got;
}

/** Feeds `text` byte by byte (or at `cuts`) to the byte path with one scan; returns the last outcome. */
export function feedRequest(text: string, view: RequestView, cuts?: readonly number[]): Outcome {
  const { buf, start } = framed(text);
  const scan = new HeadScan();
  const ends = [...(cuts ?? Array.from({ length: text.length }, (_, i) => i + 1)), text.length];
  let last: Outcome = { kind: "incomplete" };
  for (const e of ends) {
    last = requestOutcome(view, buf, start, start + e, DEFAULT_LIMITS, scan);
    if (last.kind !== "incomplete") break;
  }
  return last;
}

/** The response version of {@linkcode feedRequest}. */
export function feedResponse(text: string, method: string, view: ResponseView, cuts?: readonly number[]): Outcome {
  const { buf, start } = framed(text);
  const scan = new HeadScan();
  const ends = [...(cuts ?? Array.from({ length: text.length }, (_, i) => i + 1)), text.length];
  let last: Outcome = { kind: "incomplete" };
  for (const e of ends) {
    last = responseOutcome(view, buf, start, start + e, method, DEFAULT_LIMITS, scan);
    if (last.kind !== "incomplete") break;
  }
  return last;
}

const OUT = new Uint8Array(1 << 17);

/** The byte path's upstream head for the request `text` (which must parse). */
export function writtenRequest(text: string, opts: UpstreamRequestOptions, view = new RequestView()): Uint8Array {
  const { buf, start, end } = framed(text);
  assert.ok(parseRequestInto(view, buf, start, end) > 0, text);
  const n = writeUpstreamRequest(view, buf, OUT, 3, compileRequestOptions(opts), opts.close === true);
  assert.ok(n > 0);
  return OUT.slice(3, n);
}

/** The byte path's client head for the response `text` (which must parse for `method`). */
export function writtenResponse(text: string, method: string, opts: ClientResponseOptions, view = new ResponseView()): Uint8Array {
  const { buf, start, end } = framed(text);
  assert.ok(parseResponseInto(view, buf, start, end, DEFAULT_LIMITS, method) > 0, text);
  const n = writeClientResponse(view, buf, OUT, 5, compileResponseOptions(opts), opts.clientVersion, opts.keepAlive, opts.forceClose);
  assert.ok(n > 0);
  return OUT.slice(5, n);
}

/** Asserts that both paths write the same upstream head for an accepted request. */
export function sameUpstreamHead(text: string, opts: UpstreamRequestOptions, view?: RequestView): void {
  const bytes = encodeLatin1(text);
  const r = parseRequestHead(bytes, 0, bytes.length);
  assert.equal(r.kind, "ok");
  if (r.kind !== "ok") return;
  assert.deepEqual(writtenRequest(text, opts, view), encodeLatin1(upstreamRequestHead(r.head, opts)), JSON.stringify([text, opts]));
}

/** Asserts that both paths write the same client head and plan for an accepted response. */
export function sameClientHead(text: string, method: string, opts: ClientResponseOptions, view = new ResponseView()): void {
  const bytes = encodeLatin1(text);
  const r = parseResponseHead(bytes, 0, bytes.length, DEFAULT_LIMITS, method);
  assert.equal(r.kind, "ok");
  if (r.kind !== "ok") return;
  const label = JSON.stringify([text, method, opts]);
  assert.deepEqual(writtenResponse(text, method, opts, view), encodeLatin1(clientResponseHead(r.head, opts)), label);
  const plan = clientResponsePlan(r.head, opts);
  const bits = responsePlan(view, opts.clientVersion, opts.keepAlive, opts.forceClose);
  assert.deepEqual(
    { send: (bits & PLAN_SEND) !== 0, keepAlive: (bits & PLAN_KEEP_ALIVE) !== 0, dechunk: (bits & PLAN_DECHUNK) !== 0 },
    plan,
    label,
  );
}
