/**
 * The class-conditional MNIST diffusion model: the U-Net (unet.ts) trained on
 * DDPM's forward process and sampled with DDIM or DDPM under classifier-free
 * guidance (schedule.ts).
 *
 * Training, per batch, on the host from one seeded stream: t ~ U{0…T−1},
 * ε ~ N(0, I), x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε with x₀ = 2x − 1, and each label
 * replaced by the null class with probability P_UNCOND, so the same network
 * also learns the unconditional prediction guidance extrapolates from.
 *
 * The network predicts v = √ᾱ·ε − √(1 − ᾱ)·x₀ (Salimans & Ho 2022) rather than
 * ε: at high noise an ε-network must be extremely precise to imply a usable x₀
 * (x₀'s error is ε's times √(1 − ᾱ)/√ᾱ, about 150 at t = 999), so in a run of
 * a few thousand steps it gives blobs; v reads as x₀ there and as ε at low
 * noise. The samplers get ε = √(1 − ᾱ)·x_t + √ᾱ·v. The loss is v's MSE
 * weighted by min(SNR_t, γ)/(SNR_t + 1) (Min-SNR, Hang et al. 2023), which
 * keeps the nearly noise-free steps from dominating. An exponential moving
 * average of the weights (decay min(EMA_DECAY, (1 + n)/(10 + n)) after step n)
 * is what is saved and sampled.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../../../core/graph.js';
import * as F from '../../../core/ops/index.js';
import { Rng } from '../../../core/rng.js';
import { writeJsonAtomic } from '../../../io/atomic.js';
import { HostTensor, input, setRandomSeed, weightPaths } from '../../../nn/index.js';
import { loadModel, model as functional, saveModel, type Model } from '../../../keras/index.js';
import { Adam } from '../../../optim/index.js';
import { TrainStep } from '../../../train/index.js';
import { NoiseSource } from '../common.js';
import { MNIST_PIXELS, type ConditionalSampleOptions, type MnistModel, type MnistModelSpec, type MnistTrainer } from '../spec.js';
import { DEFAULT_SCHEDULE, NoiseSchedule, sampleDdim, sampleDdpm, type NoisePredictor, type ScheduleConfig } from './schedule.js';
import { CLASSES, DEFAULT_UNET, NULL_CLASS, UNet, type UNetConfig } from './unet.js';

/** Probability of training a row with the null class (classifier-free guidance's label dropout). */
export const P_UNCOND = 0.1;
/** Min-SNR loss weighting's γ. */
const MIN_SNR_GAMMA = 5;
/** Short runs: an average over the last ~200 steps, not the 1,000 of 0.999, which would still hold the first epoch. */
const EMA_DECAY = 0.995;
/**
 * Default sampling: DDIM steps and guidance scale w. Measured on the default run (README): w 1.5 → FID 4.2,
 * accuracy 93.3%; 1.75 → 6.9, 95.2%; 2 → 10.8, 97.3%. 50 steps gave the same as 25.
 */
export const DEFAULT_STEPS = 25;
export const DEFAULT_GUIDANCE = 1.75;
/** Images per network call when sampling (twice as many rows with guidance). */
const SAMPLE_CHUNK = 100;
const DIFFUSION_FILE = 'diffusion.json';
const IMAGE_SHAPE = [1, 28, 28];

export interface DiffusionFile {
  format: 'forja-diffusion';
  /** What the network predicts ('v' only, for now). */
  prediction: 'v';
  schedule: ScheduleConfig;
  nullClass: number;
  defaults: { steps: number; guidance: number };
}

/** The network as a Keras model of three inputs: x_t [B, 1, 28, 28], t [B, 1], class [B, 1] (int64). */
export function buildDiffusionModel(config: UNetConfig = DEFAULT_UNET, name = 'diffusion'): Model {
  const x = input({ shape: IMAGE_SHAPE, name: 'x_t' });
  const t = input({ shape: [1], name: 't' });
  const label = input({ shape: [1], dtype: 'int64', name: 'class' });
  const unet = new UNet({ ...config, name: 'unet' });
  return functional({ inputs: [x, t, label], outputs: unet.apply([x, t, label])[0]!, name });
}

