/**
 * `forja eval`: how good a trained MNIST model is, measured with the cached
 * classifier (classifier.ts): FID between its features of the model's
 * digits (new samples, or reconstructions for the autoencoders) and of the
 * run's 1,000 held-out real digits, plus the reconstruction BCE where the
 * model reconstructs. A class-conditional model draws one digit per held-out
 * label (the same class mix), and its conditional accuracy is how often the
 * classifier reads the digit that was asked for.
 */
import { binaryCrossentropyMean, imageBatch, predictFloats } from './common.js';
import { accuracy, classifierCacheDir, loadOrTrainClassifier } from './classifier.js';
import { fidFromFeatures } from './fid.js';
import { loadRunModel } from './registry.js';
import { readRunInfo, runData } from './run.js';
import { MNIST_PIXELS, type ConditionalSampleOptions } from './spec.js';

/** Seed of the noise the evaluated samples are drawn from (fixed, so evals compare). */
const EVAL_SAMPLE_SEED = 2024;

export interface EvalOptions {
  /** Default classifierCacheDir(). */
  cacheDir?: string;
  /** Progress messages (training the classifier). */
  log?: (message: string) => void;
  /** How a class-conditional model samples (guidance, steps, sampler, progress); its defaults otherwise. */
  conditional?: Omit<ConditionalSampleOptions, 'seed'>;
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
  /** Class-conditional models: fraction of samples the classifier reads as the digit asked for. */
  conditional_accuracy?: number;
  /** The sampling settings given for a class-conditional model (unset: its defaults). */
  sampling?: Omit<ConditionalSampleOptions, 'seed' | 'onStep'>;
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
  const conditional = trained.sampleDigits ? await trained.sampleDigits(val.labels, { ...options.conditional, seed: EVAL_SAMPLE_SEED }) : undefined;
  const generated = conditional ?? (trained.sample ? await trained.sample(val.count, EVAL_SAMPLE_SEED) : reconstructions);
  if (!generated) throw new Error(`${dir}: a '${trained.name}' model neither samples nor reconstructs`);

  const batch = (images: Float32Array) => imageBatch(images, val.count, [MNIST_PIXELS]);
  const fid = fidFromFeatures(await predictFloats(classifier.features, batch(generated)), val.count, await predictFloats(classifier.features, batch(real)), val.count);
  const { onStep: _, ...sampling } = options.conditional ?? {};
  return {
    model: trained.name,
    dir,
    classifier_accuracy: classifier.accuracy,
    classifier_cached: classifier.cached,
    fid,
    fid_of: conditional || trained.sample ? 'samples' : 'reconstructions',
    fid_count: val.count,
    ...(reconstructions ? { reconstruction_bce: binaryCrossentropyMean(real, reconstructions) } : {}),
    ...(conditional ? { conditional_accuracy: accuracy(await predictFloats(classifier.model, batch(conditional)), val.labels), sampling } : {}),
    seconds: (performance.now() - started) / 1000,
  };
}
