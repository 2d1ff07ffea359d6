/**
 * The Deno backend of {@link Sys}: loads libc with `Deno.dlopen`.
 *
 * @module
 */
import process from "node:process";
import { describeLibc, openFirstLibc } from "./libc.ts";
import { SYMBOLS, type NeutralType } from "./symbols.ts";
import { FfiUnavailableError, makeSys, type RawSymbols, type Sys } from "./sys.ts";

/**
 * `usize` is declared `u32`: a 64-bit parameter takes Deno's slow call path
 * (~300 ns a call instead of ~150 ns, measured), and spliced never passes a
 * length of 2 GiB or more (buffers, pipes and sendfile's 1 GiB cap). Both
 * Deno's fast calls (V8 keeps 32-bit values zero-extended on x86_64 and
 * aarch64) and its slow path (libffi widens uint32 arguments) hand libc the
 * full register zero-extended; the contract test "size_t lengths arrive
 * exactly" checks it on every run.
 */
const DENO_TYPES: Record<NeutralType, string> = {
  i32: "i32",
  u32: "u32",
  usize: "u32",
  ptr: "buffer",
};

function denoSymbols(): Record<string, { parameters: string[]; result: string }> {
  const out: Record<string, { parameters: string[]; result: string }> = {};
  for (const [name, spec] of Object.entries(SYMBOLS)) {
    out[name] = {
      parameters: spec.params.map((t) => DENO_TYPES[t]),
      // Results that are pointers come back as pointer objects.
      result: spec.result === "ptr" ? "pointer" : DENO_TYPES[spec.result],
    };
  }
  return out;
}

/** `gnu_get_libc_version()` of the library `name`, or undefined when it has none (musl). */
function glibcVersion(name: string): string | undefined {
  try {
    const lib = Deno.dlopen(name, { gnu_get_libc_version: { parameters: [], result: "pointer" } });
    try {
      const ptr = lib.symbols.gnu_get_libc_version();
      return ptr === null ? undefined : Deno.UnsafePointerView.getCString(ptr);
    } finally {
      lib.close();
    }
  } catch {
    return undefined;
  }
}

function openLibc(): { raw: RawSymbols; libc: string } {
  const symbols = denoSymbols();
  const { name, lib } = openFirstLibc(process.arch, "through Deno FFI", (name) => {
    try {
      // deno-lint-ignore no-explicit-any
      return (Deno.dlopen(name, symbols as any).symbols as unknown) as RawSymbols;
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new FfiUnavailableError(`FFI is not allowed: run Deno with --allow-ffi (${msg})`);
      }
      throw err;
    }
  });
  return { raw: lib, libc: describeLibc(name, glibcVersion(name)) };
}

/** Loads libc and returns a {@link Sys} whose errno is read on this thread. */
export function loadDenoSys(): Sys {
  const { raw, libc } = openLibc();
  const errnoPtr = raw.__errno_location();
  const errnoView = new Deno.UnsafePointerView(errnoPtr);
  return makeSys("deno", raw, () => errnoView.getInt32(0), libc);
}
