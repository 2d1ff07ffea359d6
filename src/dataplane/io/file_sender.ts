/**
 * Sending a file to a socket with sendfile(2): bytes go from the page cache
 * to the socket, never through JavaScript.
 *
 * @module
 */
import * as C from "../../../ffi/constants.ts";
import type { Sys } from "../../../ffi/sys.ts";
import { F } from "../../stats/layout.ts";
import type { Endpoint } from "./endpoint.ts";
import { type IoContext, S_DONE, S_FAILED, S_WAITING } from "./stream.ts";

/** Largest count handed to one sendfile call (results are read as i32). */
const MAX_SENDFILE = 1 << 30;

/** Sends `length` bytes of an open file from `offset` with sendfile(2), then closes it. */
export class FileSender {
  readonly #offset: BigInt64Array;
  #left: number;
  sent = 0;

  constructor(private readonly sys: Sys, readonly fd: number, offset: number, length: number) {
    this.#offset = new BigInt64Array([BigInt(offset)]);
    this.#left = length;
  }

  /** Sends what the socket takes; S_DONE when all is sent. Counts into `scopes`. */
  step(ctx: IoContext, dst: Endpoint, scopes: readonly number[]): number {
    while (this.#left > 0) {
      if (!dst.writable) return S_WAITING;
      const n = this.sys.sendfile(dst.fd, this.fd, this.#offset, Math.min(this.#left, MAX_SENDFILE));
      if (n > 0) {
        this.#left -= n;
        this.sent += n;
        for (const base of scopes) {
          ctx.counters[base + F.bytes_upstream_to_client] += n;
          ctx.counters[base + F.bytes_sendfile] += n;
        }
        continue;
      }
      if (n === -C.EAGAIN) { dst.writable = false; return S_WAITING; }
      if (n === -C.EINTR) continue;
      return S_FAILED;
    }
    return S_DONE;
  }

  /** Closes the file. */
  close(): void {
    this.sys.close(this.fd);
  }
}

