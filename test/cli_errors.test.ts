/**
 * Mistakes at the command line and in the config (issue 10): each is one
 * line naming the flag (or the file and the field path) and the problem,
 * exit 1 or 2, never a stack trace, in the same bytes on both runtimes. Also
 * each command's --help, --runtime anywhere, flags that do not apply, and
 * the signals a running spliced handles or ignores.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { resolveHost } from "../src/address.ts";
import { ResolveError } from "../src/errors.ts";
import { okUpstream } from "./helpers/http.ts";
import { BIN, eventually, runCli, sleep, startSpliced, testRuntime, type CliResult } from "./helpers/spliced.ts";

const dir = mkdtempSync(join(tmpdir(), "spliced-cli-"));
mkdirSync(join(dir, "www"));
writeFileSync(join(dir, "www", "index.html"), "hello\n");
writeFileSync(join(dir, "plain.txt"), "x");

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return path;
}

/** Runs `bin/spliced ARGS` as given (no --runtime added). */
function runRaw(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let stdout = "", stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Why `nosuchhost.invalid` does not resolve here (RFC 6761: it never does), in spliced's words. */
async function unresolvableReason(): Promise<string> {
  try {
    await resolveHost("nosuchhost.invalid");
  } catch (err) {
    if (err instanceof ResolveError) return err.reason;
    throw err;
  }
  throw new Error("nosuchhost.invalid resolved");
}

const UP = ["--to", "127.0.0.1:1"];
const TCP = ["tcp", "--listen", "127.0.0.1:0", ...UP];

/** Asserts one failure: its exit code and its single stderr line, nothing on stdout. */
async function assertFails(args: string[], code: number, line: string): Promise<void> {
  const r = await runCli(args);
  assert.equal(r.stderr, `${line}\n`, args.join(" "));
  assert.equal(r.code, code, `${args.join(" ")}: exit ${code}`);
  assert.equal(r.stdout, "", `${args.join(" ")}: nothing on stdout`);
}

test("cli errors: what crashed with a stack trace is one line naming the flag", { timeout: 120_000 }, async () => {
  const reason = await unresolvableReason();
  const cases: [string[], number, string][] = [
    [["tcp", "--listen", "300.1.1.1:80", ...UP], 2,
      `command line: --listen: "300.1.1.1" is not a valid IPv4 address (four numbers from 0 to 255, as 127.0.0.1)`],
    [["tcp", "--listen", "localhost:7001", ...UP], 2,
      `command line: --listen: "localhost" is a host name: a listen address is an IP address; use 127.0.0.1:7001 (or [::1]:7001)`],
    [["tcp", "--listen", "127.0.0.1:0", "--to", "nosuchhost.invalid:5432"], 1, `command line: --to: cannot resolve "nosuchhost.invalid": ${reason}`],
    [["http", "--listen", "127.0.0.1:0", ...UP, "--access-log", "/nonexistent/dir/x.log"], 2,
      `command line: --access-log: directory "/nonexistent/dir" does not exist`],
    [["http", "--listen", "127.0.0.1:0", ...UP, "--access-log", join(dir, "plain.txt", "x.log")], 2,
      `command line: --access-log: "${join(dir, "plain.txt")}" is not a directory`],
    [["http", "--listen", "127.0.0.1:0", ...UP, "--access-log", join(dir, "www")], 2, `command line: --access-log: "${join(dir, "www")}" is a directory`],
    [["static", "--listen", "127.0.0.1:0", "--root", "/nonexistent"], 2, `command line: --root: directory "/nonexistent" does not exist`],
    [["static", "--listen", "127.0.0.1:0", "--root", join(dir, "plain.txt")], 2, `command line: --root: "${join(dir, "plain.txt")}" is not a directory`],
    [["tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:0"], 2, `command line: --to: port 0 in "127.0.0.1:0": an upstream needs a port from 1 to 65535`],
    [["tcp", "--listen", "127.0.0.1:0", "--to", ","], 2, "command line: --to: needs at least one upstream"],
    [[...TCP, "--workers", "abc"], 2, `command line: --workers: expected a whole number of data-plane threads, 1 to 256, got "abc"`],
    [[...TCP, "--max-connections", "1.5"], 2, `command line: --max-connections: expected a whole number, got "1.5"`],
    [[...TCP, "--pipe-size", "1k"], 2, `command line: --pipe-size: must be from 4k to 1g, got "1k"`],
    [["tcp", "--listen", "127.0.0.1:7001", ...UP, "--admin", "127.0.0.1:7001"], 2,
      "command line: --admin: 127.0.0.1:7001 is also --listen: the admin server needs an address of its own"],
    [["tcp", "--listen", "0.0.0.0:7001", ...UP, "--admin", "localhost:7001"], 2,
      "command line: --admin: localhost:7001 (127.0.0.1:7001) overlaps --listen (0.0.0.0:7001): the admin server needs an address of its own"],
    [[...TCP, "--admin", "300.1.1.1:0"], 2, `command line: --admin: "300.1.1.1" is not a valid IPv4 address (four numbers from 0 to 255, as 127.0.0.1)`],
  ];
  for (const [args, code, line] of cases) await assertFails(args, code, line);
});

test("cli errors: flags that do not apply to a command are refused, exit 2", { timeout: 60_000 }, async () => {
  const cfg = file("ok.json", { listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] }] });
  const cases: [string[], string][] = [
    [[...TCP, "--root", "x"], "spliced: --root does not apply to tcp (see spliced tcp --help)"],
    [[...TCP, "--upstream-timeout", "1s"], "spliced: --upstream-timeout does not apply to tcp (see spliced tcp --help)"],
    [["static", "--listen", "127.0.0.1:0", "--root", dir, "--to", "x"], "spliced: --to does not apply to static (see spliced static --help)"],
    [["static", "--listen", "127.0.0.1:0", "--root", dir, "--connect-timeout", "1s"], "spliced: --connect-timeout does not apply to static (see spliced static --help)"],
    [["http", "--listen", "127.0.0.1:0", ...UP, "--root", dir], "spliced: --root does not apply to http (see spliced http --help)"],
    [["--config", cfg, "--listen", "127.0.0.1:0"], "spliced: --listen does not apply with --config: the listeners and their settings come from the file (see spliced run --help)"],
    [["run", "--config", cfg, "--to", "127.0.0.1:1"], "spliced: --to does not apply with --config: the listeners and their settings come from the file (see spliced run --help)"],
    [["check", "--config", cfg, "--admin", "127.0.0.1:0"], "spliced: --admin does not apply with --config: the listeners and their settings come from the file (see spliced check --help)"],
    [["check", "--config", cfg, "--pid-file", "x"], "spliced: --pid-file does not apply to check (see spliced check --help)"],
    [[...TCP, "--config", cfg], `spliced: --config does not apply to tcp: run a config file with "spliced run --config FILE" (see spliced tcp --help)`],
  ];
  for (const [args, line] of cases) await assertFails(args, 2, line);
});

