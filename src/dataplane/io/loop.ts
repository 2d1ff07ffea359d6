/**
 * A minimal epoll loop: file descriptors map to handlers, events are
 * edge-triggered, and `poll()` blocks in epoll_wait for at most a timeout,
 * then lets its caller read the clock once before any handler runs.
 *
 * @module
 */
import * as C from "../../../ffi/constants.ts";
import type { Sys } from "../../../ffi/sys.ts";
import { check } from "../../errors.ts";

/** Something that wants events for one or more fds. */
export interface Handler {
  onEvent(fd: number, events: number): void;
}

/** Events every data socket is registered for, once, edge-triggered. */
export const SOCKET_EVENTS = C.EPOLLIN | C.EPOLLOUT | C.EPOLLRDHUP | C.EPOLLET;

/** An epoll instance and its fd → handler table. */
export class EventLoop {
  readonly epfd: number;
  #handlers: (Handler | undefined)[] = [];
  #events: Uint32Array;
  #stride: number;
  #dataWord: number;
  #ctl = new Uint32Array(4);
  #maxEvents: number;

  constructor(private readonly sys: Sys, maxEvents = 256) {
    const layout = C.epollLayout();
    this.epfd = check("epoll_create1", sys.epollCreate1(C.EPOLL_CLOEXEC));
    this.#stride = layout.strideWords;
    this.#dataWord = layout.dataWord;
    this.#maxEvents = maxEvents;
    this.#events = new Uint32Array(maxEvents * layout.strideWords);
  }

  /** Registers `fd` for `events`; returns a Sys result. */
  add(fd: number, events: number, handler: Handler): number {
    this.#handlers[fd] = handler;
    const r = this.#control(C.EPOLL_CTL_ADD, fd, events);
    if (r < 0) this.#handlers[fd] = undefined;
    return r;
  }

  /** Hands a registered fd to another handler (no system call). */
  setHandler(fd: number, handler: Handler): void {
    this.#handlers[fd] = handler;
  }

  /** Changes the events of a registered fd. */
  modify(fd: number, events: number): number {
    return this.#control(C.EPOLL_CTL_MOD, fd, events);
  }

  /** Unregisters `fd` (call before closing it). */
  remove(fd: number): void {
    this.#handlers[fd] = undefined;
    this.sys.epollCtl(this.epfd, C.EPOLL_CTL_DEL, fd, null);
  }

  /**
   * Waits up to `timeoutMs`, calls `onWake` once (the caller reads its clock
   * there: every handler of this batch sees the time it was woken, never the
   * time of the previous wake-up), then dispatches the events. Returns how
   * many, or -errno.
   */
  poll(timeoutMs: number, onWake: () => void, onError: (err: unknown, handler: Handler) => void): number {
    const n = this.sys.epollWait(this.epfd, this.#events, this.#maxEvents, timeoutMs);
    onWake();
    const ev = this.#events, stride = this.#stride, dw = this.#dataWord;
    for (let i = 0; i < n; i++) {
      const fd = ev[i * stride + dw];
      const handler = this.#handlers[fd];
      if (handler === undefined) continue;
      try {
        handler.onEvent(fd, ev[i * stride]);
      } catch (err) {
        onError(err, handler);
      }
    }
    return n;
  }

  /** Closes the epoll fd. */
  close(): void {
    this.sys.close(this.epfd);
  }

  #control(op: number, fd: number, events: number): number {
    const ctl = this.#ctl;
    ctl.fill(0);
    ctl[0] = events >>> 0;
    ctl[this.#dataWord] = fd;
    return this.sys.epollCtl(this.epfd, op, fd, ctl);
  }
}
