/**
 * An independent, strict HTTP/1.1 reference parser for the fuzz tests (it
 * imports nothing from src/), a strict upstream that parses what the proxy
 * forwards with it, and a writer that sends bytes in random pieces.
 *
 * The reference follows RFC 9112 and the README's "HTTP behaviour": CRLF
 * only, tchar names, no whitespace before the colon, no obs-fold, values
 * without CTL, Content-Length as a list of equal decimals, Transfer-Encoding
 * ending in chunked (and nothing else) with no Content-Length, chunk sizes of
 * 1-16 hex digits with `;name[=token|quoted-string]` extensions.
 *
 * A verdict is "ok" (with the message and its length), "incomplete" (more
 * bytes could still make it valid), or "invalid". Some facts the reference
 * does not decide (a Host or target it does not know to be good or bad): it
 * marks them `unsure`, and a test must then accept either outcome.
 *
 * @module
 */
import { createHash } from "node:crypto";
import net from "node:net";

const CR = 13, LF = 10, SP = 32, HTAB = 9;
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value once OWS is stripped: VCHAR, obs-text, SP and HTAB inside. */
const VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;
/** The head limit of the proxy's default config. */
export const MAX_HEAD = 16 * 1024;
export const MAX_TARGET = 8 * 1024;
const MAX_SAFE = 2 ** 53 - 1;

export type Field = [name: string, value: string];

/** A message the reference accepted. */
export interface RefMessage {
  /** Request: method; response: "" */
  method: string;
  /** Request: target as sent; response: "" */
  target: string;
  version: "HTTP/1.0" | "HTTP/1.1";
  /** Response status (0 for requests). */
  status: number;
  headers: Field[];
  framing: "none" | "length" | "chunked" | "close";
  body: Buffer;
  trailers: Field[];
  /** The request (or the response, for the same connection) allows another message after it. */
  keepAlive: boolean;
  /** Facts the reference could not decide (the peer may reject the message for them). */
  unsure: string[];
}

export type Verdict =
  | { kind: "ok"; msg: RefMessage; length: number }
  | { kind: "incomplete"; headDone: boolean; msg?: RefMessage; bodyPrefix?: Buffer }
  | { kind: "invalid"; reason: string; inBody: boolean };

const invalid = (reason: string, inBody = false): Verdict => ({ kind: "invalid", reason, inBody });

/** Finds the end of the head at `p` (after CRLFCRLF); "incomplete" or an error. */
function headEnd(buf: Buffer, p: number, limit: number): number | Verdict {
  const start = p;
  let lineStart = p;
  for (let i = p; i < buf.length; i++) {
    if (i - start >= limit) return invalid("head over the limit");
    const b = buf[i];
    if (b === LF) return invalid("bare LF");
    if (b !== CR) continue;
    if (i + 1 >= buf.length) break;
    if (buf[i + 1] !== LF) return invalid("bare CR");
    if (i === lineStart && i > start) return i + 2;
    if (i === lineStart) return invalid("empty first line");
    i++;
    lineStart = i + 1;
  }
  return buf.length - start >= limit ? invalid("head over the limit") : { kind: "incomplete", headDone: false };
}

/** Field lines (between the start line and the empty line): Field[] or the reason they are bad. */
function parseFields(lines: string[]): Field[] | string {
  const out: Field[] = [];
  for (const line of lines) {
    if (line[0] === " " || line[0] === "\t") return "obs-fold";
    const colon = line.indexOf(":");
    if (colon <= 0) return "field line without a name and colon";
    const name = line.slice(0, colon);
    if (!TCHAR.test(name)) return `invalid field name ${JSON.stringify(name)}`;
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!VALUE.test(value)) return `invalid field value for ${name}`;
    out.push([name, value]);
  }
  return out;
}

const all = (headers: Field[], name: string) => headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
const elements = (values: string[]) => values.flatMap((v) => v.split(",")).map((e) => e.replace(/^[ \t]+|[ \t]+$/g, ""));

interface Framing {
  framing: "none" | "length" | "chunked";
  length: number;
}

