/**
 * The admin app's HTTP server: `node:http`, the same code on Deno and Bun
 * (neither `Deno.serve` nor `Bun.serve` can close an idle connection that
 * never sent a request, or refuse one at accept). It enforces:
 *
 * - an idle timeout: a connection with no traffic for `idleTimeoutMs`
 *   (keep-alive between requests, or one that never sends) is closed; an
 *   `/events` stream is exempt while it runs (it writes every second);
 * - a cap on open connections, and an fd reserve for the data plane (see
 *   fds.ts): past either, a new connection gets a 503 and is closed.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { formatEndpoint, type IpEndpoint } from "../../ffi/sockaddr.ts";
import { loadSys } from "../../ffi/mod.ts";
import { errorBody } from "./errors.ts";
import { fdUse } from "./fds.ts";
import { isEventStream, sendResponse, toRequest } from "./node_fetch.ts";

/** A fetch-style request handler. */
export type FetchHandler = (req: Request) => Response | Promise<Response>;

/** Limits of the admin HTTP server. */
export interface ServeLimits {
  /** Idle connections close after this long, ms (default 30000). */
  readonly idleTimeoutMs?: number;
  /** Open connections past this many get a 503 and are closed (default {@link DEFAULT_MAX_CONNECTIONS}). */
  readonly maxConnections?: number;
}

/** Default cap on open admin connections. */
export const DEFAULT_MAX_CONNECTIONS = 256;
/** Default idle timeout, ms. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** How long a refused connection may linger for its 503 to be read before it is destroyed, ms. */
const REFUSED_LINGER_MS = 1000;
/** Refused connections allowed to linger at once; past this a refused one is closed at once (its fd matters more). */
const MAX_LINGERING = 16;

/** A running HTTP server. */
export interface Served {
  readonly address: IpEndpoint;
  /** Changes the limits; they apply to connections accepted from now on. */
  setLimits(limits: ServeLimits): void;
  /** Open (admitted) connections. */
  connections(): number;
  close(): Promise<void>;
}

/** Thrown when the admin address cannot be bound. */
export class ServeError extends Error {
  override name = "ServeError";
}

/** Serves `handler` on `host:port` (port 0 picks one). Throws ServeError when it cannot bind. */
export async function serve(handler: FetchHandler, ep: IpEndpoint, limits: ServeLimits = {}): Promise<Served> {
  const sys = await loadSys();
  const state = { idle: DEFAULT_IDLE_TIMEOUT_MS, max: DEFAULT_MAX_CONNECTIONS };
  const open = new Set<Socket>();
  const refused = new Refused();
  let origin = `http://${formatEndpoint(ep)}`;

  const server = createServer((req, res) => {
    if (refused.has(req.socket)) return; // its 503 is already written
    void answer(handler, req, res, origin, state.idle);
  });
  const setLimits = (l: ServeLimits) => {
    state.idle = l.idleTimeoutMs ?? state.idle;
    state.max = l.maxConnections ?? state.max;
    server.keepAliveTimeout = state.idle;
    server.timeout = state.idle;
  };
  setLimits(limits);
  server.on("connection", (sock: Socket) => {
    const why = open.size >= state.max ? `too many admin connections (${open.size} open)` : fdShortage(sys);
    if (why !== undefined) return refused.add(sock, why);
    open.add(sock);
    sock.once("close", () => open.delete(sock));
  });
  const port = await listen(server, ep);
  origin = `http://${formatEndpoint({ host: ep.host, port })}`;
  return {
    address: { host: ep.host, port },
    setLimits,
    connections: () => open.size,
    close: () => closeServer(server, open),
  };
}

function fdShortage(sys: Awaited<ReturnType<typeof loadSys>>): string | undefined {
  let fds;
  try {
    fds = fdUse(sys);
  } catch {
    return undefined; // cannot know: the connection cap still applies
  }
  if (fds.open === undefined || fds.open < fds.ceiling) return undefined;
  const open = Number.isFinite(fds.open) ? `${fds.open} open` : "none left";
  return `file descriptors are low (${open}): the admin server leaves the rest to the data plane`;
}

/** Connections the server will not serve: each gets a 503, then is closed. */
class Refused {
  readonly #all = new WeakSet<Socket>();
  #lingering = 0;

  has(sock: Socket): boolean {
    return this.#all.has(sock);
  }

  /** Writes the 503 and closes: after a short linger (so the client reads it) while few linger, else at once. */
  add(sock: Socket, message: string): void {
    this.#all.add(sock);
    sock.on("error", () => {});
    const body = JSON.stringify(errorBody("admin_busy", message));
    sock.end(
      `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `retry-after: 1\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
    );
    if (this.#lingering >= MAX_LINGERING) return void sock.destroy();
    this.#lingering++;
    const timer = setTimeout(() => sock.destroy(), REFUSED_LINGER_MS);
    sock.once("close", () => {
      clearTimeout(timer);
      this.#lingering--;
    });
  }
}

async function answer(handler: FetchHandler, req: IncomingMessage, res: ServerResponse, origin: string, idle: number): Promise<void> {
  try {
    const request = toRequest(req, origin);
    if (!request) return badRequest(res);
    const response = await handler(request);
    const streaming = isEventStream(response);
    if (streaming) req.socket.setTimeout(0);
    await sendResponse(res, response);
    if (streaming) req.socket.setTimeout(idle);
  } catch (err) {
    if (res.headersSent) return void res.destroy();
    const body = JSON.stringify(errorBody("internal", err instanceof Error ? err.message : String(err)));
    res.writeHead(500, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  }
}

function badRequest(res: ServerResponse): void {
  const body = JSON.stringify(errorBody("bad_request", "malformed request target or header"));
  res.writeHead(400, { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" }).end(body);
}

function listen(server: ReturnType<typeof createServer>, ep: IpEndpoint): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new ServeError(`listen ${formatEndpoint(ep)}: ${reason(err)}`)));
    server.listen({ host: ep.host, port: ep.port, backlog: 128 }, () => {
      // After the bind, an accept error (EMFILE...) must not crash the process: the runtime retries.
      server.on("error", () => {});
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : ep.port);
    });
  });
}

function reason(err: unknown): string {
  const e = err as { code?: string; name?: string; message?: string };
  if (e.code === "EADDRINUSE" || e.name === "AddrInUse" || /in use/i.test(e.message ?? "")) return "address already in use";
  if (e.code === "EACCES" || e.name === "PermissionDenied") return "permission denied";
  return e.message ?? String(err);
}

function closeServer(server: ReturnType<typeof createServer>, open: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const sock of open) sock.destroy();
  });
}
