/**
 * End-to-end static files through `spliced static` (sendfile(2) bodies):
 * whole files by SHA-256, index.html, content types, ETag/Last-Modified and
 * 304, single ranges and 416, HEAD, no way out of the root (dot segments,
 * percent-encoding, NUL, symlinks), the sendfile counter, a sparse file over
 * 4 GiB, and no fd leak after 10,000 keep-alive requests.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, symlinkSync, truncateSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { eventually, quietFdCount, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";
import { get, HttpConn, parseResponse, rawRequest, tempDir, type ParsedResponse } from "./helpers/http.ts";

/** A temp dir with `root/` inside (served) and the dir itself around it (outside the root). */
interface Site {
  readonly dir: string;
  readonly root: string;
  file(rel: string, content: string | Uint8Array): void;
  remove(): void;
}

function site(): Site {
  const tmp = tempDir("spliced-static-");
  const root = join(tmp.dir, "root");
  mkdirSync(root);
  return {
    dir: tmp.dir,
    root,
    file(rel, content) {
      const path = join(root, rel);
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, content);
    },
    remove: tmp.remove,
  };
}

async function withStatic(root: string, fn: (p: SplicedProcess) => Promise<void>): Promise<void> {
  const proxy = await startSpliced(["static", "--listen", "127.0.0.1:0", "--root", root, "--workers", "2"]);
  try {
    await fn(proxy);
  } finally {
    await proxy.stop();
  }
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** One request on its own connection (Connection: close), parsed. */
async function fetchRaw(port: number, target: string, headers: Record<string, string> = {}, method = "GET"): Promise<ParsedResponse & { text: string }> {
  const r = await rawRequest(port, get(target, { ...headers, Connection: "close" }, method));
  assert.ok(r.closed, `${method} ${target}: connection closed after Connection: close`);
  const resp = parseResponse(r.bytes, { head: method === "HEAD", atEof: true });
  assert.ok(resp, `${method} ${target}: a complete response, got ${JSON.stringify(r.text.slice(0, 200))}`);
  return { ...resp, text: r.text };
}

test("static: GET a 4 MiB random file, same SHA-256, with validators", { timeout: 60_000 }, async () => {
  const s = site();
  const data = randomBytes(4 * 1024 * 1024 + 123);
  s.file("big.bin", data);
  try {
    await withStatic(s.root, async (proxy) => {
      // Connection: close, or fetch's pooled connection would hold the proxy's shutdown for its grace period.
      const res = await fetch(`http://127.0.0.1:${proxy.port}/big.bin`, { headers: { connection: "close" } });
      assert.equal(res.status, 200);
      const body = new Uint8Array(await res.arrayBuffer());
      assert.equal(body.length, data.length);
      assert.equal(sha(body), sha(data));
      assert.equal(res.headers.get("content-length"), String(data.length));
      assert.match(res.headers.get("etag") ?? "", /^"[^"]+"$/);
      assert.ok(!Number.isNaN(Date.parse(res.headers.get("last-modified") ?? "")));
      assert.equal(res.headers.get("accept-ranges"), "bytes");
      // A raw client too, on a kept-alive connection, twice.
      const conn = await HttpConn.open(proxy.port);
      try {
        for (let i = 0; i < 2; i++) {
          const r = await conn.request(get("/big.bin"), { timeoutMs: 30_000 });
          assert.equal(r.status, 200);
          assert.equal(sha(r.body), sha(data));
        }
      } finally {
        conn.close();
      }
    });
  } finally {
    s.remove();
  }
});

test("static: index.html for directories, 404 for a directory without one and for missing files", { timeout: 60_000 }, async () => {
  const s = site();
  s.file("index.html", "<h1>root index</h1>");
  s.file("docs/index.html", "<h1>docs index</h1>");
  s.file("docs/page.txt", "a page");
  s.file("empty/only.txt", "no index here");
  s.file("a.txt", "plain a");
  s.file("with space.txt", "spaced");
  s.file("café.txt", "utf-8 name");
  try {
    await withStatic(s.root, async (proxy) => {
      const cases: [string, number, string | null][] = [
        ["/", 200, "<h1>root index</h1>"],
        ["/index.html", 200, "<h1>root index</h1>"],
        ["/docs/", 200, "<h1>docs index</h1>"],
        ["/docs", 301, null], // a directory without the slash redirects (Location: see static_hardening)
        ["/docs/?q=1", 200, "<h1>docs index</h1>"],
        ["/docs/page.txt", 200, "a page"],
        ["/a.txt?v=123", 200, "plain a"],
        ["/with%20space.txt", 200, "spaced"],
        ["/caf%C3%A9.txt", 200, "utf-8 name"],
        ["/empty/", 404, null],
        ["/empty", 301, null],
        ["/empty/only.txt", 200, "no index here"],
        ["/missing.txt", 404, null],
        ["/docs/missing/", 404, null],
        ["/a.txt/", 404, null],
      ];
      const failures: string[] = [];
      for (const [target, status, body] of cases) {
        const r = await fetchRaw(proxy.port, target);
        if (r.status !== status) failures.push(`${target}: status ${r.status}, expected ${status}`);
        else if (body !== null && r.body.toString() !== body) failures.push(`${target}: body ${JSON.stringify(r.body.toString())}`);
        else if (body === null && r.body.toString().includes("index")) failures.push(`${target}: error body mentions an index`);
      }
      assert.deepEqual(failures, []);
      const index = await fetchRaw(proxy.port, "/docs/");
      assert.equal(index.headers["content-type"], "text/html; charset=utf-8");
    });
  } finally {
    s.remove();
  }
});

test("static: content types by extension", { timeout: 60_000 }, async () => {
  const s = site();
  const types: [string, string][] = [
    ["page.html", "text/html; charset=utf-8"],
    ["style.css", "text/css; charset=utf-8"],
    ["app.js", "text/javascript; charset=utf-8"],
    ["mod.mjs", "text/javascript; charset=utf-8"],
    ["data.json", "application/json"],
    ["notes.txt", "text/plain; charset=utf-8"],
    ["logo.svg", "image/svg+xml"],
    ["pic.png", "image/png"],
    ["PHOTO.JPG", "image/jpeg"],
    ["anim.gif", "image/gif"],
    ["code.wasm", "application/wasm"],
    ["doc.pdf", "application/pdf"],
    ["font.woff2", "font/woff2"],
    ["archive.tar.gz", "application/gzip"],
    ["blob.unknownext", "application/octet-stream"],
    ["Makefile", "application/octet-stream"],
  ];
  for (const [name] of types) s.file(name, `content of ${name}`);
  try {
    await withStatic(s.root, async (proxy) => {
      const conn = await HttpConn.open(proxy.port);
      try {
        for (const [name, type] of types) {
          const r = await conn.request(get(`/${name}`));
          assert.equal(r.status, 200, name);
          assert.equal(r.headers["content-type"], type, name);
          assert.equal(r.body.toString(), `content of ${name}`, name);
        }
      } finally {
        conn.close();
      }
    });
  } finally {
    s.remove();
  }
});

test("static: ETag with If-None-Match and Last-Modified with If-Modified-Since give 304", { timeout: 60_000 }, async () => {
  const s = site();
  s.file("page.html", "<p>cached</p>");
  const mtime = new Date("2024-03-01T12:00:00Z");
  utimesSync(join(s.root, "page.html"), mtime, mtime);
  try {
    await withStatic(s.root, async (proxy) => {
      const conn = await HttpConn.open(proxy.port);
      try {
        const first = await conn.request(get("/page.html"));
        assert.equal(first.status, 200);
        const etag = first.headers.etag;
        assert.ok(etag);
        assert.equal(first.headers["last-modified"], mtime.toUTCString());

        const cases: [Record<string, string>, number][] = [
          [{ "If-None-Match": etag }, 304],
          [{ "If-None-Match": `"other", ${etag}` }, 304],
          [{ "If-None-Match": `W/${etag}` }, 304],
          [{ "If-None-Match": "*" }, 304],
          [{ "If-None-Match": '"not-it"' }, 200],
          [{ "If-Modified-Since": mtime.toUTCString() }, 304],
          [{ "If-Modified-Since": new Date(mtime.getTime() + 86_400_000).toUTCString() }, 304],
          [{ "If-Modified-Since": new Date(mtime.getTime() - 1000).toUTCString() }, 200],
          [{ "If-Modified-Since": "not a date" }, 200],
          // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
          [{ "If-None-Match": '"not-it"', "If-Modified-Since": mtime.toUTCString() }, 200],
        ];
        for (const [headers, status] of cases) {
          const r = await conn.request(get("/page.html", headers));
          const what = JSON.stringify(headers);
          assert.equal(r.status, status, what);
          if (status === 304) {
            assert.equal(r.headers.etag, etag, `${what}: 304 carries the ETag`);
            assert.equal(r.body.length, 0);
          } else {
            assert.equal(r.body.toString(), "<p>cached</p>", what);
          }
        }
        assert.ok(!conn.closed, "every conditional answer kept the connection");
        // A 304 has no body: the next response on the connection parses cleanly (done above);
        // and a changed file gets a new ETag.
        writeFileSync(join(s.root, "page.html"), "<p>changed!</p>");
        const changed = await conn.request(get("/page.html", { "If-None-Match": etag }));
        assert.equal(changed.status, 200);
        assert.notEqual(changed.headers.etag, etag);
        assert.equal(changed.body.toString(), "<p>changed!</p>");
      } finally {
        conn.close();
      }
    });
  } finally {
    s.remove();
  }
});

test("static: Range requests: 206 with exact bytes, suffix, open end, 416 when unsatisfiable", { timeout: 60_000 }, async () => {
  const s = site();
  const data = randomBytes(100_000);
  const size = data.length;
  s.file("data.bin", data);
  s.file("empty.bin", "");
  try {
    await withStatic(s.root, async (proxy) => {
      const conn = await HttpConn.open(proxy.port);
      try {
        const ranges: [string, number, number][] = [
          ["bytes=0-9", 0, 9],
          ["bytes=-5", size - 5, size - 1],
          ["bytes=99990-", 99_990, size - 1],
          ["bytes=50000-50000", 50_000, 50_000],
          ["bytes=99995-200000", 99_995, size - 1],
          ["bytes=-200000", 0, size - 1],
        ];
        for (const [range, start, end] of ranges) {
          const r = await conn.request(get("/data.bin", { Range: range }));
          assert.equal(r.status, 206, range);
          assert.equal(r.headers["content-range"], `bytes ${start}-${end}/${size}`, range);
          assert.equal(r.headers["content-length"], String(end - start + 1), range);
          assert.ok(r.body.equals(data.subarray(start, end + 1)), `${range}: exact bytes`);
        }
        for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, "bytes=-0"]) {
          const r = await conn.request(get("/data.bin", { Range: range }));
          assert.equal(r.status, 416, range);
          assert.equal(r.headers["content-range"], `bytes */${size}`, range);
          assert.ok(!r.body.includes(data.subarray(0, 16)), `${range}: no file content`);
        }
        const empty = await conn.request(get("/empty.bin", { Range: "bytes=0-" }));
        assert.equal(empty.status, 416);
        assert.equal(empty.headers["content-range"], "bytes */0");
        // Not a single bytes range: the whole file (RFC 9110 §14.2 lets a server ignore Range).
        // "bytes=20-10" is not a valid range-spec (last before first): ignored as well.
        for (const range of ["bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=20-10"]) {
          const r = await conn.request(get("/data.bin", { Range: range }));
          assert.equal(r.status, 200, range);
          assert.ok(r.body.equals(data), range);
        }
        const first = await conn.request(get("/data.bin"));
        const etag = first.headers.etag;
        const ifRange = await conn.request(get("/data.bin", { Range: "bytes=0-9", "If-Range": etag }));
        assert.equal(ifRange.status, 206);
        const stale = await conn.request(get("/data.bin", { Range: "bytes=0-9", "If-Range": '"stale"' }));
        assert.equal(stale.status, 200);
        assert.equal(stale.body.length, size);
        assert.ok(!conn.closed);
      } finally {
        conn.close();
      }
    });
  } finally {
    s.remove();
  }
});