/** Content-Length and Transfer-Encoding: the framing, or the reason it is ambiguous. */
function framingOf(headers: Field[], version: string): Framing | string | undefined {
  const cl = all(headers, "content-length");
  const te = all(headers, "transfer-encoding");
  let length: number | undefined;
  if (cl.length > 0) {
    for (const e of elements(cl)) {
      if (!/^[0-9]+$/.test(e)) return `bad Content-Length element ${JSON.stringify(e)}`;
      const n = Number(e);
      if (n > MAX_SAFE) return "Content-Length too large";
      if (length !== undefined && n !== length) return "differing Content-Length";
      length = n;
    }
  }
  if (te.length > 0) {
    if (cl.length > 0) return "Content-Length with Transfer-Encoding";
    if (version === "HTTP/1.0") return "Transfer-Encoding in HTTP/1.0";
    const codings = elements(te).filter((e) => e !== "").map((e) => e.toLowerCase());
    if (codings.length !== 1 || codings[0] !== "chunked") return `Transfer-Encoding ${JSON.stringify(te.join(", "))}`;
    return { framing: "chunked", length: 0 };
  }
  return length === undefined ? undefined : { framing: "length", length };
}

function connectionTokens(headers: Field[]): string[] | string {
  const tokens = elements(all(headers, "connection")).filter((e) => e !== "");
  const bad = tokens.find((t) => !TCHAR.test(t));
  return bad === undefined ? tokens.map((t) => t.toLowerCase()) : `bad Connection token ${JSON.stringify(bad)}`;
}

