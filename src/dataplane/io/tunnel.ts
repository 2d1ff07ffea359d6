/**
 * A tunnel: two streams in opposite directions between the same two
 * sockets, until both finish. Used by TCP sessions and by HTTP after a 101.
 *
 * Half-close: when one direction's source ends and everything was
 * delivered, the other socket is shut for writing (SHUT_WR) and the other
 * direction keeps going. A failure on one side resets the side that is still
 * there (SO_LINGER {1, 0}), so the peer learns of it the way it would without
 * a proxy in between.
 *
 * @module
 */
import { SHUT_WR } from "../../../ffi/constants.ts";
import { setLingerReset } from "./sockets.ts";
import { type IoContext, S_DONE, S_FAILED, S_YIELD, type Stream, UNTIL_EOF } from "./stream.ts";

/** Both directions can still move bytes; wait for readiness. */
export const TUNNEL_OPEN = 0;
/** Both directions ended cleanly. */
export const TUNNEL_DONE = 1;
/** One direction failed; the survivor was reset. */
export const TUNNEL_RESET = 2;
/** A direction used its byte budget: run the tunnel again soon. */
export const TUNNEL_YIELD = 3;
/** Result of {@linkcode Tunnel.step}. */
export type TunnelResult = typeof TUNNEL_OPEN | typeof TUNNEL_DONE | typeof TUNNEL_RESET | typeof TUNNEL_YIELD;

/** Two streams, `forward` (a → b) and `backward` (b → a), each until EOF. */
export class Tunnel {
  #forwardDone = false;
  #backwardDone = false;

  constructor(readonly forward: Stream, readonly backward: Stream) {
    forward.remaining = UNTIL_EOF;
    backward.remaining = UNTIL_EOF;
  }

  /**
   * After TUNNEL_RESET: whether the far side (the forward destination, the
   * backward source: the upstream) is the one that failed, for passive health.
   */
  farSideFailed(): boolean {
    const { forward, backward } = this;
    return (forward.errno !== 0 && forward.failedAtDst) || (backward.errno !== 0 && !backward.failedAtDst);
  }

  /** Moves both directions as far as they go now. */
  step(ctx: IoContext): TunnelResult {
    let yielded = false;
    if (!this.#forwardDone) {
      const r = this.forward.step(ctx);
      if (r === S_FAILED) return this.#reset(ctx, this.forward);
      if (r === S_DONE) this.#forwardDone = this.#halfClose(ctx, this.forward);
      yielded = r === S_YIELD;
    }
    if (!this.#backwardDone) {
      const r = this.backward.step(ctx);
      if (r === S_FAILED) return this.#reset(ctx, this.backward);
      if (r === S_DONE) this.#backwardDone = this.#halfClose(ctx, this.backward);
      yielded ||= r === S_YIELD;
    }
    if (this.#forwardDone && this.#backwardDone) return TUNNEL_DONE;
    return yielded ? TUNNEL_YIELD : TUNNEL_OPEN;
  }

  /** When a byte last moved either way (ms): what an idle timeout counts. */
  get lastProgress(): number {
    const f = this.forward, b = this.backward;
    return Math.max(f.lastRead, f.lastWrite, b.lastRead, b.lastWrite);
  }

  /** The direction whose destination has not taken bytes for longest, or null. */
  get stalledSince(): number {
    const f = this.forward.stalledSince, b = this.backward.stalledSince;
    if (f === 0) return b;
    return b === 0 ? f : Math.min(f, b);
  }

  #halfClose(ctx: IoContext, s: Stream): true {
    ctx.sys.shutdown(s.dst.fd, SHUT_WR);
    return true;
  }

  #reset(ctx: IoContext, s: Stream): TunnelResult {
    setLingerReset(ctx.sys, s.failedAtDst ? s.src.fd : s.dst.fd);
    return TUNNEL_RESET;
  }
}
