/**
 * The Bun backend of {@link Sys}: loads libc with `bun:ffi`.
 *
 * @module
 */
import { dlopen, read, type FFIFunction, type Pointer } from "bun:ffi";
import { SYMBOLS, type NeutralType } from "./symbols.ts";
import { FfiUnavailableError, makeSys, type RawSymbols, type Sys } from "./sys.ts";

const BUN_TYPES: Record<NeutralType, string> = {
  i32: "i32",
  u32: "u32",
  usize: "u64",
  ptr: "ptr",
};

function bunSymbols(): Record<string, FFIFunction> {
  const out: Record<string, FFIFunction> = {};
  for (const [name, spec] of Object.entries(SYMBOLS)) {
    out[name] = {
      args: spec.params.map((t) => BUN_TYPES[t]),
      returns: BUN_TYPES[spec.result],
    } as FFIFunction;
  }
  return out;
}

function openLibc(): RawSymbols {
  try {
    return dlopen("libc.so.6", bunSymbols()).symbols as unknown as RawSymbols;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new FfiUnavailableError(`cannot load libc.so.6 through bun:ffi: ${msg}`);
  }
}

/** Loads libc and returns a {@link Sys} whose errno is read on this thread. */
export function loadBunSys(): Sys {
  const raw = openLibc();
  const errnoPtr = raw.__errno_location() as Pointer;
  return makeSys("bun", raw, () => read.i32(errnoPtr, 0));
}
