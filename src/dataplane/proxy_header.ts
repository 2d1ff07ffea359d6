/**
 * The PROXY protocol in the data plane.
 *
 * Accepting: a listener with `acceptProxyProtocol` hands each new connection
 * to a {@linkcode ProxyHeaderReader} first. It refuses a peer outside
 * `trustedProxies` at once, then peeks (MSG_PEEK) at the socket until the
 * bytes judge as a whole header, consumes exactly the header, and hands the
 * socket on to the listener's session with the header's addresses as the
 * {@linkcode ClientOrigin}: the session starts on a socket whose next byte is
 * the client's first, as if the header had never been there. A malformed
 * header, a close before a whole one, or none within the header timeout
 * (an HTTP listener's `headTimeout`, 5 s on TCP) closes the connection and
 * counts it (`proxy_protocol_refused`; an untrusted peer:
 * `proxy_protocol_untrusted`). Neither counts in `connections_total`.
 *
 * Sending: {@linkcode ProxyHeaderSource} writes, once per client connection,
 * the header telling an upstream where the connection came from (the
 * accepted header's addresses, else the socket's peer and local address).
 *
 * @module
 */
import * as C from "../../ffi/constants.ts";
import { formatEndpoint } from "../../ffi/sockaddr.ts";
import type { Sys } from "../../ffi/sys.ts";
import { type AcceptMode, type Address, CidrSet, MAX_HEADER_BYTES, parseProxyHeader, writeProxyHeader } from "../proxyproto/mod.ts";
import { F } from "../stats/layout.ts";
import type { ConnectionInfo, ListenerSettings, Session, WorkerContext } from "./context.ts";
import { type Handler, SOCKET_EVENTS } from "./io/loop.ts";
import { localAddress, peerAddress } from "./io/sockets.ts";
import { refusedRecord } from "./tcp_log.ts";

/** Where a client connection came from, as a PROXY header said. */
export interface ClientOrigin {
  readonly source: Address;
  readonly destination: Address;
}

/** A listener's accepting side, compiled once per worker. */
export interface ProxyAcceptSettings {
  readonly accept: AcceptMode;
  readonly trusted: CidrSet;
  readonly timeoutMs: number;
}

/** Header timeout of a TCP listener (an HTTP listener uses its headTimeout). */
export const TCP_HEADER_TIMEOUT_MS = 5000;

/** The accepting settings of a listener's init, or undefined when it takes no header. */
export function proxyAcceptSettings(
  l: { acceptProxyProtocol?: AcceptMode; trustedProxies?: readonly string[]; http?: { headTimeoutMs: number } },
): ProxyAcceptSettings | undefined {
  if (l.acceptProxyProtocol === undefined) return undefined;
  return { accept: l.acceptProxyProtocol, trusted: new CidrSet(l.trustedProxies ?? []), timeoutMs: l.http?.headTimeoutMs ?? TCP_HEADER_TIMEOUT_MS };
}

/** Peeked bytes, shared by a worker's readers (each peek reads from the socket's start again). */
const PEEKED = new Uint8Array(MAX_HEADER_BYTES);
const PEEK = C.MSG_PEEK | C.MSG_DONTWAIT;
const CLOSED_EVENTS = C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR;

/** Called with the socket once its header is consumed (origin null: keep the socket's addresses). */
export type HeaderRead = (reader: ProxyHeaderReader, fd: number, origin: ClientOrigin | null) => void;

/** A new connection whose PROXY header is not read yet. */
export class ProxyHeaderReader implements Handler, Session {
  readonly startedAt: number;
  #open = true;
  #peeked = 0;
  #peer = "";

  constructor(
    private readonly ctx: WorkerContext,
    private readonly listener: ListenerSettings,
    private readonly fd: number,
    private readonly settings: ProxyAcceptSettings,
    private readonly onRead: HeaderRead,
  ) {
    this.startedAt = ctx.now;
  }

  /** Refuses an untrusted peer, else waits for the header. */
  start(): void {
    const peer = peerAddress(this.ctx.sys, this.fd);
    this.#peer = peer ? formatEndpoint(peer) : "";
    if (!peer || !this.settings.trusted.has(peer.host)) return this.#refuse(F.proxy_protocol_untrusted, "proxy_protocol_untrusted");
    if (this.ctx.loop.add(this.fd, SOCKET_EVENTS, this) < 0) return this.#refuse(F.proxy_protocol_refused, "proxy_protocol_refused");
    this.#read(0);
  }