/** A Host value: good for sure, bad for sure, or not decided here. */
function hostClass(host: string): "good" | "bad" | "unsure" {
  if (/^[A-Za-z0-9\-._~]*(:[0-9]*)?$/.test(host) || /^\[[0-9A-Fa-f:.]+\](:[0-9]*)?$/.test(host)) return "good";
  if (/^[\x21-\x7e]*$/.test(host) && !/[@/?#\\ "<>^`{|}]/.test(host)) return "unsure";
  return "bad";
}

/** Chunked body at `p`: its data and trailers and end, "incomplete" (with the data so far), or invalid. */
export function parseChunked(buf: Buffer, p: number): { data: Buffer; trailers: Field[]; end: number } | { incomplete: Buffer } | string {
  const parts: Buffer[] = [];
  for (;;) {
    const line = readLine(buf, p, 4096);
    if (typeof line === "string") return line;
    if (line === undefined) return { incomplete: Buffer.concat(parts) };
    const m = /^([0-9A-Fa-f]+)((?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"))?)*)$/.exec(line.text);
    if (!m) return `bad chunk line ${JSON.stringify(line.text.slice(0, 40))}`;
    if (m[1].length > 16) return "chunk size over 16 digits";
    const size = parseInt(m[1], 16);
    if (size > MAX_SAFE) return "chunk size over 2^53-1";
    p = line.next;
    if (size === 0) {
      const lines: string[] = [];
      for (;;) {
        const t = readLine(buf, p, MAX_HEAD);
        if (typeof t === "string") return t;
        if (t === undefined) return { incomplete: Buffer.concat(parts) };
        p = t.next;
        if (t.text === "") break;
        lines.push(t.text);
      }
      const trailers = parseFields(lines);
      if (typeof trailers === "string") return `trailer: ${trailers}`;
      return { data: Buffer.concat(parts), trailers, end: p };
    }
    const have = Math.min(size, buf.length - p);
    if (have < size) return { incomplete: Buffer.concat([...parts, buf.subarray(p, p + have)]) };
    parts.push(buf.subarray(p, p + size));
    p += size;
    if (buf.length < p + 2) {
      if (buf.length > p && buf[p] !== CR) return "chunk data not followed by CRLF";
      return { incomplete: Buffer.concat(parts) };
    }
    if (buf[p] !== CR || buf[p + 1] !== LF) return "chunk data not followed by CRLF";
    p += 2;
  }
}

/** One CRLF line at `p`: its text and the offset after it; undefined when incomplete; a reason when bad. */
function readLine(buf: Buffer, p: number, limit: number): { text: string; next: number } | undefined | string {
  for (let i = p; i < buf.length; i++) {
    if (i - p >= limit) return "line too long";
    if (buf[i] === LF) return "bare LF";
    if (buf[i] === CR) {
      if (i + 1 >= buf.length) return undefined;
      if (buf[i + 1] !== LF) return "bare CR";
      return { text: buf.subarray(p, i).toString("latin1"), next: i + 2 };
    }
  }
  return buf.length - p >= limit ? "line too long" : undefined;
}

/** The body after a head at `p` with `framing`; the message then completes or not. */
function withBody(buf: Buffer, p: number, msg: RefMessage, f: Framing | { framing: "close" | "none"; length: 0 }, atEof: boolean): Verdict {
  if (f.framing === "none") return { kind: "ok", msg: { ...msg, framing: "none", body: Buffer.alloc(0) }, length: p };
  if (f.framing === "close") {
    if (!atEof) return { kind: "incomplete", headDone: true, msg, bodyPrefix: buf.subarray(p) };
    return { kind: "ok", msg: { ...msg, framing: "close", body: buf.subarray(p), keepAlive: false }, length: buf.length };
  }
  if (f.framing === "length") {
    if (buf.length < p + f.length) return { kind: "incomplete", headDone: true, msg, bodyPrefix: buf.subarray(p) };
    return { kind: "ok", msg: { ...msg, framing: "length", body: buf.subarray(p, p + f.length) }, length: p + f.length };
  }
  const c = parseChunked(buf, p);
  if (typeof c === "string") return invalid(c, true);
  if ("incomplete" in c) return { kind: "incomplete", headDone: true, msg, bodyPrefix: c.incomplete };
  return { kind: "ok", msg: { ...msg, framing: "chunked", body: c.data, trailers: c.trailers }, length: c.end };
}

/** Normalised origin-form of a target the reference knows how to normalise; undefined when it does not; null when it must be refused. */
export function expectedTarget(target: string, host: string | undefined): string | null | undefined {
  let t = target;
  const abs = /^(https?):\/\/([^/?@]*)(.*)$/i.exec(target);
  if (abs) {
    if (host === undefined || abs[2].toLowerCase() !== host.toLowerCase()) return undefined;
    t = abs[3].startsWith("/") ? abs[3] : `/${abs[3]}`;
  } else if (!t.startsWith("/")) return null;
  const q = t.indexOf("?");
  const path = q < 0 ? t : t.slice(0, q);
  const query = q < 0 ? "" : t.slice(q);
  if (/%(?![0-9A-Fa-f]{2})/.test(path)) return null;
  // README: an encoded dot-segment, or one hidden behind an encoded slash or backslash, a backslash or before `;`, is refused.
  for (const seg of path.slice(1).split("/")) {
    if (seg === "." || seg === "..") continue;
    for (const piece of seg.split(/%2f|%5c|\\/i)) {
      const name = piece.split(";", 1)[0].replace(/%2e/gi, ".");
      if (name === "." || name === "..") return null;
    }
  }
  const decoded = path.replace(/%([0-9A-Fa-f]{2})/g, (e, h: string) => {
    const c = String.fromCharCode(parseInt(h, 16));
    return /^[A-Za-z0-9\-_~]$/.test(c) ? c : `%${h.toUpperCase()}`;
  });
  const out: string[] = [];
  const segs = decoded.slice(1).split("/");
  segs.forEach((s, i) => {
    const last = i === segs.length - 1;
    if (s === "." || s === "..") {
      if (s === "..") out.pop();
      if (last) out.push("");
    } else out.push(s);
  });
  return `/${out.join("/")}${query}`;
}

/** The request at `buf[p...]`. */
export function parseRequest(buf: Buffer, p = 0, atEof = false): Verdict {
  while (buf[p] === CR && buf[p + 1] === LF) p += 2;
  if (p >= buf.length || (buf[p] === CR && p + 1 >= buf.length)) return { kind: "incomplete", headDone: false };
  const end = headEnd(buf, p, MAX_HEAD);
  if (typeof end !== "number") return end;
  const lines = buf.subarray(p, end - 4).toString("latin1").split("\r\n");
  const m = /^([^ ]*) ([^ ]*) ([^ ]*)$/.exec(lines[0]);
  if (!m) return invalid("request line is not three parts");
  const [, method, target, version] = m;
  if (!TCHAR.test(method)) return invalid("bad method");
  if (target === "" || !/^[\x21-\x7e]+$/.test(target) || target.includes("#")) return invalid("bad target");
  if (target.length > MAX_TARGET) return invalid("target too long");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") return invalid(`version ${JSON.stringify(version)}`);
  const headers = parseFields(lines.slice(1));
  if (typeof headers === "string") return invalid(headers);
  const unsure: string[] = [];
  const hosts = all(headers, "host");
  if (hosts.length > 1) return invalid("two Host");
  if (hosts.length === 0 && version === "HTTP/1.1") return invalid("no Host");
  if (hosts.length === 1) {
    const c = hostClass(hosts[0]);
    if (c === "bad") return invalid("bad Host");
    if (c === "unsure") unsure.push("host");
  }
  if (method === "CONNECT") return invalid("CONNECT (not generated)");
  const abs = /^(https?):\/\/([^/?@]*)(?:[/?].*)?$/i.exec(target);
  if (!target.startsWith("/")) {
    if (!abs) return invalid("target is neither origin- nor absolute-form");
    const c = hostClass(abs[2]);
    if (c === "bad" || abs[2] === "" || abs[2].startsWith(":")) return invalid("bad authority");
    if (c === "unsure" || hosts.length === 0 || hosts[0].toLowerCase() !== abs[2].toLowerCase()) unsure.push("authority");
  }
  const normal = expectedTarget(target, hosts[0]);
  if (normal === null) return invalid("target refused by normalisation");
  if (normal === undefined) unsure.push("target");
  const framing = framingOf(headers, version);
  if (typeof framing === "string") return invalid(framing);
  const tokens = connectionTokens(headers);
  if (typeof tokens === "string") return invalid(tokens);
  if (tokens.includes("upgrade") || all(headers, "expect").length > 0) unsure.push("upgrade or expect");
  const keepAlive = !tokens.includes("close") && (version === "HTTP/1.1" || tokens.includes("keep-alive"));
  const msg: RefMessage = {
    method, target, version, status: 0, headers, framing: "none", body: Buffer.alloc(0), trailers: [], keepAlive, unsure,
  };
  return withBody(buf, end, msg, framing ?? { framing: "none", length: 0 }, atEof);
}

/** The response at `buf[p...]` to a request with method `method`; `atEof` when the connection ended after `buf`. */
export function parseResponse(buf: Buffer, p: number, method: string, atEof: boolean): Verdict {
  const end = headEnd(buf, p, MAX_HEAD);
  if (typeof end !== "number") return end;
  const lines = buf.subarray(p, end - 4).toString("latin1").split("\r\n");
  // The reason phrase may be empty; its SP may be missing too (tolerated, as most recipients do).
  const m = /^(HTTP\/1\.[01]) ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?$/.exec(lines[0]);
  if (!m) return invalid(`bad status line ${JSON.stringify(lines[0].slice(0, 40))}`);
  const version = m[1] as "HTTP/1.0" | "HTTP/1.1";
  const status = Number(m[2]);
  if (status < 100 || status > 599) return invalid("status outside 100-599");
  const headers = parseFields(lines.slice(1));
  if (typeof headers === "string") return invalid(headers);
  const tokens = connectionTokens(headers);
  if (typeof tokens === "string") return invalid(tokens);
  const unsure: string[] = [];
  const keepAlive = !tokens.includes("close") && (version === "HTTP/1.1" || tokens.includes("keep-alive"));
  const msg: RefMessage = {
    method: "", target: "", version, status, headers, framing: "none", body: Buffer.alloc(0), trailers: [], keepAlive, unsure,
  };
  const bodiless = method === "HEAD" || status < 200 || status === 204 || status === 304;
  const framing = framingOf(headers, version);
  if (typeof framing === "string") {
    if (bodiless) unsure.push(`framing of a bodiless response: ${framing}`);
    else return invalid(framing);
  }
  if (bodiless) return { kind: "ok", msg, length: end };
  return withBody(buf, end, msg, typeof framing === "object" ? framing : { framing: "close", length: 0 }, atEof);
}

/** SHA-256 of bytes, hex (short). */
export function hash(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

/** Resolves after `ms` (0: after the current I/O callbacks). */
const pause = (ms: number) => new Promise<void>((r) => (ms > 0 ? setTimeout(r, ms) : setImmediate(r)));

/** Writes `bytes` to `socket` cut at `cuts` (offsets), waiting `delays[i]` ms (cycled) between pieces. */
export async function writeSplit(socket: net.Socket, bytes: Buffer, cuts: number[], delays: number[]): Promise<void> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  let from = 0;
  for (let i = 0; i <= points.length; i++) {
    const to = i < points.length ? points[i] : bytes.length;
    if (socket.destroyed || !socket.writable) return;
    socket.write(bytes.subarray(from, to));
    from = to;
    if (i < points.length) await pause(delays.length ? delays[i % delays.length] : 0);
  }
}

/** One connection of the strict upstream. */
export interface StrictConn {
  readonly socket: net.Socket;
  /** Everything received. */
  received: Buffer;
  /** Requests parsed so far (strict reference). */
  readonly requests: RefMessage[];
  /** Set when the received bytes are not a valid request stream. */
  error: string | undefined;
  closed: boolean;
}

/** A strict upstream server: every connection's bytes must parse as requests by the reference. */
export interface StrictUpstream {
  readonly port: number;
  readonly connections: StrictConn[];
  close(): Promise<void>;
}

/**
 * Starts an upstream on 127.0.0.1:0 that parses the request stream of each
 * connection with the reference parser and calls `onRequest` for each
 * complete request (it answers on `conn.socket`). Bytes that do not parse set
 * `conn.error` and stop the parsing of that connection.
 */
export function strictUpstream(onRequest: (req: RefMessage, conn: StrictConn) => void | Promise<void>): Promise<StrictUpstream> {
  const connections: StrictConn[] = [];
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    socket.setNoDelay(true);
    const conn: StrictConn = { socket, received: Buffer.alloc(0), requests: [], error: undefined, closed: false };
    connections.push(conn);
    let offset = 0;
    let queue = Promise.resolve();
    socket.on("error", () => {});
    socket.on("close", () => (conn.closed = true));
    socket.on("data", (d: Buffer) => {
      conn.received = Buffer.concat([conn.received, d]);
      while (conn.error === undefined) {
        const v = parseRequest(conn.received, offset);
        if (v.kind === "invalid") conn.error = `${v.reason} at offset ${offset}: ${JSON.stringify(conn.received.subarray(offset, offset + 200).toString("latin1"))}`;
        if (v.kind !== "ok") return;
        offset = v.length;
        conn.requests.push(v.msg);
        queue = queue.then(() => onRequest(v.msg, conn)).catch(() => void socket.destroy());
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({
      port: (server.address() as net.AddressInfo).port,
      connections,
      close: () => new Promise<void>((done) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => done());
      }),
    }));
  });
}

/** A client connection to 127.0.0.1:`port` collecting every byte it receives until it closes. */
export class Collector {
  received: Buffer = Buffer.alloc(0);
  /** The peer ended its side (FIN) or the connection closed. */
  closed = false;
  /** The error that ended the connection (ECONNRESET...), if any. */
  error: string | undefined;
  #wake: (() => void) | undefined;
  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.#wake?.();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => (this.error ??= e.code ?? e.message));
    // The peer's FIN is the end of what it sends (spliced half-closes after an error, then drains).
    const ended = () => {
      this.closed = true;
      this.#wake?.();
    };
    socket.on("end", ended);
    socket.on("close", ended);
  }

  static open(port: number): Promise<Collector> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
      socket.once("connect", () => resolve(new Collector(socket)));
      socket.once("error", reject);
    });
  }

  /** Waits until `done()` holds or the connection closed; false after `ms` without either. */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done() && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.#wake = undefined;
    }
    return true;
  }
}
