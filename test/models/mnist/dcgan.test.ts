import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist } from '../../../src/data/index.js';
import { HostTensor } from '../../../src/nn/index.js';
import { Adam } from '../../../src/optim/index.js';
import { TrainStep } from '../../../src/train/index.js';
import { discriminatorLoss, generatorLoss, type GanArchitecture } from '../../../src/models/mnist/adversarial.js';
import { buildDcganDiscriminator, buildDcganGenerator, dcgan, NOISE_DIM } from '../../../src/models/mnist/dcgan.js';
import { Rng } from '../../../src/core/rng.js';

function normals(count: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: count }, () => rng.normal());
}

describe('dcgan', () => {
  test('generator maps noise to NCHW digits; discriminator gives one logit', () => {
    const generator = buildDcganGenerator();
    const discriminator = buildDcganDiscriminator();
    assert.deepEqual(generator.inputs[0]!.shape, ['batch', NOISE_DIM]);
    assert.deepEqual(generator.outputs[0]!.shape, ['batch', 1, 28, 28]);
    assert.deepEqual(discriminator.outputs[0]!.shape, ['batch', 1]);
  });

  test('repeated steps on one batch lower the discriminator loss, then the generator loss', async () => {
    const arch: GanArchitecture = {
      name: 'dcgan',
      generator: buildDcganGenerator(),
      discriminator: buildDcganDiscriminator(),
      noiseDim: NOISE_DIM,
      imageShape: [1, 28, 28],
      logits: true,
    };
    const real = new HostTensor(loadMnist().images.slice(0, 16 * 784), [16, 1, 28, 28]);
    const z = new HostTensor(normals(16 * NOISE_DIM, 5), [16, NOISE_DIM]);
    const dStep = new TrainStep({ inputs: { real: [1, 28, 28], z: [NOISE_DIM] }, trainable: arch.discriminator, optimizer: new Adam({ learningRate: 2e-3 }), loss: ({ real, z }) => discriminatorLoss(arch, real!, z!) });
    const gStep = new TrainStep({ inputs: { z: [NOISE_DIM] }, trainable: arch.generator, optimizer: new Adam({ learningRate: 2e-3 }), loss: ({ z }) => generatorLoss(arch, z!) });
    const dLosses: number[] = [];
    for (let i = 0; i < 4; i++) dLosses.push((await dStep.run({ real, z })).loss);
    assert.ok(dLosses[3]! < dLosses[0]!, `d_loss ${dLosses.join(' → ')}`);
    const gLosses: number[] = [];
    for (let i = 0; i < 4; i++) gLosses.push((await gStep.run({ z })).loss);
    assert.ok(gLosses[3]! < gLosses[0]!, `g_loss ${gLosses.join(' → ')}`);
  });

  test('the trainer takes a batch and samples images in [0, 1]', async () => {
    const trainer = dcgan.create({ lr: 2e-4, seed: 1 });
    const metrics = await trainer.trainBatch(loadMnist().images.subarray(0, 8 * 784), 8);
    assert.ok(Number.isFinite(metrics.d_loss) && Number.isFinite(metrics.g_loss));
    const samples = await trainer.sample!(3, 0);
    assert.equal(samples.length, 3 * 784);
    assert.ok(samples.every((v) => v >= 0 && v <= 1));
  });
});
