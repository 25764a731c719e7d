/**
 * GAN training shared by the dense GAN and the DCGAN (Goodfellow et al.
 * 2014, with the non-saturating generator loss). Each batch takes two
 * steps, each with its own Adam:
 *
 *   D step: ½·[BCE(D(x), 1) + BCE(D(G(z)), 0)], updating D only (a
 *           GAN may set a real label below 1: one-sided label smoothing);
 *   G step: BCE(D(G(z)), 1) with the updated D, updating G only (D frozen).
 *
 * z ~ N(0, I) is drawn in JS from a seeded Rng, the same z for both steps.
 * Generator and discriminator are saved together as the Keras "combined"
 * model Sequential([generator, discriminator]).
 */
import type { Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { binaryCrossentropy } from '../../losses/index.js';
import { setRandomSeed } from '../../nn/index.js';
import { loadModel, saveModel, sequential, type Model } from '../../keras/index.js';
import { Adam } from '../../optim/index.js';
import { TrainStep } from '../../train/index.js';
import { binaryCrossentropyMean, imageBatch, NoiseSource, predictFloats, sampleNoise, subModel } from './common.js';
import type { MnistModel, MnistModelName, MnistModelSpec, MnistTrainer, TrainSettings } from './spec.js';

export interface GanArchitecture {
  name: Extract<MnistModelName, 'gan' | 'dcgan'>;
  generator: Model;
  discriminator: Model;
  noiseDim: number;
  /** Per-image shape the discriminator takes: [784] or NCHW [1, 28, 28]. */
  imageShape: readonly number[];
  /** The discriminator outputs logits (BCE with logits) rather than probabilities. */
  logits: boolean;
  /** D's target for real digits; below 1 is one-sided label smoothing (default 1: none). */
  realLabel?: number;
}

/** Fakes D's validation loss is measured on, from fixed noise so epochs compare. */
const VALIDATION_FAKES = 1000;

export interface GanOptimizerSettings {
  lr: number;
  beta1: number;
}

function bce(arch: GanArchitecture, label: number, score: Tensor): Tensor {
  const target = label === 1 ? F.onesLike(score) : label === 0 ? F.zerosLike(score) : F.mul(F.onesLike(score), label);
  return binaryCrossentropy(target, score, { fromLogits: arch.logits });
}

/** ½·[BCE(D(x), r) + BCE(D(G(z)), 0)] with r = arch.realLabel (default 1), traced in the graph being built. */
export function discriminatorLoss(arch: GanArchitecture, real: Tensor, z: Tensor): Tensor {
  const fake = arch.generator.apply(z);
  return F.mul(F.add(bce(arch, arch.realLabel ?? 1, arch.discriminator.apply(real)), bce(arch, 0, arch.discriminator.apply(fake))), 0.5);
}

/** BCE(D(G(z)), 1): the generator wants its fakes called real. */
export function generatorLoss(arch: GanArchitecture, z: Tensor): Tensor {
  return bce(arch, 1, arch.discriminator.apply(arch.generator.apply(z)));
}

function ganModel(arch: Pick<GanArchitecture, 'name' | 'generator' | 'noiseDim'>): MnistModel {
  return { name: arch.name, sample: (count, seed) => predictFloats(arch.generator, sampleNoise(count, arch.noiseDim, seed)) };
}

/** Probabilities from the discriminator's outputs. */
function probabilities(scores: Float32Array, logits: boolean): Float32Array {
  return logits ? scores.map((s) => 1 / (1 + Math.exp(-s))) : scores;
}

export function ganTrainer(arch: GanArchitecture, settings: GanOptimizerSettings, seed: number): MnistTrainer {
  const { generator, discriminator, noiseDim, imageShape } = arch;
  const combined = sequential([generator, discriminator], { name: arch.name });
  const adam = (): Adam => new Adam({ learningRate: settings.lr, beta1: settings.beta1 });
  const dOptimizer = adam();
  const gOptimizer = adam();
  const dStep = new TrainStep({
    name: `${arch.name}_d_step`,
    inputs: { real: imageShape, z: [noiseDim] },
    trainable: discriminator,
    optimizer: dOptimizer,
    loss: ({ real, z }) => discriminatorLoss(arch, real!, z!),
  });
  const gStep = new TrainStep({
    name: `${arch.name}_g_step`,
    inputs: { z: [noiseDim] },
    trainable: generator,
    optimizer: gOptimizer,
    loss: ({ z }) => generatorLoss(arch, z!),
  });
  const noise = new NoiseSource(seed + 1);
  const validationNoise = sampleNoise(VALIDATION_FAKES, noiseDim, seed + 2);

  return {
    ...ganModel(arch),
    state: {
      models: { [arch.name]: combined },
      optimizers: { d_adam: { optimizer: dOptimizer, trains: discriminator }, g_adam: { optimizer: gOptimizer, trains: generator } },
      rngs: { noise: noise.rng },
    },
    startEpoch: (epoch) => noise.startEpoch(epoch),
    async trainBatch(images, count) {
      const z = noise.next(count, noiseDim);
      const d = await dStep.run({ real: imageBatch(images, count, imageShape), z });
      const g = await gStep.run({ z });
      return { d_loss: d.loss, g_loss: g.loss };
    },
    /** val_loss: D's BCE on the held-out digits (label 1) and as many fixed-noise fakes (label 0). */
    async validate(images, count) {
      const n = Math.min(count, validationNoise.rows);
      const fakes = await predictFloats(generator, validationNoise.sliceRows(0, n));
      const realScores = await predictFloats(discriminator, imageBatch(images, n, imageShape));
      const fakeScores = await predictFloats(discriminator, imageBatch(fakes, n, imageShape));
      const realLoss = binaryCrossentropyMean(new Float32Array(n).fill(1), probabilities(realScores, arch.logits));
      const fakeLoss = binaryCrossentropyMean(new Float32Array(n), probabilities(fakeScores, arch.logits));
      return { val_loss: 0.5 * (realLoss + fakeLoss) };
    },
    save: (dir) => saveModel(combined, dir),
  };
}

/** A saved GAN's generator, ready to sample. */
export async function loadGan(name: GanArchitecture['name'], dir: string, noiseDim: number): Promise<MnistModel> {
  const combined = await loadModel(dir);
  return ganModel({ name, generator: subModel(combined, 'generator', dir), noiseDim });
}

export interface GanSpecArgs extends Omit<GanArchitecture, 'generator' | 'discriminator'> {
  description: string;
  defaults: TrainSettings;
  threads?: number;
  buildGenerator: () => Model;
  buildDiscriminator: () => Model;
}

/** The spec of a GAN trained as above, with Adam(lr, β₁ = 0.5) for both players. */
export function ganSpec(args: GanSpecArgs): MnistModelSpec {
  const { description, defaults, threads, buildGenerator, buildDiscriminator, ...shape } = args;
  const withLogits = shape.logits ? ' (from logits)' : '';
  return {
    name: shape.name,
    description,
    defaults,
    ...(threads === undefined ? {} : { threads }),
    lossDoc:
      `d_loss is the discriminator's ½[BCE(D(x), ${shape.realLabel ?? 1}) + BCE(D(G(z)), 0)]${withLogits}, g_loss the generator's BCE(D(G(z)), 1); ` +
      "train_loss reports g_loss; val_loss is D's BCE on the 1,000 held-out digits and 1,000 fixed-noise fakes.",
    create({ lr, seed }) {
      setRandomSeed(seed);
      return ganTrainer({ ...shape, generator: buildGenerator(), discriminator: buildDiscriminator() }, { lr, beta1: 0.5 }, seed);
    },
    load: (dir) => loadGan(shape.name, dir, shape.noiseDim),
  };
}
