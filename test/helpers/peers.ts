/**
 * Real TCP peers for end-to-end tests (node:net works on Deno and Bun):
 * an upstream that records what it receives and sends a payload of its own,
 * and a client that does the same from the other side. Payloads are
 * pseudo-random and compared by SHA-256.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";

const CHUNK = 256 * 1024;

/** Deterministic-size random payload, streamed in chunks. */
export class Payload {
  readonly #hash = createHash("sha256");
  #digest: string | undefined;
  #sent = 0;
  readonly #block = randomBytes(CHUNK);

  constructor(readonly size: number) {}

  /** Next chunk, or null when done. Each chunk differs (a counter is stamped in). */
  next(): Uint8Array | null {
    if (this.#sent >= this.size) return null;
    const n = Math.min(CHUNK, this.size - this.#sent);
    const chunk = Buffer.from(this.#block.subarray(0, n));
    if (n >= 8) chunk.writeDoubleLE(this.#sent, 0);
    this.#sent += n;
    this.#hash.update(chunk);
    return chunk;
  }

  /** SHA-256 of everything produced (call when done). */
  digest(): string {
    return (this.#digest ??= this.#hash.digest("hex"));
  }
}

/** Accumulates what a socket receives (keeps the first 64 KiB as text too). */
export class Received {
  readonly #hash = createHash("sha256");
  #text = "";
  bytes = 0;
  add(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.#hash.update(chunk);
    if (this.#text.length < 65536) this.#text += Buffer.from(chunk).toString("latin1");
  }
  /** The first 64 KiB received, as latin1 text. */
  text(): string {
    return this.#text;
  }
  digest(): string {
    return this.#hash.digest("hex");
  }
}

/** Writes a payload to a socket with backpressure, then ends it if asked. */
export async function sendPayload(sock: net.Socket, payload: Payload, end = true): Promise<void> {
  for (let chunk = payload.next(); chunk; chunk = payload.next()) {
    if (!sock.write(chunk)) await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) => reject(e);
      sock.once("error", onErr);
      sock.once("drain", () => { sock.off("error", onErr); resolve(); });
    });
  }
  if (end) sock.end();
}

/** What one upstream connection saw. */
export interface UpstreamConn {
  readonly socket: net.Socket;
  readonly received: Received;
  /** Resolves at EOF from the proxy (or close). */
  readonly ended: Promise<void>;
  /** Resolves when the socket closed; true if by error. */
  readonly closed: Promise<boolean>;
  /** Set once the payload sent by this side is done. */
  sentDigest?: string;
}

/** An upstream server with a per-connection behaviour. */
export interface TestServer {
  readonly port: number;
  readonly connections: UpstreamConn[];
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1:0 calling `onConn` for each connection (half-open allowed). */
export function startServer(onConn: (c: UpstreamConn) => void | Promise<void>): Promise<TestServer> {
  const connections: UpstreamConn[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    const conn = track(socket);
    connections.push(conn);
    conn.closed.then(() => sockets.delete(socket));
    Promise.resolve(onConn(conn)).catch(() => socket.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({
      port: (server.address() as net.AddressInfo).port,
      connections,
      close: () => new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
    }));
  });
}

/** Wraps a socket into an UpstreamConn-like record (also used for clients). */
export function track(socket: net.Socket): UpstreamConn {
  const received = new Received();
  socket.on("data", (d: Uint8Array) => received.add(d));
  socket.on("error", () => {});
  const ended = new Promise<void>((resolve) => { socket.once("end", resolve); socket.once("close", () => resolve()); });
  const closed = new Promise<boolean>((resolve) => socket.once("close", (hadError: boolean) => resolve(hadError)));
  return { socket, received, ended, closed };
}

/** Upstream that sends `size` bytes while receiving, then ends its side once the client's EOF came. */
export function exchangeServer(size: number): Promise<TestServer> {
  return startServer(async (conn) => {
    const payload = new Payload(size);
    await sendPayload(conn.socket, payload, false);
    conn.sentDigest = payload.digest();
    await conn.ended;
    conn.socket.end();
  });
}

/** Upstream that echoes everything back. */
export function echoServer(): Promise<TestServer> {
  return startServer((conn) => {
    conn.socket.on("data", (d: Uint8Array) => conn.socket.write(d));
    conn.socket.on("end", () => conn.socket.end());
  });
}

/** Connects a client to 127.0.0.1:port (half-open allowed) and resolves once connected. */
export function connect(port: number): Promise<UpstreamConn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    const conn = track(socket);
    socket.once("connect", () => resolve(conn));
    socket.once("error", reject);
  });
}

/** A port on 127.0.0.1 with nothing listening (bound, then closed). */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
