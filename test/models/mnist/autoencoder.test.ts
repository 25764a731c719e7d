/**
 * The seed's autoencoder: its layers, and three Adam steps through the
 * autoencoder trainer checked against PyTorch 1.13
 * (../shared/fixtures/torch/mlp-autoencoder-adam: mean BCE, Adam(1e-3, ε 1e-7)).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { autoencoder, buildAutoencoder } from '../../../src/models/mnist/autoencoder.js';
import { loadTorchFixture, relativeError } from '../../helpers/torch-fixtures.js';
import { denseFromLinear } from './torch-linear.js';

const fixture = await loadTorchFixture('mlp-autoencoder-adam');

describe('autoencoder', () => {
  test('784 → 32 relu → 784 sigmoid', () => {
    const model = buildAutoencoder();
    assert.deepEqual(model.outputs[0]!.shape, ['batch', 784]);
    assert.equal(model.countParams(), 784 * 32 + 32 + 32 * 784 + 784);
  });

  test('three training steps match PyTorch losses and final weights', async () => {
    const trainer = autoencoder.create({ lr: 1e-3, seed: 0 });
    const model = trainer.state.models.autoencoder!;
    model.setWeights([...denseFromLinear(fixture, 'init.0'), ...denseFromLinear(fixture, 'init.2')]);
    const losses: number[] = [];
    for (const batch of ['batch0', 'batch1', 'batch2']) losses.push((await trainer.trainBatch(fixture.get(batch).data, 16)).loss!);
    const expected = fixture.meta.losses as number[];
    losses.forEach((loss, i) => assert.ok(Math.abs(loss - expected[i]!) < 1e-5, `step ${i + 1}: loss ${loss} vs torch ${expected[i]}`));
    const final = [...denseFromLinear(fixture, 'final.0'), ...denseFromLinear(fixture, 'final.2')];
    model.getWeights().forEach((w, i) => {
      const err = relativeError(w.data as Float32Array, final[i]!);
      assert.ok(err < 1e-5, `weight ${i}: relative error ${err}`);
    });
  });

  test('validation loss on the training batch falls after a few steps; reconstructions keep the shape', async () => {
    const trainer = autoencoder.create({ lr: 1e-2, seed: 1 });
    const images = fixture.get('batch0').data;
    const before = (await trainer.validate(images, 16)).val_loss!;
    for (let i = 0; i < 5; i++) await trainer.trainBatch(images, 16);
    const after = (await trainer.validate(images, 16)).val_loss!;
    assert.ok(after < before, `val_loss ${before} → ${after}`);
    const decoded = await trainer.reconstruct!(images, 16);
    assert.equal(decoded.length, 16 * 784);
  });
});
