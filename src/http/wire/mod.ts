/**
 * Heads on bytes: parse into reused views, write forwarded heads into a
 * reused output buffer; no allocation per request on the keep-alive path.
 *
 * - `RequestView` / `parseRequestInto` / `toRequestHead`
 * - `ResponseView` / `parseResponseInto` / `toResponseHead`
 * - `compileRequestOptions` / `compileResponseOptions`: route and connection options as bytes, once
 * - `writeUpstreamRequest` / `writeClientResponse` / `responsePlan`
 *
 * @module
 */
export { framingOf, parseRequestInto, RequestView, toRequestHead } from "./request_view.ts";
export { parseResponseInto, ResponseView, toResponseHead } from "./response_view.ts";
export {
  compileEdits,
  type CompiledEdits,
  type CompiledRequestOptions,
  type CompiledResponseOptions,
  compileRequestOptions,
  compileResponseOptions,
  type RequestOptionsInput,
  type ResponseOptionsInput,
} from "./options.ts";
export { PLAN_DECHUNK, PLAN_KEEP_ALIVE, PLAN_SEND, responsePlan, writeClientResponse, writeUpstreamRequest } from "./writer.ts";
export {
  BODY_CHUNKED,
  BODY_CLOSE,
  BODY_LENGTH,
  BODY_NONE,
  F_ID,
  F_NAME,
  F_NAME_END,
  F_VALUE,
  F_VALUE_END,
  HeadView,
  STRIDE,
} from "./view.ts";
