/**
 * Which C library to load, and whether this platform can run spliced at all.
 * Pure functions: the backends (`deno.ts`, `bun.ts`) pass in how they open a
 * library, so the order of names and the messages are unit-tested without one.
 *
 * Order: glibc's `libc.so.6`, then musl's `libc.musl-<arch>.so.1` (Alpine's
 * name), then the musl dynamic loader itself, `/lib/ld-musl-<arch>.so.1`, which
 * is musl's libc on every musl system.
 *
 * @module
 */
import { FfiUnavailableError } from "./sys.ts";

/** The CPU names spliced supports, as Node-style `process.arch` → the `uname -m` name. */
const MACHINE: Readonly<Record<string, string>> = { x64: "x86_64", arm64: "aarch64" };

/** `x86_64` / `aarch64` for `x64` / `arm64`; the given name for any other. */
export function machineName(arch: string): string {
  return MACHINE[arch] ?? arch;
}

/** The library names to try for `arch` (`process.arch` style), in order. */
export function libcCandidates(arch: string): string[] {
  const m = machineName(arch);
  return ["libc.so.6", `libc.musl-${m}.so.1`, `/lib/ld-musl-${m}.so.1`];
}

/** The library that loaded, and its name. */
export interface OpenedLibc<T> {
  readonly name: string;
  readonly lib: T;
}

/**
 * Opens the first of {@link libcCandidates} that `open` accepts. `open` throws
 * when a name does not load; a {@link FfiUnavailableError} from it (FFI not
 * permitted) stops the search at once. When none loads, the error names each
 * library tried with its error, prefixed by `what` (e.g. "through bun:ffi").
 */
export function openFirstLibc<T>(arch: string, what: string, open: (name: string) => T): OpenedLibc<T> {
  const tried: string[] = [];
  for (const name of libcCandidates(arch)) {
    try {
      return { name, lib: open(name) };
    } catch (err) {
      if (err instanceof FfiUnavailableError) throw err;
      tried.push(`${name}: ${firstLine(err)}`);
    }
  }
  throw new FfiUnavailableError(`cannot load the C library ${what}; tried ${tried.join("; ")}`);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}

/**
 * How /stats and --version name the libc: `glibc 2.36` when glibc said its
 * version (gnu_get_libc_version), `musl` for a musl name (musl has no version
 * call), else `unknown (NAME)`.
 */
export function describeLibc(name: string, glibcVersion: string | undefined): string {
  if (glibcVersion) return `glibc ${glibcVersion}`;
  if (name.includes("musl")) return "musl";
  return `unknown (${name})`;
}

const OS_NAMES: Readonly<Record<string, string>> = { darwin: "macOS", win32: "Windows", freebsd: "FreeBSD", openbsd: "OpenBSD" };

/**
 * Why spliced cannot run on `platform`/`arch` (`process.platform`, `process.arch`),
 * or undefined when it can: it needs Linux (splice, epoll, sendfile) on x86_64 or aarch64.
 */
export function platformProblem(platform: string, arch: string): string | undefined {
  if (platform !== "linux") {
    const os = OS_NAMES[platform] ? `${OS_NAMES[platform]} (${platform})` : platform;
    return `spliced needs Linux (splice, epoll, sendfile): this is ${os}`;
  }
  if (!(arch in MACHINE)) return `spliced supports Linux on x86_64 and aarch64, not ${arch}`;
  return undefined;
}
