/**
 * `forja eval`: how good a trained MNIST model is, measured with the cached
 * classifier (classifier.ts): FID between its features of the model's
 * digits (new samples, or reconstructions for the autoencoders) and of the
 * run's 1,000 held-out real digits, plus the reconstruction BCE where the
 * model reconstructs.
 */
import { binaryCrossentropyMean, imageBatch, predictFloats } from './common.js';
import { classifierCacheDir, loadOrTrainClassifier } from './classifier.js';
import { fidFromFeatures } from './fid.js';
import { loadRunModel } from './registry.js';
import { readRunInfo, runData } from './run.js';
import { MNIST_PIXELS } from './spec.js';

/** Seed of the noise the evaluated samples are drawn from (fixed, so evals compare). */
const EVAL_SAMPLE_SEED = 2024;

export interface EvalOptions {
  /** Default classifierCacheDir(). */
  cacheDir?: string;
  /** Progress messages (training the classifier). */
  log?: (message: string) => void;
}

export interface EvalResult {
  model: string;
  dir: string;
  /** The FID classifier's accuracy on its 1,000 held-out digits. */
  classifier_accuracy: number;
  classifier_cached: boolean;
  /** Fréchet distance in the classifier's feature space (lower is better; 0 for identical sets). */
  fid: number;
  /** What was compared with the held-out digits. */
  fid_of: 'samples' | 'reconstructions';
  fid_count: number;
  /** Mean per-pixel BCE of the held-out digits' reconstructions (models that reconstruct). */
  reconstruction_bce?: number;
  seconds: number;
}

export async function evaluateRun(dir: string, options: EvalOptions = {}): Promise<EvalResult> {
  const started = performance.now();
  const { seed } = await readRunInfo(dir);
  const trained = await loadRunModel(dir);
  const { val } = runData(seed);
  const classifier = await loadOrTrainClassifier(options.cacheDir ?? classifierCacheDir(), options.log);
  const real = val.images;

  const reconstructions = trained.reconstruct ? await trained.reconstruct(real, val.count) : undefined;
  const generated = trained.sample ? await trained.sample(val.count, EVAL_SAMPLE_SEED) : reconstructions;
  if (!generated) throw new Error(`${dir}: a '${trained.name}' model neither samples nor reconstructs`);

  const features = (images: Float32Array) => predictFloats(classifier.features, imageBatch(images, val.count, [MNIST_PIXELS]));
  const fid = fidFromFeatures(await features(generated), val.count, await features(real), val.count);
  return {
    model: trained.name,
    dir,
    classifier_accuracy: classifier.accuracy,
    classifier_cached: classifier.cached,
    fid,
    fid_of: trained.sample ? 'samples' : 'reconstructions',
    fid_count: val.count,
    ...(reconstructions ? { reconstruction_bce: binaryCrossentropyMean(real, reconstructions) } : {}),
    seconds: (performance.now() - started) / 1000,
  };
}
