#!/usr/bin/env node
/**
 * `npm run test:arm64`: the FFI contract and an end-to-end subset on the
 * aarch64 builds of Deno and Bun, under qemu-user on an x86_64 machine, so CI
 * proves the aarch64 struct layouts and flags (epoll_event, struct stat,
 * O_DIRECTORY...) on every run. Ends with one line `N passed, N failed`
 * (sums over both runtimes); exit code 0 only when both passed.
 *
 * What it does, installing what is missing:
 *   1. Debian packages qemu-user-static, libc6-arm64-cross, libgcc-s1-arm64-cross
 *      (apt-get; `sudo -n` when not root).
 *   2. @oven/bun-linux-aarch64 and @deno/linux-arm64-glibc at the versions of
 *      the installed x86_64 `bun` and `deno`, unpacked from `npm pack` into
 *      .cache/arm64/ (gitignored; never a dependency of the package).
 *   3. A copy of the repository's sources in a temporary folder whose
 *      node_modules/.bin/{bun,deno} start the aarch64 runtimes under
 *      `qemu-aarch64-static -L /usr/aarch64-linux-gnu`: so `./bin/spliced`,
 *      which the end-to-end tests start, runs the aarch64 runtime too (this
 *      container has no binfmt_misc registration to do it by itself).
 *   4. On each runtime: ffi/sys.test.ts (the Sys contract against the kernel),
 *      ffi/libc.test.ts, and test/platform_e2e.test.ts (TCP both ways, half-close,
 *      reset, a spliced HTTP body, sendfile, /stats) — one proxy process for all,
 *      since a proxy start costs 5 s (Bun) to 40 s (Deno) under emulation.
 *
 * Environment: SPLICED_ARM64_TIMEOUT_S (limit per runtime, default 300 s).
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = join(ROOT, ".cache", "arm64");
const SYSROOT = "/usr/aarch64-linux-gnu";
const QEMU = "qemu-aarch64-static";
const APT_PACKAGES = ["qemu-user-static", "libc6-arm64-cross", "libgcc-s1-arm64-cross"];
const TEST_FILES = ["./ffi/sys.test.ts", "./ffi/libc.test.ts", "./test/platform_e2e.test.ts"];
/** What the copied tree needs: the sources the tests import and the launcher. */
const TREE_ENTRIES = ["src", "ffi", "test", "bin", "examples", "package.json", "deno.json"];
const TIMEOUT_MS = Number(process.env.SPLICED_ARM64_TIMEOUT_S ?? 300) * 1000;
const KILL_GRACE_MS = 5000;

/** The aarch64 package of each runtime, and where its binary sits inside the package. */
const RUNTIMES = {
  bun: { pkg: "@oven/bun-linux-aarch64", binary: "bin/bun" },
  deno: { pkg: "@deno/linux-arm64-glibc", binary: "deno" },
};

const started = Date.now();
const since = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const log = (msg) => console.log(`test:arm64: ${msg}`);

