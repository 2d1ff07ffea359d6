/**
 * What a `"balance": "hash"` group hashes (`hashKey`): the client address
 * (TCP and HTTP), or on HTTP a request header, a cookie or the path. Keys
 * are hashed from the bytes of the parsed head in place: no string is made.
 * A request without the key (no such header or cookie) gets {@linkcode NO_KEY}
 * and goes round robin.
 *
 * @module
 */
import { F_NAME, F_NAME_END, F_VALUE, F_VALUE_END, STRIDE, type HeadView } from "../http/wire/view.ts";
import { asciiBytes, equalsLower } from "../http/wire/names.ts";
import { hashBytes, hashString } from "./hash.ts";
import { NO_KEY } from "./picker.ts";

/** No key: the group does not hash. */
export const KEY_NONE = 0;
/** The client's IP address. */
export const KEY_CLIENT_IP = 1;
/** A request header's value (the first line of that name). */
export const KEY_HEADER = 2;
/** A cookie's value (the first of that name). */
export const KEY_COOKIE = 3;
/** The normalised path, without the query. */
export const KEY_PATH = 4;

/** A parsed `hashKey`. */
export interface HashKey {
  readonly kind: number;
  /** The header name (lowercase) or cookie name (as written), as bytes; empty otherwise. */
  readonly name: Uint8Array;
}

/** No key. */
export const NO_HASH_KEY: HashKey = { kind: KEY_NONE, name: new Uint8Array(0) };

/** The `hashKey` forms, for messages. */
export const HASH_KEY_FORMS = `"clientIp", "path", "header:NAME" or "cookie:NAME"`;

/** Parses a `hashKey` text (already validated by the config schema); undefined for none. */
export function parseHashKey(text: string | undefined): HashKey {
  if (text === undefined) return NO_HASH_KEY;
  if (text === "clientIp") return { kind: KEY_CLIENT_IP, name: new Uint8Array(0) };
  if (text === "path") return { kind: KEY_PATH, name: new Uint8Array(0) };
  const colon = text.indexOf(":");
  const prefix = text.slice(0, colon), name = text.slice(colon + 1);
  if (prefix === "header") return { kind: KEY_HEADER, name: asciiBytes(name.toLowerCase()) };
  if (prefix === "cookie") return { kind: KEY_COOKIE, name: asciiBytes(name) };
  throw new RangeError(`hashKey: expected ${HASH_KEY_FORMS}, got ${JSON.stringify(text)}`);
}

/** Why `text` is not a valid `hashKey` for a listener of `mode`, or undefined when it is. */
export function hashKeyProblem(text: string, mode: "tcp" | "http"): string | undefined {
  const m = /^(clientIp|path|header:([!#$%&'*+.^_`|~0-9A-Za-z-]+)|cookie:([!#$%&'*+.^_`|~0-9A-Za-z-]+))$/.exec(text);
  if (!m) return `expected ${HASH_KEY_FORMS}, got ${JSON.stringify(text)}`;
  if (mode === "tcp" && text !== "clientIp") return `a tcp listener can hash only "clientIp", got ${JSON.stringify(text)}`;
  return undefined;
}

/** The key of a client address string (as the HTTP session keeps it). */
export function addressKey(address: string): number {
  return address.length === 0 ? NO_KEY : hashString(address);
}

/** The key of the raw address bytes `buf[start, end)` (an IPv4 or IPv6 address). */
export function addressBytesKey(buf: Uint8Array, start: number, end: number): number {
  return hashBytes(buf, start, end);
}

/**
 * The key of one request for `key` (a header, cookie or path kind), read from
 * the parsed `view` over `buf`; `path` is the normalised target. NO_KEY when
 * the request lacks it; `clientKey` for KEY_CLIENT_IP.
 */
export function requestKey(key: HashKey, view: HeadView, buf: Uint8Array, path: string, clientKey: number): number {
  switch (key.kind) {
    case KEY_CLIENT_IP:
      return clientKey;
    case KEY_PATH: {
      const q = path.indexOf("?");
      return hashString(path, 0, q < 0 ? path.length : q);
    }
    case KEY_HEADER:
      return headerKey(key.name, view, buf);
    case KEY_COOKIE:
      return cookieKey(key.name, view, buf);
    default:
      return NO_KEY;
  }
}

/** Index of the first field named `lower` (lowercase bytes), or -1. */
function findField(lower: Uint8Array, view: HeadView, buf: Uint8Array, from: number): number {
  const f = view.fields;
  for (let i = from; i < view.fieldCount; i++) {
    const at = i * STRIDE;
    if (f[at + F_NAME_END] - f[at + F_NAME] === lower.length && equalsLower(buf, f[at + F_NAME], lower)) return i;
  }
  return -1;
}

function headerKey(lower: Uint8Array, view: HeadView, buf: Uint8Array): number {
  const i = findField(lower, view, buf, 0);
  if (i < 0) return NO_KEY;
  return hashBytes(buf, view.fields[i * STRIDE + F_VALUE], view.fields[i * STRIDE + F_VALUE_END]);
}

const COOKIE = asciiBytes("cookie");

/** The first `name=value` of that name across Cookie lines (`a=1; b=2`), hashed by value. */
function cookieKey(name: Uint8Array, view: HeadView, buf: Uint8Array): number {
  for (let i = findField(COOKIE, view, buf, 0); i >= 0; i = findField(COOKIE, view, buf, i + 1)) {
    const k = cookieIn(name, buf, view.fields[i * STRIDE + F_VALUE], view.fields[i * STRIDE + F_VALUE_END]);
    if (k !== NO_KEY) return k;
  }
  return NO_KEY;
}

function cookieIn(name: Uint8Array, buf: Uint8Array, start: number, end: number): number {
  let p = start;
  while (p < end) {
    while (p < end && (buf[p] === 0x20 || buf[p] === 0x09)) p++;
    let eq = p;
    while (eq < end && buf[eq] !== 0x3d && buf[eq] !== 0x3b) eq++;
    let semi = eq;
    while (semi < end && buf[semi] !== 0x3b) semi++;
    if (eq < end && buf[eq] === 0x3d && eq - p === name.length && sameBytes(buf, p, name)) {
      let vs = eq + 1, ve = semi;
      while (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
      if (ve - vs >= 2 && buf[vs] === 0x22 && buf[ve - 1] === 0x22) (vs++, ve--);
      return hashBytes(buf, vs, ve);
    }
    p = semi + 1;
  }
  return NO_KEY;
}

function sameBytes(buf: Uint8Array, at: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (buf[at + i] !== want[i]) return false;
  return true;
}
