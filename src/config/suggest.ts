/**
 * "Did you mean": the known word a typo most likely meant.
 *
 * @module
 */

/**
 * Edit distance with adjacent transpositions (optimal string alignment):
 * insertions, deletions, substitutions and swaps of two neighbours cost 1.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      row.push(d);
    }
    prev2 = prev;
    prev = row;
  }
  return prev[b.length];
}

/** Lowercase, without `-` and `_`: `connect_timeout`, `Connect-Timeout` and `connectTimeout` are one word. */
function fold(word: string): string {
  return word.toLowerCase().replace(/[-_]/g, "");
}

/**
 * The word of `known` that `typo` most likely meant, or undefined when none
 * is close: the same word but for case, `-` and `_`, or within an edit
 * distance that grows with the length (1 up to 4 characters, 2 up to 8, then 3).
 */
export function suggest(typo: string, known: readonly string[]): string | undefined {
  if (typo.length > 100) return undefined;
  const t = fold(typo);
  const same = known.find((k) => fold(k) === t);
  if (same !== undefined) return same;
  const limit = t.length <= 4 ? 1 : t.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const k of known) {
    const d = editDistance(t, fold(k));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}
