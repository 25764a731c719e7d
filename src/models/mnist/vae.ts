/**
 * A variational autoencoder (Kingma & Welling 2014) with dense encoder and
 * decoder. The encoder gives μ and log σ² of q(z|x); the reparameterisation
 * z = μ + exp(½ log σ²)·ε, with ε ~ N(0, I) drawn in JS from a seeded Rng
 * and fed as an input (so runs are reproducible), keeps z differentiable.
 *
 * Loss per digit = BCE summed over the 784 pixels + KL(q(z|x) ‖ N(0, I)),
 * KL = −½ Σ (1 + log σ² − μ² − σ²), averaged over the batch.
 * val_loss is the mean per-pixel reconstruction BCE of the held-out digits
 * decoded from z = μ, comparable with the autoencoders' val_loss.
 */
import type { Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { binaryCrossentropy } from '../../losses/index.js';
import { input, layers, setRandomSeed } from '../../nn/index.js';
import { loadModel, model, saveModel, type Functional, type Model } from '../../keras/index.js';
import { Adam } from '../../optim/index.js';
import { TrainStep } from '../../train/index.js';
import { binaryCrossentropyMean, imageBatch, NoiseSource, predictFloats, sampleNoise, subModel } from './common.js';
import { MNIST_PIXELS, type MnistModel, type MnistModelSpec, type MnistTrainer } from './spec.js';

export const LATENT_DIM = 8;
const HIDDEN = 256;

/** x → (μ, log σ²). */
export function buildVaeEncoder(hidden = HIDDEN, latent = LATENT_DIM): Functional {
  const x = input({ shape: [MNIST_PIXELS], name: 'image' });
  const h = layers.dense({ units: hidden, activation: 'relu', name: 'encoder_hidden' }).apply(x);
  const zMean = layers.dense({ units: latent, name: 'z_mean' }).apply(h);
  const zLogVar = layers.dense({ units: latent, name: 'z_log_var' }).apply(h);
  return model({ inputs: x, outputs: [zMean, zLogVar], name: 'encoder' });
}

/** z → pixel probabilities. */
export function buildVaeDecoder(hidden = HIDDEN, latent = LATENT_DIM): Functional {
  const z = input({ shape: [latent], name: 'z' });
  const h = layers.dense({ units: hidden, activation: 'relu', name: 'decoder_hidden' }).apply(z);
  const pixels = layers.dense({ units: MNIST_PIXELS, activation: 'sigmoid', name: 'pixels' }).apply(h);
  return model({ inputs: z, outputs: pixels, name: 'decoder' });
}

/** Encoder and decoder side by side in one model, so one saveModel/loadModel keeps both. */
function vaeContainer(encoder: Model, decoder: Model): Functional {
  const x = input({ shape: [MNIST_PIXELS], name: 'vae_image' });
  const z = input({ shape: [LATENT_DIM], name: 'vae_z' });
  return model({ inputs: [x, z], outputs: [...encoder.apply([x]), decoder.apply(z)], name: 'vae' });
}

export interface VaeLoss {
  loss: Tensor;
  /** Batch means, per digit. */
  reconstruction: Tensor;
  kl: Tensor;
}

/** The negative ELBO of a batch of images `x` with noise `eps`, traced in the graph being built. */
export function vaeLoss(encoder: Model, decoder: Model, x: Tensor, eps: Tensor): VaeLoss {
  const [zMean, zLogVar] = encoder.apply([x]) as [Tensor, Tensor];
  const z = F.add(zMean, F.mul(F.exp(F.mul(zLogVar, 0.5)), eps)); // (B, latent)
  const decoded = decoder.apply(z); // (B, 784)
  // binaryCrossentropy averages over pixels; ×784 makes it the per-digit sum.
  const reconstruction = F.mul(binaryCrossentropy(x, decoded), MNIST_PIXELS);
  const klPerDigit = F.mul(F.sum(F.sub(F.add(zLogVar, 1), F.add(F.square(zMean), F.exp(zLogVar))), [-1]), -0.5);
  const kl = F.mean(klPerDigit);
  return { loss: F.add(reconstruction, kl), reconstruction, kl };
}

function vaeModel(encoder: Model, decoder: Model): MnistModel {
  const reconstruct = async (images: Float32Array, count: number): Promise<Float32Array> => {
    const [zMean] = await encoder.predictOutputs(imageBatch(images, count, [MNIST_PIXELS]), { batchSize: 250 });
    return predictFloats(decoder, zMean!);
  };
  return {
    name: 'vae',
    reconstruct,
    sample: (count, seed) => predictFloats(decoder, sampleNoise(count, LATENT_DIM, seed)),
  };
}

function vaeTrainer(lr: number, seed: number): MnistTrainer {
  const encoder = buildVaeEncoder();
  const decoder = buildVaeDecoder();
  const container = vaeContainer(encoder, decoder);
  const optimizer = new Adam({ learningRate: lr });
  const step = new TrainStep({
    name: 'vae_step',
    inputs: { x: [MNIST_PIXELS], eps: [LATENT_DIM] },
    trainable: [encoder, decoder],
    optimizer,
    loss: ({ x, eps }) => {
      const { loss, reconstruction, kl } = vaeLoss(encoder, decoder, x!, eps!);
      return { loss, reconstruction, kl };
    },
  });
  const noise = new NoiseSource(seed + 1);
  const model = vaeModel(encoder, decoder);
  return {
    ...model,
    state: { models: { vae: container }, optimizers: { adam: { optimizer, trains: container } }, rngs: { noise: noise.rng } },
    startEpoch: (epoch) => noise.startEpoch(epoch),
    async trainBatch(images, count) {
      const result = await step.run({ x: imageBatch(images, count, [MNIST_PIXELS]), eps: noise.next(count, LATENT_DIM) });
      return { loss: result.loss, reconstruction: Number(result.reconstruction), kl: Number(result.kl) };
    },
    async validate(images, count) {
      const decoded = await model.reconstruct!(images, count);
      return { val_loss: binaryCrossentropyMean(images.subarray(0, count * MNIST_PIXELS), decoded) };
    },
    save: (dir) => saveModel(container, dir),
  };
}

export const vae: MnistModelSpec = {
  name: 'vae',
  description: `Variational autoencoder: 784 → Dense(${HIDDEN}, relu) → μ, log σ² (${LATENT_DIM}-d) → z → Dense(${HIDDEN}, relu) → Dense(784, sigmoid)`,
  defaults: { epochs: 30, batchSize: 128, lr: 1e-3 },
  lossDoc:
    'loss is BCE summed over pixels + KL divergence, per digit (reconstruction and kl are its parts); ' +
    'val_loss is the mean per-pixel reconstruction BCE of the held-out digits decoded from z = μ.',
  create({ lr, seed }) {
    setRandomSeed(seed);
    return vaeTrainer(lr, seed);
  },
  async load(dir) {
    const container = await loadModel(dir);
    return vaeModel(subModel(container, 'encoder', dir), subModel(container, 'decoder', dir));
  },
};
