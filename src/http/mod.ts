/**
 * HTTP/1.1 heads and framing for the data plane: pure functions over bytes.
 *
 * - `parseRequestHead` / `parseResponseHead`: strict head parsers (RFC 9110/9112),
 *   resumable with a per-connection `HeadScan`
 * - `parseChunkLine`, `parseChunkDataEnd`, `parseTrailers`: the chunked coding
 * - `upstreamRequestHead` / `clientResponseHead` / `clientResponsePlan`: heads as forwarded
 * - `errorResponse`: the proxy's own short error responses
 * - `encodeLatin1` / `writeLatin1`: write a built head byte for byte
 *
 * @module
 */
export { decodeLatin1, encodeLatin1, isFieldValue, isToken, writeLatin1 } from "./chars.ts";
export {
  DEFAULT_LIMITS,
  type Field,
  type Framing,
  type HeadError,
  type HeadLimits,
  type HeadResult,
  HeadScan,
  type HttpVersion,
  type Incomplete,
} from "./head.ts";
export { isValidHost } from "./fields.ts";
export { parseRequestHead, type RequestHead, type TargetForm } from "./request.ts";
export { parseResponseHead, type ResponseFraming, type ResponseHead } from "./response.ts";
export {
  type ChunkDataEndResult,
  type ChunkError,
  type ChunkLineResult,
  type ChunkSize,
  chunkSizeLine,
  forwardableTrailers,
  MAX_CHUNK_LINE,
  MAX_CHUNK_SIZE_DIGITS,
  parseChunkDataEnd,
  parseChunkLine,
  parseTrailers,
  type TrailersResult,
} from "./chunked.ts";
export {
  type ClientResponseOptions,
  type ClientResponsePlan,
  clientResponseHead,
  clientResponsePlan,
  HOP_BY_HOP,
  RESERVED_HEADERS,
  stripPathPrefix,
  upstreamRequestHead,
  type UpstreamRequestOptions,
} from "./rewrite.ts";
export { errorResponse, STATUS_TEXT } from "./errors.ts";
export { normalizePath, originFormOf } from "./path.ts";
