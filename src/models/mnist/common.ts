/** Small helpers every MNIST model file shares: host data, seeded noise, the JS-side BCE. */
import { Rng } from '../../core/rng.js';
import { epochSeed } from '../../data/index.js';
import { EPSILON } from '../../losses/index.js';
import { HostTensor } from '../../nn/index.js';
import { Model } from '../../keras/index.js';
import { MNIST_PIXELS } from './spec.js';

/** Rows per inference run. */
const PREDICT_BATCH = 250;

/** `count` rows of `images` shaped [count, ...exampleShape] (no copy). */
export function imageBatch(images: Float32Array, count: number, exampleShape: readonly number[]): HostTensor {
  return new HostTensor(images.subarray(0, count * MNIST_PIXELS), [count, ...exampleShape]);
}

/** The model's single output for `input`, as flat float data. */
export async function predictFloats(model: Model, input: HostTensor): Promise<Float32Array> {
  const out = await model.predict(input, { batchSize: PREDICT_BATCH });
  if (!(out.data instanceof Float32Array)) throw new Error(`${model.where}: expected float32 predictions, got ${out.dtype}`);
  return out.data;
}

/**
 * A seeded stream of standard-normal noise batches (GAN z, VAE ε). Training
 * restarts it at each epoch from (seed, epoch), so a resumed run draws the
 * same noise as an uninterrupted one.
 */
export class NoiseSource {
  /** The stream; a checkpoint saves its state, so a run resumed mid-epoch draws on from where it stopped. */
  readonly rng: Rng;

  constructor(private readonly seed: number) {
    this.rng = new Rng(seed);
  }

  /** Restart the stream for `epoch` (0-based). */
  startEpoch(epoch: number): void {
    this.rng.state = new Rng(epochSeed(this.seed, epoch)).state;
  }

  /** `rows` × `dim` independent N(0, 1) values. */
  next(rows: number, dim: number): HostTensor {
    const data = new Float32Array(rows * dim);
    for (let i = 0; i < data.length; i++) data[i] = this.rng.normal();
    return new HostTensor(data, [rows, dim]);
  }
}

/** Noise for `sample(count, seed)`: the same seed always gives the same digits. */
export function sampleNoise(count: number, dim: number, seed: number): HostTensor {
  return new NoiseSource(seed).next(count, dim);
}

/**
 * Mean binary cross-entropy over every value, with Keras' clipping
 * (p in [ε, 1 − ε], ε = 1e-7, and +ε inside the logs): the per-pixel
 * reconstruction loss the autoencoders train on.
 */
export function binaryCrossentropyMean(targets: Float32Array, predictions: Float32Array): number {
  if (targets.length !== predictions.length) {
    throw new RangeError(`binaryCrossentropyMean: ${targets.length} targets but ${predictions.length} predictions`);
  }
  let total = 0;
  for (let i = 0; i < targets.length; i++) {
    const p = Math.min(Math.max(predictions[i]!, EPSILON), 1 - EPSILON);
    const y = targets[i]!;
    total -= y * Math.log(p + EPSILON) + (1 - y) * Math.log(1 - p + EPSILON);
  }
  return total / Math.max(targets.length, 1);
}

/** The nested model `name` of a saved container model, with an error naming the file when it is missing. */
export function subModel(container: Model, name: string, dir: string): Model {
  const layer = container.layers.find((l) => l.name === name);
  if (!(layer instanceof Model)) {
    throw new Error(`${dir}: saved model '${container.name}' has no sub-model '${name}' (layers: ${container.layers.map((l) => l.name).join(', ')})`);
  }
  return layer;
}
