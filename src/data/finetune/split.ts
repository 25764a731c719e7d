/**
 * The seeded train/validation split of fine-tuning examples (records, or text blocks). It depends
 * only on (count, validation, seed), so a resumed run or another machine holds out the same examples.
 */
import { splitValidation } from '../batches.js';
import { FinetuneDataError } from './problems.js';

export interface ExampleSplit {
  /** Indices of the training examples, ascending (reading order). */
  train: Int32Array;
  /** Indices of the held-out examples, ascending. */
  validation: Int32Array;
}

/**
 * Hold out `validation` of `count` examples, chosen by a permutation seeded with `seed`:
 * a fraction in (0, 1) (rounded to a count), or a whole count (0 = no validation). At least one
 * example stays for training.
 */
export function splitExamples(count: number, validation: number, seed: number): ExampleSplit {
  if (!Number.isInteger(seed)) throw new FinetuneDataError('option', `seed must be an integer, got ${seed}`, [], 'seed');
  const isFraction = validation > 0 && validation < 1;
  if (!isFraction && !(Number.isInteger(validation) && validation >= 0)) {
    throw new FinetuneDataError('option', `validation must be a fraction in (0, 1) or a whole count, got ${validation}`, [], 'validation');
  }
  const held = isFraction ? Math.round(validation * count) : validation;
  if (count > 0 && held >= count) {
    throw new FinetuneDataError('option', `validation holds out ${held} of ${count} examples, leaving none to train on`, [], 'validation');
  }
  const { train, val } = splitValidation(count, held, seed);
  return { train: train.sort(), validation: val.sort() };
}
