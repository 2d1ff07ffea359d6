// The byte pattern every soak transfer carries: a deterministic AES-256-CTR keystream that the
// soak client and the soak upstream generate identically, so each side checks every byte it
// receives against the pattern (byte-exact, with the offset of the first wrong byte).
import crypto from "node:crypto";

export const POOL_SIZE = 64 << 20;

export function makePool(size = POOL_SIZE) {
  const c = crypto.createCipheriv("aes-256-ctr", Buffer.alloc(32, 7), Buffer.alloc(16, 9));
  return Buffer.concat([c.update(Buffer.alloc(size)), c.final()]);
}

/**
 * A checker for a stream expected to equal pool[off, off+len): feed chunks; `bad` is the first
 * wrong offset (or -1), `got` the bytes seen; bytes past len count as `extra`.
 */
export function checker(pool, off, len) {
  return {
    got: 0, bad: -1, extra: 0,
    feed(chunk) {
      const take = Math.min(chunk.length, len - this.got);
      if (take > 0 && this.bad < 0) {
        const want = pool.subarray(off + this.got, off + this.got + take);
        if (!want.equals(take === chunk.length ? chunk : chunk.subarray(0, take))) {
          for (let i = 0; i < take; i++) if (chunk[i] !== want[i]) { this.bad = this.got + i; break; }
        }
      }
      this.got += Math.max(0, take);
      this.extra += chunk.length - Math.max(0, take);
    },
    get complete() { return this.got === len; },
  };
}
