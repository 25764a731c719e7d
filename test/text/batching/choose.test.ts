/** Token choice helpers: greedy in place, top indices, log-sum-exp, and the row copy logprobs need. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { logSumExp, nucleusFloor, TokenChooser, topIndices } from '../../../src/text/batching/choose.js';
import { logSoftmax, softmax } from '../../../src/text/sampling.js';

describe('choose', () => {
  test('topIndices: the k largest, largest first, lower index first on ties', () => {
    const row = [0.5, 3, -1, 3, 2, 7, 0];
    assert.deepEqual(topIndices(row, 3), [5, 1, 3]);
    assert.deepEqual(topIndices(row, 1), [5]);
    assert.deepEqual(topIndices(row, 0), []);
    assert.deepEqual(topIndices(row, 10), [5, 1, 3, 4, 0, 6, 2]);
  });

  test('logSumExp matches log-softmax and survives large scores', () => {
    const row = Float32Array.of(1000, 999, 998);
    const ls = logSoftmax(row);
    const lse = logSumExp(row);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(row[i]! - lse - ls[i]!) < 1e-5);
  });

  test('greedy without logprobs leaves the row alone and reports NaN; with logprobs, the processors see a copy', () => {
    const row = Float32Array.of(0, 2, 1);
    const plain = new TokenChooser({ temperature: 0 }, [], undefined).choose(row, []);
    assert.equal(plain.token, 1);
    assert.ok(Number.isNaN(plain.logprob));
    const ban = (_tokens: readonly number[], scores: Float32Array): void => void (scores[1] = -Infinity);
    const chooser = new TokenChooser({ temperature: 0 }, [ban], 2);
    const c = chooser.choose(row, [4]);
    assert.equal(c.token, 2);
    assert.deepEqual([...row], [0, 2, 1]);
    const lse = Math.log(1 + Math.exp(2) + Math.exp(1));
    assert.ok(Math.abs(c.logprob - (1 - lse)) < 1e-6);
    assert.deepEqual(c.top!.map((t) => t.token), [1, 2]);
  });

  test('penalties count only generated tokens: presence once, frequency per occurrence', () => {
    const chooser = new TokenChooser({ temperature: 0, presence_penalty: 0.5, frequency_penalty: 1 }, [], undefined);
    // Token 0 leads by 1.6: after one pick it drops by 1.5 and still wins; after two, by 2.5, and token 1 wins.
    assert.equal(chooser.choose(Float32Array.of(1.6, 0), [0, 0, 0]).token, 0);
    assert.equal(chooser.choose(Float32Array.of(1.6, 0), []).token, 0);
    assert.equal(chooser.choose(Float32Array.of(1.6, 0), []).token, 1);
  });
});

describe('nucleusFloor', () => {
  /** transformers' rule by sorting: keep a token while the more likely ones hold less than p. */
  function bySorting(probs: Float64Array, p: number): number {
    const sorted = [...probs].filter((q) => q > 0).sort((a, b) => b - a);
    let above = 0;
    let floor = sorted[0]!;
    for (const q of sorted) {
      if (above >= p) break;
      floor = q;
      above += q;
    }
    return floor;
  }

  test('matches sorting on peaked, flat and tied distributions', () => {
    const rng = new Rng(4);
    const cases: Float64Array[] = [
      softmax(Float32Array.from({ length: 5000 }, () => rng.normal() * 4)),
      softmax(Float32Array.from({ length: 5000 }, () => rng.normal() * 0.01)),
      softmax(Float32Array.from({ length: 300 }, () => rng.int(4))),
      Float64Array.of(0.5, 0, 0.25, 0.25),
      Float64Array.of(1),
    ];
    for (const [i, probs] of cases.entries()) {
      for (const p of [0.05, 0.5, 0.9, 0.999, 1]) assert.equal(nucleusFloor(probs, p), bySorting(probs, p), `case ${i}, p ${p}`);
    }
  });
});
