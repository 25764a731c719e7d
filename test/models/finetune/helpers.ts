/** Shared by the fine-tuning tests: gpt2-tiny, and tiny synthetic datasets it can learn in a few steps. */
import { packExamples, rowsOf, type Example } from '../../../src/data/finetune/batching.js';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { Rng } from '../../../src/core/rng.js';
import { loadCausalLmModel } from '../../../src/models/registry.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import { FinetuneSplit } from '../../../src/text/finetune/dataset.js';
import { fixturePath } from '../../helpers/fixtures.js';

export const GPT2_TINY = fixturePath('gpt2-tiny');

export async function gpt2Tiny(): Promise<CausalLmModel> {
  const ckpt = await loadHfCheckpoint(GPT2_TINY);
  return loadCausalLmModel(ckpt.config, ckpt.weights, GPT2_TINY);
}

/**
 * `count` sequences that count up from a random start (ids 10..40, wrapping), lengths between
 * `minLength` and `maxLength`, the first `prompt` labels -100: a pattern a model learns quickly.
 */
export function countingExamples(count: number, opts: { minLength: number; maxLength: number; prompt?: number; seed?: number }): Example[] {
  const rng = new Rng(opts.seed ?? 1);
  return Array.from({ length: count }, () => {
    const length = opts.minLength + Math.floor(rng.next() * (opts.maxLength - opts.minLength + 1));
    const start = Math.floor(rng.next() * 30);
    const inputIds = Int32Array.from({ length }, (_, t) => 10 + ((start + t) % 30));
    const labels = inputIds.map((id, t) => (t < (opts.prompt ?? 0) ? -100 : id));
    return { inputIds, labels };
  });
}

/** Examples as a split: one per row padded to maxLength, or packed. */
export function splitOf(examples: readonly Example[], maxLength: number, packing = false): FinetuneSplit {
  const rows = packing ? packExamples(examples, maxLength) : rowsOf(examples);
  return new FinetuneSplit(rows, examples.length, { padTokenId: 0, padTo: 'max-length', maxLength });
}
