/**
 * The spliced version, and the one-line build description `--version` prints
 * and `/metrics` exposes as `spliced_build_info`.
 *
 * @module
 */
import process from "node:process";
import { currentRuntime, loadSys, machineName } from "../ffi/mod.ts";

/** The spliced version, kept equal to package.json's. */
export const VERSION = "0.1.0";

/** What this process runs on: spliced's version, the runtime and its version, the libc, the CPU. */
export interface BuildInfo {
  readonly version: string;
  /** `bun`, `deno` or `other`. */
  readonly runtime: string;
  /** The runtime's own version (`1.4.5`), or `unknown`. */
  readonly runtimeVersion: string;
  /** `glibc 2.36`, `musl`, or `unavailable` when the FFI cannot load here. */
  readonly libc: string;
  /** `x86_64`, `aarch64` (uname -m style). */
  readonly arch: string;
}

/** The runtime's version from `process.versions` (both runtimes fill it in). */
export function runtimeVersion(): string {
  const v = process.versions as Record<string, string | undefined>;
  const runtime = currentRuntime();
  return (runtime === "other" ? undefined : v[runtime]) ?? "unknown";
}

/** Build facts for a process whose libc is `libc`. */
export function buildInfo(libc: string): BuildInfo {
  return { version: VERSION, runtime: currentRuntime(), runtimeVersion: runtimeVersion(), libc, arch: machineName(process.arch) };
}

/** `spliced 0.1.0 (bun 1.4.5, glibc 2.36, x86_64)`. */
export function versionLine(info: BuildInfo): string {
  return `spliced ${info.version} (${info.runtime} ${info.runtimeVersion}, ${info.libc}, ${info.arch})`;
}

/**
 * The `--version` line, loading the FFI to name the libc. Where the FFI cannot
 * load (macOS, a missing libc), the line says `libc unavailable` and the reason follows on
 * a second line, so the version is still printed.
 */
export async function describeBuild(): Promise<{ line: string; problem?: string }> {
  try {
    const sys = await loadSys();
    return { line: versionLine(buildInfo(sys.libc ?? "unknown")) };
  } catch (err) {
    const problem = err instanceof Error ? err.message : String(err);
    return { line: versionLine(buildInfo("libc unavailable")), problem };
  }
}
