import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { argmax, logSoftmax, sampleCategorical, sampleWithoutReplacement, softmax } from '../../src/text/sampling.js';
import { assertClose } from '../helpers/gradcheck.js';

describe('argmax', () => {
  test('the largest score; the first one on ties (torch.argmax)', () => {
    assert.equal(argmax([0.1, 3, -2, 2.9]), 1);
    assert.equal(argmax([5, 1, 5, 5]), 0);
    assert.equal(argmax(Float32Array.of(-Infinity, -Infinity, -1e30)), 2);
  });
});

describe('softmax and logSoftmax', () => {
  test('hand-computed: scores 0, ln 2, ln 3 give 1/6, 2/6, 3/6, whatever the offset', () => {
    assertClose(softmax([0, Math.LN2, Math.log(3)]), [1 / 6, 2 / 6, 3 / 6], { atol: 1e-15 }, 'softmax');
    // Large offsets overflow exp without the max shift.
    assertClose(softmax([1000, 1000 + Math.LN2, 1000 + Math.log(3)]), [1 / 6, 2 / 6, 3 / 6], { atol: 1e-12 }, 'shifted');
    assertClose(logSoftmax([0, Math.LN2, Math.log(3)]), [Math.log(1 / 6), Math.log(2 / 6), Math.log(3 / 6)], { atol: 1e-6 }, 'logSoftmax (float32)');
  });

  test('-Infinity scores get probability 0; all -Infinity is an error saying why', () => {
    assert.deepEqual([...softmax([-Infinity, 0, -Infinity, 0])], [0, 0.5, 0, 0.5]);
    assert.deepEqual([...logSoftmax([-Infinity, 0])], [-Infinity, 0]);
    assert.throws(() => softmax([-Infinity, -Infinity]), /softmax: every token has score -Infinity \(the logits processors filtered out the whole vocabulary\)/);
  });
});

describe('sampleCategorical', () => {
  test('one uniform draw u picks the first index whose running sum exceeds u · total', () => {
    const weights = [2, 0, 1, 5];
    const seeded = new Rng(42);
    const twin = new Rng(42);
    for (let k = 0; k < 50; k++) {
      const target = twin.next() * 8;
      const expected = target < 2 ? 0 : target < 3 ? 2 : 3;
      assert.equal(sampleCategorical(weights, seeded), expected, `draw ${k}, target ${target}`);
    }
  });

  test('frequencies match the weights within 5 standard deviations; zero weights are never drawn', () => {
    const weights = [1, 0, 2, 7];
    const n = 20000;
    const counts = [0, 0, 0, 0];
    const rng = new Rng(7);
    for (let k = 0; k < n; k++) counts[sampleCategorical(weights, rng)]!++;
    assert.equal(counts[1], 0);
    weights.forEach((w, i) => {
      const p = w / 10;
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(counts[i]! - n * p) <= 5 * sd, `index ${i}: ${counts[i]} draws, expected ${n * p} ± ${5 * sd}`);
    });
  });

  test('weights that sum to zero are an error', () => {
    assert.throws(() => sampleCategorical([0, 0], new Rng(1)), /sampleCategorical: the weights sum to zero/);
    assert.throws(() => sampleCategorical([], new Rng(1)), /the weights sum to zero/);
  });
});

describe('sampleWithoutReplacement', () => {
  test('distinct picks; a zero weight is never drawn, so asking for more than the positive ones is an error', () => {
    const rng = new Rng(3);
    for (let k = 0; k < 20; k++) {
      const picks = sampleWithoutReplacement([4, 0, 1, 2, 3], 4, rng);
      assert.equal(new Set(picks).size, 4);
      assert.ok(!picks.includes(1), 'the zero-weight index is never drawn');
    }
    assert.throws(() => sampleWithoutReplacement([1, 0], 2, rng), /the weights sum to zero/, 'more picks than positive weights');
  });

  test('the first pick follows the weights, the second the renormalised rest (as torch.multinomial)', () => {
    const weights = [6, 3, 1];
    const n = 20000;
    const rng = new Rng(11);
    let firstIs0 = 0;
    let secondIs1GivenFirst0 = 0;
    for (let k = 0; k < n; k++) {
      const [a, b] = sampleWithoutReplacement(weights, 2, rng);
      if (a === 0) {
        firstIs0++;
        if (b === 1) secondIs1GivenFirst0++;
      }
    }
    const p1 = 0.6;
    assert.ok(Math.abs(firstIs0 - n * p1) <= 5 * Math.sqrt(n * p1 * (1 - p1)), `first pick 0: ${firstIs0} of ${n}`);
    const p2 = 3 / 4; // after removing index 0: weights 3 and 1
    const m = firstIs0;
    assert.ok(Math.abs(secondIs1GivenFirst0 - m * p2) <= 5 * Math.sqrt(m * p2 * (1 - p2)), `second pick 1: ${secondIs1GivenFirst0} of ${m}`);
  });

  test('does not modify the caller’s weights', () => {
    const weights = Float32Array.of(1, 2, 3);
    sampleWithoutReplacement(weights, 3, new Rng(0));
    assert.deepEqual([...weights], [1, 2, 3]);
  });
});
