/**
 * The Bun backend of {@link Sys}: loads libc with `bun:ffi`.
 *
 * @module
 */
import { CString, dlopen, read, type FFIFunction, type Pointer } from "bun:ffi";
import process from "node:process";
import { describeLibc, openFirstLibc } from "./libc.ts";
import { SYMBOLS, type NeutralType } from "./symbols.ts";
import { makeSys, type RawSymbols, type Sys } from "./sys.ts";

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

/** `gnu_get_libc_version()` of the library `name`, or undefined when it has none (musl). */
function glibcVersion(name: string): string | undefined {
  try {
    const lib = dlopen(name, { gnu_get_libc_version: { args: [], returns: "ptr" } });
    try {
      const ptr = lib.symbols.gnu_get_libc_version();
      return ptr === null ? undefined : new CString(ptr).toString();
    } finally {
      lib.close();
    }
  } catch {
    return undefined;
  }
}

function openLibc(): { raw: RawSymbols; libc: string } {
  const symbols = bunSymbols();
  const { name, lib } = openFirstLibc(process.arch, "through bun:ffi", (name) => dlopen(name, symbols).symbols as unknown as RawSymbols);
  return { raw: lib, libc: describeLibc(name, glibcVersion(name)) };
}

/** Loads libc and returns a {@link Sys} whose errno is read on this thread. */
export function loadBunSys(): Sys {
  const { raw, libc } = openLibc();
  const errnoPtr = raw.__errno_location() as Pointer;
  return makeSys("bun", raw, () => read.i32(errnoPtr, 0), libc);
}