test("cli errors: parsing mistakes say what is wrong, with the option or command a typo meant", { timeout: 60_000 }, async () => {
  const cases: [string[], string][] = [
    [[...TCP, "--acces-log", "x"], `spliced: unknown option "--acces-log"; did you mean --access-log? (see spliced tcp --help)`],
    [[...TCP, "--bogus"], `spliced: unknown option "--bogus" (see spliced tcp --help)`],
    [[...TCP, "-x"], `spliced: unknown option "-x" (see spliced tcp --help)`],
    [["tcp", "--listen"], "spliced: --listen needs a value (HOST:PORT) (see spliced tcp --help)"],
    [["tcp", "--listen", "--to", "127.0.0.1:1"], "spliced: --listen needs a value (HOST:PORT) (see spliced tcp --help)"],
    [["tcp", "--listen", "--"], "spliced: --listen needs a value (HOST:PORT) (see spliced tcp --help)"],
    [["check", "-c"], "spliced: --config needs a value (FILE) (see spliced check --help)"],
    [["--version=1"], "spliced: --version takes no value (see spliced --help)"],
    [[...TCP, "--listen", "127.0.0.1:1"], "spliced: --listen given twice (see spliced tcp --help)"],
    [[...TCP, "--help=yes"], "spliced: --help takes no value (see spliced tcp --help)"],
    [[...TCP, "extra"], `spliced: unexpected argument "extra" (see spliced tcp --help)`],
    [["tcp", "--", "--runtime", "deno"], `spliced: unexpected argument "--runtime" (see spliced tcp --help)`],
    [["statc", "--root", "x"], `spliced: unknown command "statc"; did you mean "static"? (see spliced --help)`],
    [["frobnicate"], `spliced: unknown command "frobnicate" (see spliced --help)`],
    [[], "spliced: no command given (see spliced --help)"],
    [["tcp", "--to", "127.0.0.1:1"], "spliced: tcp needs --listen HOST:PORT (see spliced tcp --help)"],
    [["static", "--listen", "127.0.0.1:0"], "spliced: static needs --root DIR (see spliced static --help)"],
    [["check"], "spliced: check needs --config FILE (see spliced check --help)"],
  ];
  for (const [args, line] of cases) await assertFails(args, 2, line);
  // --to may be repeated: the lists are joined (the second one is checked too).
  await assertFails(["tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:1", "--to", "127.0.0.1:0"], 2,
    `command line: --to: port 0 in "127.0.0.1:0": an upstream needs a port from 1 to 65535`);
  await assertFails(["tcp", "--listen=127.0.0.1:0", "--to=127.0.0.1:1", "--to=127.0.0.1:0"], 2,
    `command line: --to: port 0 in "127.0.0.1:0": an upstream needs a port from 1 to 65535`);
});

