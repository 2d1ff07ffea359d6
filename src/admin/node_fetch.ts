/**
 * Fetch-style handlers on `node:http`: a request becomes a `Request`, the
 * handler's `Response` is written back. Finite bodies (every admin answer but
 * `/events`) are sent whole with a Content-Length; `text/event-stream` bodies
 * are streamed with backpressure and cancelled when the client goes away.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Builds the fetch Request for a node request; undefined when its target or headers are malformed. */
export function toRequest(req: IncomingMessage, origin: string): Request | undefined {
  const target = req.url ?? "/";
  let url: URL;
  const headers = new Headers();
  try {
    // Origin-form is appended (so "//x" stays a path); absolute-form parses on its own.
    url = target.startsWith("/") ? new URL(origin + target) : new URL(target);
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  } catch {
    return undefined;
  }
  const method = req.method ?? "GET";
  const body = method === "GET" || method === "HEAD" ? null : bodyStream(req);
  return new Request(url, { method, headers, body, duplex: "half" } as RequestInit);
}

function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  const chunks = req[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const { value, done } = await chunks.next();
      if (done) c.close();
      else c.enqueue(new Uint8Array(value));
    },
    async cancel() {
      await chunks.return?.();
    },
  });
}

/** True for an SSE answer: streamed, and exempt from the idle timeout while it runs. */
export function isEventStream(res: Response): boolean {
  return (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
}

/** Writes `response` to `res`; resolves when it is sent or the client is gone. */
export async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) if (name !== "set-cookie") res.setHeader(name, value);
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (response.body === null) return void res.end();
  if (isEventStream(response)) return await streamBody(res, response.body);
  const body = new Uint8Array(await response.arrayBuffer());
  res.setHeader("content-length", body.length);
  res.end(body);
}

async function streamBody(res: ServerResponse, body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  let gone = false;
  res.once("close", () => {
    gone = true;
    reader.cancel().catch(() => {});
  });
  res.flushHeaders();
  for (;;) {
    const { value, done } = await reader.read();
    if (done || gone) break;
    if (!res.write(value)) await drained(res);
  }
  if (!gone) res.end();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
