import { test } from 'node:test';
import assert from 'node:assert/strict';
import { legacyMnistCheckpoint } from '../../../src/models/mnist/state.js';

const legacyRun = {
  model: 'gan',
  epoch: 2,
  epochs: 5,
  seed: 3,
  batchSize: 64,
  lr: 0.0002,
  limit: 1000,
  history: [
    { epoch: 1, g_loss: 2, d_loss: 1 },
    { epoch: 2, g_loss: 1.5, d_loss: 0.9 },
  ],
  optimizerSteps: { generator: 32, discriminator: 32 },
};

test('a Forja 0.1 checkpoint becomes a run stored at the end of its epoch, epochs counted from 0', () => {
  const stored = legacyMnistCheckpoint({ format: 'forja-mnist-checkpoint', run: JSON.stringify(legacyRun) });
  assert.deepEqual(stored, {
    position: { epoch: 2, step: 0, globalStep: 32 },
    history: [
      { epoch: 0, g_loss: 2, d_loss: 1 },
      { epoch: 1, g_loss: 1.5, d_loss: 0.9 },
    ],
    epochSums: { sums: {}, weight: 0 },
    optimizers: { generator: 32, discriminator: 32 },
    rngs: { noise: 0 },
    meta: { model: 'gan', epochs: 5, seed: 3, batchSize: 64, lr: 0.0002, limit: 1000 },
  });
});

test('anything else is not a legacy checkpoint', () => {
  assert.equal(legacyMnistCheckpoint({}), undefined);
  assert.equal(legacyMnistCheckpoint({ format: 'forja-checkpoint', run: JSON.stringify(legacyRun) }), undefined);
  assert.equal(legacyMnistCheckpoint({ format: 'forja-mnist-checkpoint' }), undefined);
  assert.equal(legacyMnistCheckpoint({ format: 'forja-mnist-checkpoint', run: '{not json' }), undefined);
  assert.equal(legacyMnistCheckpoint({ format: 'forja-mnist-checkpoint', run: JSON.stringify({ ...legacyRun, history: {} }) }), undefined);
  const noLimit = legacyMnistCheckpoint({ format: 'forja-mnist-checkpoint', run: JSON.stringify({ ...legacyRun, limit: undefined }) });
  assert.equal(noLimit?.meta?.limit, null);
});