test("cli: each command's --help shows that command's options only", { timeout: 60_000 }, async () => {
  const options = async (args: string[]) => {
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    return { text: r.stdout, flags: new Set([...r.stdout.matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1])) };
  };
  const common = ["--runtime", "--help", "--version"];
  const expected: Record<string, string[]> = {
    tcp: ["--listen", "--to", "--workers", "--admin", "--admin-token-file", "--connect-timeout", "--idle-timeout", "--send-timeout",
      "--max-connections", "--health-check", "--access-log", "--pipe-size", "--grace-period", "--log-format", "--log-level", "--log-file", "--pid-file",
      "--upgrade-from"],
    http: ["--listen", "--to", "--workers", "--admin", "--admin-token-file", "--connect-timeout", "--upstream-timeout", "--idle-timeout",
      "--send-timeout", "--max-connections", "--health-check", "--access-log", "--pipe-size", "--grace-period", "--log-format", "--log-level", "--log-file",
      "--pid-file", "--upgrade-from"],
    static: ["--listen", "--root", "--workers", "--admin", "--admin-token-file", "--idle-timeout", "--send-timeout", "--max-connections",
      "--access-log", "--grace-period", "--log-format", "--log-level", "--log-file", "--pid-file", "--upgrade-from"],
    run: ["--config", "--workers", "--admin-token-file", "--log-format", "--log-level", "--log-file", "--pid-file", "--upgrade-from"],
    check: ["--config", "--workers", "--admin-token-file"],
  };
  for (const [command, flags] of Object.entries(expected)) {
    for (const args of [[command, "--help"], [command, "-h"], ["--help", command]]) {
      const { text, flags: shown } = await options(args);
      assert.deepEqual([...shown], [...flags, ...common], args.join(" "));
      assert.match(text, new RegExp(`^spliced ${command}: `), args.join(" "));
    }
  }
  const tcp = (await options(["tcp", "--help"])).text;
  assert.match(tcp, /--pid-file PATH\s+write the pid here once ready\n/);
  assert.match(tcp, /--upgrade-from PIDFILE\s+zero-downtime upgrade: bind beside the spliced whose pid is in\s+PIDFILE, then tell it to drain\n/);
  const general = await options(["--help"]);
  assert.deepEqual([...general.flags], common);
  for (const command of Object.keys(expected)) assert.match(general.text, new RegExp(`^  spliced ${command} `, "m"));
  assert.match(general.text, /SIGUSR1 reopens the access log files/);
  // A help too wide for a terminal would wrap badly.
  for (const args of [["--help"], ...Object.keys(expected).map((c) => [c, "--help"])]) {
    for (const line of (await options(args)).text.split("\n")) assert.ok(line.length <= 100, `${args.join(" ")}: ${line}`);
  }
});

