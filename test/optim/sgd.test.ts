import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { optimizers } from '../../src/index.js';
import { close, reference, twoSteps } from '../helpers/optim.js';

describe('SGD: two steps against hand-written updates', () => {
  test('SGD: w ← w − η·g (default η = 0.01)', async () => {
    close(await twoSteps(optimizers.sgd()), reference((w, g) => w.forEach((_, i) => (w[i]! -= 0.01 * g[i]!))));
    // by hand: w[0] = 1 − 0.01·1 = 0.99, then 0.99 − 0.01·0.99 = 0.9801
    assert.ok(Math.abs((await twoSteps(optimizers.sgd()))[1]![0]! - 0.9801) < 1e-6);
  });

  test('SGD with momentum: v ← μv − ηg; w ← w + v', async () => {
    const v = [0, 0, 0];
    close(await twoSteps(optimizers.sgd({ learningRate: 0.1, momentum: 0.9 })), reference((w, g) => w.forEach((_, i) => {
      v[i] = 0.9 * v[i]! - 0.1 * g[i]!;
      w[i]! += v[i]!;
    })));
  });

  test('SGD with Nesterov momentum: w ← w + μv − ηg', async () => {
    const v = [0, 0, 0];
    close(await twoSteps(optimizers.sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true })), reference((w, g) => w.forEach((_, i) => {
      v[i] = 0.9 * v[i]! - 0.1 * g[i]!;
      w[i]! += 0.9 * v[i]! - 0.1 * g[i]!;
    })));
  });

  test('momentum outside [0, 1] is refused with the received value', () => {
    assert.throws(() => optimizers.sgd({ momentum: 1.5 }), /SGD: momentum must be in \[0, 1\]\. Received: momentum=1\.5/);
  });
});