test("static: HEAD gives the headers of GET and no body", { timeout: 60_000 }, async () => {
  const s = site();
  const data = randomBytes(300_000);
  s.file("file.bin", data);
  s.file("index.html", "<p>home</p>");
  try {
    await withStatic(s.root, async (proxy) => {
      const conn = await HttpConn.open(proxy.port);
      try {
        const full = await conn.request(get("/file.bin"));
        const head = await conn.request(get("/file.bin", {}, "HEAD"), { head: true });
        assert.equal(head.status, 200);
        assert.equal(head.headers["content-length"], String(data.length));
        for (const h of ["etag", "last-modified", "content-type", "accept-ranges"]) assert.equal(head.headers[h], full.headers[h], h);
        const rangeHead = await conn.request(get("/file.bin", { Range: "bytes=10-19" }, "HEAD"), { head: true });
        assert.equal(rangeHead.status, 206);
        assert.equal(rangeHead.headers["content-length"], "10");
        const missing = await conn.request(get("/nope", {}, "HEAD"), { head: true });
        assert.equal(missing.status, 404);
        const unsatisfiable = await conn.request(get("/file.bin", { Range: "bytes=999999-" }, "HEAD"), { head: true });
        assert.equal(unsatisfiable.status, 416);
        const notModified = await conn.request(get("/file.bin", { "If-None-Match": full.headers.etag }, "HEAD"), { head: true });
        assert.equal(notModified.status, 304);
        // Had any body bytes followed a HEAD answer, this response would not parse.
        const after = await conn.request(get("/"));
        assert.equal(after.status, 200);
        assert.equal(after.body.toString(), "<p>home</p>");
      } finally {
        conn.close();
      }
      // On its own connection: exactly the head arrives, then the close.
      const r = await rawRequest(proxy.port, get("/file.bin", { Connection: "close" }, "HEAD"));
      assert.ok(r.closed);
      assert.ok(r.text.endsWith("\r\n\r\n"), "nothing after the head");
      const post = await fetchRaw(proxy.port, "/file.bin", {}, "DELETE");
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, "GET, HEAD");
    });
  } finally {
    s.remove();
  }
});

const SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT";

test("static: no way out of the root: dot segments, percent-encoded dots and slashes, NUL", { timeout: 60_000 }, async () => {
  const s = site();
  s.file("a.txt", "inside a");
  s.file("sub/b.txt", "inside b");
  writeFileSync(join(s.dir, "outside.txt"), SECRET);
  try {
    await withStatic(s.root, async (proxy) => {
      const targets = [
        "/../outside.txt",
        "/../etc/passwd",
        "/../../../../../../etc/passwd",
        "/a/../../x",
        "/sub/../../outside.txt",
        "/sub/../a.txt/../../outside.txt",
        "/./../outside.txt",
        "/%2e%2e/outside.txt",
        "/%2E%2E/outside.txt",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/.%2e/outside.txt",
        "/%2e./outside.txt",
        "/sub/%2e%2e/%2e%2e/outside.txt",
        "/%252e%252e/outside.txt",
        "/..%2foutside.txt",
        "/sub%2f..%2f..%2foutside.txt",
        "/%2F..%2F..%2Foutside.txt",
        "/..%5coutside.txt",
        "/..\\outside.txt",
        "/a.txt%00.html",
        "/%00",
        "/sub/b.txt%00",
        "/%c0%ae%c0%ae/outside.txt",
        "/%ff",
        "//../outside.txt",
      ];
      const failures: string[] = [];
      for (const target of targets) {
        const r = await rawRequest(proxy.port, get(target, { Connection: "close" }));
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(r.text)?.[1] ?? 0);
        if (![400, 403, 404].includes(status)) failures.push(`${target}: status ${status}`);
        if (r.text.includes(SECRET) || r.text.includes("root:x:0:0")) failures.push(`${target}: leaked content`);
        if (!r.closed) failures.push(`${target}: not closed`);
      }
      assert.deepEqual(failures, []);
      // The proxy still serves normally afterwards.
      const ok = await fetchRaw(proxy.port, "/sub/b.txt");
      assert.equal(ok.status, 200);
      assert.equal(ok.body.toString(), "inside b");
    });
  } finally {
    s.remove();
  }
});

