/**
 * One socket of a connection with its edge-triggered readiness.
 *
 * `readable`/`writable` are set by epoll events and cleared only when a call
 * returns EAGAIN, so nothing busy-loops and nothing waits on a socket that
 * still has work. Both directions of a connection share the two endpoints.
 *
 * @module
 */
import * as C from "../../../ffi/constants.ts";

/** Events that make a socket worth reading (data, EOF, hang-up or error). */
export const READ_EVENTS = C.EPOLLIN | C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR;
/** Events that make a socket worth writing (room, hang-up or error). */
export const WRITE_EVENTS = C.EPOLLOUT | C.EPOLLHUP | C.EPOLLERR;

/** A socket and what is known about its readiness. */
export class Endpoint {
  readable = true;
  writable = true;
  /** The read side reached EOF. */
  eof = false;
  /**
   * epoll reported the peer's FIN or a hang-up: a short read then does not
   * mean "drained", since the EOF behind the data raises no new edge.
   */
  hup = false;

  constructor(public fd: number) {}

  /** Applies the bits of one epoll event. */
  onEvents(events: number): void {
    if (events & READ_EVENTS) this.readable = true;
    if (events & (C.EPOLLRDHUP | C.EPOLLHUP)) this.hup = true;
    if (events & WRITE_EVENTS) this.writable = true;
  }

  /** Points the endpoint at a new socket, assumed ready both ways. */
  reset(fd: number): void {
    this.fd = fd;
    this.readable = this.writable = true;
    this.eof = this.hup = false;
  }
}
