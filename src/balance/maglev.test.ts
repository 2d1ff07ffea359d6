/** Maglev: table shares, weights, the removal property (about 1/N of keys move), next preference when down. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { allocateUpstreamControl, CONTROL_SLOTS, DISABLED, S_STATE } from "./balancer.ts";
import { mix32 } from "./hash.ts";
import { buildMaglevTable, MAGLEV_SIZE, Maglev } from "./maglev.ts";

const names = (n: number) => Array.from({ length: n }, (_, i) => `web/api/10.0.0.${i + 1}:8080`);
const KEYS = 100_000;
const key = (k: number) => mix32(k * 2654435761);

function shares(table: Uint16Array, n: number): number[] {
  const count = new Array(n).fill(0);
  for (const m of table) count[m]++;
  return count.map((c) => c / table.length);
}

test("maglev: equal weights share the table evenly", () => {
  for (const s of shares(buildMaglevTable(names(10), new Array(10).fill(1)), 10)) {
    assert.ok(s > 0.095 && s < 0.105, `share ${s}`);
  }
});

test("maglev: weights set the shares (3:1:0)", () => {
  const s = shares(buildMaglevTable(names(3), [3, 1, 0]), 3);
  assert.ok(Math.abs(s[0] - 0.75) < 0.01 && Math.abs(s[1] - 0.25) < 0.01 && s[2] === 0, String(s));
});

test("maglev: removing one of 10 upstreams remaps about 1/10 of the keys; the others' keys mostly stay", () => {
  const all = names(10), w = new Array(10).fill(1);
  const before = buildMaglevTable(all, w);
  const removed = 4;
  const rest = all.filter((_, i) => i !== removed);
  const after = buildMaglevTable(rest, w.slice(1));
  let moved = 0, movedOthers = 0, others = 0;
  for (let k = 0; k < KEYS; k++) {
    const slot = key(k) % MAGLEV_SIZE;
    const was = all[before[slot]], now = rest[after[slot]];
    if (was !== now) moved++;
    if (was !== all[removed]) {
      others++;
      if (was !== now) movedOthers++;
    }
  }
  const share = moved / KEYS;
  assert.ok(share >= 0.07 && share <= 0.15, `remapped ${share}`);
  assert.ok(movedOthers / others < 0.05, `keys of the remaining upstreams moved: ${movedOthers / others}`);
  // Modulo hashing would move ~90 %: the bound above is what makes this consistent hashing.
  let modMoved = 0;
  for (let k = 0; k < KEYS; k++) if (all[key(k) % 10] !== rest[key(k) % 9]) modMoved++;
  assert.ok(modMoved / KEYS > 0.5);
});

test("maglev: a disabled upstream's keys go to their next preference, the same every time; the others' do not move", () => {
  const control = new Int32Array(allocateUpstreamControl(10));
  const members = Array.from({ length: 10 }, (_, j) => j);
  const m = new Maglev(members, control, names(10), new Array(10).fill(1));
  const first = Array.from({ length: 20_000 }, (_, k) => m.pick(undefined, key(k)));
  control[3 * CONTROL_SLOTS + S_STATE] = DISABLED;
  const counts = new Array(10).fill(0);
  for (let k = 0; k < first.length; k++) {
    const j = m.pick(undefined, key(k));
    assert.notEqual(j, 3);
    if (first[k] !== 3) assert.equal(j, first[k]);
    else counts[j]++;
    assert.equal(m.pick(undefined, key(k)), j);
  }
  // The disabled one's keys spread over the others, not all onto one.
  assert.ok(counts.filter((c) => c > 0).length >= 5, String(counts));
});

test("maglev: excluded (tried) upstreams are skipped; none usable is -1; no key goes round robin", () => {
  const control = new Int32Array(allocateUpstreamControl(3));
  const m = new Maglev([0, 1, 2], control, names(3), [1, 1, 1]);
  const j = m.pick(undefined, 12345);
  const next = m.pick(new Set([j]), 12345);
  assert.ok(next >= 0 && next !== j);
  assert.equal(m.pick(new Set([0, 1, 2]), 12345), -1);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(() => m.pick(undefined, -1)), [0, 1, 2, 0, 1, 2]);
});