test("static: symlinks leaving the root are refused, symlinks inside it are served", { timeout: 60_000 }, async () => {
  const s = site();
  s.file("a.txt", "inside a");
  s.file("dir/c.txt", "inside c");
  writeFileSync(join(s.dir, "outside.txt"), SECRET);
  mkdirSync(join(s.dir, "outdir"));
  writeFileSync(join(s.dir, "outdir", "index.html"), SECRET);
  writeFileSync(join(s.dir, "outdir", "f.txt"), SECRET);
  symlinkSync("../outside.txt", join(s.root, "escape.txt"));
  symlinkSync(join(s.dir, "outside.txt"), join(s.root, "escape-abs.txt"));
  symlinkSync("/etc/passwd", join(s.root, "passwd"));
  symlinkSync("../outdir", join(s.root, "outdir-link"));
  symlinkSync("/", join(s.root, "slash"));
  symlinkSync("a.txt", join(s.root, "alias.txt"));
  symlinkSync("dir", join(s.root, "dir-link"));
  symlinkSync("../root/a.txt", join(s.root, "roundtrip.txt"));
  symlinkSync("nowhere.txt", join(s.root, "dangling.txt"));
  try {
    await withStatic(s.root, async (proxy) => {
      // roundtrip.txt steps above the root to come back: RESOLVE_BENEATH refuses any resolution that leaves it.
      const refused = ["/escape.txt", "/escape-abs.txt", "/passwd", "/outdir-link/", "/outdir-link/f.txt", "/slash/etc/passwd", "/dangling.txt", "/roundtrip.txt"];
      const failures: string[] = [];
      for (const target of refused) {
        const r = await rawRequest(proxy.port, get(target, { Connection: "close" }));
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(r.text)?.[1] ?? 0);
        if (![403, 404].includes(status)) failures.push(`${target}: status ${status}`);
        if (r.text.includes(SECRET) || r.text.includes("root:x:0:0")) failures.push(`${target}: leaked content`);
      }
      assert.deepEqual(failures, []);
      const served: [string, string][] = [["/alias.txt", "inside a"], ["/dir-link/c.txt", "inside c"]];
      for (const [target, body] of served) {
        const r = await fetchRaw(proxy.port, target);
        assert.equal(r.status, 200, target);
        assert.equal(r.body.toString(), body, target);
      }
    });
  } finally {
    s.remove();
  }
});

