/**
 * DCGAN (Radford et al. 2016), sized for a CPU. The generator projects
 * 100-d noise to 64 × 7 × 7 and upsamples with two stride-2 transposed
 * convolutions (BatchNorm + ReLU between, sigmoid out); the discriminator
 * mirrors it with two stride-2 convolutions (32 and 64 channels), each
 * followed by LeakyReLU(0.2) and Dropout(0.3), and outputs a logit, so both
 * losses are BCE with logits. Weights start from N(0, 0.02) as in the paper.
 *
 * Keeping D from winning at once: no BatchNorm in D (over all-real and
 * all-fake batches its statistics alone tell the two apart), dropout, and
 * one-sided label smoothing (real label 0.9). With those, D's loss settles
 * near 0.65 rather than collapsing to 0.01, and small batches (32) at a
 * higher learning rate (6e-4) give G enough steps in a few minutes.
 * Training as in adversarial.ts.
 */
import { initializers, layers } from '../../nn/index.js';
import { sequential, type Sequential } from '../../keras/index.js';
import { ganSpec } from './adversarial.js';
import type { MnistModelSpec } from './spec.js';

export const NOISE_DIM = 100;
const IMAGE_SHAPE = [1, 28, 28];
/** Channels of the generator's last hidden layer and the discriminator's first. */
const BASE = 32;
/** Dropout after each of D's convolutions. */
const D_DROPOUT = 0.3;
/** D's target for real digits (one-sided label smoothing); fakes keep 0. */
const REAL_LABEL = 0.9;

/** The paper's initialisation; Glorot's is too large for these stacks and slows the start. */
const paperInit = () => initializers.initializer('randomNormal', { stddev: 0.02 });

const conv = (filters: number, name: string, extra: { inputShape?: number[] } = {}) =>
  layers.conv2d({ filters, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: paperInit(), name, ...extra });

const upConv = (filters: number, name: string, activation: 'linear' | 'sigmoid') =>
  layers.conv2dTranspose({ filters, kernelSize: 4, strides: 2, padding: 'same', activation, useBias: activation !== 'linear', kernelInitializer: paperInit(), name });

export function buildDcganGenerator(): Sequential {
  return sequential(
    [
      layers.dense({ units: 2 * BASE * 7 * 7, useBias: false, inputShape: [NOISE_DIM], kernelInitializer: paperInit(), name: 'g_project' }),
      layers.batchNormalization({ momentum: 0.9, name: 'g_project_bn' }),
      layers.activation({ activation: 'relu', name: 'g_project_relu' }),
      layers.reshape({ targetShape: [2 * BASE, 7, 7], name: 'g_reshape' }), // (B, 64, 7, 7)
      upConv(BASE, 'g_up_1', 'linear'), // (B, 32, 14, 14)
      layers.batchNormalization({ momentum: 0.9, name: 'g_up_1_bn' }),
      layers.activation({ activation: 'relu', name: 'g_up_1_relu' }),
      upConv(1, 'g_up_2', 'sigmoid'), // (B, 1, 28, 28)
    ],
    { name: 'generator' },
  );
}

export function buildDcganDiscriminator(): Sequential {
  return sequential(
    [
      conv(BASE, 'd_down_1', { inputShape: IMAGE_SHAPE }), // (B, 32, 14, 14)
      layers.leakyReLU({ alpha: 0.2, name: 'd_down_1_leaky' }),
      layers.dropout({ rate: D_DROPOUT, name: 'd_down_1_dropout' }),
      conv(2 * BASE, 'd_down_2'), // (B, 64, 7, 7)
      layers.leakyReLU({ alpha: 0.2, name: 'd_down_2_leaky' }),
      layers.dropout({ rate: D_DROPOUT, name: 'd_down_2_dropout' }),
      layers.flatten({ name: 'd_flatten' }),
      layers.dense({ units: 1, kernelInitializer: paperInit(), name: 'd_logit' }),
    ],
    { name: 'discriminator' },
  );
}

export const dcgan: MnistModelSpec = ganSpec({
  name: 'dcgan',
  description:
    'DCGAN: G 100 → Dense → BN → 64×7×7 → ConvTranspose(32) → BN → ConvTranspose(1, sigmoid); ' +
    'D Conv(32)/Conv(64), LeakyReLU(0.2), Dropout(0.3), no BN → logit; real label 0.9',
  defaults: { epochs: 16, batchSize: 32, lr: 6e-4 },
  // Measured: a second intra-op thread makes these small convolutions slower (two epochs: 37 s against 24 s).
  threads: 1,
  noiseDim: NOISE_DIM,
  imageShape: IMAGE_SHAPE,
  logits: true,
  realLabel: REAL_LABEL,
  buildGenerator: buildDcganGenerator,
  buildDiscriminator: buildDcganDiscriminator,
});
