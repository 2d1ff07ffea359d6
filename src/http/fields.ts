/**
 * The meaning of the fields that decide framing and connection handling
 * (Host, Content-Length, Transfer-Encoding, Connection, Upgrade, Expect),
 * shared by requests and responses. Errors carry request statuses (400, 501);
 * the response parser turns every error into a 502.
 *
 * @module
 */
import { isToken, trimOWS } from "./chars.ts";
import { CHUNKED, fail, type Field, type Framing, type HeadError, type HttpVersion, NO_BODY } from "./head.ts";

/** The framing-relevant fields of a head, gathered in one pass over its fields. */
export interface FieldFacts {
  hostCount: number;
  host: string | undefined;
  contentLength: string[] | undefined;
  transferEncoding: string[] | undefined;
  connection: string[] | undefined;
  upgrade: string[] | undefined;
  expect: string[] | undefined;
}

/** Gathers the fields that matter for framing; other names cost a length check. */
export function gatherFacts(fields: readonly Field[]): FieldFacts {
  const facts: FieldFacts = {
    hostCount: 0,
    host: undefined,
    contentLength: undefined,
    transferEncoding: undefined,
    connection: undefined,
    upgrade: undefined,
    expect: undefined,
  };
  for (let i = 0; i < fields.length; i++) noteField(facts, fields[i][0], fields[i][1]);
  return facts;
}

/** Lengths of the names {@linkcode noteField} looks at. */
const NOTED_LENGTHS = new Set([4, 6, 7, 10, 14, 17]);

function noteField(facts: FieldFacts, name: string, value: string): void {
  if (!NOTED_LENGTHS.has(name.length)) return;
  switch (name.toLowerCase()) {
    case "host":
      facts.hostCount++;
      facts.host = value;
      return;
    case "content-length":
      (facts.contentLength ??= []).push(value);
      return;
    case "transfer-encoding":
      (facts.transferEncoding ??= []).push(value);
      return;
    case "connection":
      (facts.connection ??= []).push(value);
      return;
    case "upgrade":
      (facts.upgrade ??= []).push(value);
      return;
    case "expect":
      (facts.expect ??= []).push(value);
      return;
  }
}

/** The non-empty elements of comma-separated list values, OWS trimmed, lowercased. */
export function listElements(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    for (const element of value.split(",")) {
      const e = trimOWS(element);
      if (e.length > 0) out.push(e.toLowerCase());
    }
  }
  return out;
}

/** `s` for an error message: quoted, at most 40 characters. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/**
 * Content-Length from its field values: 1*DIGIT up to 2^53-1; several lines
 * or a comma list are accepted only when every element is the same string
 * (RFC 9110 §8.6).
 */
export function parseContentLength(values: readonly string[]): number | HeadError {
  if (values.length === 1 && !values[0].includes(",")) return parseDecimal(values[0]);
  let first: string | undefined;
  for (const value of values) {
    for (const raw of value.split(",")) {
      const element = trimOWS(raw);
      const n = parseDecimal(element);
      if (typeof n !== "number") return n;
      if (first !== undefined && element !== first) return fail(400, "differing Content-Length values");
      first = element;
    }
  }
  return parseDecimal(first ?? "");
}

/** 1*DIGIT not over Number.MAX_SAFE_INTEGER. */
export function parseDecimal(s: string): number | HeadError {
  if (s.length === 0) return fail(400, "empty Content-Length");
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return fail(400, `invalid Content-Length ${quote(s)}`);
    n = n * 10 + d;
    if (n > Number.MAX_SAFE_INTEGER) return fail(400, "Content-Length over 2^53-1");
  }
  return n;
}

/**
 * Accepts only `chunked` as the single coding: 400 when chunked is missing,
 * not final or repeated (the length cannot be known), 501 for another coding
 * before a final chunked.
 */
export function checkTransferEncoding(values: readonly string[]): HeadError | undefined {
  const codings = listElements(values);
  const last = codings.length - 1;
  if (last < 0) return fail(400, "empty Transfer-Encoding");
  if (codings[last] !== "chunked") return fail(400, `Transfer-Encoding ${quote(codings.join(", "))} does not end in chunked`);
  if (codings.indexOf("chunked") !== last) return fail(400, "chunked applied more than once");
  return last === 0 ? undefined : fail(501, `unsupported transfer coding ${quote(codings[0])}`);
}

/** Body framing from Content-Length and Transfer-Encoding (RFC 9112 §6). */
export function messageFraming(facts: FieldFacts, version: HttpVersion): Framing | HeadError {
  const te = facts.transferEncoding;
  if (te !== undefined) {
    if (facts.contentLength !== undefined) return fail(400, "both Content-Length and Transfer-Encoding");
    if (version === "HTTP/1.0") return fail(400, "Transfer-Encoding in an HTTP/1.0 message");
    return checkTransferEncoding(te) ?? CHUNKED;
  }
  if (facts.contentLength === undefined) return NO_BODY;
  const length = parseContentLength(facts.contentLength);
  return typeof length === "number" ? { kind: "length", length } : length;
}

/** The (frozen) options of a head without Connection. */
const NO_TOKENS = Object.freeze([]) as unknown as string[];

/** The options listed by Connection, lowercased; each must be a token. */
export function connectionTokens(values: readonly string[] | undefined): string[] | HeadError {
  if (values === undefined) return NO_TOKENS;
  const tokens = listElements(values);
  const bad = tokens.find((t) => !isToken(t));
  return bad === undefined ? tokens : fail(400, `invalid Connection option ${quote(bad)}`);
}

/** Persistence (RFC 9112 §9.3): HTTP/1.1 unless `close`, HTTP/1.0 only with `keep-alive`. */
export function isKeepAlive(version: HttpVersion, tokens: readonly string[]): boolean {
  if (tokens.includes("close")) return false;
  return version === "HTTP/1.1" || tokens.includes("keep-alive");
}

/** The Upgrade value (lines joined with ", ") when Connection lists `upgrade`. */
export function upgradeOf(facts: FieldFacts, tokens: readonly string[]): string | undefined {
  if (facts.upgrade === undefined || !tokens.includes("upgrade")) return undefined;
  return facts.upgrade.join(", ");
}

/** Host (RFC 9110 §7.2): uri-host [":" port], IP literal in brackets; may be empty. */
const HOST = /^(?:\[[0-9A-Za-z:._~!$&'()*+,;=-]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?$/;

/** Authority-form (CONNECT): a non-empty host and a port. */
const AUTHORITY = /^(?:\[[0-9A-Za-z:._~!$&'()*+,;=-]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+):[0-9]+$/;

/** True for a valid Host field value. */
export function isValidHost(value: string): boolean {
  return HOST.test(value);
}

/** True for an authority-form request target (`host:port`). */
export function isAuthorityForm(target: string): boolean {
  return AUTHORITY.test(target);
}
