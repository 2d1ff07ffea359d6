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

/**
 * A complete HTTP/1.1 response for `status` (400..599): text/plain body
 * `400 Bad Request\n` plus `detail` on a second line, Content-Length, and
 * `Connection: close`. RangeError for a status outside 400..599.
 */
export function errorResponse(status: number, detail?: string): Uint8Array {
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new RangeError(`errorResponse: ${status} is not an error status (400..599)`);
  }
  const title = `${status} ${STATUS_TEXT[status] ?? "Error"}`;
  const extra = detail === undefined ? "" : oneLine(detail);
  const body = encoder.encode(extra === "" ? `${title}\n` : `${title}\n${extra}\n`);
  const head = encoder.encode(
    `HTTP/1.1 ${title}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
  );
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}