/** Stops with the closing line counting one failure and the reason. */
function fail(msg) {
  console.log(`test:arm64: ${msg}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts });
  return { code: r.error ? -1 : r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, error: r.error };
}

function dpkgInstalled(pkg) {
  return run("dpkg-query", ["-W", "-f=${Status}", pkg]).out.includes("install ok installed");
}

function ensureDebianPackages() {
  const missing = APT_PACKAGES.filter((p) => !dpkgInstalled(p));
  if (missing.length === 0) return;
  const sudo = process.getuid?.() === 0 ? [] : ["sudo", "-n"];
  log(`installing ${missing.join(" ")} (apt-get${sudo.length ? ", sudo -n" : ""})`);
  const apt = (args) => {
    const [cmd, ...rest] = [...sudo, "apt-get", ...args];
    return spawnSync(cmd, rest, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  };
  apt(["update"]);
  const r = apt(["install", "-y", "--no-install-recommends", ...missing]);
  if (r.status !== 0) fail(`apt-get install ${missing.join(" ")} failed (exit ${r.status}): install them, then run again`);
}

/** The version of the x86_64 runtime npm installed (node_modules/NAME/package.json), else package.json's spec. */
function runtimeVersion(name) {
  const installed = join(ROOT, "node_modules", name, "package.json");
  if (existsSync(installed)) return JSON.parse(readFileSync(installed, "utf8")).version;
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const spec = pkg.devDependencies?.[name] ?? pkg.dependencies?.[name];
  if (!spec || !/^\d+\.\d+\.\d+$/.test(spec)) fail(`cannot tell which ${name} version to use: run npm install first`);
  return spec;
}

/** Unpacks the aarch64 package of `name` into the cache (once); returns the binary's path. */
function ensureRuntime(name) {
  const { pkg, binary } = RUNTIMES[name];
  const version = runtimeVersion(name);
  const dir = join(CACHE, `${name}-${version}`);
  const bin = join(dir, binary);
  if (existsSync(bin)) return { bin, version };
  log(`fetching ${pkg}@${version} into ${dir}`);
  const scratch = mkdtempSync(join(CACHE, ".pack-"));
  try {
    const packed = run("npm", ["pack", "--silent", "--pack-destination", scratch, `${pkg}@${version}`], { cwd: scratch });
    const tgz = readdirSync(scratch).find((f) => f.endsWith(".tgz"));
    if (packed.code !== 0 || !tgz) fail(`npm pack ${pkg}@${version} failed: ${packed.out.trim().split("\n").pop()}`);
    const unpack = join(scratch, "unpacked");
    mkdirSync(unpack);
    const tar = run("tar", ["-xzf", join(scratch, tgz), "-C", unpack, "--strip-components=1"]);
    if (tar.code !== 0) fail(`tar could not unpack ${tgz}: ${tar.out.trim()}`);
    chmodSync(join(unpack, binary), 0o755);
    rmSync(dir, { recursive: true, force: true });
    cpSync(unpack, dir, { recursive: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return { bin, version };
}

/** The command that runs an aarch64 binary here: directly on aarch64, else through qemu-user. */
function emulator() {
  if (process.arch === "arm64") return [];
  if (run(QEMU, ["--version"]).code !== 0) fail(`${QEMU} not found after installing qemu-user-static`);
  return [QEMU, "-L", SYSROOT];
}

/** A shell script that runs `bin` (under qemu when needed) with its arguments. */
function launcher(prefix, bin) {
  const words = [...prefix, bin].map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(" ");
  return `#!/bin/sh\n# Written by scripts/test_arm64.mjs: the aarch64 runtime${prefix.length ? " under qemu-user" : ""}.\nexec ${words} "$@"\n`;
}

/**
 * A copy of the sources in a temporary folder, with node_modules linking to
 * the repository's except .bin/bun and .bin/deno, which start the aarch64
 * runtimes: the tests and ./bin/spliced in the copy use those.
 */
function buildTree(prefix, bins) {
  // One fixed path per checkout, so that Deno's transpile and V8 code caches (keyed by path) hit next time.
  const tree = join(tmpdir(), `spliced-arm64-${createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree);
  for (const entry of TREE_ENTRIES) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(tree, entry), { recursive: true });
  }
  const modules = join(tree, "node_modules");
  mkdirSync(join(modules, ".bin"), { recursive: true });
  for (const entry of readdirSync(join(ROOT, "node_modules"))) {
    if (entry !== ".bin") symlinkSync(join(ROOT, "node_modules", entry), join(modules, entry));
  }
  for (const [name, bin] of Object.entries(bins)) {
    writeFileSync(join(modules, ".bin", name), launcher(prefix, bin), { mode: 0o755 });
  }
  return tree;
}

/** Counts JUnit `<testcase>` elements: passed, failed (a failure or error inside), skipped. */
function countJunit(xml) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const m of xml.matchAll(/<testcase\b[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[1] ?? "";
    if (/<(failure|error)\b/.test(body)) counts.failed++;
    else if (/<skipped\b/.test(body)) counts.skipped++;
    else counts.passed++;
  }
  return counts;
}

function runnerArgs(name, junit) {
  if (name === "deno") return ["test", "--allow-all", "--no-check", `--junit-path=${junit}`, ...TEST_FILES];
  return ["test", "--timeout", "240000", "--reporter=junit", `--reporter-outfile=${junit}`, ...TEST_FILES];
}

/** Runs the subset on one runtime inside the tree, streaming its output; resolves to its counts. */
function runRuntime(name, tree) {
  const junit = join(tree, `junit-${name}.xml`);
  const bin = join(tree, "node_modules", ".bin", name);
  const args = runnerArgs(name, junit);
  const t0 = Date.now();
  console.log(`\n=== ${name} (aarch64) test: ${TEST_FILES.length} file(s) ===\n$ ${name} ${args.join(" ")}`);
  const env = {
    ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", DO_NOT_TRACK: "1",
    // Deno's caches hold V8 code for one CPU: keep the aarch64 one apart from the x86_64 one.
    DENO_DIR: join(CACHE, "deno_dir"),
    // A proxy start under emulation: ~5 s on Bun, 30-60 s on Deno (each worker compiles the data plane).
    SPLICED_TEST_START_S: "240",
  };
  delete env.FORCE_COLOR;
  return new Promise((done) => {
    const child = spawn(bin, args, { cwd: tree, env, stdio: ["ignore", "inherit", "inherit"], detached: true });
    let timedOut = false;
    const kill = (sig) => {
      try {
        process.kill(-child.pid, sig);
      } catch { /* gone */ }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      log(`${name} still running after ${TIMEOUT_MS / 1000} s: stopping it`);
      kill("SIGTERM");
      setTimeout(() => kill("SIGKILL"), KILL_GRACE_MS).unref();
    }, TIMEOUT_MS);
    child.on("error", (err) => finish(null, `could not start: ${err.message}`));
    child.on("exit", (code, signal) => finish(code, signal ? `signal ${signal}` : `exit ${code}`));
    let finished = false;
    function finish(code, exit) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      kill("SIGKILL"); // whatever a test left in the group
      const notes = [exit, `${((Date.now() - t0) / 1000).toFixed(1)} s`];
      let counts = { passed: 0, failed: 0, skipped: 0 };
      if (existsSync(junit)) counts = countJunit(readFileSync(junit, "utf8"));
      else notes.push("wrote no report");
      if (timedOut) notes.push(`timed out after ${TIMEOUT_MS / 1000} s`);
      if ((code !== 0 || timedOut || counts.passed + counts.failed === 0) && counts.failed === 0) {
        notes.push("runner failed though no test did");
        counts.failed = 1;
      }
      done({ name, ...counts, notes });
    }
  });
}

async function main() {
  if (process.platform !== "linux") fail(`needs Linux (qemu-user), not ${process.platform}`);
  if (process.arch !== "x64" && process.arch !== "arm64") fail(`runs on x86_64 (under qemu) or aarch64, not ${process.arch}`);
  if (!existsSync(join(ROOT, "node_modules", "hono"))) fail("node_modules is missing: run npm ci (or npm install) first");
  mkdirSync(CACHE, { recursive: true });
  if (process.arch === "x64") ensureDebianPackages();
  const prefix = emulator();
  const bins = {};
  for (const name of Object.keys(RUNTIMES)) {
    const { bin, version } = ensureRuntime(name);
    const [cmd, ...args] = [...prefix, bin, "--version"];
    const v = run(cmd, args);
    if (v.code !== 0 || !v.out.includes(version)) fail(`the aarch64 ${name} ${version} does not run here: ${v.out.trim() || v.error?.message}`);
    log(`${name} ${version} aarch64 ready (${v.out.trim().split("\n")[0]})`);
    bins[name] = bin;
  }
  log(`setup done in ${since()}`);
  const tree = buildTree(prefix, bins);
  const results = [];
  try {
    for (const name of Object.keys(RUNTIMES)) results.push(await runRuntime(name, tree));
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
  console.log("\n=== test:arm64 summary ===");
  for (const r of results) console.log(`[${r.name} aarch64] passed ${r.passed}, failed ${r.failed}, skipped ${r.skipped} (${r.notes.join("; ")})`);
  log(`total ${since()}`);
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));
await main();
