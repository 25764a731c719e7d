import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist } from '../../../src/data/index.js';
import { buildConvAutoencoder, convAutoencoder } from '../../../src/models/mnist/conv-autoencoder.js';

describe('conv-autoencoder', () => {
  test('NCHW [1, 28, 28] in and out, through a 7 × 7 bottleneck', () => {
    const model = buildConvAutoencoder();
    assert.deepEqual(model.inputs[0]!.shape, ['batch', 1, 28, 28]);
    assert.deepEqual(model.outputs[0]!.shape, ['batch', 1, 28, 28]);
    const bottleneck = model.layerCalls.find((c) => c.layer.name === 'encode_2')!.outputs[0]!;
    assert.deepEqual(bottleneck.shape.slice(2), [7, 7]);
  });

  test('a few steps lower the reconstruction loss of a batch of digits', async () => {
    const images = loadMnist().images.subarray(0, 32 * 784);
    const trainer = convAutoencoder.create({ lr: 3e-3, seed: 0 });
    const before = (await trainer.validate(images, 32)).val_loss!;
    for (let i = 0; i < 4; i++) await trainer.trainBatch(images, 32);
    const after = (await trainer.validate(images, 32)).val_loss!;
    assert.ok(after < before, `val_loss ${before} → ${after}`);
    assert.equal((await trainer.reconstruct!(images, 32)).length, 32 * 784);
  });
});
