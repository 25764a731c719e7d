import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryAccuracy, categoricalAccuracy, resolveMetric, sparseCategoricalAccuracy } from '../../src/train/metrics.js';
import { checkOp } from '../helpers/gradcheck.js';

test('binaryAccuracy counts predictions on the right side of the threshold', async () => {
  const y = { shape: [4, 1], values: [1, 0, 1, 0] };
  const p = { shape: [4, 1], values: [0.9, 0.6, 0.4, 0.1] };
  await checkOp(({ y, p }) => binaryAccuracy(y!, p!), { y, p }, () => ({ data: [0.5], dims: [] }));
  await checkOp(({ y, p }) => binaryAccuracy(y!, p!, 0.3), { y, p }, () => [0.75]);
});

test('categorical and sparse categorical accuracy compare arg-maxes', async () => {
  const p = { shape: [3, 3], values: [0.1, 0.8, 0.1, 0.6, 0.3, 0.1, 0.2, 0.3, 0.5] }; // argmax 1, 0, 2
  const onehot = { shape: [3, 3], values: [0, 1, 0, 0, 0, 1, 0, 0, 1] }; // 1, 2, 2
  await checkOp(({ y, p }) => categoricalAccuracy(y!, p!), { y: onehot, p }, () => [2 / 3]);
  await checkOp(({ y, p }) => sparseCategoricalAccuracy(y!, p!), { y: { shape: [3], values: [1, 0, 0] }, p }, () => [2 / 3]);
  // Labels of shape [N, 1] are squeezed.
  await checkOp(({ y, p }) => sparseCategoricalAccuracy(y!, p!), { y: { shape: [3, 1], values: [1, 0, 2] }, p }, () => [1]);
});

test("resolveMetric follows Keras' rule for 'accuracy' and computes mse/mae", async () => {
  const p = { shape: [2, 2], values: [0.2, 0.8, 0.9, 0.1] };
  const y = { shape: [2, 2], values: [0, 1, 1, 1] };
  const run = (name: Parameters<typeof resolveMetric>[0], loss: Parameters<typeof resolveMetric>[1], units: number | undefined, expected: number) =>
    checkOp(({ y, p }) => resolveMetric(name, loss, units).compute(y!, p!), { y, p }, () => [expected]);
  // Binary, threshold 0.5 per element: predicted [0, 1, 1, 0] vs [0, 1, 1, 1] → 3/4.
  await run('accuracy', 'binaryCrossentropy', 2, 0.75);
  // Categorical: argmax [1, 0] vs labels' argmax [1, 0] → 1.
  await run('acc', 'categoricalCrossentropy', 2, 1);
  // mse: (0.04 + 0.04 + 0.01 + 0.81) / 4; mae: (0.2 + 0.2 + 0.1 + 0.9) / 4.
  await run('mse', null, 2, 0.225);
  await run('meanAbsoluteError', null, 2, 0.35);
  assert.equal(resolveMetric('accuracy', 'mse', 1).name, 'accuracy');
  assert.throws(() => resolveMetric('f1' as never, null, 1), /compile: unknown metric 'f1'; known: accuracy/);
});
