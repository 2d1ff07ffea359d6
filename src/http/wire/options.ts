/**
 * Route and connection options of the head writers, compiled once into bytes
 * and per-name tables, so that writing a head allocates nothing.
 *
 * The edits follow `../rewrite.ts`: `setHeaders` and `removeHeaders` names
 * (lowercased with `toLowerCase`, as there) suppress the fields of that name;
 * the reserved names are never edited and `host` is never removed; the set
 * fields are appended in the record's `for…in` order.
 *
 * @module
 */
import { encodeLatin1 } from "../chars.ts";
import { RESERVED_HEADERS, type ClientResponseOptions, type UpstreamRequestOptions } from "../rewrite.ts";
import { asciiBytes, N_COUNT, NAME_OF } from "./names.ts";

/** Compiled `setHeaders`/`removeHeaders`. */
export interface CompiledEdits {
  /** 1 for each known name id (names.ts) the edits replace or remove. */
  readonly suppressedId: Uint8Array;
  /** Lowercase bytes of the other edited names (compared with wire names ignoring case). */
  readonly otherNames: readonly Uint8Array[];
  /** The `Name: value\r\n` lines of `setHeaders` (reserved names left out). */
  readonly setLines: Uint8Array;
}

/** Compiled {@linkcode UpstreamRequestOptions} (without `close`, which is per request). */
export interface CompiledRequestOptions {
  readonly edits: CompiledEdits;
  readonly clientAddress: Uint8Array;
  readonly proto: Uint8Array;
  /** `1.0 name` and `1.1 name` for Via. */
  readonly via10: Uint8Array;
  readonly via11: Uint8Array;
  /** The prefix to strip (one trailing `/` removed), or null for none. */
  readonly prefix: Uint8Array | null;
  readonly defaultHost: Uint8Array;
}

/** Compiled edits and Via of {@linkcode ClientResponseOptions} (version and keep-alive are per request). */
export interface CompiledResponseOptions {
  readonly edits: CompiledEdits;
  readonly via10: Uint8Array;
  readonly via11: Uint8Array;
}

/** The options of {@linkcode compileResponseOptions}. */
export type ResponseOptionsInput = Pick<ClientResponseOptions, "viaName" | "setHeaders" | "removeHeaders">;

/** The options of {@linkcode compileRequestOptions}. */
export type RequestOptionsInput = Omit<UpstreamRequestOptions, "close">;

const NO_EDITS: CompiledEdits = Object.freeze({
  suppressedId: new Uint8Array(N_COUNT),
  otherNames: Object.freeze([]) as readonly Uint8Array[],
  setLines: new Uint8Array(0),
});

type SetRecord = Readonly<Record<string, string>>;
const editCache = new WeakMap<object, WeakMap<object, CompiledEdits>>();
const KEY_NONE = {};

/** Compiles a route's edits (cached per `setHeaders`/`removeHeaders` object pair). */
export function compileEdits(setHeaders: SetRecord | undefined, removeHeaders: readonly string[] | undefined): CompiledEdits {
  if (setHeaders === undefined && removeHeaders === undefined) return NO_EDITS;
  const k1 = setHeaders ?? KEY_NONE, k2 = removeHeaders ?? KEY_NONE;
  let inner = editCache.get(k1);
  if (inner === undefined) editCache.set(k1, inner = new WeakMap());
  let compiled = inner.get(k2);
  if (compiled === undefined) inner.set(k2, compiled = buildEdits(setHeaders, removeHeaders));
  return compiled;
}

function buildEdits(setHeaders: SetRecord | undefined, removeHeaders: readonly string[] | undefined): CompiledEdits {
  const names = new Set<string>();
  for (const n of Object.keys(setHeaders ?? {})) {
    const lower = n.toLowerCase();
    if (!RESERVED_HEADERS.has(lower)) names.add(lower);
  }
  for (const n of removeHeaders ?? []) {
    const lower = n.toLowerCase();
    if (!RESERVED_HEADERS.has(lower) && lower !== "host") names.add(lower);
  }
  const suppressedId = new Uint8Array(N_COUNT);
  for (let id = 1; id < N_COUNT; id++) suppressedId[id] = names.has(NAME_OF[id]) ? 1 : 0;
  const otherNames = [...names].filter((n) => !NAME_OF.includes(n) && isLatin1(n)).map(encodeLatin1);
  return { suppressedId, otherNames, setLines: setLinesOf(setHeaders) };
}

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/** `Name: value\r\n` per settable field; RangeError for a non-latin1 name or value (as `encodeLatin1` of the head). */
function setLinesOf(set: SetRecord | undefined): Uint8Array {
  let text = "";
  for (const name in set) if (!RESERVED_HEADERS.has(name.toLowerCase())) text += `${name}: ${set[name]}\r\n`;
  return encodeLatin1(text);
}

/** Compiles the options of `upstreamRequestHead` but `close` (pass that per call). */
export function compileRequestOptions(opts: RequestOptionsInput): CompiledRequestOptions {
  return {
    edits: compileEdits(opts.setHeaders, opts.removeHeaders),
    clientAddress: encodeLatin1(opts.clientAddress),
    proto: asciiBytes(opts.proto),
    via10: encodeLatin1(`1.0 ${opts.viaName}`),
    via11: encodeLatin1(`1.1 ${opts.viaName}`),
    prefix: prefixBytes(opts.pathPrefixStrip),
    defaultHost: encodeLatin1(opts.defaultHost ?? ""),
  };
}

/** Compiles the route part of `clientResponseHead`'s options. */
export function compileResponseOptions(opts: ResponseOptionsInput): CompiledResponseOptions {
  return {
    edits: compileEdits(opts.setHeaders, opts.removeHeaders),
    via10: encodeLatin1(`1.0 ${opts.viaName}`),
    via11: encodeLatin1(`1.1 ${opts.viaName}`),
  };
}

/**
 * `stripPathPrefix`'s prefix as bytes: one trailing `/` removed; null when
 * nothing can be stripped (empty, or a byte no target holds: targets are
 * visible ASCII).
 */
function prefixBytes(prefix: string | undefined): Uint8Array | null {
  const p = prefix?.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (!p) return null;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) > 0x7e) return null;
  return asciiBytes(p);
}
