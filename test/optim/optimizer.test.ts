import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as F from '../../src/core/ops/index.js';
import { Variable } from '../../src/core/variable.js';
import { optimizers, schedules, type Optimizer } from '../../src/index.js';
import { read } from '../../src/nn/index.js';
import { StepRunner } from '../../src/train/step-runner.js';

const W0 = [1, -2, 0.5];
const SCALE = [1, 3, 0.5];

/** Two steps on loss = ½ Σ (s ⊙ w)², whose gradient is s² ⊙ w; returns w after each step. */
async function twoSteps(optimizer: Optimizer): Promise<number[][]> {
  const w = new Variable('w', [3], Float32Array.from(W0));
  const runner = await StepRunner.compile({
    name: 'optimizer_test',
    inputs: [{ name: 's', shape: [3], dtype: 'float32' }],
    forward: ({ s }) => {
      const sw = F.mul(s!, read(w));
      return { loss: F.mul(F.sum(F.mul(sw, sw)), 0.5), outputs: {} };
    },
    trainable: () => [w],
    optimizer,
  });
  (runner.buffers.s as Float32Array).set(SCALE);
  const after: number[][] = [];
  for (let i = 0; i < 2; i++) {
    await runner.run();
    after.push(Array.from(w.value));
  }
  return after;
}

/** The same two steps in float64 with `update(w, g, t)` mutating w. */
function reference(update: (w: number[], g: number[], t: number) => void): number[][] {
  const w = [...W0];
  const after: number[][] = [];
  for (let t = 1; t <= 2; t++) {
    update(w, w.map((v, i) => SCALE[i]! ** 2 * v), t);
    after.push([...w]);
  }
  return after;
}

const close = (actual: number[][], expected: number[][], tol = 1e-6): void =>
  actual.forEach((row, s) => row.forEach((v, i) => assert.ok(Math.abs(v - expected[s]![i]!) < tol, `step ${s + 1} [${i}]: ${v} vs ${expected[s]![i]}`)));

describe('optimizers: two steps against hand-written updates', () => {
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

  const adamReference = (lr: number, b1: number, b2: number, eps: number, decay = 0) => {
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    return reference((w, g, t) => w.forEach((_, i) => {
      w[i]! -= lr * decay * w[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
      w[i]! -= (lr / (1 - b1 ** t)) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps));
    }));
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

  test('AdamW leaves excluded variables undecayed (plain Adam steps)', async () => {
    const excluded = optimizers.adamw({ learningRate: 0.1, weightDecay: 0.5, excludeFromWeightDecay: (v) => v.name === 'w' });
    close(await twoSteps(excluded), adamReference(0.1, 0.9, 0.999, 1e-7));
  });

  test('RMSprop: s ← ρs + (1 − ρ)g²; w ← w − ηg/√(s + ε)', async () => {
    const s = [0, 0, 0];
    close(await twoSteps(optimizers.rmsprop({ learningRate: 0.01 })), reference((w, g) => w.forEach((_, i) => {
      s[i] = 0.9 * s[i]! + 0.1 * g[i]! ** 2;
      w[i]! -= (0.01 * g[i]!) / Math.sqrt(s[i]! + 1e-7);
    })));
  });

  test('RMSprop centered with momentum', async () => {
    const s = [0, 0, 0];
    const avg = [0, 0, 0];
    const m = [0, 0, 0];
    close(await twoSteps(optimizers.rmsprop({ learningRate: 0.01, momentum: 0.5, centered: true })), reference((w, g) => w.forEach((_, i) => {
      s[i] = 0.9 * s[i]! + 0.1 * g[i]! ** 2;
      avg[i] = 0.9 * avg[i]! + 0.1 * g[i]!;
      m[i] = 0.5 * m[i]! + (0.01 * g[i]!) / Math.sqrt(s[i]! - avg[i]! ** 2 + 1e-7);
      w[i]! -= m[i]!;
    })), 1e-5);
  });

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
});

describe('schedules', () => {
  test('cosineDecay with linear warmup', () => {
    const lr = schedules.cosineDecay({ initialLearningRate: 0, warmupTarget: 1, warmupSteps: 10, decaySteps: 100, alpha: 0.1 });
    assert.equal(lr(0), 0);
    assert.equal(lr(5), 0.5);
    assert.equal(lr(10), 1);
    assert.ok(Math.abs(lr(60) - (0.9 * 0.5 * (1 + Math.cos(Math.PI * 0.5)) + 0.1)) < 1e-12);
    assert.ok(Math.abs(lr(110) - 0.1) < 1e-12);
    assert.ok(Math.abs(lr(500) - 0.1) < 1e-12);
    assert.equal(schedules.constant(0.3)(1234), 0.3);
  });

  test('bad arguments are rejected with the received value', () => {
    assert.throws(() => schedules.cosineDecay({ initialLearningRate: 1, decaySteps: 0 }), /decaySteps must be a positive integer, received 0/);
    assert.throws(() => optimizers.adam({ beta1: 1 }), /beta1 must be in \[0, 1\)\. Received: beta1=1/);
    assert.throws(() => optimizers.getOptimizer('adagrad' as 'adam'), /unknown optimizer 'adagrad'/);
  });
});