/** ε from the network's v at x_t: ε = √(1 − ᾱ)·x_t + √ᾱ·v, in place. */
function epsFromV(v: Float32Array, x: Float32Array, alphaBar: number): Float32Array {
  const [a, s] = [Math.sqrt(alphaBar), Math.sqrt(1 - alphaBar)];
  for (let i = 0; i < v.length; i++) v[i] = s * x[i]! + a * v[i]!;
  return v;
}

/** The network's ε for `rows` images at one timestep, `SAMPLE_CHUNK`-sized runs at most. */
function predictor(net: Model, schedule: NoiseSchedule): NoisePredictor {
  return async (x, t, labels, rows) => {
    const ts = new Float32Array(rows).fill(t);
    const out = await net.predict([new HostTensor(x, [rows, ...IMAGE_SHAPE]), new HostTensor(ts, [rows, 1]), new HostTensor(labels, [rows, 1])], { batchSize: 2 * SAMPLE_CHUNK });
    return epsFromV(out.data as Float32Array, x, schedule.alphasCumprod[t]!);
  };
}

/** Samples from [−1, 1] to MNIST's [0, 1]. */
function toPixels(x: Float32Array): Float32Array {
  return x.map((v) => Math.min(1, Math.max(0, (v + 1) / 2)));
}

/** Sampling settings used when a caller gives none. */
export interface SamplingDefaults {
  steps: number;
  guidance: number;
}

export const DEFAULT_SAMPLING: SamplingDefaults = { steps: DEFAULT_STEPS, guidance: DEFAULT_GUIDANCE };

export function diffusionSampler(net: Model, schedule: NoiseSchedule, defaults: SamplingDefaults = DEFAULT_SAMPLING): MnistModel {
  const sampleDigits = async (labels: ArrayLike<number>, options: ConditionalSampleOptions): Promise<Float32Array> => {
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (!(Number.isInteger(l) && l >= 0 && l < CLASSES)) throw new RangeError(`sampleDigits: label ${i} is ${l}; digits are 0–9`);
    }
    const out = new Float32Array(labels.length * MNIST_PIXELS);
    const total = Math.ceil(labels.length / SAMPLE_CHUNK);
    for (let c = 0; c < total; c++) {
      const chunk = Array.from(labels).slice(c * SAMPLE_CHUNK, (c + 1) * SAMPLE_CHUNK);
      const common = {
        labels: chunk,
        nullClass: NULL_CLASS,
        guidance: options.guidance ?? defaults.guidance,
        // Each chunk its own stream, so a chunk's digits do not depend on the chunks before it.
        seed: (options.seed + c * 0x9e3779b9) >>> 0,
        pixels: MNIST_PIXELS,
        ...(options.onStep ? { onStep: (done: number, steps: number) => options.onStep!(c * steps + done, total * steps) } : {}),
      };
      const x = options.sampler === 'ddpm' ? await sampleDdpm(schedule, predictor(net, schedule), common) : await sampleDdim(schedule, predictor(net, schedule), { ...common, steps: options.steps ?? defaults.steps, eta: options.eta ?? 0 });
      out.set(toPixels(x), c * SAMPLE_CHUNK * MNIST_PIXELS);
    }
    return out;
  };
  return {
    name: 'diffusion',
    sampleDigits,
    // Unconditioned callers (the training preview) get the digits in turn.
    sample: (count, seed) => sampleDigits(Array.from({ length: count }, (_, i) => i % CLASSES), { seed }),
  };
}

/** min(SNR_t, γ)/(SNR_t + 1) for each timestep: Min-SNR for a v-prediction loss. */
function lossWeights(schedule: NoiseSchedule): Float32Array {
  return Float32Array.from({ length: schedule.timesteps }, (_, t) => Math.min(schedule.snr(t), MIN_SNR_GAMMA) / (schedule.snr(t) + 1));
}

