/**
 * The seed's GAN: the architecture, and one discriminator step then one
 * generator step of gan.ts's losses checked against PyTorch 1.13
 * (../shared/fixtures/torch/mlp-gan-step, Adam(2e-4, β₁ 0.5, ε 1e-7)).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HostTensor } from '../../../src/nn/index.js';
import { Adam } from '../../../src/optim/index.js';
import { TrainStep } from '../../../src/train/index.js';
import { discriminatorLoss, generatorLoss, type GanArchitecture } from '../../../src/models/mnist/adversarial.js';
import { buildDiscriminator, buildGenerator, gan, NOISE_DIM } from '../../../src/models/mnist/gan.js';
import { loadTorchFixture, relativeError } from '../../helpers/torch-fixtures.js';
import { denseFromLinear } from './torch-linear.js';

const fixture = await loadTorchFixture('mlp-gan-step');

function seedGan(prefix: 'init' | 'final'): GanArchitecture {
  const generator = buildGenerator();
  const discriminator = buildDiscriminator();
  generator.setWeights([...denseFromLinear(fixture, `${prefix}.G.0`), ...denseFromLinear(fixture, `${prefix}.G.2`)]);
  discriminator.setWeights([...denseFromLinear(fixture, `${prefix}.D.0`), ...denseFromLinear(fixture, `${prefix}.D.2`)]);
  return { name: 'gan', generator, discriminator, noiseDim: NOISE_DIM, imageShape: [784], logits: false };
}

describe('gan', () => {
  test('layers and parameter counts are the seed article\'s', () => {
    const generator = buildGenerator();
    const discriminator = buildDiscriminator();
    assert.equal(generator.countParams(), 100 * 128 + 128 + 128 * 784 + 784);
    assert.equal(discriminator.countParams(), 784 * 128 + 128 + 128 + 1);
    assert.deepEqual(generator.outputs[0]!.shape, ['batch', 784]);
    assert.deepEqual(discriminator.outputs[0]!.shape, ['batch', 1]);
  });

  test('one D step then one G step match PyTorch: losses and every updated weight', async () => {
    const arch = seedGan('init');
    const adam = () => new Adam({ learningRate: 2e-4, beta1: 0.5, epsilon: 1e-7 });
    const dStep = new TrainStep({ inputs: { real: [784], z: [100] }, trainable: arch.discriminator, optimizer: adam(), loss: ({ real, z }) => discriminatorLoss(arch, real!, z!) });
    const gStep = new TrainStep({ inputs: { z: [100] }, trainable: arch.generator, optimizer: adam(), loss: ({ z }) => generatorLoss(arch, z!) });
    const z = new HostTensor(fixture.get('z').data, [16, 100]);
    const d = await dStep.run({ real: new HostTensor(fixture.get('real').data, [16, 784]), z });
    const g = await gStep.run({ z });
    assert.ok(Math.abs(d.loss - fixture.scalar('d_loss')) < 1e-5, `d_loss ${d.loss} vs torch ${fixture.scalar('d_loss')}`);
    assert.ok(Math.abs(g.loss - fixture.scalar('g_loss')) < 1e-5, `g_loss ${g.loss} vs torch ${fixture.scalar('g_loss')}`);
    const expected = seedGan('final');
    for (const part of ['generator', 'discriminator'] as const) {
      const got = arch[part].getWeights();
      expected[part].getWeights().forEach((w, i) => {
        const err = relativeError(got[i]!.data as Float32Array, w.data as Float32Array);
        assert.ok(err < 1e-5, `${part} weight ${i}: relative error ${err}`);
      });
    }
  });

  test('the trainer reports finite d_loss and g_loss, and samples images in [0, 1]', async () => {
    const trainer = gan.create({ lr: 2e-4, seed: 3 });
    const images = new Float32Array(8 * 784).map((_, i) => (i % 7) / 6);
    const metrics = await trainer.trainBatch(images, 8);
    assert.deepEqual(Object.keys(metrics).sort(), ['d_loss', 'g_loss']);
    assert.ok(Number.isFinite(metrics.d_loss) && Number.isFinite(metrics.g_loss));
    const samples = await trainer.sample!(5, 1);
    assert.equal(samples.length, 5 * 784);
    assert.ok(samples.every((v) => v >= 0 && v <= 1));
    assert.deepEqual(await trainer.sample!(5, 1), samples, 'the same seed draws the same digits');
  });
});
