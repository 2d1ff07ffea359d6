/**
 * The `hashKey: "clientIp"` key of a TCP connection: its peer's IP address
 * bytes, read with getpeername(2) into a reused buffer and hashed in place.
 *
 * @module
 */
import * as C from "../../ffi/constants.ts";
import type { Sys } from "../../ffi/sys.ts";
import { hashBytes } from "./hash.ts";
import { NO_KEY } from "./picker.ts";

const lenBox = new Uint32Array(1);
const addrBuf = new Uint8Array(C.SOCKADDR_MAX);

/** Hash of the peer address of socket `fd` (IPv4: 4 bytes, IPv6: 16; the port is left out), or NO_KEY. */
export function clientKey(sys: Sys, fd: number): number {
  lenBox[0] = addrBuf.length;
  if (sys.getpeername(fd, addrBuf, lenBox) < 0) return NO_KEY;
  const family = addrBuf[0] | (addrBuf[1] << 8);
  if (family === C.AF_INET) return hashBytes(addrBuf, 4, 8);
  if (family === C.AF_INET6) return hashBytes(addrBuf, 8, 24);
  return NO_KEY;
}