/** One batch's network inputs and targets, drawn from `rng`. */
function noisyBatch(schedule: NoiseSchedule, weights: Float32Array, images: Float32Array, labels: Uint8Array, count: number, rng: Rng, dropLabels: boolean) {
  const x = new Float32Array(count * MNIST_PIXELS);
  const eps = new Float32Array(count * MNIST_PIXELS);
  const v = new Float32Array(count * MNIST_PIXELS);
  const t = new Float32Array(count);
  const y = new BigInt64Array(count);
  const w = new Float32Array(count);
  const x0 = new Float32Array(MNIST_PIXELS);
  const noise = new Float32Array(MNIST_PIXELS);
  for (let r = 0; r < count; r++) {
    const step = rng.int(schedule.timesteps);
    for (let i = 0; i < MNIST_PIXELS; i++) {
      x0[i] = 2 * images[r * MNIST_PIXELS + i]! - 1;
      noise[i] = rng.normal();
    }
    schedule.addNoise(x0, noise, step, x, r * MNIST_PIXELS);
    eps.set(noise, r * MNIST_PIXELS);
    const [a, s] = [Math.sqrt(schedule.alphasCumprod[step]!), Math.sqrt(1 - schedule.alphasCumprod[step]!)];
    for (let i = 0; i < MNIST_PIXELS; i++) v[r * MNIST_PIXELS + i] = a * noise[i]! - s * x0[i]!;
    t[r] = step;
    y[r] = BigInt(dropLabels && rng.next() < P_UNCOND ? NULL_CLASS : labels[r]!);
    w[r] = weights[step]!;
  }
  return {
    x: new HostTensor(x, [count, ...IMAGE_SHAPE]),
    t: new HostTensor(t, [count, 1]),
    label: new HostTensor(y, [count, 1]),
    eps: new HostTensor(eps, [count, ...IMAGE_SHAPE]),
    v: new HostTensor(v, [count, ...IMAGE_SHAPE]),
    weight: new HostTensor(w, [count, 1, 1, 1]),
  };
}

/** Σ w·(v̂ − v)² / (rows · pixels). */
function weightedMse(prediction: Tensor, target: Tensor, weight: Tensor): Tensor {
  return F.mean(F.mul(F.square(F.sub(prediction, target)), weight));
}

export function diffusionTrainer(lr: number, seed: number, config: UNetConfig = DEFAULT_UNET, defaults: SamplingDefaults = DEFAULT_SAMPLING): MnistTrainer {
  setRandomSeed(seed);
  const schedule = new NoiseSchedule(DEFAULT_SCHEDULE);
  const weights = lossWeights(schedule);
  const net = buildDiffusionModel(config, 'diffusion');
  const ema = buildDiffusionModel(config, 'diffusion_ema');
  const pairs = [...weightPaths(net)].map(([path, v]) => [v, weightPaths(ema).get(path)!] as const);
  for (const [v, e] of pairs) e.assign(Float32Array.from(v.value));
  const optimizer = new Adam({ learningRate: lr, clipNorm: 1 });
  const step = new TrainStep({
    name: 'diffusion_step',
    inputs: { x: IMAGE_SHAPE, t: [1], label: { shape: [1], dtype: 'int64' }, v: IMAGE_SHAPE, weight: [1, 1, 1] },
    trainable: net,
    optimizer,
    loss: ({ x, t, label, v, weight }) => weightedMse(net.apply([x!, t!, label!])[0]!, v!, weight!),
  });
  const noise = new NoiseSource(seed + 1);
  const updateEma = (): void => {
    const n = optimizer.iterations;
    const decay = Math.min(EMA_DECAY, (1 + n) / (10 + n));
    for (const [v, e] of pairs) {
      const src = v.value;
      const dst = e.value;
      for (let i = 0; i < dst.length; i++) dst[i] = decay * dst[i]! + (1 - decay) * src[i]!;
    }
  };
  const sampler = diffusionSampler(ema, schedule, defaults);
  return {
    ...sampler,
    state: { models: { diffusion: net, ema }, optimizers: { adam: { optimizer, trains: net } }, rngs: { noise: noise.rng } },
    startEpoch: (epoch) => noise.startEpoch(epoch),
    async trainBatch(images, count, labels) {
      if (!labels) throw new Error('diffusion: trainBatch needs the digits\' labels');
      const batch = noisyBatch(schedule, weights, images, labels, count, noise.rng, true);
      const { loss } = await step.run({ x: batch.x, t: batch.t, label: batch.label, v: batch.v, weight: batch.weight });
      updateEma();
      return { loss };
    },
    /** val_loss: the unweighted ε MSE of the averaged weights on the held-out digits, at fixed timesteps and noise. */
    async validate(images, count, labels) {
      if (!labels) throw new Error('diffusion: validate needs the digits\' labels');
      const batch = noisyBatch(schedule, weights, images, labels, count, new Rng(seed + 2), false);
      const predicted = (await ema.predict([batch.x, batch.t, batch.label], { batchSize: 2 * SAMPLE_CHUNK })).data as Float32Array;
      const [x, t, e] = [batch.x.data as Float32Array, batch.t.data as Float32Array, batch.eps.data as Float32Array];
      let total = 0;
      for (let r = 0; r < count; r++) {
        const rows = [r * MNIST_PIXELS, (r + 1) * MNIST_PIXELS] as const;
        const eps = epsFromV(predicted.subarray(...rows), x.subarray(...rows), schedule.alphasCumprod[t[r]!]!);
        for (let i = 0; i < MNIST_PIXELS; i++) total += (eps[i]! - e[rows[0] + i]!) ** 2;
      }
      total /= count * MNIST_PIXELS;
      return { val_loss: total };
    },
    async save(dir) {
      await saveModel(ema, dir);
      const file: DiffusionFile = { format: 'forja-diffusion', prediction: 'v', schedule: schedule.config, nullClass: NULL_CLASS, defaults: { ...defaults } };
      await writeJsonAtomic(join(dir, DIFFUSION_FILE), file, { indent: 2 });
    },
  };
}

