/**
 * The runtime boundary: only the FFI backends (`ffi/deno.ts`, `ffi/bun.ts`),
 * the backend loader (`ffi/mod.ts`) and the admin serve adapter
 * (`src/admin/serve.ts`) and one test support module that serves with the
 * runtime's own server (`test/helpers/native_serve.ts`) may name the runtime
 * globals or import `bun:ffi`.
 * Everything else is runtime-neutral TypeScript.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const SCANNED_DIRS = ["src", "test", "bench", "examples", "ffi"];
const EXEMPT = new Set(["ffi/deno.ts", "ffi/bun.ts", "ffi/mod.ts", "src/admin/serve.ts", "test/boundary.test.ts", "test/helpers/native_serve.ts"]);
const SOURCE = /\.(ts|tsx|mts|cts)$/;

/** One forbidden construct: a name for the report and a pattern that finds it. */
const RULES: ReadonlyArray<readonly [name: string, pattern: RegExp]> = [
  ["Deno.", /\bDeno\./],
  ["Bun.", /\bBun\./],
  ["bun:ffi import", /["'`]bun:ffi["'`]/],
];

/** Source files under `dir` (recursive), skipping node_modules and dot folders. */
function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name.startsWith(".") ? [] : sourceFiles(path);
    return entry.isFile() && SOURCE.test(entry.name) ? [path] : [];
  });
}

/** Every scanned file, as a repo-relative path with `/` separators. */
function scannedFiles(): string[] {
  return SCANNED_DIRS.flatMap((d) => sourceFiles(join(ROOT, d)))
    .map((p) => relative(ROOT, p).split(sep).join("/"))
    .sort();
}

/** `line N: rule` for each line of `text` that breaks a rule. */
function violations(text: string): string[] {
  return text.split("\n").flatMap((line, i) =>
    RULES.filter(([, pattern]) => pattern.test(line)).map(([name]) => `line ${i + 1}: ${name}`)
  );
}

test("boundary: only the ffi backends and the serve adapter name Deno., Bun. or bun:ffi", () => {
  const offenders = scannedFiles()
    .filter((file) => !EXEMPT.has(file))
    .flatMap((file) => violations(readFileSync(join(ROOT, file), "utf8")).map((v) => `${file} ${v}`));
  assert.equal(offenders.length, 0, `runtime-specific code outside the boundary:\n  ${offenders.join("\n  ")}`);
});

test("boundary: the scan sees the ffi layer and this test", () => {
  const files = scannedFiles();
  for (const file of ["ffi/sys.ts", "ffi/deno.ts", "ffi/bun.ts", "test/boundary.test.ts"]) {
    assert.ok(files.includes(file), `${file} missing from the scan of ${ROOT}`);
  }
});

test("boundary: the rules catch each forbidden form and pass neutral code", () => {
  assert.deepEqual(violations(`const x = 1;\nDeno.dlopen("libc.so.6", {});`), ["line 2: Deno."]);
  assert.deepEqual(violations(`await Bun.write("f", "x");`), ["line 1: Bun."]);
  assert.deepEqual(violations(`import { dlopen } from "bun:ffi";`), ["line 1: bun:ffi import"]);
  assert.deepEqual(violations(`const m = await import('bun:ffi');`), ["line 1: bun:ffi import"]);
  assert.deepEqual(violations(`import "./deno.ts"; // the deno backend; Bunny.x; MyDeno.y`), []);
});

/** Repo-relative source files under `dir` (recursive). */
function filesUnder(dir: string): string[] {
  return sourceFiles(join(ROOT, dir)).map((p) => relative(ROOT, p).split(sep).join("/")).sort();
}

/** Source files under src/ (tests and test support excluded: `_*` files and anything under a `_*` folder) whose text matches `pattern`. */
function productionFilesMatching(pattern: RegExp): string[] {
  return filesUnder("src")
    .filter((f) => !f.endsWith(".test.ts") && !f.split("/").some((part) => part.startsWith("_")))
    .filter((f) => pattern.test(readFileSync(join(ROOT, f), "utf8")));
}

