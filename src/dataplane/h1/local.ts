/**
 * Responses the proxy makes itself (errors, static files) and the lingering
 * close that follows an error. A local answer uses only what it is given:
 * an error after an earlier exchange on the same connection knows nothing of
 * that exchange (a 400 after a HEAD has its body).
 *
 * @module
 */
import * as C from "../../../ffi/constants.ts";
import { plainResponse } from "../../http/errors.ts";
import type { RequestHead } from "../../http/request.ts";
import type { HttpWorkerContext } from "../http_context.ts";
import type { Endpoint } from "../io/endpoint.ts";
import type { InBuffer } from "../io/inbuf.ts";
import { setInt } from "../io/sockets.ts";
import { S_DONE, S_FAILED, S_WAITING, type Stream } from "../io/stream.ts";
import type { RouteInit } from "../protocol.ts";
import type { RequestId } from "../request_id.ts";
import type { FileSender } from "../io/file_sender.ts";
import { serveStatic } from "../static/serve.ts";

/** Still sending. */
export const L_WAIT = 0;
/** Sent. */
export const L_DONE = 1;
/** The client connection failed. */
export const L_FAILED = 2;

/** How long a closing connection reads and drops what the client still sends. */
export const LINGER_MS = 2000;

/** One local response on its way to the client. */
export class LocalAnswer {
  status = 0;
  /** The connection may carry another request after it. */
  keepAlive = false;
  /** Bytes sent from files on this connection. */
  fileBytes = 0;
  #file: FileSender | null = null;

  constructor(private readonly ctx: HttpWorkerContext, private readonly out: Stream) {}

  /**
   * An error response: to `req` when the error is about it, else to no request
   * at all; carrying the request's `id` when ids are on.
   */
  error(
    status: number, reason: string, req: { readonly method: string; readonly keepAlive: boolean } | null, keepIfAllowed: boolean,
    id: RequestId | null,
  ): void {
    this.#begin(status);
    this.keepAlive = keepIfAllowed && req !== null && req.keepAlive;
    const fields = id === null ? undefined : { [id.header]: id.text() };
    this.out.push(plainResponse(status, reason, { keepAlive: this.keepAlive, headOnly: req?.method === "HEAD", fields }));
  }

  /** A static file (or its error) for `req` on a static route, carrying the request's `id` when ids are on. */
  serveFile(route: RouteInit, req: RequestHead, client: Endpoint, id: RequestId | null): void {
    this.#begin(0);
    const result = serveStatic(this.ctx.sys, route, req, this.out, id === null ? undefined : { [id.header]: id.text() });
    this.status = result.status;
    this.#file = result.file ?? null;
    // Hold the head back until the file follows it, so both leave in full packets (as nginx's tcp_nopush).
    if (this.#file !== null) setInt(this.ctx.sys, client.fd, C.IPPROTO_TCP, C.TCP_CORK, 1);
    this.keepAlive = req.keepAlive && result.keepAlive && req.framing.kind === "none";
  }

  /** Sends what the client takes now. */
  step(client: Endpoint): number {
    const r = this.out.step(this.ctx.io);
    if (r === S_FAILED) return L_FAILED;
    if (r !== S_DONE) return L_WAIT;
    const file = this.#file;
    if (file === null) return L_DONE;
    const f = file.step(this.ctx.io, client, this.out.scopes);
    if (f === S_WAITING) return L_WAIT;
    this.fileBytes += file.sent;
    this.release();
    setInt(this.ctx.sys, client.fd, C.IPPROTO_TCP, C.TCP_CORK, 0);
    return f === S_FAILED ? L_FAILED : L_DONE;
  }

  /** Closes the file, if one is still open. */
  release(): void {
    this.#file?.close();
    this.#file = null;
  }

  #begin(status: number): void {
    this.release();
    this.status = status;
    this.out.reuse(this.ctx.io);
  }
}

/**
 * After an error response the write side is shut and what the client still
 * sends is read and dropped until it closes or the deadline passes, so unread
 * request bytes do not make the kernel reset the connection and destroy the
 * response. Returns true when the connection can be closed now.
 */
export function lingerDone(ctx: HttpWorkerContext, client: Endpoint, input: InBuffer, until: number): boolean {
  for (;;) {
    if (client.eof || ctx.now >= until) return true;
    if (!client.readable) return false;
    input.start = input.end = 0;
    const n = input.fill(ctx.sys, client);
    if (n === 0 || (n < 0 && n !== -C.EAGAIN)) return true;
    if (n < 0) return false;
  }
}
