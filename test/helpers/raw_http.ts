/**
 * Byte-level HTTP/1.1 peers for the hardening tests (node:net, on Deno and
 * Bun): an upstream that parses each request it receives (Content-Length
 * and chunked bodies, trailers) and lets the test script the answer; a
 * chunked-body reader; a server and a client that never read.
 *
 * @module
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { startServer, type TestServer, type UpstreamConn } from "./peers.ts";

/** A chunked body read from a buffer. */
export interface Dechunked {
  readonly data: Buffer;
  /** Trailer field lines as sent: [name, value]. */
  readonly trailers: [string, string][];
  /** Offset just after the body (after the trailer section's empty line). */
  readonly end: number;
}

/** Reads the chunked body at `bytes[start...]`; undefined when incomplete, null when malformed. */
export function dechunk(bytes: Buffer, start: number): Dechunked | undefined | null {
  const parts: Buffer[] = [];
  let p = start;
  for (;;) {
    const eol = bytes.indexOf("\r\n", p);
    if (eol < 0) return undefined;
    const sizeText = bytes.subarray(p, eol).toString("latin1").split(";")[0];
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return null;
    const size = parseInt(sizeText, 16);
    p = eol + 2;
    if (size === 0) return readTrailers(bytes, p, parts);
    if (bytes.length < p + size + 2) return undefined;
    if (bytes.subarray(p + size, p + size + 2).toString("latin1") !== "\r\n") return null;
    parts.push(bytes.subarray(p, p + size));
    p += size + 2;
  }
}

function readTrailers(bytes: Buffer, p: number, parts: Buffer[]): Dechunked | undefined {
  const trailers: [string, string][] = [];
  for (;;) {
    const eol = bytes.indexOf("\r\n", p);
    if (eol < 0) return undefined;
    if (eol === p) return { data: Buffer.concat(parts), trailers, end: eol + 2 };
    const line = bytes.subarray(p, eol).toString("latin1");
    const colon = line.indexOf(":");
    trailers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
    p = eol + 2;
  }
}

/** One request as a raw upstream received it. */
export interface RawRequest {
  readonly conn: UpstreamConn;
  /** Index of the connection in the server's list. */
  readonly connIndex: number;
  /** Index of the request on its connection (0 for the first). */
  readonly index: number;
  /** The request line, e.g. `GET /x HTTP/1.1`. */
  readonly line: string;
  readonly method: string;
  readonly target: string;
  /** Header lines as sent. */
  readonly headers: [string, string][];
  readonly body: Buffer;
  readonly trailers: [string, string][];
}

/** One parsed request at `bytes[0...]` and its length; undefined when incomplete, null when malformed. */
function parseRequest(bytes: Buffer): { head: Omit<RawRequest, "conn" | "connIndex" | "index">; length: number } | undefined | null {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const lines = bytes.subarray(0, headEnd).toString("latin1").split("\r\n");
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0]);
  if (!m) return null;
  const headers = lines.slice(1).map((l): [string, string] => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]);
  const field = (name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1];
  const bodyStart = headEnd + 4;
  const base = { line: lines[0], method: m[1], target: m[2], headers };
  if (field("transfer-encoding")?.toLowerCase() === "chunked") {
    const d = dechunk(bytes, bodyStart);
    if (!d) return d;
    return { head: { ...base, body: d.data, trailers: d.trailers }, length: d.end };
  }
  const length = Number(field("content-length") ?? 0);
  if (bytes.length < bodyStart + length) return undefined;
  return { head: { ...base, body: bytes.subarray(bodyStart, bodyStart + length), trailers: [] }, length: bodyStart + length };
}

/** A raw upstream: its server and every request it received, in order. */
export interface RawUpstream extends TestServer {
  readonly requests: RawRequest[];
}

/**
 * Starts an upstream on 127.0.0.1:0 that parses each request on each
 * connection and calls `onRequest` (which writes the answer on `req.conn.socket`
 * as it likes). Unparseable bytes stop the parsing of that connection (they
 * stay in `conn.received`).
 */
export async function rawUpstream(onRequest: (req: RawRequest) => void): Promise<RawUpstream> {
  const requests: RawRequest[] = [];
  const server = await startServer((conn) => {
    const connIndex = server.connections.indexOf(conn);
    let buf = Buffer.alloc(0);
    let index = 0;
    let broken = false;
    conn.socket.on("data", (d: Buffer) => {
      if (broken) return;
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parseRequest(buf);
        if (r === null) broken = true;
        if (!r) return;
        buf = buf.subarray(r.length);
        const req: RawRequest = { ...r.head, conn, connIndex, index: index++ };
        requests.push(req);
        onRequest(req);
      }
    });
  });
  return Object.assign(server, { requests });
}

/** `HTTP/1.1 200 OK` with Content-Length and `body` (keep-alive). */
export function okResponse(body: string, extra = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body, "latin1")}\r\n${extra}\r\n${body}`;
}

/** SHA-256 of bytes, hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A socket that never reads: what it still knows about itself. */
export interface DeafSocket {
  readonly socket: net.Socket;
  /** True once the socket closed (by error or EOF). */
  readonly closed: () => boolean;
  /** The error code that ended it, if any. */
  readonly error: () => string | undefined;
}

/** Wraps `socket` without a data listener, so it reads (almost) nothing: the peer's bytes pile up in the kernel. */
function deaf(socket: net.Socket): DeafSocket {
  let closed = false;
  let error: string | undefined;
  socket.pause();
  socket.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
  socket.on("close", () => (closed = true));
  return { socket, closed: () => closed, error: () => error };
}

/** Connects to 127.0.0.1:`port` as a client that never reads; resolves once connected. */
export function deafClient(port: number): Promise<DeafSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    socket.once("connect", () => resolve(deaf(socket)));
    socket.once("error", reject);
  });
}

/** A server whose connections never read; `onConn` may write on them. */
export interface DeafServer {
  readonly port: number;
  readonly connections: DeafSocket[];
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1:0 that never reads from its connections. */
export function deafServer(onConn: (c: DeafSocket) => void = () => {}): Promise<DeafServer> {
  const connections: DeafSocket[] = [];
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    const c = deaf(socket);
    connections.push(c);
    onConn(c);
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

/**
 * Writes one byte of `text` (cycling) every `everyMs` until the socket closes
 * or `stop()` is called; `sent()` counts the bytes written.
 */
export function trickle(socket: net.Socket, text: string, everyMs = 100): { stop: () => void; sent: () => number } {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) return clearInterval(timer);
    socket.write(text[i % text.length], "latin1");
    i++;
  }, everyMs);
  return { stop: () => clearInterval(timer), sent: () => i };
}
