/**
 * One worker's listening socket. Accepts until EAGAIN (edge-triggered);
 * past the listener's connection limit it stops accepting and leaves new
 * connections in the kernel's backlog, as HAProxy does, until one closes.
 *
 * @module
 */
import * as C from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { F } from "../stats/layout.ts";
import type { ListenerSettings } from "./context.ts";
import { SOCKET_EVENTS, type EventLoop, type Handler } from "./io/loop.ts";

/** Called for each accepted client socket. */
export type AcceptCallback = (listener: WorkerListener, fd: number) => void;

/** A listening socket owned by one worker. */
export class WorkerListener implements Handler {
  /** True while the connection limit keeps it from accepting. */
  paused = false;
  #open = true;

  constructor(
    private readonly sys: Sys,
    private readonly loop: EventLoop,
    readonly fd: number,
    readonly settings: ListenerSettings,
    readonly maxConnections: number,
    /** Shared active-connection counts per listener, across workers. */
    private readonly active: Int32Array,
    private readonly counters: Float64Array,
    private readonly onAccept: AcceptCallback,
  ) {}

  /** Starts watching the socket. */
  register(): number {
    return this.loop.add(this.fd, SOCKET_EVENTS, this);
  }

  /** Accepts every pending connection the limit allows. */
  onEvent(): void {
    if (!this.#open) return;
    const index = this.settings.index;
    for (;;) {
      if (Atomics.load(this.active, index) >= this.maxConnections) {
        this.paused = true;
        return;
      }
      const fd = this.sys.accept4(this.fd, C.SOCK_NONBLOCK | C.SOCK_CLOEXEC);
      if (fd >= 0) {
        Atomics.add(this.active, index, 1);
        this.onAccept(this, fd);
        continue;
      }
      if (fd === -C.EINTR || fd === -C.ECONNABORTED) continue;
      if (fd !== -C.EAGAIN) this.#acceptFailed();
      return;
    }
  }

  /** A connection of this listener closed (on this worker). */
  released(): void {
    Atomics.sub(this.active, this.settings.index, 1);
    if (this.paused) this.resume();
  }

  /** Accepts again if the limit allows; called by the sweep too. */
  resume(): void {
    if (!this.paused || Atomics.load(this.active, this.settings.index) >= this.maxConnections) return;
    this.paused = false;
    this.onEvent();
  }

  /** Stops accepting and forgets the socket without closing it (it is shared with a newer generation). */
  detach(): void {
    if (!this.#open) return;
    this.#open = false;
    this.loop.remove(this.fd);
  }

  /** Stops listening: accepts what is queued, then closes the socket. */
  close(): void {
    if (!this.#open) return;
    if (!this.paused) this.onEvent();
    this.#open = false;
    this.loop.remove(this.fd);
    this.sys.close(this.fd);
  }

  /** EMFILE and the like: count it and pause until the next sweep. */
  #acceptFailed(): void {
    this.counters[F.errors]++;
    this.counters[this.settings.base + F.errors]++;
    this.paused = true;
  }
}
