/**
 * A per-worker pool of pipes for splice(2).
 *
 * Pipes are grown with F_SETPIPE_SZ; when the kernel refuses (fs.pipe-max-size,
 * pipe-user-pages-soft), the pipe keeps the size it got, read back with
 * F_GETPIPE_SZ. Only empty pipes come back to the pool: a pipe that still holds
 * bytes when its connection dies is closed, so no stale byte can leak into
 * another connection.
 *
 * @module
 */
import { F_GETPIPE_SZ, F_SETPIPE_SZ, O_CLOEXEC, O_NONBLOCK } from "../../../ffi/constants.ts";
import type { Sys } from "../../../ffi/sys.ts";

/** One pipe: read end, write end, capacity in bytes. */
export interface Pipe {
  readonly r: number;
  readonly w: number;
  readonly size: number;
}

/** Pool of reusable empty pipes. */
export class PipePool {
  #free: Pipe[] = [];
  #fds = new Int32Array(2);
  /** Pipes created and not yet closed (in use or idle). */
  open = 0;
  #acquiredSinceTrim = 0;

  constructor(
    private readonly sys: Sys,
    /** Wanted capacity of each pipe in bytes. */
    readonly wantedSize: number,
    /** Most idle pipes kept; more are closed on release. */
    readonly maxIdle = 64,
  ) {}

  /** An empty pipe, or a negative errno when none can be made (EMFILE...). */
  acquire(): Pipe | number {
    this.#acquiredSinceTrim++;
    const pipe = this.#free.pop();
    return pipe ?? this.#create();
  }

  /** Returns a pipe. `empty` must be true only if no byte is left in it. */
  release(pipe: Pipe, empty: boolean): void {
    if (empty && this.#free.length < this.maxIdle) this.#free.push(pipe);
    else this.#close(pipe);
  }

  /** Closes the idle pipes if none was wanted since the last call (an idle worker holds no pipe). */
  trim(): void {
    if (this.#acquiredSinceTrim === 0) this.drain();
    this.#acquiredSinceTrim = 0;
  }

  /** Closes every idle pipe. */
  drain(): void {
    for (const pipe of this.#free.splice(0)) this.#close(pipe);
  }

  #create(): Pipe | number {
    const r = this.sys.pipe2(this.#fds, O_NONBLOCK | O_CLOEXEC);
    if (r < 0) return r;
    const [rfd, wfd] = this.#fds;
    if (this.wantedSize > 0) this.sys.fcntl(wfd, F_SETPIPE_SZ, this.wantedSize);
    const size = this.sys.fcntl(wfd, F_GETPIPE_SZ, 0);
    this.open++;
    return { r: rfd, w: wfd, size: size > 0 ? size : 65536 };
  }

  #close(pipe: Pipe): void {
    this.sys.close(pipe.r);
    this.sys.close(pipe.w);
    this.open--;
  }
}