test("boundary: exactly one module calls the splice FFI symbol: the stream engine", () => {
  assert.deepEqual(productionFilesMatching(/\bsys\.splice\(/), ["src/dataplane/io/stream.ts"]);
});

/** An import of the HTTP session, HTTP parsing, static files or the TCP session. */
const IO_FORBIDDEN = /from\s+["'](\.\.\/h1\/|\.\.\/static|\.\.\/tcp\.ts|\.\.\/\.\.\/http\/)/;

test("boundary: the io layer imports nothing from HTTP, static files or TCP sessions", () => {
  const offenders = filesUnder("src/dataplane/io").filter((f) => IO_FORBIDDEN.test(readFileSync(join(ROOT, f), "utf8")));
  assert.deepEqual(offenders, []);
  assert.ok(filesUnder("src/dataplane/io").includes("src/dataplane/io/stream.ts"), "the scan sees the io layer");
});

test("boundary: the import scan catches an io module importing the HTTP session", () => {
  assert.ok(IO_FORBIDDEN.test(`import { HttpSession } from "../h1/session.ts";`));
  assert.ok(!IO_FORBIDDEN.test(`import { Endpoint } from "./endpoint.ts";`));
});

/**
 * A static import, re-export, side-effect import or dynamic import of a path
 * ending in `.test.ts`. Deno registers the tests of every module a test file
 * imports, so such an import runs the imported file's tests a second time;
 * shared tables belong in a test-support module (`_*.ts`, `_cases/`).
 */
const TEST_IMPORT = /^\s*(?:(?:import|export)\b[^"'`]*?\bfrom|\}[^"'`]*?\bfrom|import)\s*["']([^"']*\.test\.ts)["']|\bimport\s*\(\s*["']([^"']*\.test\.ts)["']/;

/** `line N: path` for each line of `text` that imports a test file. */
function testImports(text: string): string[] {
  return text.split("\n").flatMap((line, i) => {
    const m = TEST_IMPORT.exec(line);
    return m ? [`line ${i + 1}: ${m[1] ?? m[2]}`] : [];
  });
}

/** Every `*.test.ts` under ffi/, src/ and test/, repo-relative. */
function testFiles(): string[] {
  return ["ffi", "src", "test"].flatMap(filesUnder).filter((f) => f.endsWith(".test.ts"));
}

test("boundary: no test file imports another test file (Deno would run its tests twice)", () => {
  const files = testFiles();
  assert.ok(files.includes("test/boundary.test.ts") && files.includes("src/http/wire/writer.test.ts"), "the scan sees the test files");
  const offenders = files.flatMap((file) => testImports(readFileSync(join(ROOT, file), "utf8")).map((v) => `${file} ${v}`));
  assert.deepEqual(offenders, [], `test files importing test files (move shared tables to a _cases/ module):\n  ${offenders.join("\n  ")}`);
});

test("boundary: the test-import scan catches each import form and passes support modules", () => {
  assert.deepEqual(testImports(`import { X } from "../a.test.ts";`), ["line 1: ../a.test.ts"]);
  assert.deepEqual(testImports(`import {\n  X,\n  Y,\n} from './a.test.ts';`), ["line 4: ./a.test.ts"]);
  assert.deepEqual(testImports(`export { X } from "./a.test.ts";\nimport "./b.test.ts";`), ["line 1: ./a.test.ts", "line 2: ./b.test.ts"]);
  assert.deepEqual(testImports("const m = await import(" + `"./b.test.ts");`), ["line 1: ./b.test.ts"]);
  assert.deepEqual(testImports(`import { X } from "../_cases/request.ts";\n * every case of ../request.test.ts\nconst f = "a.test.ts";`), []);
});
