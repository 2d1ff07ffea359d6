/**
 * HTTP helpers for end-to-end tests over real sockets (node:net and node:http
 * work on Deno and Bun): raw requests written byte for byte, a keep-alive
 * connection that reads responses one at a time, a node:http upstream, and
 * temp dirs and config files.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What came back on a raw connection. */
export interface RawResult {
  /** Everything received, as latin1 text (one char per byte). */
  readonly text: string;
  /** Everything received. */
  readonly bytes: Buffer;
  /** The proxy closed the connection (EOF or reset) before `until` or the timeout. */
  readonly closed: boolean;
  /** The error code if the connection ended by an error (ECONNRESET...). */
  readonly error: string | undefined;
}

/** Options of {@linkcode rawRequest}. */
export interface RawOptions {
  /** Stop reading (and destroy the socket) once this returns true for what arrived so far. */
  until?: (text: string) => boolean;
  /** Give up after this long and report what arrived (closed: false). Default 10 s. */
  timeoutMs?: number;
  /** Delay between the parts when `data` is an array. */
  gapMs?: number;
}

/**
 * Connects to 127.0.0.1:`port`, writes `data` (parts in order, `gapMs`
 * apart) and collects the response until the proxy closes the connection,
 * `until` holds, or the timeout passes.
 */
export function rawRequest(port: number, data: string | Uint8Array | (string | Uint8Array)[], opts: RawOptions = {}): Promise<RawResult> {
  const parts = Array.isArray(data) ? data : [data];
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    const chunks: Buffer[] = [];
    let text = "";
    let error: string | undefined;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!closed) socket.destroy();
      const bytes = Buffer.concat(chunks);
      resolve({ text: bytes.toString("latin1"), bytes, closed, error });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      text += d.toString("latin1");
      if (opts.until?.(text)) finish(false);
    });
    socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on("close", () => finish(true));
    let connected = false;
    socket.once("connect", async () => {
      connected = true;
      try {
        for (let i = 0; i < parts.length; i++) {
          if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
          if (done || socket.destroyed) return;
          socket.write(typeof parts[i] === "string" ? Buffer.from(parts[i] as string, "latin1") : parts[i]);
        }
      } catch (e) {
        if (!done) reject(e);
      }
    });
    socket.once("error", (e) => {
      if (!connected && !done) {
        done = true;
        clearTimeout(timer);
        reject(e);
      }
    });
  });
}

/** One parsed HTTP response. */
export interface ParsedResponse {
  readonly status: number;
  readonly reason: string;
  /** Header names lowercased; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  /** Header lines in order, as sent. */
  readonly rawHeaders: [string, string][];
  readonly body: Buffer;
  /** Bytes of head and body together. */
  readonly length: number;
}

/**
 * Parses the response at the start of `bytes`; undefined when it is not all
 * there yet. Bodies: Content-Length, chunked, none for HEAD/1xx/204/304, or
 * the rest of the bytes when `atEof` and there is no length.
 */
export function parseResponse(bytes: Buffer, opts: { head?: boolean; atEof?: boolean } = {}): ParsedResponse | undefined {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const lines = bytes.subarray(0, headEnd).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
  if (!m) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
  const status = Number(m[1]);
  const rawHeaders: [string, string][] = [];
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon), value = line.slice(colon + 1).trim();
    rawHeaders.push([name, value]);
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  const bodyStart = headEnd + 4;
  const bodiless = opts.head || status < 200 || status === 204 || status === 304;
  if (bodiless) return { status, reason: m[2], headers, rawHeaders, body: Buffer.alloc(0), length: bodyStart };
  if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
    const parts: Buffer[] = [];
    let p = bodyStart;
    for (;;) {
      const eol = bytes.indexOf("\r\n", p);
      if (eol < 0) return undefined;
      const size = parseInt(bytes.subarray(p, eol).toString("latin1").split(";")[0], 16);
      p = eol + 2;
      if (size === 0) {
        const end = bytes.indexOf("\r\n\r\n", p - 2);
        if (end < 0) return undefined;
        return { status, reason: m[2], headers, rawHeaders, body: Buffer.concat(parts), length: end + 4 };
      }
      if (bytes.length < p + size + 2) return undefined;
      parts.push(bytes.subarray(p, p + size));
      p += size + 2;
    }
  }
  if (headers["content-length"] !== undefined) {
    const len = Number(headers["content-length"]);
    if (bytes.length < bodyStart + len) return undefined;
    return { status, reason: m[2], headers, rawHeaders, body: bytes.subarray(bodyStart, bodyStart + len), length: bodyStart + len };
  }
  if (!opts.atEof) return undefined;
  return { status, reason: m[2], headers, rawHeaders, body: bytes.subarray(bodyStart), length: bytes.length };
}

