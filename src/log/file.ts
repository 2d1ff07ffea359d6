/**
 * The operational log's file (`log.file`, `--log-file`): lines appended with
 * one write each, reopened at the same path on request (SIGUSR1, as
 * logrotate expects). A file that cannot be opened or written is reported,
 * and the caller writes to stderr instead until a reopen succeeds.
 *
 * @module
 */
import { closeSync, openSync, writeSync } from "node:fs";

/** An append-only log file at a fixed path. */
export class LogFile {
  #fd: number | undefined;
  /** Why the last open failed, if it did. */
  failure: string | undefined;

  constructor(readonly path: string) {
    this.#open();
  }

  /** Appends `line` and a newline; false when there is no open file or the write failed. */
  write(line: string): boolean {
    if (this.#fd === undefined) return false;
    try {
      writeSync(this.#fd, `${line}\n`);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes and opens the path again; returns why it failed, if it did. */
  reopen(): string | undefined {
    this.close();
    this.#open();
    return this.failure;
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {
      // already gone: nothing to release
    }
    this.#fd = undefined;
  }

  #open(): void {
    try {
      this.#fd = openSync(this.path, "a", 0o640);
      this.failure = undefined;
    } catch (err) {
      this.failure = `cannot open "${this.path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
  }
}
