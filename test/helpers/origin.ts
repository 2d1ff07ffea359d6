/**
 * A real HTTP/1.1 origin for end-to-end tests (node:http, on 127.0.0.1:0):
 * `GET /gen?size=N[&chunked=1]` streams N pseudo-random bytes (Content-Length
 * or chunked) and records their SHA-256 under the `x-id` request header;
 * `POST /sink` answers `{ bytes, sha256 }` of the request body; `/headers`
 * answers the request head it received as JSON; `/slow` never answers.
 *
 * @module
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type net from "node:net";
import { Payload, sendPayload } from "./peers.ts";

/** A running origin server. */
export interface Origin {
  readonly port: number;
  /** SHA-256 of each generated body by `x-id`. */
  readonly sent: Map<string, string>;
  /** TCP connections accepted (to observe keep-alive reuse). */
  connections: number;
  requests: number;
  close(): Promise<void>;
}

/** Starts the origin. */
export function startOrigin(): Promise<Origin> {
  const sockets = new Set<net.Socket>();
  const origin: Origin = { port: 0, sent: new Map(), connections: 0, requests: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    origin.requests++;
    route(origin, req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 30_000;
  server.on("connection", (s: net.Socket) => {
    origin.connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      (origin as { port: number }).port = (server.address() as net.AddressInfo).port;
      origin.close = () => new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      });
      resolve(origin);
    });
  });
}

async function route(origin: Origin, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname === "/gen") return generate(origin, req, res, url);
  if (url.pathname === "/sink") return sink(req, res);
  if (url.pathname === "/headers") {
    for await (const _ of req) { /* drain */ }
    res.setHeader("content-type", "application/json");
    return void res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, httpVersion: req.httpVersion }));
  }
  if (url.pathname === "/slow") return;
  res.statusCode = 404;
  res.end("origin: not found");
}

async function generate(origin: Origin, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  for await (const _ of req) { /* drain */ }
  const size = Number(url.searchParams.get("size") ?? "0");
  if (url.searchParams.get("chunked") !== "1") res.setHeader("content-length", String(size));
  res.setHeader("content-type", "application/octet-stream");
  res.flushHeaders();
  const payload = new Payload(size);
  await sendPayload(res as unknown as net.Socket, payload, true);
  origin.sent.set(String(req.headers["x-id"] ?? ""), payload.digest());
}

async function sink(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Uint8Array).length;
    hash.update(chunk as Uint8Array);
  }
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ bytes, sha256: hash.digest("hex"), te: req.headers["transfer-encoding"] ?? null }));
}

/** Result of one request through node:http. */
export interface Fetched {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly bytes: number;
  readonly sha256: string;
  readonly text: string;
}

/** Sends a request with node:http (optionally a keep-alive agent) and hashes the response body. */
export function request(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: Payload; agent?: http.Agent },
): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: opts.method ?? "GET", path: opts.path, headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const hash = createHash("sha256");
      let bytes = 0;
      const small: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => {
        bytes += c.length;
        hash.update(c);
        if (bytes < 65536) small.push(c);
      });
      res.on("end", () => resolve({
        status: res.statusCode ?? 0, headers: res.headers, bytes, sha256: hash.digest("hex"),
        text: Buffer.concat(small).toString("latin1"),
      }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (opts.body) sendPayload(req as unknown as net.Socket, opts.body, true).catch(reject);
    else req.end();
  });
}