/** Every complete response in `bytes`, in order (HEAD for the ones `heads` marks). */
export function parseResponses(bytes: Buffer, heads: boolean[] = []): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    const r = parseResponse(rest, { head: heads[out.length] });
    if (!r) break;
    out.push(r);
    rest = rest.subarray(r.length);
  }
  return out;
}

/** A `until` predicate for {@linkcode rawRequest}: `n` complete responses arrived. */
export function responses(n: number, heads: boolean[] = []): (text: string) => boolean {
  return (text) => parseResponses(Buffer.from(text, "latin1"), heads).length >= n;
}

/** A client connection that sends requests one at a time and reads each response. */
export class HttpConn {
  #buf: Buffer = Buffer.alloc(0);
  #wake: (() => void) | null = null;
  #ended = false;
  error: string | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      this.#wake?.();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => (this.error = e.code ?? e.message));
    socket.on("close", () => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  /** Connects to 127.0.0.1:`port`. */
  static open(port: number): Promise<HttpConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: "127.0.0.1" });
      socket.once("connect", () => resolve(new HttpConn(socket)));
      socket.once("error", reject);
    });
  }

  /** True once the peer closed the connection. */
  get closed(): boolean {
    return this.#ended;
  }

  /** Writes `raw` and resolves with the next complete response (rejects if the connection closes first). */
  request(raw: string | Uint8Array, opts: { head?: boolean; timeoutMs?: number } = {}): Promise<ParsedResponse> {
    if (this.#ended) return Promise.reject(new Error("connection already closed"));
    this.socket.write(typeof raw === "string" ? Buffer.from(raw, "latin1") : raw);
    return this.next(opts);
  }

  /** Resolves with the next complete response. */
  async next(opts: { head?: boolean; timeoutMs?: number } = {}): Promise<ParsedResponse> {
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    for (;;) {
      const r = parseResponse(this.#buf, { head: opts.head, atEof: this.#ended });
      if (r) {
        this.#buf = this.#buf.subarray(r.length);
        return r;
      }
      if (this.#ended) throw new Error(`connection closed before a complete response (${this.#buf.length} bytes: ${this.#buf.subarray(0, 200).toString("latin1")})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response in time (${this.#buf.length} bytes)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          this.#wake = null;
          resolve();
        };
      });
    }
  }

  /** Resolves when the peer closed the connection (true), or after `ms` (false). */
  async waitClosed(ms = 10_000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.#ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.#ended;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A GET request head. */
export function get(target: string, headers: Record<string, string> = {}, method = "GET"): string {
  let text = `${method} ${target} HTTP/1.1\r\n`;
  if (!Object.keys(headers).some((h) => h.toLowerCase() === "host")) text += "Host: test.local\r\n";
  for (const [n, v] of Object.entries(headers)) text += `${n}: ${v}\r\n`;
  return `${text}\r\n`;
}

/** A node:http server on 127.0.0.1:0. */
export interface HttpUpstream {
  readonly port: number;
  readonly server: http.Server;
  /** Requests seen: method, url, headers. */
  readonly requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** Starts a node:http server calling `handler` for each request (after recording it). */
export function httpUpstream(handler: http.RequestListener): Promise<HttpUpstream> {
  const requests: HttpUpstream["requests"] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    handler(req, res);
  });
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({
      port: (server.address() as net.AddressInfo).port,
      server,
      requests,
      close: () => new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
    }));
  });
}

/** An upstream answering every request with 200 and `body` (after reading the request body). */
export function okUpstream(body = "ok from upstream"): Promise<HttpUpstream> {
  return httpUpstream((req, res) => {
    req.resume();
    req.on("end", () => res.end(body));
  });
}

/** A fresh temp directory and a function that removes it. */
export function tempDir(prefix = "spliced-http-test-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `config` as JSON into `dir` and returns its path. */
export function writeConfig(dir: string, config: unknown, name = "spliced.json"): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}
