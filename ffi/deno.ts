/**
 * The Deno backend of {@link Sys}: loads libc with `Deno.dlopen`.
 *
 * @module
 */
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

function openLibc(): RawSymbols {
  try {
    // deno-lint-ignore no-explicit-any
    return (Deno.dlopen("libc.so.6", denoSymbols() as any).symbols as unknown) as RawSymbols;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw new FfiUnavailableError(`FFI is not allowed: run Deno with --allow-ffi (${msg})`);
    }
    throw new FfiUnavailableError(`cannot load libc.so.6 through Deno FFI: ${msg}`);
  }
}

/** Loads libc and returns a {@link Sys} whose errno is read on this thread. */
export function loadDenoSys(): Sys {
  const raw = openLibc();
  const errnoPtr = raw.__errno_location();
  const errnoView = new Deno.UnsafePointerView(errnoPtr);
  return makeSys("deno", raw, () => errnoView.getInt32(0));
}
