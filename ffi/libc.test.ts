/**
 * The libc name selection and the platform check, as pure functions: a fake
 * opener says which names load, so the glibc and musl paths and the error when
 * nothing loads are tested on this glibc machine.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { describeLibc, libcCandidates, machineName, openFirstLibc, platformProblem } from "./libc.ts";
import { loadSys } from "./mod.ts";
import { FfiUnavailableError } from "./sys.ts";

/** An opener that loads only the names in `loads`, recording every name asked for. */
function fakeOpener(loads: string[]) {
  const asked: string[] = [];
  const open = (name: string) => {
    asked.push(name);
    if (!loads.includes(name)) throw new Error(`${name}: cannot open shared object file: No such file or directory`);
    return { lib: name };
  };
  return { asked, open };
}

test("libc: candidates are glibc's, then musl's for the architecture, then the musl loader", () => {
  assert.deepEqual(libcCandidates("x64"), ["libc.so.6", "libc.musl-x86_64.so.1", "/lib/ld-musl-x86_64.so.1"]);
  assert.deepEqual(libcCandidates("arm64"), ["libc.so.6", "libc.musl-aarch64.so.1", "/lib/ld-musl-aarch64.so.1"]);
  assert.equal(machineName("x64"), "x86_64");
  assert.equal(machineName("arm64"), "aarch64");
});

test("libc: glibc loads first and nothing else is tried", () => {
  const { asked, open } = fakeOpener(["libc.so.6", "libc.musl-x86_64.so.1"]);
  const opened = openFirstLibc("x64", "through a fake", open);
  assert.equal(opened.name, "libc.so.6");
  assert.deepEqual(opened.lib, { lib: "libc.so.6" });
  assert.deepEqual(asked, ["libc.so.6"]);
});

test("libc: on Alpine (no libc.so.6) musl's own name loads", () => {
  const { asked, open } = fakeOpener(["libc.musl-aarch64.so.1", "/lib/ld-musl-aarch64.so.1"]);
  const opened = openFirstLibc("arm64", "through a fake", open);
  assert.equal(opened.name, "libc.musl-aarch64.so.1");
  assert.deepEqual(asked, ["libc.so.6", "libc.musl-aarch64.so.1"]);
});

test("libc: a musl without the libc.musl-* link loads through the loader path", () => {
  const { asked, open } = fakeOpener(["/lib/ld-musl-x86_64.so.1"]);
  assert.equal(openFirstLibc("x64", "through a fake", open).name, "/lib/ld-musl-x86_64.so.1");
  assert.equal(asked.length, 3);
});

test("libc: when none loads, FfiUnavailableError names each library tried and its error", () => {
  const { open } = fakeOpener([]);
  assert.throws(() => openFirstLibc("x64", "through a fake", open), (err: Error) => {
    assert.ok(err instanceof FfiUnavailableError);
    assert.equal(
      err.message,
      "cannot load the C library through a fake; tried " +
        "libc.so.6: libc.so.6: cannot open shared object file: No such file or directory; " +
        "libc.musl-x86_64.so.1: libc.musl-x86_64.so.1: cannot open shared object file: No such file or directory; " +
        "/lib/ld-musl-x86_64.so.1: /lib/ld-musl-x86_64.so.1: cannot open shared object file: No such file or directory",
    );
    return true;
  });
});

test("libc: an FfiUnavailableError from the opener (FFI not permitted) stops the search", () => {
  const asked: string[] = [];
  const open = (name: string) => {
    asked.push(name);
    throw new FfiUnavailableError("FFI is not allowed: run Deno with --allow-ffi");
  };
  assert.throws(() => openFirstLibc("x64", "through a fake", open), /^FfiUnavailableError: FFI is not allowed/);
  assert.deepEqual(asked, ["libc.so.6"]);
});

test("libc: described as glibc with its version, musl, or unknown with the name", () => {
  assert.equal(describeLibc("libc.so.6", "2.36"), "glibc 2.36");
  assert.equal(describeLibc("libc.musl-x86_64.so.1", undefined), "musl");
  assert.equal(describeLibc("/lib/ld-musl-aarch64.so.1", undefined), "musl");
  assert.equal(describeLibc("libc.so.6", undefined), "unknown (libc.so.6)");
});

test("libc: the loaded Sys names its libc (glibc with a version on this machine's libc.so.6)", async () => {
  const sys = await loadSys();
  assert.match(sys.libc ?? "", /^(glibc \d+\.\d+|musl)$/);
});

test("platform: macOS and Windows get a clear reason; Linux on x86_64 and aarch64 none", () => {
  assert.equal(platformProblem("darwin", "arm64"), "spliced needs Linux (splice, epoll, sendfile): this is macOS (darwin)");
  assert.equal(platformProblem("win32", "x64"), "spliced needs Linux (splice, epoll, sendfile): this is Windows (win32)");
  assert.equal(platformProblem("aix", "ppc64"), "spliced needs Linux (splice, epoll, sendfile): this is aix");
  assert.equal(platformProblem("linux", "riscv64"), "spliced supports Linux on x86_64 and aarch64, not riscv64");
  assert.equal(platformProblem("linux", "x64"), undefined);
  assert.equal(platformProblem("linux", "arm64"), undefined);
  assert.equal(platformProblem(process.platform, process.arch), undefined, "this machine can run spliced");
});
