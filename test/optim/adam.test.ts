import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { optimizers } from '../../src/index.js';
import { clipped, close, reference, twoSteps } from '../helpers/optim.js';

describe('Adam: two steps against hand-written updates', () => {
  const adamReference = (lr: number, b1: number, b2: number, eps: number, decay = 0, clipNorm?: number) => {
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    return reference((w, raw, t) => {
      const g = clipNorm === undefined ? raw : clipped(raw, clipNorm);
      w.forEach((_, i) => {
        w[i]! -= lr * decay * w[i]!;
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
        w[i]! -= (lr / (1 - b1 ** t)) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps));
      });
    });
  };

  test('Adam (Keras defaults η = 1e-3, ε = 1e-7)', async () => {
    const got = await twoSteps(optimizers.adam());
    close(got, adamReference(1e-3, 0.9, 0.999, 1e-7));
    // by hand: the first step moves each weight by η·g/(|g| + ε) ≈ η against the gradient's sign
    close([got[0]!], [[1 - 1e-3, -2 + 1e-3, 0.5 - 1e-3]]);
  });

  test('Adam with other betas and epsilon', async () => {
    close(await twoSteps(optimizers.adam({ learningRate: 0.05, beta1: 0.5, beta2: 0.9, epsilon: 0.1 })), adamReference(0.05, 0.5, 0.9, 0.1));
  });

  test('AdamW decays w by η·λ before the Adam step (default λ = 0.004)', async () => {
    close(await twoSteps(optimizers.adamw({ learningRate: 0.1 })), adamReference(0.1, 0.9, 0.999, 1e-7, 0.004));
  });

  test('AdamW with clipNorm: the moments see the clipped gradient', async () => {
    // A large ε makes the step depend on the gradient's scale (‖g‖ ≈ 18 here), so clipping shows.
    const got = await twoSteps(optimizers.adamw({ learningRate: 0.1, weightDecay: 0.1, epsilon: 0.5, clipNorm: 1 }));
    close(got, adamReference(0.1, 0.9, 0.999, 0.5, 0.1, 1));
    assert.ok(Math.abs(got[0]![0]! - adamReference(0.1, 0.9, 0.999, 0.5, 0.1)[0]![0]!) > 1e-2);
  });

  test('AdamW leaves excluded variables undecayed (plain Adam steps)', async () => {
    const excluded = optimizers.adamw({ learningRate: 0.1, weightDecay: 0.5, excludeFromWeightDecay: (v) => v.name === 'w' });
    close(await twoSteps(excluded), adamReference(0.1, 0.9, 0.999, 1e-7));
  });

  test('bad betas are rejected with the received value', () => {
    assert.throws(() => optimizers.adam({ beta1: 1 }), /beta1 must be in \[0, 1\)\. Received: beta1=1/);
  });
});
