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
import { platformProblem } from "./libc.ts";
import { FfiUnavailableError, type Sys } from "./sys.ts";

export * from "./sys.ts";
export { machineName } from "./libc.ts";

/** Which runtime runs this code: `"deno"`, `"bun"` or `"other"`. */
export function currentRuntime(): "deno" | "bun" | "other" {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Bun !== "undefined") return "bun";
  if (typeof g.Deno !== "undefined") return "deno";
  return "other";
}

let cached: Sys | undefined;

/** This thread's {@link Sys} if {@link loadSys} already loaded it, else undefined (never loads). */
export function loadedSys(): Sys | undefined {
  return cached;
}

/**
 * Returns this thread's {@link Sys}, loading the backend on first use.
 * Throws {@link FfiUnavailableError} with a fix-it message when FFI cannot work here.
 */
export async function loadSys(): Promise<Sys> {
  if (cached) return cached;
  const problem = platformProblem(process.platform, process.arch);
  if (problem) throw new FfiUnavailableError(problem);
  const runtime = currentRuntime();
  if (runtime === "bun") cached = (await import("./bun.ts")).loadBunSys();
  else if (runtime === "deno") cached = (await import("./deno.ts")).loadDenoSys();
  else throw new FfiUnavailableError("spliced runs on Deno or Bun; this runtime has neither FFI");
  return cached;
}