test("static: bytes_sendfile in /stats equals the body bytes sent", { timeout: 60_000 }, async () => {
  const s = site();
  const files = { "one.bin": randomBytes(1_000_000), "two.bin": randomBytes(65_537), "three.txt": Buffer.from("three") };
  for (const [name, data] of Object.entries(files)) s.file(name, data);
  try {
    await withStatic(s.root, async (proxy) => {
      const before = (await proxy.stats()).totals.bytes_sendfile;
      assert.equal(before, 0);
      let bodies = 0;
      const etags: Record<string, string> = {};
      const conn = await HttpConn.open(proxy.port);
      try {
        for (const [name, data] of Object.entries(files)) {
          const r = await conn.request(get(`/${name}`));
          assert.equal(r.body.length, data.length);
          bodies += r.body.length;
          etags[name] = r.headers.etag;
        }
        const range = await conn.request(get("/one.bin", { Range: "bytes=1000-1999" }));
        assert.equal(range.body.length, 1000);
        bodies += range.body.length;
        // No body: HEAD, 304, 404, 416.
        await conn.request(get("/one.bin", {}, "HEAD"), { head: true });
        assert.equal((await conn.request(get("/two.bin", { "If-None-Match": etags["two.bin"] }))).status, 304);
        await conn.request(get("/missing"));
        await conn.request(get("/three.txt", { Range: "bytes=10-" }));
      } finally {
        conn.close();
      }
      // deno-lint-ignore no-explicit-any
      let stats: any;
      assert.ok(await eventually(async () => (stats = await proxy.stats()).totals.connections_active === 0));
      assert.equal(stats.totals.bytes_sendfile, bodies);
      assert.equal(stats.listeners.static.bytes_sendfile, bodies);
      assert.equal(stats.totals.requests_total, 8);
      assert.equal(stats.totals.bytes_client_to_upstream, 0);
    });
  } finally {
    s.remove();
  }
});

