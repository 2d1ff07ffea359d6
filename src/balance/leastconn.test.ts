/** Least connections and two random choices over the shared S_ACTIVE counts. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { allocateUpstreamControl, CONTROL_SLOTS, DRAINING, S_ACTIVE, S_STATE, S_WEIGHT } from "./balancer.ts";
import { LeastConn } from "./leastconn.ts";
import { Random2 } from "./random2.ts";

function control(active: number[], weights?: number[]): Int32Array {
  const c = new Int32Array(allocateUpstreamControl(active.length));
  active.forEach((a, j) => (c[j * CONTROL_SLOTS + S_ACTIVE] = a));
  weights?.forEach((w, j) => (c[j * CONTROL_SLOTS + S_WEIGHT] = w));
  return c;
}

test("leastconn: the upstream with the fewest active connections wins", () => {
  const lc = new LeastConn([0, 1, 2], control([5, 1, 3]));
  assert.equal(lc.pick(undefined), 1);
});

test("leastconn: weighted (active/weight): 4 on weight 4 beats 2 on weight 1", () => {
  assert.equal(new LeastConn([0, 1], control([4, 2], [4, 1])).pick(undefined), 0);
});

test("leastconn: ties go round robin; excluded and draining ones are skipped", () => {
  const c = control([0, 0, 0]);
  const lc = new LeastConn([0, 1, 2], c);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => lc.pick(undefined)), [0, 1, 2, 0, 1, 2]);
  c[0 * CONTROL_SLOTS + S_STATE] = DRAINING;
  assert.equal(lc.pick(new Set([1])), 2);
  assert.equal(lc.pick(new Set([1, 2])), -1);
});

test("leastconn: connections counted as they open fill the upstreams evenly", () => {
  const c = control([10, 0, 0]);
  const lc = new LeastConn([0, 1, 2], c);
  for (let k = 0; k < 20; k++) Atomics.add(c, lc.pick(undefined) * CONTROL_SLOTS + S_ACTIVE, 1);
  assert.deepEqual([0, 1, 2].map((j) => c[j * CONTROL_SLOTS + S_ACTIVE]), [10, 10, 10]);
});

test("random2: idle upstreams get a roughly even share", () => {
  const r = new Random2([0, 1, 2, 3], control([0, 0, 0, 0]));
  const counts = [0, 0, 0, 0];
  for (let k = 0; k < 8000; k++) counts[r.pick(undefined)]++;
  for (const n of counts) assert.ok(n > 1600 && n < 2400, String(counts));
});

test("random2: of two choices the less loaded wins, so the most loaded one is never picked", () => {
  const r = new Random2([0, 1, 2], control([9, 1, 2]));
  for (let k = 0; k < 1000; k++) assert.notEqual(r.pick(undefined), 0);
});

test("random2: one usable is chosen, none is -1", () => {
  const c = control([0, 0]);
  const r = new Random2([0, 1], c);
  assert.equal(r.pick(new Set([0])), 1);
  c[1 * CONTROL_SLOTS + S_STATE] = DRAINING;
  assert.equal(r.pick(new Set([0])), -1);
});
