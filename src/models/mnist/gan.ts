/**
 * The seed article's GAN: a dense generator and discriminator with
 * LeakyReLU(0.01), both trained with Adam(2e-4, β1 = 0.5) on binary
 * cross-entropy; see adversarial.ts for the two steps per batch.
 *
 *   generator:     z (100) → Dense(128) → LeakyReLU(0.01) → Dense(784, sigmoid)
 *   discriminator: x (784) → Dense(128) → LeakyReLU(0.01) → Dense(1, sigmoid)
 */
import { layers } from '../../nn/index.js';
import { sequential, type Sequential } from '../../keras/index.js';
import { ganSpec } from './adversarial.js';
import { MNIST_PIXELS, type MnistModelSpec } from './spec.js';

export const NOISE_DIM = 100;
const HIDDEN = 128;

export function buildGenerator(): Sequential {
  return sequential(
    [
      layers.dense({ units: HIDDEN, inputShape: [NOISE_DIM], name: 'g_hidden' }),
      layers.leakyReLU({ alpha: 0.01, name: 'g_leaky' }),
      layers.dense({ units: MNIST_PIXELS, activation: 'sigmoid', name: 'g_pixels' }),
    ],
    { name: 'generator' },
  );
}

export function buildDiscriminator(): Sequential {
  return sequential(
    [
      layers.dense({ units: HIDDEN, inputShape: [MNIST_PIXELS], name: 'd_hidden' }),
      layers.leakyReLU({ alpha: 0.01, name: 'd_leaky' }),
      layers.dense({ units: 1, activation: 'sigmoid', name: 'd_score' }),
    ],
    { name: 'discriminator' },
  );
}

export const gan: MnistModelSpec = ganSpec({
  name: 'gan',
  description: "The seed's GAN: G 100 → Dense(128) → LeakyReLU(0.01) → Dense(784, sigmoid); D 784 → Dense(128) → LeakyReLU(0.01) → Dense(1, sigmoid)",
  defaults: { epochs: 60, batchSize: 64, lr: 2e-4 },
  // 64 × 128 matmuls are too small to split: a second thread costs twice the CPU for no speed-up.
  threads: 1,
  noiseDim: NOISE_DIM,
  imageShape: [MNIST_PIXELS],
  logits: false,
  buildGenerator,
  buildDiscriminator,
});
