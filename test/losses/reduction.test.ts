import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { trace } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { matchLabels, meanOverLast, reduceLoss, reduceMeanOverLast } from '../../src/losses/reduction.js';
import { close, run } from '../helpers/losses.js';

describe('reduceLoss and reduceMeanOverLast', () => {
  const c = { yTrue: [0, 0, 0, 0, 0, 0], yPred: [1, 2, 3, 4, 5, 9], shape: [2, 3] };
  const sq = (p: ReturnType<typeof F.mul>) => F.mul(p, p);

  test("'mean' of all elements, 'sum', 'none', with the gradient of the mean", async () => {
    const m = await run(c, (_t, p) => reduceLoss(sq(p)));
    close(m.value, [(1 + 4 + 9 + 16 + 25 + 81) / 6]);
    close(m.grad, c.yPred.map((p) => (2 * p) / 6));
    close((await run(c, (_t, p) => reduceLoss(sq(p), 'sum'))).value, [136]);
    close((await run(c, (_t, p) => reduceLoss(sq(p), 'none'))).value, [1, 4, 9, 16, 25, 81]);
  });

  test('per-example means over the last axis, then reduced', async () => {
    close((await run(c, (_t, p) => meanOverLast(p))).value, [2, 6]);
    close((await run(c, (_t, p) => reduceMeanOverLast(p))).value, [4]);
    close((await run(c, (_t, p) => reduceMeanOverLast(p, 'sum'))).value, [8]);
    close((await run(c, (_t, p) => reduceMeanOverLast(p, 'none'))).value, [2, 6]);
  });

  test('an unknown reduction is refused, naming it', () => {
    trace((g) => {
      const x = g.input('x', [2]);
      assert.throws(() => reduceLoss(x, 'avg' as 'mean'), /loss: reduction must be 'mean', 'sum' or 'none', received "avg"/);
    });
  });
});

describe('matchLabels', () => {
  test('adds or drops a trailing 1, casts to the prediction dtype, and names mismatches', () => {
    trace((g) => {
      const p = g.input('p', [4, 1]);
      assert.deepEqual(matchLabels(g.input('a', [4]), p, 'mse').shape, [4, 1]);
      const q = g.input('q', [4]);
      assert.deepEqual(matchLabels(g.input('b', [4, 1]), q, 'mse').shape, [4]);
      const ints = matchLabels(g.input('c', [4, 1], 'int64'), p, 'mse');
      assert.equal(ints.dtype, 'float32');
      const same = g.input('d', [4, 1]);
      assert.equal(matchLabels(same, p, 'mse'), same);
      assert.throws(() => matchLabels(g.input('e', [4, 3, 2]), g.input('f', [4]), 'categoricalAccuracy'), /categoricalAccuracy: labels of shape \[4, 3, 2\] do not match predictions of shape \[4\]/);
    });
  });
});
