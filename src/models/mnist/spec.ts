/**
 * What every MNIST model file exports: a spec the training run, `forja
 * sample` and `forja eval` drive without knowing the architecture. Images are
 * always rows of 28×28 = 784 floats in [0, 1]; a conv model reshapes them to
 * NCHW [1, 28, 28] inside its own graph.
 */
import type { Model } from '../../keras/index.js';
import type { Rng } from '../../core/rng.js';
import type { Optimizer } from '../../optim/index.js';

export const MNIST_PIXELS = 784;

export type MnistModelName = 'autoencoder' | 'conv-autoencoder' | 'vae' | 'gan' | 'dcgan' | 'diffusion';

/** Per-batch or per-epoch numbers by name: loss, g_loss, d_loss, val_loss... */
export type Metrics = Record<string, number>;

export interface TrainSettings {
  epochs: number;
  batchSize: number;
  lr: number;
}

export interface CreateOptions {
  lr: number;
  /** Seeds weight initialisation and every random draw the model makes (noise, ε). */
  seed: number;
}

/** A trained model as loaded from a run directory: what sample/eval use. */
export interface MnistModel {
  readonly name: MnistModelName;
  /** Autoencoders and the VAE: the decoded images of `count` input rows. */
  reconstruct?(images: Float32Array, count: number): Promise<Float32Array>;
  /** VAE and GANs: `count` new images from seeded noise. */
  sample?(count: number, seed: number): Promise<Float32Array>;
  /** Class-conditional models: one new image of each requested digit (0–9). */
  sampleDigits?(labels: ArrayLike<number>, options: ConditionalSampleOptions): Promise<Float32Array>;
}

/** How a class-conditional model samples; unset fields take the model's defaults. */
export interface ConditionalSampleOptions {
  seed: number;
  /** Classifier-free guidance scale (0: unconditional, 1: conditional, above: guided). */
  guidance?: number;
  /** Denoising steps (DDIM). */
  steps?: number;
  sampler?: 'ddim' | 'ddpm';
  /** DDIM's η: 0 deterministic, 1 as noisy as DDPM. */
  eta?: number;
  /** Progress: network steps done of the total. */
  onStep?: (done: number, total: number) => void;
}

/**
 * Everything training changes, by stable name: each model's weights
 * (BatchNorm statistics included) and, per optimizer, its moments for the
 * weights of the model it trains and its step count.
 */
export interface TrainingState {
  models: Record<string, Model>;
  optimizers: Record<string, { optimizer: Optimizer; trains: Model }>;
  /** Noise streams (GAN z, VAE ε), by name. */
  rngs?: Record<string, Rng>;
}

/** A model being trained: the run loop feeds it batches and checkpoints it. */
export interface MnistTrainer extends MnistModel {
  /** Called before the first batch of each epoch (0-based), so random draws can follow (seed, epoch). Not called when a run resumes inside an epoch: the checkpoint restores the streams. */
  startEpoch?(epoch: number): void;
  /** One optimisation step on `count` rows (and their digits' labels); returns the batch's metrics (finite unless training diverged). */
  trainBatch(images: Float32Array, count: number, labels?: Uint8Array): Promise<Metrics>;
  /** Held-out metrics; always includes val_loss (see each model for what it measures). */
  validate(images: Float32Array, count: number, labels?: Uint8Array): Promise<Metrics>;
  /** What a checkpoint holds to resume exactly: see TrainingState. */
  readonly state: TrainingState;
  /** Weights and config (saveModel) into `dir`, for loadModel/`spec.load`. */
  save(dir: string): Promise<void>;
}

export interface MnistModelSpec {
  readonly name: MnistModelName;
  /** One line for `forja train --help`. */
  readonly description: string;
  /** Defaults chosen to give recognisable digits in well under 3 minutes on 2 cores. */
  readonly defaults: TrainSettings;
  /** Intra-op threads when none are asked for; unset: ONNX Runtime's default (one per core). */
  readonly threads?: number;
  /** What the model's loss and val_loss mean, for --help and the JSON result. */
  readonly lossDoc: string;
  create(options: CreateOptions): MnistTrainer;
  /** The model saved by `save` in `dir`. */
  load(dir: string): Promise<MnistModel>;
}
