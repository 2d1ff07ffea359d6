/**
 * The Worker entry point: receives its {@link WorkerInit}, builds a
 * {@link DataPlane} on its own thread (with its own FFI handle, so errno is
 * this thread's) and runs it.
 *
 * @module
 */
import { loadSys } from "../../ffi/mod.ts";
import { DataPlane } from "./dataplane.ts";
import type { WorkerCommand, WorkerInit, WorkerReport } from "./protocol.ts";

// deno-lint-ignore no-explicit-any
const port = self as any as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(msg: WorkerReport): void;
};

let plane: DataPlane | undefined;

function report(msg: WorkerReport): void {
  port.postMessage(msg);
}

function command(cmd: WorkerCommand): void {
  if (!plane) return;
  if (cmd.type === "drain") plane.drain();
  else if (cmd.type === "retire") {
    plane.retire();
    report({ type: "retired" });
  } else if (cmd.type === "stop") plane.stop();
  else if (cmd.type === "connections") report({ type: "connections", id: cmd.id, list: plane.connections(cmd.limit) });
  else if (cmd.type === "reopen-logs") {
    for (const failure of plane.reopenLogs()) report({ type: "log", level: "error", event: "reopen_failed", msg: `reopen ${failure}` });
  }
  else if (cmd.type === "inject-fault") plane.injectFault();
}

async function start(init: WorkerInit): Promise<void> {
  const sys = await loadSys();
  plane = new DataPlane(sys, init, {
    drained: () => report({ type: "drained" }),
    error: (err) => report({
      type: "log", level: "error", event: "worker_error", msg: `worker ${init.workerIndex}: ${err instanceof Error ? err.stack : err}`,
      fields: { worker: init.workerIndex },
    }),
  });
  report({ type: "ready" });
  try {
    await plane.run();
  } catch (err) {
    plane.abandon();
    report({ type: "crashed", message: err instanceof Error ? err.message : String(err) });
    return;
  }
  report({ type: "stopped", drain: plane.drainCounts() });
}

port.onmessage = (e: MessageEvent) => {
  const msg = e.data as WorkerInit | WorkerCommand;
  if (msg.type === "init") {
    start(msg).catch((err) => report({ type: "error", message: err instanceof Error ? err.message : String(err) }));
    return;
  }
  plane?.messageReceived();
  command(msg);
};
