/**
 * The JSON access log: one line a request, written with write(2) to stdout
 * (`-`) or to a file opened with O_APPEND (lines from several workers never
 * interleave: each is one write).
 *
 * @module
 */
import { O_APPEND, O_CLOEXEC, O_CREAT, O_WRONLY } from "../../../ffi/constants.ts";
import type { Sys } from "../../../ffi/sys.ts";
import { SysError } from "../../errors.ts";

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
}

/** Where records go, or nowhere. */
export class AccessLog {
  readonly #fd: number;
  readonly #owned: boolean;
  readonly #encoder = new TextEncoder();

  private constructor(private readonly sys: Sys, fd: number, owned: boolean) {
    this.#fd = fd;
    this.#owned = owned;
  }

  /** Opens `target`: "off", "-" (stdout) or a file path (appended). */
  static open(sys: Sys, target: string): AccessLog | undefined {
    if (target === "off") return undefined;
    if (target === "-") return new AccessLog(sys, 1, false);
    const fd = sys.open(new TextEncoder().encode(`${target}\0`), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644);
    if (fd < 0) throw new SysError(`access log ${target}`, -fd);
    return new AccessLog(sys, fd, true);
  }

  /** Writes one record as a JSON line. */
  write(record: AccessRecord): void {
    const line = this.#encoder.encode(`${JSON.stringify(record)}\n`);
    this.sys.write(this.#fd, line, line.length);
  }

  /** Closes the file (not stdout). */
  close(): void {
    if (this.#owned) this.sys.close(this.#fd);
  }
}
