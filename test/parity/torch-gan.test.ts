/**
 * Parity with PyTorch 1.13 (../shared/fixtures/torch/mlp-gan-step): the
 * seed's GAN, one discriminator step on ½(BCE(D(real), 1) + BCE(D(G(z)), 0))
 * then one generator step on BCE(D(G(z)), 1), Adam(2e-4, β₁ = 0.5, ε = 1e-7).
 * Done twice: with the Keras API (trainOnBatch, trainable = false) and with TrainStep.
 */
import { readFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import * as F from '../../src/core/ops/index.js';
import { readSafetensors, type SafetensorsTensor } from '../../src/io/safetensors.js';
import { HostTensor, layers, losses, optimizers, sequential, TrainStep, type Sequential } from '../../src/index.js';
import { fixturePath } from '../helpers/fixtures.js';
import { assertClose, kernelFromLinear, tensor, WEIGHT_ATOL } from './torch-weights.js';

const DIR = fixturePath('torch', 'mlp-gan-step');
let golden: Map<string, SafetensorsTensor>;
let expected: { d_loss: number; g_loss: number };

before(async () => {
  golden = await readSafetensors(`${DIR}/golden.safetensors`);
  expected = JSON.parse(await readFile(`${DIR}/golden.json`, 'utf8'));
});

const adam = () => optimizers.adam({ learningRate: 2e-4, beta1: 0.5, epsilon: 1e-7 });

function mlp(inputs: number, outputs: number, prefix: string): Sequential {
  const m = sequential([layers.dense({ units: 128, inputShape: [inputs] }), layers.leakyReLU({ alpha: 0.01 }), layers.dense({ units: outputs, activation: 'sigmoid' })]);
  m.setWeights([kernelFromLinear(golden, `${prefix}.0.weight`), tensor(golden, `${prefix}.0.bias`), kernelFromLinear(golden, `${prefix}.2.weight`), tensor(golden, `${prefix}.2.bias`)]);
  return m;
}

function assertWeights(m: Sequential, prefix: string): void {
  const [k0, b0, k2, b2] = m.getWeights().map((w) => w.data as Float32Array);
  assertClose(k0!, kernelFromLinear(golden, `${prefix}.0.weight`), `${prefix}.0 kernel`, 1e-5, WEIGHT_ATOL);
  assertClose(b0!, tensor(golden, `${prefix}.0.bias`), `${prefix}.0 bias`, 1e-5, WEIGHT_ATOL);
  assertClose(k2!, kernelFromLinear(golden, `${prefix}.2.weight`), `${prefix}.2 kernel`, 1e-5, WEIGHT_ATOL);
  assertClose(b2!, tensor(golden, `${prefix}.2.bias`), `${prefix}.2 bias`, 1e-5, WEIGHT_ATOL);
}

describe('PyTorch parity: GAN discriminator step then generator step', () => {
  test('Keras API: discriminator.trainOnBatch, then gan.trainOnBatch with the discriminator frozen', async () => {
    const generator = mlp(100, 784, 'init.G');
    const discriminator = mlp(784, 1, 'init.D');
    discriminator.compile({ optimizer: adam(), loss: 'binaryCrossentropy' });
    discriminator.trainable = false;
    const gan = sequential([generator, discriminator]);
    gan.compile({ optimizer: adam(), loss: 'binaryCrossentropy' });

    const z = new HostTensor(tensor(golden, 'z'), [16, 100]);
    const fake = await generator.predict(z);
    // One batch of 16 real then 16 fake: its mean BCE is ½(BCE(real, 1) + BCE(fake, 0)).
    const both = new Float32Array(32 * 784);
    both.set(tensor(golden, 'real'));
    both.set(fake.data as Float32Array, 16 * 784);
    const labels = new Float32Array(32).fill(1, 0, 16);
    const d = await discriminator.trainOnBatch(new HostTensor(both, [32, 784]), labels);
    const g = await gan.trainOnBatch(z, new Float32Array(16).fill(1));

    assertClose([d.loss, g.loss], [expected.d_loss, expected.g_loss], 'losses');
    assertWeights(generator, 'final.G');
    assertWeights(discriminator, 'final.D');
  });

  test('TrainStep: the same two steps as custom losses', async () => {
    const generator = mlp(100, 784, 'init.G');
    const discriminator = mlp(784, 1, 'init.D');
    const dStep = new TrainStep({
      inputs: { real: [784], z: [100] },
      trainable: discriminator,
      optimizer: adam(),
      loss: ({ real, z }) => {
        const fake = generator.apply(z!);
        const ones = discriminator.apply(real!);
        const zeros = discriminator.apply(fake);
        const dReal = losses.binaryCrossentropy(F.onesLike(ones), ones);
        const dFake = losses.binaryCrossentropy(F.zerosLike(zeros), zeros);
        return { loss: F.mul(F.add(dReal, dFake), 0.5), dReal, dFake };
      },
    });
    const gStep = new TrainStep({
      inputs: { z: [100] },
      trainable: generator,
      optimizer: adam(),
      loss: ({ z }) => {
        const p = discriminator.apply(generator.apply(z!));
        return losses.binaryCrossentropy(F.onesLike(p), p);
      },
    });
    const z = new HostTensor(tensor(golden, 'z'), [16, 100]);
    const d = await dStep.run({ real: new HostTensor(tensor(golden, 'real'), [16, 784]), z });
    const g = await gStep.run({ z });
    assertClose([d.loss, g.loss], [expected.d_loss, expected.g_loss], 'losses');
    assertClose([(d.dReal as number) + (d.dFake as number)], [2 * expected.d_loss], 'extra outputs dReal + dFake');
    assertWeights(generator, 'final.G');
    assertWeights(discriminator, 'final.D');
  });
});
