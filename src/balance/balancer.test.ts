/** Smooth weighted round robin over the shared control array: picks, weights, states, exclusions. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { allocateUpstreamControl, Balancer, CONTROL_SLOTS, DISABLED, DRAINING } from "./balancer.ts";

function setUp(n: number, weights: number[] = []) {
  const control = new Int32Array(allocateUpstreamControl(n));
  weights.forEach((w, j) => (control[j * CONTROL_SLOTS + 1] = w));
  return { control, balancer: new Balancer(Array.from({ length: n }, (_, j) => j), control) };
}

function picks(b: Balancer, k: number, exclude?: ReadonlySet<number>): number[] {
  return Array.from({ length: k }, () => b.next(exclude));
}

test("balancer: equal weights go round robin", () => {
  assert.deepEqual(picks(setUp(3).balancer, 6), [0, 1, 2, 0, 1, 2]);
});

test("balancer: weights are honoured smoothly (nginx's sequence for 5,1,1)", () => {
  assert.deepEqual(picks(setUp(3, [5, 1, 1]).balancer, 7), [0, 0, 1, 0, 2, 0, 0]);
});

test("balancer: draining, disabled and zero-weight upstreams get nothing; none usable is -1", () => {
  const { control, balancer } = setUp(3);
  control[0 * CONTROL_SLOTS] = DRAINING;
  control[1 * CONTROL_SLOTS + 1] = 0;
  assert.deepEqual(picks(balancer, 3), [2, 2, 2]);
  control[2 * CONTROL_SLOTS] = DISABLED;
  assert.equal(balancer.next(), -1);
});

test("balancer: excluded upstreams (already tried) are skipped", () => {
  const { balancer } = setUp(3);
  assert.deepEqual(picks(balancer, 4, new Set([1])), [0, 2, 0, 2]);
  assert.equal(balancer.next(new Set([0, 1, 2])), -1);
});

test("balancer: backups get traffic only when no primary is usable (or every usable one was tried)", () => {
  const control = new Int32Array(allocateUpstreamControl(3));
  const info = [{ id: "a" }, { id: "b" }, { id: "c", backup: true }];
  const b = new Balancer([0, 1, 2], control, { policy: "roundrobin" }, info);
  assert.deepEqual(picks(b, 4), [0, 1, 0, 1]);
  assert.equal(b.next(new Set([0, 1])), 2);
  control[0 * CONTROL_SLOTS] = DISABLED;
  control[1 * CONTROL_SLOTS] = DRAINING;
  assert.deepEqual(picks(b, 2), [2, 2]);
  control[1 * CONTROL_SLOTS] = 0;
  assert.deepEqual(picks(b, 2), [1, 1]);
});

test("balancer: each policy keeps backups behind the primaries", () => {
  for (const policy of ["leastconn", "random2", "hash"] as const) {
    const control = new Int32Array(allocateUpstreamControl(3));
    const b = new Balancer([0, 1, 2], control, { policy, hashKey: "clientIp" }, [{ id: "a" }, { id: "b", backup: true }, { id: "c" }]);
    for (let k = 0; k < 50; k++) assert.notEqual(b.next(undefined, k * 7919), 1, policy);
    control[0] = control[2 * CONTROL_SLOTS] = DISABLED;
    assert.equal(b.next(undefined, 42), 1, policy);
  }
});
