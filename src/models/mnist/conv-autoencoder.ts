/**
 * A convolutional autoencoder on NCHW digits [1, 28, 28]: two stride-2
 * convolutions down to 8 × 7 × 7, two stride-2 transposed convolutions
 * back up, sigmoid output; Adam and binary cross-entropy as the seed.
 */
import { input, layers } from '../../nn/index.js';
import { model, type Functional } from '../../keras/index.js';
import { reconstructionSpec } from './reconstruction.js';
import type { MnistModelSpec } from './spec.js';

const IMAGE_SHAPE = [1, 28, 28];
/** 8 × 7 × 7 = 392 numbers per digit: half the pixels, so the code has to compress. */
const BOTTLENECK_CHANNELS = 8;

export function buildConvAutoencoder(): Functional {
  const image = input({ shape: IMAGE_SHAPE, name: 'image' });
  const conv = (filters: number, name: string) =>
    layers.conv2d({ filters, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name });
  const deconv = (filters: number, activation: 'relu' | 'sigmoid', name: string) =>
    layers.conv2dTranspose({ filters, kernelSize: 3, strides: 2, padding: 'same', activation, name });
  const encoded = conv(BOTTLENECK_CHANNELS, 'encode_2').apply(conv(16, 'encode_1').apply(image)); // (B, 8, 7, 7)
  const hidden = deconv(16, 'relu', 'decode_1').apply(encoded); // (B, 16, 14, 14)
  const decoded = deconv(1, 'sigmoid', 'decode_2').apply(hidden); // (B, 1, 28, 28)
  return model({ inputs: image, outputs: decoded, name: 'conv_autoencoder' });
}

export const convAutoencoder: MnistModelSpec = reconstructionSpec({
  name: 'conv-autoencoder',
  description: 'Convolutional autoencoder: Conv(16)/Conv(8) stride 2 → 8×7×7 → ConvTranspose(16)/ConvTranspose(1, sigmoid), Adam, BCE',
  defaults: { epochs: 20, batchSize: 128, lr: 2e-3 },
  exampleShape: IMAGE_SHAPE,
  build: buildConvAutoencoder,
});
