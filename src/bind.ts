/**
 * Opens each listener's sockets in the main thread, one SO_REUSEPORT socket
 * per worker, so a busy port or a bad address fails the start with a clear
 * message before any worker runs. With port 0, the first socket picks the
 * port and the others join it. SO_REUSEPORT would let a second process join
 * too, so an address is first probed without it: a port held by anyone fails,
 * unless `shared` (a deliberate hand-over, `--upgrade-from`).
 *
 * @module
 */
import type { IpEndpoint } from "../ffi/sockaddr.ts";
import type { Sys } from "../ffi/sys.ts";
import { assertAddressFree, localAddress, openListener } from "./dataplane/io/sockets.ts";

/** The sockets of one listener and the address they are bound to. */
export interface BoundListener {
  readonly fds: number[];
  readonly address: IpEndpoint;
}

/**
 * Opens `count` sockets on `ep`; on failure closes what it opened and throws
 * SysError. Unless `shared`, a port someone already listens on fails.
 */
export function bindListener(sys: Sys, ep: IpEndpoint, count: number, backlog: number, shared = false): BoundListener {
  const fds: number[] = [];
  if (!shared && ep.port !== 0) assertAddressFree(sys, ep);
  try {
    fds.push(openListener(sys, ep, backlog));
    const address = localAddress(sys, fds[0]);
    const joined = { host: ep.host, port: address.port };
    while (fds.length < count) fds.push(openListener(sys, joined, backlog));
    return { fds, address: { host: address.host, port: address.port } };
  } catch (err) {
    for (const fd of fds) sys.close(fd);
    throw err;
  }
}
