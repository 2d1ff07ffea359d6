/**
 * The JSON access log: one line a request (HTTP) or a closed connection
 * (TCP, TLS passthrough: ../tcp_log.ts), queued in a fixed-size buffer and
 * written without ever blocking the worker (see ../log_writer.ts). A line that
 * finds the buffer full is dropped and counted in `access_log_dropped`.
 * Lines of several workers never interleave: each write holds whole lines.
 *
 * @module
 */
import type { Sys } from "../../../ffi/sys.ts";
import { F } from "../../stats/layout.ts";
import { LineQueue, type LogFd, openLogTarget, writeLog } from "../log_writer.ts";
import type { ConnectionRecord } from "../tcp_log.ts";

/** One access-log record. Field names are part of the log's interface. */
export interface AccessRecord {
  time: string;
  listener: string;
  route: string;
  client: string;
  method: string;
  target: string;
  host: string;
  status: number;
  bytes_in: number;
  bytes_out: number;
  bytes_spliced: number;
  upstream: string;
  duration_ms: number;
  upstream_ms: number;
  /** The request's id (listener `requestId`); left out when ids are off. */
  request_id?: string;
}

/** Bytes of lines a log holds while its target is slow (per listener, per worker). */
const QUEUE_BYTES = 256 * 1024;
/** Pending bytes that are worth a write at once, rather than at the next sweep. */
const WRITE_AT = 16 * 1024;

/** Where a log counts its dropped lines: totals and the listener's scope. */
export interface DropCounter {
  readonly counters: Float64Array;
  readonly base: number;
}

/** Where records go, or nowhere. */
export class AccessLog {
  #out: LogFd;
  readonly #queue = new LineQueue(QUEUE_BYTES);
  /** The target said EAGAIN: wait for the next flush() before writing again. */
  #blocked = false;
  readonly #write = (buf: Uint8Array, len: number) => writeLog(this.sys, this.#out, buf, len);

  private constructor(private readonly sys: Sys, readonly target: string, out: LogFd, private readonly drops: DropCounter) {
    this.#out = out;
  }

  /** Opens `target`: "off", "-" (stdout) or a file path (appended). Throws SysError. */
  static open(sys: Sys, target: string, drops: DropCounter): AccessLog | undefined {
    if (target === "off") return undefined;
    return new AccessLog(sys, target, openLogTarget(sys, target), drops);
  }

  /** Queues one record (a request's, or a TCP connection's) as a JSON line (or drops and counts it when the queue is full). */
  write(record: AccessRecord | ConnectionRecord): void {
    if (!this.#queue.push(JSON.stringify(record))) {
      this.drops.counters[F.access_log_dropped]++;
      this.drops.counters[this.drops.base + F.access_log_dropped]++;
      return;
    }
    if (!this.#blocked && this.#queue.pending >= WRITE_AT) this.#drain();
  }

  /** Writes what the target takes now (the sweep and stop call this). */
  flush(): void {
    this.#blocked = false;
    this.#drain();
  }

  /**
   * Reopens a file target (after logrotate moved it), keeping the queued
   * lines for the new file. Stdout is left as it is. Throws SysError and keeps
   * the old file when the new one cannot be opened.
   */
  reopen(): void {
    if (this.target === "-") return;
    const next = openLogTarget(this.sys, this.target);
    this.#drain(); // what the old file takes still goes to the old file
    if (this.#out.owned) this.sys.close(this.#out.fd);
    this.#out = next;
    this.flush();
  }

  /** Flushes what it can and closes the file (not stdout). */
  close(): void {
    this.flush();
    if (this.#out.owned) this.sys.close(this.#out.fd);
  }

  #drain(): void {
    // EAGAIN (full for now) or a failure (EPIPE: nobody reads): try again on the next sweep.
    if (this.#queue.drain(this.#write, this.#out.chunk) < 0) this.#blocked = true;
  }
}
