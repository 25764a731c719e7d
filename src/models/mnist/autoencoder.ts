/**
 * The seed article's autoencoder ("Building Autoencoders in Keras"): a
 * 784-pixel digit squeezed through 32 ReLU units and decoded back with a
 * sigmoid, trained with Adam on binary cross-entropy.
 *
 *   input_img = Input(shape=(784,))
 *   encoded = Dense(32, activation='relu')(input_img)
 *   decoded = Dense(784, activation='sigmoid')(encoded)
 *   autoencoder = Model(input_img, decoded)
 *   autoencoder.compile(optimizer='adam', loss='binary_crossentropy')
 */
import { input, layers } from '../../nn/index.js';
import { model, type Functional } from '../../keras/index.js';
import { reconstructionSpec } from './reconstruction.js';
import { MNIST_PIXELS, type MnistModelSpec } from './spec.js';

export const ENCODING_DIM = 32;
const IMAGE_SHAPE = [MNIST_PIXELS];

export function buildAutoencoder(): Functional {
  const inputImg = input({ shape: IMAGE_SHAPE, name: 'image' });
  const encoded = layers.dense({ units: ENCODING_DIM, activation: 'relu', name: 'encoded' }).apply(inputImg);
  const decoded = layers.dense({ units: MNIST_PIXELS, activation: 'sigmoid', name: 'decoded' }).apply(encoded);
  return model({ inputs: inputImg, outputs: decoded, name: 'autoencoder' });
}

export const autoencoder: MnistModelSpec = reconstructionSpec({
  name: 'autoencoder',
  description: "The seed's dense autoencoder: 784 → Dense(32, relu) → Dense(784, sigmoid), Adam, binary cross-entropy",
  defaults: { epochs: 50, batchSize: 256, lr: 1e-3 },
  exampleShape: IMAGE_SHAPE,
  build: buildAutoencoder,
  // 256 × 784 × 32 matmuls are too small to split: on 2 cores the 50-epoch run takes 6.1–6.4 s on one thread, 7.0–7.9 s on two.
  threads: 1,
});
