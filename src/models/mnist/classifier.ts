/**
 * The small MNIST classifier whose penultimate layer FID measures in
 * (the role Inception-v3 plays for ImageNet FID): 784 → Dense(256, relu) →
 * Dense(64, relu) "features" → Dense(10, softmax). Trained once with Forja on
 * the training split of seed 0 and cached, so every `forja eval` compares
 * models in the same feature space.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../io/atomic.js';
import { replaceDirAtomic } from '../../io/hf-save.js';
import { input, layers, setRandomSeed } from '../../nn/index.js';
import { loadModel, model, saveModel, type Functional, type Model } from '../../keras/index.js';
import { Adam } from '../../optim/index.js';
import { imageBatch, predictFloats } from './common.js';
import { runData } from './run.js';
import { MNIST_PIXELS } from './spec.js';

export const FEATURE_LAYER = 'features';
export const FEATURE_DIM = 64;
const CLASSES = 10;
/** Bump when the architecture or training changes, so stale caches are retrained. */
const CACHE_VERSION = 1;
const CACHE_INFO = 'classifier.json';
const TRAINING = { seed: 0, epochs: 10, batchSize: 128, lr: 1e-3 };

export interface Classifier {
  model: Model;
  /** The same layers up to the penultimate one: image → FEATURE_DIM features. */
  features: Model;
  /** Fraction of the 1,000 held-out digits (split seed 0) classified correctly. */
  accuracy: number;
  /** Loaded from the cache rather than trained now. */
  cached: boolean;
}

interface CacheInfo {
  version: number;
  accuracy: number;
  training: typeof TRAINING;
}

export function buildClassifier(): Functional {
  const image = input({ shape: [MNIST_PIXELS], name: 'image' });
  const hidden = layers.dense({ units: 256, activation: 'relu', name: 'hidden' }).apply(image);
  const features = layers.dense({ units: FEATURE_DIM, activation: 'relu', name: FEATURE_LAYER }).apply(hidden);
  const probabilities = layers.dense({ units: CLASSES, activation: 'softmax', name: 'probabilities' }).apply(features);
  return model({ inputs: image, outputs: probabilities, name: 'mnist_classifier' });
}

/** A model sharing `classifier`'s layers that stops at the features layer. */
export function featureExtractor(classifier: Model): Model {
  const call = classifier.layerCalls.find((c) => c.layer.name === FEATURE_LAYER);
  if (!call) throw new Error(`${classifier.where}: no '${FEATURE_LAYER}' layer to take FID features from`);
  return model({ inputs: classifier.inputs, outputs: call.outputs[0]!, name: 'mnist_features' });
}

/** `$FORJA_CACHE/mnist-classifier`, else `~/.cache/forja/mnist-classifier`. */
export function classifierCacheDir(): string {
  return join(process.env.FORJA_CACHE ?? join(homedir(), '.cache', 'forja'), 'mnist-classifier');
}

/** Fraction of rows whose arg-max class equals the label. */
export function accuracy(probabilities: Float32Array, labels: Uint8Array): number {
  let correct = 0;
  for (let row = 0; row < labels.length; row++) {
    let best = 0;
    for (let c = 1; c < CLASSES; c++) if (probabilities[row * CLASSES + c]! > probabilities[row * CLASSES + best]!) best = c;
    if (best === labels[row]) correct++;
  }
  return labels.length === 0 ? 0 : correct / labels.length;
}

export async function trainClassifier(): Promise<{ model: Model; accuracy: number }> {
  setRandomSeed(TRAINING.seed);
  const { train, val } = runData(TRAINING.seed);
  const classifier = buildClassifier();
  classifier.compile({ optimizer: new Adam({ learningRate: TRAINING.lr }), loss: 'sparseCategoricalCrossentropy' });
  await classifier.fit(imageBatch(train.images, train.count, [MNIST_PIXELS]), Float32Array.from(train.labels), {
    epochs: TRAINING.epochs,
    batchSize: TRAINING.batchSize,
    seed: TRAINING.seed,
  });
  const probabilities = await predictFloats(classifier, imageBatch(val.images, val.count, [MNIST_PIXELS]));
  return { model: classifier, accuracy: accuracy(probabilities, val.labels) };
}

async function readCacheInfo(dir: string): Promise<CacheInfo | null> {
  const path = join(dir, CACHE_INFO);
  if (!existsSync(path)) return null;
  try {
    const info = JSON.parse(await readFile(path, 'utf8')) as Partial<CacheInfo>;
    return info.version === CACHE_VERSION && typeof info.accuracy === 'number' ? (info as CacheInfo) : null;
  } catch {
    return null; // a corrupt cache is retrained
  }
}

/** The cached classifier, training and caching it (atomically) on first use. */
export async function loadOrTrainClassifier(cacheDir = classifierCacheDir(), log: (message: string) => void = () => {}): Promise<Classifier> {
  const info = await readCacheInfo(cacheDir);
  if (info) {
    try {
      const cachedModel = await loadModel(cacheDir);
      return { model: cachedModel, features: featureExtractor(cachedModel), accuracy: info.accuracy, cached: true };
    } catch (err) {
      log(`retraining the FID classifier: the cache in ${cacheDir} is unreadable (${(err as Error).message})`);
    }
  }
  log(`training the FID classifier once (cached in ${cacheDir})`);
  const trained = await trainClassifier();
  const fresh: CacheInfo = { version: CACHE_VERSION, accuracy: trained.accuracy, training: TRAINING };
  await replaceDirAtomic(cacheDir, async (staging) => {
    await saveModel(trained.model, staging);
    await writeJsonAtomic(join(staging, CACHE_INFO), fresh);
  });
  return { model: trained.model, features: featureExtractor(trained.model), accuracy: trained.accuracy, cached: false };
}
