/**
 * Socket helpers over {@link Sys}: listeners, non-blocking connects and the
 * options spliced sets. Each returns a Sys-style result or throws SysError
 * where the caller cannot go on.
 *
 * @module
 */
import * as C from "../../../ffi/constants.ts";
import { decodeSockaddr, encodeSockaddr, formatEndpoint, type IpEndpoint } from "../../../ffi/sockaddr.ts";
import type { Sys } from "../../../ffi/sys.ts";
import { check, SysError } from "../../errors.ts";

const ONE = new Int32Array([1]);
const LINGER_RESET = new Int32Array([1, 0]);
const intBox = new Int32Array(1);
const lenBox = new Uint32Array(1);
const addrBuf = new Uint8Array(C.SOCKADDR_MAX);

/** Creates a non-blocking SO_REUSEPORT listener bound to `ep`; throws `listen HOST:PORT: reason`. */
export function openListener(sys: Sys, ep: IpEndpoint, backlog: number): number {
  const addr = encodeSockaddr(ep);
  const fd = check("socket", sys.socket(addr.family, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0));
  const fail = (errno: number): never => {
    sys.close(fd);
    throw new SysError(`listen ${formatEndpoint(ep)}`, errno);
  };
  setInt(sys, fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
  setInt(sys, fd, C.SOL_SOCKET, C.SO_REUSEPORT, 1);
  const bound = sys.bind(fd, addr.bytes, addr.length);
  if (bound < 0) fail(-bound);
  const listening = sys.listen(fd, backlog);
  if (listening < 0) fail(-listening);
  return fd;
}

/**
 * Fails with `listen HOST:PORT: address already in use` when any socket,
 * SO_REUSEPORT or not, another spliced's included, listens on `ep`: binds a
 * probe without SO_REUSEPORT (which a listening SO_REUSEPORT group refuses),
 * then closes it. SO_REUSEADDR keeps TIME_WAIT leftovers from failing it.
 */
export function assertAddressFree(sys: Sys, ep: IpEndpoint): void {
  const addr = encodeSockaddr(ep);
  const fd = check("socket", sys.socket(addr.family, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0));
  setInt(sys, fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
  const bound = sys.bind(fd, addr.bytes, addr.length);
  sys.close(fd);
  if (bound < 0) throw new SysError(`listen ${formatEndpoint(ep)}`, -bound);
}

/** Result of starting a non-blocking connect. */
export interface ConnectStart {
  /** The socket, or -1 when it could not be created. */
  readonly fd: number;
  /** 0: connected at once; -EINPROGRESS: wait for EPOLLOUT; other: -errno. */
  readonly result: number;
}

/** Starts a non-blocking connect to an encoded address. */
export function startConnect(sys: Sys, family: number, addr: Uint8Array, len: number): ConnectStart {
  const fd = sys.socket(family, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0);
  if (fd < 0) return { fd: -1, result: fd };
  setNoDelay(sys, fd);
  return { fd, result: sys.connect(fd, addr, len) };
}

/** Reads and clears SO_ERROR: 0 or a positive errno. */
export function socketError(sys: Sys, fd: number): number {
  intBox[0] = 0;
  lenBox[0] = 4;
  const r = sys.getsockopt(fd, C.SOL_SOCKET, C.SO_ERROR, intBox, lenBox);
  return r < 0 ? -r : intBox[0];
}

/** Disables Nagle's algorithm: a proxy must not add latency. */
export function setNoDelay(sys: Sys, fd: number): void {
  sys.setsockopt(fd, C.IPPROTO_TCP, C.TCP_NODELAY, ONE, 4);
}

/** Makes the next close() send RST instead of FIN. */
export function setLingerReset(sys: Sys, fd: number): void {
  sys.setsockopt(fd, C.SOL_SOCKET, C.SO_LINGER, LINGER_RESET, 8);
}

/** Sets an int socket option. */
export function setInt(sys: Sys, fd: number, level: number, name: number, value: number): number {
  intBox[0] = value;
  return sys.setsockopt(fd, level, name, intBox, 4);
}

/** The local address of a socket. */
export function localAddress(sys: Sys, fd: number): IpEndpoint {
  lenBox[0] = addrBuf.length;
  check("getsockname", sys.getsockname(fd, addrBuf, lenBox));
  return decodeSockaddr(addrBuf);
}

/** The peer address of a connected socket, or undefined once it is gone. */
export function peerAddress(sys: Sys, fd: number): IpEndpoint | undefined {
  lenBox[0] = addrBuf.length;
  if (sys.getpeername(fd, addrBuf, lenBox) < 0) return undefined;
  return decodeSockaddr(addrBuf);
}

/** Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit. */
export function raiseFileLimit(sys: Sys): number {
  const rlim = new BigUint64Array(2);
  if (sys.getrlimit(C.RLIMIT_NOFILE, rlim) < 0) return -1;
  const soft = rlim[0];
  if (soft < rlim[1]) {
    rlim[0] = rlim[1];
    if (sys.setrlimit(C.RLIMIT_NOFILE, rlim) < 0) return Number(soft);
  }
  return Number(rlim[0]);
}
