/**
 * 32-bit hashes for balancing keys and Maglev permutations: FNV-1a over the
 * bytes (or a string's UTF-16 code units) finished with murmur3's fmix32, so
 * keys that differ in one byte land far apart. Nothing here allocates.
 *
 * @module
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** murmur3's finaliser: spreads every input bit over the whole word. Returns an unsigned 32-bit number. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of `buf[start, end)`; `seed` picks an independent hash of the same bytes. */
export function hashBytes(buf: Uint8Array, start: number, end: number, seed = 0): number {
  let h = (FNV_OFFSET ^ seed) | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], FNV_PRIME);
  return mix32(h);
}

/** Hash of `s.slice(start, end)` by code unit, without making the slice. */
export function hashString(s: string, start = 0, end = s.length, seed = 0): number {
  let h = (FNV_OFFSET ^ seed) | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return mix32(h);
}
