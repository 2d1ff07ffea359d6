/**
 * Idle keep-alive connections to upstreams, per worker and per upstream.
 * An idle connection stays registered in epoll with the pool as its handler:
 * any event on it (the upstream closed it, or sent something unasked) closes
 * it, so a pooled connection handed out is one that was quiet.
 *
 * @module
 */
import { EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLRDHUP } from "../../../ffi/constants.ts";
import type { Sys } from "../../../ffi/sys.ts";
import type { EventLoop, Handler } from "../io/loop.ts";

const UNUSABLE = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;

interface Idle {
  fd: number;
  since: number;
}

/** Idle upstream connections by upstream index. */
export class UpstreamPool implements Handler {
  #idle = new Map<number, Idle[]>();
  /** Upstream index + 1 of each pooled fd, 0 when the fd is not in the pool (indexed by fd: no allocation per use). */
  #owner = new Int32Array(1024);
  /** Idle connections held. */
  size = 0;

  constructor(
    private readonly sys: Sys,
    private readonly loop: EventLoop,
    /** Most idle connections kept per upstream. */
    readonly maxPerUpstream: number,
    /** Idle connections older than this are closed by `sweep`. */
    readonly idleTimeoutMs: number,
  ) {}

  /**
   * Connections that carried a PROXY header, by the header's key
   * (ProxyHeaderSource.key): reused only by a client that would send the same header.
   */
  #keyed = new Map<string, Map<number, Idle[]>>();
  /** The key of each keyed pooled fd (indexed by fd). */
  #fdKey: (string | null)[] = [];

  /** An idle connection to `upstream` (pooled under `key`, or none), or -1. The caller re-registers it with its own handler. */
  take(upstream: number, key: string | null = null): number {
    const list = (key === null ? this.#idle : this.#keyed.get(key))?.get(upstream);
    const entry = list?.pop();
    if (!entry) return -1;
    this.#owner[entry.fd] = 0;
    this.size--;
    this.#spare.push(entry);
    return entry.fd;
  }

  /** Keeps a connection that finished an exchange cleanly (the pool takes its events); closes it if the pool is full. */
  put(upstream: number, fd: number, now: number, key: string | null = null): void {
    const lists = key === null ? this.#idle : this.#keyedLists(key);
    let list = lists.get(upstream);
    if (list === undefined) lists.set(upstream, list = []);
    if (list.length >= this.maxPerUpstream) return this.#close(fd);
    const entry = this.#spare.pop();
    if (entry === undefined) list.push({ fd, since: now });
    else {
      entry.fd = fd;
      entry.since = now;
      list.push(entry);
    }
    this.#setOwner(fd, upstream + 1);
    if (key !== null || this.#fdKey[fd] != null) this.#fdKey[fd] = key;
    this.size++;
    this.loop.setHandler(fd, this);
  }

  /** Entries of connections taken back, reused so that a steady keep-alive path allocates none. */
  readonly #spare: Idle[] = [];

  /**
   * Input, hang-up or error on an idle connection means it is no longer
   * usable. EPOLLOUT alone (the send buffer drained) is harmless.
   */
  onEvent(fd: number, events: number): void {
    if ((events & UNUSABLE) === 0) return;
    const upstream = fd < this.#owner.length ? this.#owner[fd] - 1 : -1;
    if (upstream < 0) return;
    this.#forget(upstream, fd);
    this.#close(fd);
  }

  #keyedLists(key: string): Map<number, Idle[]> {
    let lists = this.#keyed.get(key);
    if (lists === undefined) this.#keyed.set(key, lists = new Map());
    return lists;
  }

  /** Closes connections idle for longer than the timeout. */
  sweep(now: number): void {
    this.#sweep(this.#idle, now);
    for (const [key, lists] of this.#keyed) {
      this.#sweep(lists, now);
      if (lists.size === 0) this.#keyed.delete(key);
    }
  }

  #sweep(idle: Map<number, Idle[]>, now: number): void {
    for (const [upstream, list] of idle) {
      while (list.length > 0 && now - list[0].since >= this.idleTimeoutMs) {
        const { fd } = list.shift()!;
        this.#owner[fd] = 0;
        this.size--;
        this.#close(fd);
      }
      if (list.length === 0) idle.delete(upstream);
    }
  }

  /** Closes everything (worker stop). */
  closeAll(): void {
    for (const lists of [this.#idle, ...this.#keyed.values()]) for (const list of lists.values()) for (const { fd } of list) this.#close(fd);
    this.#idle.clear();
    this.#keyed.clear();
    this.#owner.fill(0);
    this.size = 0;
  }

  #forget(upstream: number, fd: number): void {
    const key = this.#fdKey[fd] ?? null;
    const list = (key === null ? this.#idle : this.#keyed.get(key))?.get(upstream) ?? [];
    const i = list.findIndex((e) => e.fd === fd);
    if (i >= 0) list.splice(i, 1);
    this.#owner[fd] = 0;
    this.size--;
  }

  #setOwner(fd: number, value: number): void {
    if (fd >= this.#owner.length) {
      const grown = new Int32Array(Math.max(fd + 1, this.#owner.length * 2));
      grown.set(this.#owner);
      this.#owner = grown;
    }
    this.#owner[fd] = value;
  }

  #close(fd: number): void {
    this.loop.remove(fd);
    this.sys.close(fd);
  }
}