  /** More bytes (or a close) on the socket. */
  onEvent(_fd: number, events: number): void {
    if (this.#open) this.#read(events);
  }

  /** Closes a connection whose header did not come in time. */
  checkTimers(now: number): void {
    if (now - this.startedAt >= this.settings.timeoutMs) this.#refuse(F.proxy_protocol_refused, "proxy_protocol_refused");
  }

  /** Nothing was asked of this connection yet: a shutdown closes it. */
  drain(soft = false): void {
    if (!soft) this.abort();
  }

  /** Closes at once (not counted: shutdown). */
  abort(): void {
    this.#close();
  }

  /** A snapshot for the admin's connection list. */
  describe(now: number): ConnectionInfo {
    return {
      listener: this.listener.name, client: this.#peer, upstream: "", state: "proxy-header",
      age_seconds: (now - this.startedAt) / 1000,
      bytes_client_to_upstream: 0, bytes_upstream_to_client: 0, bytes_spliced: 0, bytes_copied: 0,
    };
  }

  #read(events: number): void {
    const sys = this.ctx.sys;
    const n = sys.recv(this.fd, PEEKED, PEEKED.length, PEEK);
    if (n === -C.EAGAIN || n === -C.EINTR) return;
    // Peeking shows the same bytes again: a close is seen as no new byte with a hang-up event.
    if (n <= 0 || (n === this.#peeked && (events & CLOSED_EVENTS) !== 0)) return this.#refuse(F.proxy_protocol_refused, "proxy_protocol_refused");
    this.#peeked = n;
    const r = parseProxyHeader(PEEKED, 0, n, this.settings.accept);
    if (r.status === "incomplete") return;
    if (r.status === "invalid" || sys.recv(this.fd, PEEKED, r.length, C.MSG_DONTWAIT) !== r.length) {
      return this.#refuse(F.proxy_protocol_refused, "proxy_protocol_refused");
    }
    this.#open = false;
    this.ctx.loop.remove(this.fd);
    const a = r.header.addresses;
    this.onRead(this, this.fd, a === null ? null : { source: a.source, destination: a.destination });
  }

  #refuse(field: number, reason: "proxy_protocol_refused" | "proxy_protocol_untrusted"): void {
    if (!this.#open) return;
    const c = this.ctx.counters;
    c[field]++;
    c[this.listener.base + field]++;
    // TCP and TLS connection logs get a line; HTTP's access log has one per request, and this was none.
    const log = this.listener.accessLog;
    if (log && !("http" in this.listener)) log.write(refusedRecord(this.listener.name, this.#peer, this.ctx.now - this.startedAt, reason));
    this.#close();
  }

  #close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.ctx.loop.remove(this.fd);
    this.ctx.sys.close(this.fd);
    this.ctx.sessionClosed(this, this.listener);
  }
}

/**
 * The PROXY header one client connection sends upstream: built on first
 * use, then the same bytes for every upstream connection it opens.
 */
export class ProxyHeaderSource {
  #v1: Uint8Array | null = null;
  #v2: Uint8Array | null = null;
  #source: Address | null;
  #destination: Address | null;

  constructor(private readonly sys: Sys, private readonly fd: number, origin: ClientOrigin | null) {
    this.#source = origin?.source ?? null;
    this.#destination = origin?.destination ?? null;
  }

  /** The header bytes of `version` (allocated once per connection and version). */
  bytes(version: "v1" | "v2"): Uint8Array {
    if (version === "v1") return this.#v1 ??= this.#write(1);
    return this.#v2 ??= this.#write(2);
  }

  /**
   * The key an upstream connection that carried this header is pooled under:
   * only a client whose header would be the same bytes may reuse it.
   */
  key(version: "v1" | "v2"): string {
    if (version === "v1") return this.#key1 ??= this.#keyOf(version);
    return this.#key2 ??= this.#keyOf(version);
  }

  #key1: string | undefined;
  #key2: string | undefined;

  #keyOf(version: string): string {
    return `${version} ${formatEndpoint(this.#src())} ${formatEndpoint(this.#dst())}`;
  }

  #write(version: 1 | 2): Uint8Array {
    return writeProxyHeader(version, this.#src(), this.#dst());
  }

  #src(): Address {
    return this.#source ??= peerAddress(this.sys, this.fd) ?? { host: "0.0.0.0", port: 0 };
  }

  #dst(): Address {
    return this.#destination ??= localAddress(this.sys, this.fd);
  }
}
