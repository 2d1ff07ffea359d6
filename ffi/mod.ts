/**
 * Loads the {@link Sys} backend of the runtime this code runs on.
 *
 * ```ts
 * import { loadSys } from "./ffi/mod.ts";
 * const sys = await loadSys();
 * const fd = sys.socket(2, 1, 0);
 * ```
 *
 * @module
 */
import process from "node:process";
import { archSupported } from "./constants.ts";
import { FfiUnavailableError, type Sys } from "./sys.ts";

export * from "./sys.ts";

/** Which runtime runs this code: `"deno"`, `"bun"` or `"other"`. */
export function currentRuntime(): "deno" | "bun" | "other" {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Bun !== "undefined") return "bun";
  if (typeof g.Deno !== "undefined") return "deno";
  return "other";
}

let cached: Sys | undefined;

/**
 * Returns this thread's {@link Sys}, loading the backend on first use.
 * Throws {@link FfiUnavailableError} with a fix-it message when FFI cannot work here.
 */
export async function loadSys(): Promise<Sys> {
  if (cached) return cached;
  if (process.platform !== "linux") {
    throw new FfiUnavailableError(`spliced needs Linux (splice, epoll); this is ${process.platform}`);
  }
  if (!archSupported()) {
    throw new FfiUnavailableError(`spliced supports x86_64 and aarch64, not ${process.arch}`);
  }
  const runtime = currentRuntime();
  if (runtime === "bun") cached = (await import("./bun.ts")).loadBunSys();
  else if (runtime === "deno") cached = (await import("./deno.ts")).loadDenoSys();
  else throw new FfiUnavailableError("spliced runs on Deno or Bun; this runtime has neither FFI");
  return cached;
}
