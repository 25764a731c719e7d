import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { optimizers } from '../../src/index.js';
import { close, reference, twoSteps } from '../helpers/optim.js';

describe('Optimizer: what every optimizer shares', () => {
  test('clipNorm scales all gradients by c / max(‖g‖, c)', async () => {
    close(await twoSteps(optimizers.sgd({ learningRate: 0.1, clipNorm: 1 })), reference((w, g) => {
      const norm = Math.hypot(...g);
      w.forEach((_, i) => (w[i]! -= (0.1 * g[i]! * 1) / Math.max(norm, 1)));
    }));
  });

  test('a schedule is evaluated per step (iteration 0, 1, ...) and fed in', async () => {
    const rates: number[] = [];
    const got = await twoSteps(optimizers.sgd({ learningRate: (it) => (rates.push(it), 0.1 / (it + 1)) }));
    close(got, reference((w, g, t) => w.forEach((_, i) => (w[i]! -= (0.1 / t) * g[i]!))));
    assert.deepEqual(rates, [0, 1]);
  });

  test('getOptimizer resolves names to fresh optimizers and passes instances through', () => {
    const a = optimizers.getOptimizer('adam');
    assert.ok(a instanceof optimizers.Adam);
    assert.notEqual(optimizers.getOptimizer('adam'), a);
    assert.equal(optimizers.getOptimizer(a), a);
    assert.throws(() => optimizers.getOptimizer('adagrad' as 'adam'), /unknown optimizer 'adagrad'; known: sgd, adam, adamw, rmsprop/);
  });
});
