import { describe, test } from 'node:test';
import * as F from '../../src/core/ops/index.js';
import * as losses from '../../src/losses/index.js';
import { clip, close, EPS, mean, rows, run, sigmoid, type Case } from '../helpers/losses.js';

const binary: Case = { yTrue: [1, 0, 1, 0, 0, 1], yPred: [0.9, 0.2, 0.4, 1e-9, 0.7, 1], shape: [2, 3] };
const bceRef = (c: Case): number => mean(c.yTrue.map((y, i) => -(y * Math.log(clip(c.yPred[i]!) + EPS) + (1 - y) * Math.log(1 - clip(c.yPred[i]!) + EPS))));

describe('binaryCrossentropy', () => {
  test('probabilities: clipped to [ε, 1 − ε] like Keras', async () => {
    close((await run(binary, losses.binaryCrossentropy)).value, [bceRef(binary)]);
  });

  test("reduction 'sum' sums the per-example means; 'none' returns them", async () => {
    const perExample = rows(binary.yTrue, 3).map((ys, r) => bceRef({ yTrue: ys, yPred: binary.yPred.slice(3 * r, 3 * r + 3), shape: [1, 3] }));
    close((await run(binary, (t, p) => losses.binaryCrossentropy(t, p, { reduction: 'sum' }))).value, [perExample[0]! + perExample[1]!]);
    close((await run(binary, (t, p) => losses.binaryCrossentropy(t, p, { reduction: 'none' }))).value, perExample);
  });

  const logits: Case = { yTrue: [1, 0, 0.3, 1], yPred: [3, -200, 0.5, 150], shape: [4, 1] };
  const logitRef = (x: number, y: number): number => Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));

  test('fromLogits: stable for large |x|, gradient (σ(x) − y)/n', async () => {
    const { value, grad: g } = await run(logits, (t, p) => losses.binaryCrossentropy(t, p, { fromLogits: true }));
    close(value, [mean(logits.yPred.map((x, i) => logitRef(x, logits.yTrue[i]!)))]);
    close(g, logits.yPred.map((x, i) => (sigmoid(x) - logits.yTrue[i]!) / 4));
  });

  test('probabilities straight from a sigmoid use the logits (no clipping at ε)', async () => {
    const { value, grad: g } = await run(logits, losses.binaryCrossentropy, F.sigmoid);
    close(value, [mean(logits.yPred.map((x, i) => logitRef(x, logits.yTrue[i]!)))]);
    close(g, logits.yPred.map((x, i) => (sigmoid(x) - logits.yTrue[i]!) / 4));
  });

  // Wide rows take the logs of products of groups of factors (784 = 14 × 56); a prime width takes one log each.
  for (const width of [784, 67]) {
    test(`fromLogits over ${width} pixels: value within 1e-6 of float64, gradient exact`, async () => {
      let seed = 7;
      const random = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
      const c: Case = {
        yTrue: Array.from({ length: 3 * width }, () => random()),
        yPred: Array.from({ length: 3 * width }, (_, i) => (i % 97 === 0 ? 90 : 12) * (random() - 0.5)),
        shape: [3, width],
      };
      const { value, grad: g } = await run(c, (t, p) => losses.binaryCrossentropy(t, p, { fromLogits: true }));
      close(value, [mean(c.yPred.map((x, i) => logitRef(x, c.yTrue[i]!)))]);
      close(g, c.yPred.map((x, i) => (sigmoid(x) - c.yTrue[i]!) / c.yPred.length), 1e-9);
    });
  }

  test('[batch] labels against [batch, 1] predictions', async () => {
    const c: Case = { yTrue: [1, 0], yPred: [0.8, 0.3], shape: [2, 1], trueShape: [2] };
    close((await run(c, losses.binaryCrossentropy)).value, [-(Math.log(0.8 + EPS) + Math.log(0.7 + EPS)) / 2]);
  });
});

describe('categorical cross-entropies', () => {
  const probs: Case = { yTrue: [0, 1, 0, 1, 0, 0], yPred: [0.2, 0.5, 0.3, 0.05, 0.05, 1.9], shape: [2, 3] };

  test('categoricalCrossentropy renormalises and clips', async () => {
    const expected = mean(rows(probs.yPred, 3).map((p, r) => {
      const total = p.reduce((a, b) => a + b, 0);
      return -p.reduce((acc, v, k) => acc + probs.yTrue[3 * r + k]! * Math.log(clip(v / total)), 0);
    }));
    close((await run(probs, losses.categoricalCrossentropy)).value, [expected]);
  });

  const logits: Case = { yTrue: [0, 0, 1, 0.5, 0.5, 0], yPred: [1, 2, 3, -1, 0, 40], shape: [2, 3] };
  const logSoftmax = (row: number[]): number[] => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    return row.map((v) => v - lse);
  };
  const cceLogits = mean(rows(logits.yPred, 3).map((row, r) => -logSoftmax(row).reduce((a, l, k) => a + logits.yTrue[3 * r + k]! * l, 0)));

  test('categoricalCrossentropy fromLogits, and from a softmax output', async () => {
    close((await run(logits, (t, p) => losses.categoricalCrossentropy(t, p, { fromLogits: true }))).value, [cceLogits]);
    close((await run(logits, losses.categoricalCrossentropy, (p) => F.softmax(p))).value, [cceLogits]);
  });

  test('sparseCategoricalCrossentropy takes class indices', async () => {
    const c: Case = { yTrue: [2, 0], yPred: logits.yPred, shape: [2, 3], trueShape: [2] };
    const expected = mean(rows(logits.yPred, 3).map((row, r) => -logSoftmax(row)[c.yTrue[r]!]!));
    close((await run(c, (t, p) => losses.sparseCategoricalCrossentropy(t, p, { fromLogits: true }))).value, [expected]);
    const probsCase: Case = { yTrue: [1, 2], yPred: [0.2, 0.5, 0.3, 0.1, 0.1, 0.8], shape: [2, 3], trueShape: [2, 1] };
    close((await run(probsCase, losses.sparseCategoricalCrossentropy)).value, [-(Math.log(0.5) + Math.log(0.8)) / 2]);
  });
});

describe('kld', () => {
  test('kld: Σ y·log(y/p) per example, both clipped to [ε, 1]', async () => {
    const k: Case = { yTrue: [0.2, 0.8, 0, 1], yPred: [0.5, 0.5, 0.3, 0.7], shape: [2, 2] };
    const term = (y: number, p: number): number => {
      const yc = Math.min(Math.max(y, EPS), 1);
      return yc * Math.log(yc / Math.min(Math.max(p, EPS), 1));
    };
    const expected = mean(rows(k.yTrue, 2).map((ys, r) => ys.reduce((a, y, j) => a + term(y, k.yPred[2 * r + j]!), 0)));
    close((await run(k, losses.kld)).value, [expected]);
  });
});
