/** Losses, by function and by Keras name (camelCase). */
import { binaryCrossentropy, categoricalCrossentropy, kld, sparseCategoricalCrossentropy } from './probabilistic.js';
import type { LossFn } from './reduction.js';
import { meanAbsoluteError, meanSquaredError } from './regression.js';

export { binaryCrossentropy, categoricalCrossentropy, sparseCategoricalCrossentropy, kld, EPSILON, type CrossentropyOptions } from './probabilistic.js';
export { meanSquaredError, meanAbsoluteError } from './regression.js';
export { maskedCrossentropy, causalLmCrossentropy, IGNORE_INDEX, type MaskedCrossentropyOptions } from './masked.js';
export { reduceLoss, matchLabels, type LossFn, type LossOptions, type Reduction } from './reduction.js';

const LOSSES = {
  binaryCrossentropy,
  categoricalCrossentropy,
  sparseCategoricalCrossentropy,
  meanSquaredError,
  meanAbsoluteError,
  kld,
  mse: meanSquaredError,
  mae: meanAbsoluteError,
  kullbackLeiblerDivergence: kld,
} satisfies Record<string, LossFn>;

export type LossName = keyof typeof LOSSES;

/** The loss named `name`, or `loss` itself. */
export function getLoss(loss: LossName | LossFn): LossFn {
  if (typeof loss === 'function') return loss;
  const fn: LossFn | undefined = Object.hasOwn(LOSSES, loss) ? LOSSES[loss] : undefined;
  if (!fn) throw new Error(`getLoss: unknown loss '${String(loss)}'; known: ${Object.keys(LOSSES).join(', ')}`);
  return fn;
}

/** The canonical name of a built-in loss function (for metric selection), or null for a custom one. */
export function lossName(loss: LossFn): LossName | null {
  const entry = Object.entries(LOSSES).find(([, fn]) => fn === loss);
  return entry ? (entry[0] as LossName) : null;
}
