import { describe, test } from 'node:test';
import * as losses from '../../src/losses/index.js';
import { close, mean, run, type Case } from '../helpers/losses.js';

describe('regression losses', () => {
  const c: Case = { yTrue: [1, 2, 3, -1], yPred: [1.5, 1, 3, 1], shape: [2, 2] };

  test('meanSquaredError and meanAbsoluteError, with gradients', async () => {
    const mse = await run(c, losses.meanSquaredError);
    close(mse.value, [mean(c.yPred.map((p, i) => (p - c.yTrue[i]!) ** 2))]);
    close(mse.grad, c.yPred.map((p, i) => (2 * (p - c.yTrue[i]!)) / 4));
    close((await run(c, losses.meanAbsoluteError)).value, [mean(c.yPred.map((p, i) => Math.abs(p - c.yTrue[i]!)))]);
  });

  test("reductions: 'sum' adds the per-example means, 'none' returns them", async () => {
    // Per-row mean of |p - y|: (0.5 + 1) / 2 and (0 + 2) / 2.
    close((await run(c, (t, p) => losses.meanAbsoluteError(t, p, { reduction: 'none' }))).value, [0.75, 1]);
    close((await run(c, (t, p) => losses.meanAbsoluteError(t, p, { reduction: 'sum' }))).value, [1.75]);
    // Per-row mean of (p - y)²: (0.25 + 1) / 2 and (0 + 4) / 2.
    close((await run(c, (t, p) => losses.meanSquaredError(t, p, { reduction: 'sum' }))).value, [0.625 + 2]);
  });
});