test("static: a sparse 5 GiB file: ranges past 4 GiB return the right bytes, HEAD the full length", { timeout: 60_000 }, async () => {
  const s = site();
  const size = 5 * 1024 * 1024 * 1024;
  const path = join(s.root, "huge.bin");
  writeFileSync(path, "");
  truncateSync(path, size);
  const markerEnd = Buffer.from("END-OF-5GiB-marker!!");
  assert.equal(markerEnd.length, 20);
  const marker4g = Buffer.from("across-the-4GiB-line");
  const fd = openSync(path, "r+");
  writeSync(fd, markerEnd, 0, 20, size - 20);
  writeSync(fd, marker4g, 0, 20, 2 ** 32 - 10);
  closeSync(fd);
  try {
    await withStatic(s.root, async (proxy) => {
      const conn = await HttpConn.open(proxy.port);
      try {
        const head = await conn.request(get("/huge.bin", {}, "HEAD"), { head: true });
        assert.equal(head.status, 200);
        assert.equal(head.headers["content-length"], String(size));
        assert.match(head.headers.etag ?? "", new RegExp(`-${size.toString(16)}-`), "the ETag has the full size");

        const end = await conn.request(get("/huge.bin", { Range: "bytes=5368709100-5368709119" }));
        assert.equal(end.status, 206);
        assert.equal(end.headers["content-range"], `bytes 5368709100-5368709119/${size}`);
        assert.equal(end.body.toString(), markerEnd.toString());

        const suffix = await conn.request(get("/huge.bin", { Range: "bytes=-20" }));
        assert.equal(suffix.headers["content-range"], `bytes ${size - 20}-${size - 1}/${size}`);
        assert.ok(suffix.body.equals(markerEnd));

        const across = await conn.request(get("/huge.bin", { Range: `bytes=${2 ** 32 - 12}-${2 ** 32 + 11}` }));
        assert.equal(across.status, 206);
        assert.ok(across.body.equals(Buffer.concat([Buffer.alloc(2), marker4g, Buffer.alloc(2)])), "bytes around the 4 GiB offset");

        const zeros = await conn.request(get("/huge.bin", { Range: "bytes=4500000000-4500065535" }));
        assert.equal(zeros.body.length, 65_536);
        assert.ok(zeros.body.equals(Buffer.alloc(65_536)), "the hole reads as zeros");

        const past = await conn.request(get("/huge.bin", { Range: `bytes=${size}-` }));
        assert.equal(past.status, 416);
        assert.equal(past.headers["content-range"], `bytes */${size}`);
      } finally {
        conn.close();
      }
    });
  } finally {
    s.remove();
  }
});

test("static: no fd leak after 10,000 keep-alive requests (20 connections x 500)", { timeout: 60_000 }, async () => {
  const s = site();
  const data = randomBytes(2048);
  s.file("small.bin", data);
  s.file("dir/index.html", "<p>dir</p>");
  try {
    await withStatic(s.root, async (proxy) => {
      const etag = (await fetchRaw(proxy.port, "/small.bin")).headers.etag;
      const fdsBefore = await quietFdCount(proxy);
      const client = async (c: number) => {
        const conn = await HttpConn.open(proxy.port);
        try {
          for (let i = 0; i < 500; i++) {
            const kind = (c + i) % 5;
            if (kind === 0) {
              const r = await conn.request(get("/small.bin"));
              assert.equal(r.status, 200);
              assert.ok(r.body.equals(data));
            } else if (kind === 1) {
              const r = await conn.request(get("/small.bin", { Range: "bytes=100-199" }));
              assert.equal(r.status, 206);
              assert.ok(r.body.equals(data.subarray(100, 200)));
            } else if (kind === 2) {
              assert.equal((await conn.request(get("/small.bin", { "If-None-Match": etag }))).status, 304);
            } else if (kind === 3) {
              assert.equal((await conn.request(get(`/missing-${i}.txt`))).status, 404);
            } else {
              const r = await conn.request(get("/dir/"));
              assert.equal(r.body.toString(), "<p>dir</p>");
            }
          }
          assert.ok(!conn.closed, "the connection was kept alive throughout");
        } finally {
          conn.close();
        }
      };
      await Promise.all(Array.from({ length: 20 }, (_, c) => client(c)));
      // deno-lint-ignore no-explicit-any
      let stats: any;
      assert.ok(await eventually(async () => (stats = await proxy.stats()).totals.connections_active === 0));
      assert.equal(stats.totals.requests_total, 10_001);
      assert.equal(stats.totals.connections_total, 21, "20 kept-alive connections (plus the ETag probe)");
      assert.equal(await quietFdCount(proxy, fdsBefore), fdsBefore, "fd count back to where it was");
    });
  } finally {
    s.remove();
  }
});
