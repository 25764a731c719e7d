/** The GPT-2-small-shaped checkpoint with seeded random weights that the decode, batching and serving benchmarks run. */
import { Rng } from '../src/core/rng.js';
import { writeJsonAtomic } from '../src/io/atomic.js';
import { writeSafetensorsCheckpoint } from '../src/io/safetensors.js';
import { gpt2InitialWeights, parseGpt2Config } from '../src/models/gpt2/model.js';
import { join } from 'node:path';

/** `eosTokenId` null: no end-of-text token, so every run generates its full count. */
export function gpt2SmallConfig(eosTokenId: number | null = null): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: 50257,
    n_positions: 1024,
    n_embd: 768,
    n_layer: 12,
    n_head: 12,
    n_inner: null,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    tie_word_embeddings: true,
    initializer_range: 0.02,
    bos_token_id: eosTokenId,
    eos_token_id: eosTokenId,
  };
}

/** Writes config.json, generation_config.json and model.safetensors into `dir`; returns the parameter count. */
export async function writeGpt2Small(dir: string, eosTokenId: number | null = null): Promise<number> {
  const config = gpt2SmallConfig(eosTokenId);
  const weights = gpt2InitialWeights(parseGpt2Config(config), new Rng(1234));
  await writeSafetensorsCheckpoint(dir, weights);
  await writeJsonAtomic(join(dir, 'config.json'), config);
  await writeJsonAtomic(join(dir, 'generation_config.json'), {});
  return [...weights.values()].reduce((n, t) => n + t.data.length, 0);
}
