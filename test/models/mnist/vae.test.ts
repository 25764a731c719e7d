/**
 * The VAE: vaeLoss (summed BCE + KL, averaged over the batch) and its
 * gradients checked against PyTorch 1.13 (../shared/fixtures/torch/vae-grads,
 * same ε), then a few training steps of the full-size model.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { grad } from '../../../src/autodiff/grad.js';
import { trace } from '../../../src/core/graph.js';
import { CompiledGraph, float32 } from '../../../src/runtime/session.js';
import { buildVaeDecoder, buildVaeEncoder, vae, vaeLoss } from '../../../src/models/mnist/vae.js';
import { loadTorchFixture, relativeError } from '../../helpers/torch-fixtures.js';
import { denseFromLinear } from './torch-linear.js';

const fixture = await loadTorchFixture('vae-grads');

describe('vae', () => {
  test('loss, its parts and every gradient match PyTorch', async () => {
    const encoder = buildVaeEncoder(64, 8);
    const decoder = buildVaeDecoder(64, 8);
    encoder.setWeights(['enc', 'mu', 'logvar'].flatMap((n) => denseFromLinear(fixture, `init.${n}`)));
    decoder.setWeights(['dec1', 'dec2'].flatMap((n) => denseFromLinear(fixture, `init.${n}`)));
    const weights = [...encoder.weights, ...decoder.weights];
    const { g, x, eps, parts, grads } = trace((g) => {
      const x = g.input('x', [16, 784]);
      const eps = g.input('eps', [16, 8]);
      const parts = vaeLoss(encoder, decoder, x, eps);
      const grads = grad(parts.loss, weights.map((w) => g.param(w)));
      return { g, x, eps, parts, grads };
    });
    const outputs = Object.fromEntries([
      ['loss', parts.loss],
      ['reconstruction', parts.reconstruction],
      ['kl', parts.kl],
      ...grads.map((t, i) => [`grad_${i}`, t!]),
    ]);
    const compiled = await CompiledGraph.compile({ graph: g, inputs: [x, eps], outputs, variables: 'inputs' });
    const out = await compiled.run({ x: float32(fixture.get('x').data, [16, 784]), eps: float32(fixture.get('eps').data, [16, 8]) });
    for (const [ours, theirs] of [['loss', 'loss'], ['reconstruction', 'bce'], ['kl', 'kl']] as const) {
      const value = (out[ours]!.data as Float32Array)[0]!;
      assert.ok(Math.abs(value - fixture.scalar(theirs)) <= 1e-5 * Math.abs(fixture.scalar(theirs)) + 1e-6, `${ours} ${value} vs torch ${theirs} ${fixture.scalar(theirs)}`);
    }
    const expected = ['enc', 'mu', 'logvar', 'dec1', 'dec2'].flatMap((n) => denseFromLinear(fixture, `grad.${n}`));
    expected.forEach((want, i) => {
      const err = relativeError(out[`grad_${i}`]!.data as Float32Array, want);
      assert.ok(err < 1e-5, `gradient of ${weights[i]!.name}: relative error ${err}`);
    });
  });

  test('training steps lower the loss; samples and reconstructions are images', async () => {
    const trainer = vae.create({ lr: 3e-3, seed: 2 });
    const images = fixture.get('x').data;
    const first = await trainer.trainBatch(images, 16);
    let last = first;
    for (let i = 0; i < 8; i++) last = await trainer.trainBatch(images, 16);
    assert.ok(last.loss! < first.loss!, `loss ${first.loss} → ${last.loss}`);
    assert.ok(Math.abs(first.loss! - (first.reconstruction! + first.kl!)) < 1e-3 * first.loss!, 'loss = reconstruction + kl');
    const samples = await trainer.sample!(4, 9);
    assert.equal(samples.length, 4 * 784);
    assert.ok(samples.every((v) => v >= 0 && v <= 1));
    assert.equal((await trainer.reconstruct!(images, 16)).length, 16 * 784);
  });
});
