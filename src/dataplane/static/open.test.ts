/**
 * Opening under a root against the real kernel: openat2 RESOLVE_BENEATH and
 * the O_NOFOLLOW openat walk (the pre-5.6 fallback), FIFOs that do not block,
 * and no fd left open by either.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as C from "../../../ffi/constants.ts";
import { loadSys } from "../../../ffi/mod.ts";
import { factsOf, openBeneath, openRoot, openWithFacts, walkBeneath } from "./open.ts";

const sys = await loadSys();
const fdCount = () => readdirSync("/proc/self/fd").length;

/** root/: f.txt (5 bytes), sub/g.txt, link -> f.txt, sublink -> sub, up -> ../out.txt, abs -> /…/out.txt, fifo. */
function tree(): { top: string; root: string } {
  const top = mkdtempSync(join(tmpdir(), "spliced-open-"));
  const root = join(top, "root");
  mkdirSync(join(root, "sub"), { recursive: true });
  writeFileSync(join(root, "f.txt"), "fffff");
  writeFileSync(join(root, "sub", "g.txt"), "gg");
  writeFileSync(join(top, "out.txt"), "SECRET");
  symlinkSync("f.txt", join(root, "link"));
  symlinkSync("sub", join(root, "sublink"));
  symlinkSync("../out.txt", join(root, "up"));
  symlinkSync(join(top, "out.txt"), join(root, "abs"));
  symlinkSync("../root/f.txt", join(root, "roundtrip"));
  execFileSync("mkfifo", [join(root, "fifo")]);
  return { top, root };
}

type Opener = (rootFd: number, segments: readonly string[]) => number;

/** The type and size of what `open` gives for `segments`, or the errno name. */
function outcome(open: Opener, rootFd: number, segments: readonly string[]): string {
  const fd = open(rootFd, segments);
  if (fd < 0) return C.ERRNO_NAMES[-fd] ?? String(fd);
  const facts = factsOf(sys, fd);
  sys.close(fd);
  assert.ok(typeof facts !== "number");
  const type = { [C.S_IFREG]: "file", [C.S_IFDIR]: "dir", [C.S_IFIFO]: "fifo" }[facts.type] ?? `type ${facts.type}`;
  return facts.type === C.S_IFREG ? `file ${facts.size}` : type;
}

function check(open: Opener, want: Record<string, string>): void {
  const { top, root } = tree();
  const before = fdCount();
  const rootFd = openRoot(sys, root);
  assert.ok(rootFd >= 0, `openRoot: ${rootFd}`);
  try {
    const got: Record<string, string> = {};
    for (const path of Object.keys(want)) got[path] = outcome(open, rootFd, path === "" ? [] : path.split("/"));
    assert.deepEqual(got, want);
  } finally {
    sys.close(rootFd);
    rmSync(top, { recursive: true, force: true });
  }
  // The runner's own sockets may close meanwhile (Bun runs other files in this process), so the
  // count may fall; a descriptor left open by the walk would make it rise.
  assert.ok(fdCount() <= before, `no fd left open (${before} before, ${fdCount()} after)`);
}

const COMMON = {
  "": "dir", "f.txt": "file 5", "sub": "dir", "sub/g.txt": "file 2", "fifo": "fifo",
  "missing": "ENOENT", "sub/missing": "ENOENT", "f.txt/x": "ENOTDIR",
};

/** Whether this kernel has openat2 (Linux 5.6+). */
function haveOpenat2(): boolean {
  const fd = sys.openat2(C.AT_FDCWD, new TextEncoder().encode(".\0"), new BigUint64Array([BigInt(C.O_PATH | C.O_CLOEXEC), 0n, 0n]), C.OPEN_HOW_SIZE);
  if (fd >= 0) sys.close(fd);
  return fd !== -C.ENOSYS;
}

test("static open: openat2 RESOLVE_BENEATH follows links inside the root, refuses links out", { skip: haveOpenat2() ? false : "no openat2 before Linux 5.6" }, () => {
  check((fd, segs) => openBeneath(sys, fd, segs), {
    ...COMMON, "link": "file 5", "sublink/g.txt": "file 2", "up": "EXDEV", "abs": "EXDEV", "roundtrip": "EXDEV",
  });
});

test("static open: the openat walk follows no symlink at all", () => {
  check((fd, segs) => walkBeneath(sys, fd, segs), {
    ...COMMON, "link": "ELOOP", "sublink/g.txt": "ENOTDIR", "up": "ELOOP", "abs": "ELOOP", "roundtrip": "ELOOP",
  });
});

test("static open: where openat2 is ENOSYS, openBeneath walks (links refused) and stops asking", () => {
  let asked = 0;
  const old: typeof sys = { ...sys, openat2: () => (asked++, -C.ENOSYS) };
  check((fd, segs) => openBeneath(old, fd, segs), {
    ...COMMON, "link": "ELOOP", "sublink/g.txt": "ENOTDIR", "up": "ELOOP", "abs": "ELOOP", "roundtrip": "ELOOP",
  });
  assert.equal(asked, 1, "openat2 asked once, then never again");
});

test("static open: openWithFacts gives the fd with fstat facts, and a missing root fails", () => {
  const { top, root } = tree();
  try {
    const rootFd = openRoot(sys, root);
    const opened = openWithFacts(sys, rootFd, ["sub", "g.txt"]);
    assert.ok(typeof opened !== "number");
    assert.equal(opened.type, C.S_IFREG);
    assert.equal(opened.size, 2);
    assert.ok(opened.mtimeMs > Date.UTC(2020, 0, 1));
    assert.equal(sys.read(opened.fd, new Uint8Array(8), 8), 2);
    sys.close(opened.fd);
    assert.equal(openWithFacts(sys, rootFd, ["nope"]), -C.ENOENT);
    sys.close(rootFd);
    assert.equal(openRoot(sys, join(top, "no-root")), -C.ENOENT);
    assert.equal(openRoot(sys, join(root, "f.txt")), -C.ENOTDIR);
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});