test("cli: --runtime picks the runtime anywhere before --, in both forms", { timeout: 90_000 }, async () => {
  for (const rt of ["bun", "deno"]) {
    for (const args of [[...TCP, "--runtime", rt], ["tcp", "--runtime", rt, "--listen", "127.0.0.1:0", ...UP], [...TCP, `--runtime=${rt}`]]) {
      const child = spawn(BIN, [...args, "--workers", "1"], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      const closed = new Promise((resolve) => child.on("close", resolve));
      try {
        assert.ok(await eventually(() => /^listener /m.test(out), 30_000), `${args.join(" ")}: ${out}`);
        assert.match(out, new RegExp(`^spliced \\S+ on ${rt}, 1 worker\\n`), args.join(" "));
      } finally {
        process.kill(child.pid!, "SIGTERM");
        await closed;
      }
    }
  }
  const twice = await runRaw([...TCP, "--runtime", "bun", "--runtime", "deno"]);
  assert.deepEqual([twice.code, twice.stderr], [2, "spliced: --runtime given twice (see spliced --help)\n"]);
  const unknown = await runRaw([...TCP, "--runtime", "node"]);
  assert.deepEqual([unknown.code, unknown.stderr], [2, `spliced: --runtime: unknown runtime "node" (use bun or deno) (see spliced --help)\n`]);
  const help = await runRaw(["static", "--help", "--runtime", testRuntime()]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^spliced static: /);
});

test("check: catches bad addresses, overlapping listeners, unsendable headers, missing paths; warns about names that do not resolve", { timeout: 120_000 }, async () => {
  const reason = await unresolvableReason();
  const tcp = (listen: string, name: string, upstreams = ["127.0.0.1:1"]) => ({ name, listen, upstreams });
  const http = (extra: Record<string, unknown>, route: Record<string, unknown> = { upstreams: ["127.0.0.1:1"] }) =>
    ({ listeners: [{ mode: "http", listen: "127.0.0.1:0", ...extra, routes: [route] }] });
  const cases: [string, unknown, string[]][] = [
    ["badlisten.json", { listeners: [tcp("300.1.1.1:80", "a")] },
      [`listeners[0].listen: "300.1.1.1" is not a valid IPv4 address (four numbers from 0 to 255, as 127.0.0.1)`]],
    ["hostlisten.json", { listeners: [tcp("localhost:7001", "a")] },
      [`listeners[0].listen: "localhost" is a host name: a listen address is an IP address; use 127.0.0.1:7001 (or [::1]:7001)`]],
    ["same.json", { listeners: [tcp("127.0.0.1:7001", "a"), tcp("127.0.0.1:7001", "b")] },
      ["listeners[1].listen: 127.0.0.1:7001 is also listeners[0].listen: two listeners cannot share an address"]],
    ["wildcard.json", { listeners: [tcp("127.0.0.1:7001", "a"), tcp("0.0.0.0:7001", "b")] },
      ["listeners[1].listen: 0.0.0.0:7001 overlaps listeners[0].listen (127.0.0.1:7001): the same port on addresses that cover each other"]],
    ["header.json", http({}, { upstreams: ["127.0.0.1:1"], requestHeaders: { set: { "X-A": "→" } } }),
      [`listeners[0].routes[0].requestHeaders.set.X-A: header values may hold visible ASCII, spaces and tabs only; "→" (U+2192) at character 1 is not`]],
    ["root.json", http({}, { static: { root: "/nonexistent" } }), [`listeners[0].routes[0].static.root: directory "/nonexistent" does not exist`]],
    ["log.json", http({ accessLog: "/nonexistent/dir/x.log" }), [`listeners[0].accessLog: directory "/nonexistent/dir" does not exist`]],
    ["token.json", { admin: { listen: "127.0.0.1:0", tokenFile: join(dir, "no-token") }, listeners: [tcp("127.0.0.1:0", "a")] },
      [`admin.tokenFile: cannot read token file "${join(dir, "no-token")}": file not found`]],
    ["typo.json", { listeners: [{ listen: "127.0.0.1:0", upstream: ["127.0.0.1:1"] }] }, [`listeners[0]: unknown key "upstream"; did you mean "upstreams"?`]],
    ["noup.json", { listeners: [{ listen: "127.0.0.1:0" }] }, [`listeners[0].upstreams: missing: expected at least one upstream, as "upstreams": ["HOST:PORT", ...]`]],
    ["json.json", '{\n  "listeners": [\n    { "listen": "127.0.0.1:0", "upstreams": ["127.0.0.1:1"], }\n  ]\n}\n',
      ["(root): invalid JSON: line 3 column 60: trailing comma before '}'"]],
  ];
  for (const [name, content, lines] of cases) {
    const path = file(name, content);
    const r = await runCli(["check", "--config", path]);
    assert.equal(r.stderr, lines.map((l) => `${path}: ${l}\n`).join(""), name);
    assert.equal(r.code, 2, name);
    assert.equal(r.stdout, "", name);
  }
  const unresolved = file("unresolved.json", { listeners: [tcp("127.0.0.1:0", "a", ["nosuchhost.invalid:5432", "127.0.0.1:1"])] });
  const warned = await runCli(["check", "--config", unresolved]);
  assert.equal(warned.code, 0, warned.stderr);
  assert.equal(warned.stderr, `WARNING: ${unresolved}: listeners[0].upstreams[0]: cannot resolve "nosuchhost.invalid": ${reason} (it may resolve by the time spliced starts)\n`);
  assert.equal(warned.stdout, `${unresolved}: ok (1 warning)\n`);
  // At start the same name is an error, exit 1, naming it.
  await assertFails(["--config", unresolved], 1, `${unresolved}: listeners[0].upstreams[0]: cannot resolve "nosuchhost.invalid": ${reason}`);
  const good = file("good.json", http({ accessLog: join(dir, "www", "access.log") }, { static: { root: join(dir, "www") } }));
  assert.deepEqual(await runCli(["check", "--config", good]), { code: 0, stdout: `${good}: ok\n`, stderr: "" });
});

test("cli: the same bytes on Deno and Bun", { timeout: 180_000 }, async () => {
  const badJson = file("cmp-bad.json", '{\n  "listeners": [\n    { listen: "127.0.0.1:0" }\n  ]\n}');
  const unresolved = file("cmp-unresolved.json", { listeners: [{ listen: "127.0.0.1:0", upstreams: ["nosuchhost.invalid:5432"] }] });
  const typo = file("cmp-typo.json", { listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"], idle_timeout: "1s" }], Workers: 1 });
  const cases: string[][] = [
    ["tcp", "--listen", "127.0.0.1:0", "--to", "nosuchhost.invalid:5432"],
    ["tcp", "--listen", "300.1.1.1:80", ...UP],
    ["check", "--config", badJson],
    ["check", "--config", unresolved],
    ["--config", unresolved],
    ["check", "--config", typo],
    ["check", "--config", join(dir, "missing.json")],
    [...TCP, "--bogus"],
    [...TCP, "--acces-log", "x"],
    [...TCP, "-x"],
    ["check", "-c"],
    ["tcp", "--listen", "--to", "127.0.0.1:1"],
    [...TCP, "--listen", "127.0.0.1:1"],
    [...TCP, "--idle-timeout", "soon"],
    ["http", "--help"],
  ];
  for (const args of cases) {
    const [bun, deno] = await Promise.all(["bun", "deno"].map((rt) => runRaw(["--runtime", rt, ...args])));
    assert.deepEqual(deno, bun, args.join(" "));
    assert.doesNotMatch(bun.stderr, /\n\s+at |internal error/, args.join(" "));
  }
});

test("signals: SIGUSR1 reopens access logs; SIGHUP without a config file says so; the others are ignored; traffic goes on", { timeout: 120_000 }, async () => {
  const upstream = await okUpstream();
  const log = join(dir, "signals.log");
  const proxy = await startSpliced(["http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${upstream.port}`, "--access-log", log, "--workers", "2"]);
  const get = async () => {
    const res = await fetch(`http://127.0.0.1:${proxy.port}/x`, { method: "POST", body: "ping", headers: { connection: "close" } });
    await res.arrayBuffer();
    return res.status;
  };
  const tcpAlive = () => new Promise<boolean>((resolve) => {
    const s = net.connect(proxy.port, "127.0.0.1", () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });
  try {
    // SIGPIPE is ignored from the start on both runtimes (a handler would wake the main thread for each broken pipe).
    const ignored = BigInt(`0x${/^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${proxy.pid}/status`, "utf8"))![1]}`);
    assert.ok(ignored & (1n << 12n), "SIGPIPE ignored");
    for (const sig of ["SIGUSR1", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGWINCH", "SIGTTIN", "SIGTTOU", "SIGHUP"] as const) {
      process.kill(proxy.pid, sig);
      await sleep(150);
      assert.ok(await tcpAlive(), `${sig}: still accepting`);
      assert.equal(await get(), 200, `${sig}: still serving`);
    }
    assert.match(proxy.output(), /^spliced: SIGUSR1: reopening access logs$/m);
    assert.match(proxy.output(), /^spliced: SIGHUP: started from flags, there is no config file to reload$/m);
    assert.doesNotMatch(proxy.output(), /internal error|\n\s+at /);
    // logrotate: move the file away, SIGUSR1, and the next line goes to a new file.
    renameSync(log, `${log}.1`);
    process.kill(proxy.pid, "SIGUSR1");
    assert.ok(await eventually(() => proxy.output().split("SIGUSR1: reopening").length === 3));
    await sleep(200);
    assert.equal(await get(), 200);
    assert.ok(await eventually(() => {
      try {
        return readFileSync(log, "utf8").split("\n").filter(Boolean).length === 1;
      } catch {
        return false;
      }
    }), "a new log file after SIGUSR1");
    assert.equal(await proxy.stop("SIGTERM"), 0);
  } finally {
    proxy.child.kill("SIGKILL");
    await upstream.close();
  }
});

test("cli: --pid-file is passed on: the pid is written once ready", { timeout: 60_000 }, async () => {
  const pidFile = join(dir, "spliced.pid");
  const proxy = await startSpliced([...TCP, "--pid-file", pidFile]);
  try {
    assert.equal(readFileSync(pidFile, "utf8").trim(), String(proxy.pid));
  } finally {
    await proxy.stop();
  }
});