async function readDiffusionFile(dir: string): Promise<DiffusionFile> {
  const path = join(dir, DIFFUSION_FILE);
  let parsed: Partial<DiffusionFile>;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<DiffusionFile>;
  } catch (err) {
    throw new Error(`${path}: cannot read the diffusion settings: ${(err as Error).message}`, { cause: err });
  }
  if (parsed.format !== 'forja-diffusion' || parsed.prediction !== 'v' || typeof parsed.schedule?.timesteps !== 'number' || parsed.nullClass !== NULL_CLASS) {
    throw new Error(`${path}: not a Forja diffusion settings file (expected "format": "forja-diffusion", "prediction": "v" and null class ${NULL_CLASS})`);
  }
  return parsed as DiffusionFile;
}

export async function loadDiffusion(dir: string): Promise<MnistModel> {
  const file = await readDiffusionFile(dir);
  return diffusionSampler(await loadModel(dir), new NoiseSchedule(file.schedule), file.defaults);
}

/** The spec of a diffusion model with this U-Net and these sampling defaults (tests train tiny ones). */
export function diffusionSpec(unet: UNetConfig = DEFAULT_UNET, sampling: SamplingDefaults = DEFAULT_SAMPLING): MnistModelSpec {
  return {
    name: 'diffusion',
    description: `class-conditional DDPM: U-Net ${unet.channels.join('/')} channels (28→14→7, GroupNorm, SiLU, attention at 7×7), T ${DEFAULT_SCHEDULE.timesteps}, label dropout ${P_UNCOND}; sampled with DDIM ${sampling.steps} steps, guidance ${sampling.guidance}`,
    defaults: { epochs: 8, batchSize: 32, lr: 2e-3 },
    // Measured on the shared 2-core machine: one intra-op thread trains at 51 images/s, two at 25 (batch 64, load 5).
    threads: 1,
    lossDoc: `loss is the Min-SNR(γ ${MIN_SNR_GAMMA})-weighted MSE of the predicted v = √ᾱ·ε − √(1 − ᾱ)·x₀; val_loss the unweighted MSE of the noise it implies of the averaged (EMA) weights on the 1,000 held-out digits at fixed timesteps and noise.`,
    create: ({ lr, seed }) => diffusionTrainer(lr, seed, unet, sampling),
    load: loadDiffusion,
  };
}

export const diffusion: MnistModelSpec = diffusionSpec();
