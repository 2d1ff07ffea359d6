/**
 * Status texts, and the short plain-text responses the proxy answers with
 * when it cannot forward a request.
 *
 * @module
 */

/** Reason phrases of the status codes the proxy sends or forwards. */
export const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  421: "Misdirected Request",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
});

const encoder = new TextEncoder();

/** `detail` on one line: control characters become spaces, at most 200 characters. */
function oneLine(detail: string): string {
  // deno-lint-ignore no-control-regex
  const clean = detail.replace(/[\u0000-\u001f\u007f]/g, " ").trim();
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

/** How {@linkcode plainResponse} and {@linkcode responseHead} frame a response. */
export interface ResponseOptions {
  /** Keep the connection open afterwards (else `Connection: close`). */
  keepAlive?: boolean;
  /** The answer to a HEAD request: Content-Length stays, the body is left out (RFC 9110 §9.3.2). */
  headOnly?: boolean;
  /** Extra header fields, in order. */
  fields?: Readonly<Record<string, string>>;
}

/**
 * A response head the proxy makes itself: status line, Server, Date, `fields`,
 * Content-Length (when `length` is given), Connection, empty line.
 */
export function responseHead(status: number, length: number | undefined, opts: ResponseOptions = {}): string {
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ""}\r\nServer: spliced\r\nDate: ${new Date().toUTCString()}\r\n`;
  for (const [name, value] of Object.entries(opts.fields ?? {})) head += `${name}: ${value}\r\n`;
  if (length !== undefined) head += `Content-Length: ${length}\r\n`;
  return head + (opts.keepAlive ? "\r\n" : "Connection: close\r\n\r\n");
}

/**
 * A complete short response: text/plain body `404 Not Found\n` plus `detail`
 * on a second line (control characters removed, at most 200 characters).
 */
export function plainResponse(status: number, detail: string | undefined, opts: ResponseOptions = {}): Uint8Array {
  const title = `${status} ${STATUS_TEXT[status] ?? "Error"}`;
  const extra = detail === undefined ? "" : oneLine(detail);
  const body = encoder.encode(extra === "" ? `${title}\n` : `${title}\n${extra}\n`);
  const fields = { "Content-Type": "text/plain; charset=utf-8", ...opts.fields };
  const head = encoder.encode(responseHead(status, body.length, { ...opts, fields }));
  if (opts.headOnly) return head;
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/**
 * A complete HTTP/1.1 error response for `status` (400..599) with
 * `Connection: close`. RangeError for a status outside 400..599.
 */
export function errorResponse(status: number, detail?: string): Uint8Array {
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new RangeError(`errorResponse: ${status} is not an error status (400..599)`);
  }
  return plainResponse(status, detail);
}
