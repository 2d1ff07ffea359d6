/**
 * The main thread's handle on data-plane workers: spawn, wait for ready,
 * send commands (postMessage + control sequence + eventfd wake), and collect
 * their reports.
 *
 * @module
 */
import { EFD_CLOEXEC, EFD_NONBLOCK } from "../ffi/constants.ts";
import type { Sys } from "../ffi/sys.ts";
import { check } from "./errors.ts";
import type { ConnectionInfo } from "./dataplane/context.ts";
import { CONTROL_SEQ, CONTROL_SIZE, type WorkerCommand, type WorkerInit, type WorkerReport } from "./dataplane/protocol.ts";
import type { DrainCounts } from "./log/drain.ts";
import { processLog } from "./log/logger.ts";

const WORKER_URL = new URL("./dataplane/worker.ts", import.meta.url).href;
const ONE = new BigUint64Array([1n]);

/** One running worker. */
export class WorkerHandle {
  readonly worker: Worker;
  readonly control = new SharedArrayBuffer(CONTROL_SIZE * 4);
  readonly wakeFd: number;
  #listeners = new Map<string, Array<(msg: WorkerReport) => void>>();
  #failure: ((err: Error) => void) | undefined;
  #ready = false;
  /** Called once if the worker fails after it was ready (it threw out of its loop, or its thread died). */
  onCrash: ((err: Error) => void) | undefined;
  /** What the worker said of its drain when it stopped; undefined until then (or if it failed instead). */
  drainCounts: DrainCounts | undefined;

  constructor(private readonly sys: Sys, readonly index: number) {
    this.wakeFd = check("eventfd", sys.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    this.worker = new Worker(WORKER_URL, { type: "module" });
    this.worker.onmessage = (e: MessageEvent) => this.#onReport(e.data as WorkerReport);
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      this.#fail(new Error(`worker ${index} crashed: ${e.message}`));
    };
  }

  /** Sends the init message and resolves once the worker is ready. */
  start(init: Omit<WorkerInit, "control" | "wakeFd" | "type" | "workerIndex">): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      this.#failure = reject;
      this.once("ready", () => {
        this.#ready = true;
        resolve();
      });
    });
    this.worker.postMessage({ ...init, type: "init", workerIndex: this.index, control: this.control, wakeFd: this.wakeFd });
    return ready;
  }

  /** Sends a command and wakes the worker out of epoll_wait (nothing once it stopped). */
  send(cmd: WorkerCommand): void {
    if (this.#stopped) return;
    this.worker.postMessage(cmd);
    Atomics.add(new Int32Array(this.control), CONTROL_SEQ, 1);
    this.sys.write(this.wakeFd, ONE, 8);
  }

  /** Resolves with the next report of `type`; at once when the worker has stopped (nothing more will come). */
  when<T extends WorkerReport["type"]>(type: T): Promise<Extract<WorkerReport, { type: T }>> {
    if (this.#stopped) return Promise.resolve({ type } as Extract<WorkerReport, { type: T }>);
    return new Promise((resolve) => this.once(type, resolve as (msg: WorkerReport) => void));
  }

  #stopped = false;

  /** Asks for the worker's open connections; resolves with [] after `timeoutMs`. */
  async connections(limit: number, timeoutMs = 1000): Promise<ConnectionInfo[]> {
    const id = ++this.#requests;
    const answer = new Promise<ConnectionInfo[]>((resolve) => {
      const wait = () => this.once("connections", (msg) => {
        if (msg.type === "connections" && msg.id === id) resolve(msg.list);
        else wait();
      });
      wait();
    });
    this.send({ type: "connections", id, limit });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<ConnectionInfo[]>((resolve) => (timer = setTimeout(() => resolve([]), timeoutMs)));
    const list = await Promise.race([answer, late]);
    clearTimeout(timer);
    return list;
  }

  /** Ends the thread. The worker has closed its own fds by then (or we are exiting). */
  terminate(): void {
    this.#stopped = true;
    this.worker.terminate();
  }

  #requests = 0;

  private once(type: string, fn: (msg: WorkerReport) => void): void {
    const list = this.#listeners.get(type) ?? [];
    list.push(fn);
    this.#listeners.set(type, list);
  }

  #onReport(msg: WorkerReport): void {
    if (msg.type === "error") return this.#fail(new Error(msg.message));
    if (msg.type === "crashed") return this.#crashed(new Error(msg.message));
    if (msg.type === "log") return processLog.write(msg.level, msg.event, msg.msg, { worker: this.index, ...msg.fields });
    if (msg.type === "stopped") {
      this.#stopped = true;
      this.drainCounts = msg.drain;
    }
    const list = this.#listeners.get(msg.type) ?? [];
    this.#listeners.delete(msg.type);
    for (const fn of list) fn(msg);
  }

  #fail(err: Error): void {
    if (this.#ready) this.#crashed(err);
    else if (this.#failure) this.#failure(err);
    else processLog.error("worker_failed", err.message, { worker: this.index });
  }

  /** After start-up a failure ends this worker; whoever waits on it hears at once, and onCrash decides what next. */
  #crashed(err: Error): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const waiting = this.#listeners;
    this.#listeners = new Map();
    for (const [type, list] of waiting) for (const fn of list) fn({ type } as WorkerReport);
    this.worker.terminate();
    this.onCrash?.(err);
  }
}
