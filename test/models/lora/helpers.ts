/** Shared by the LoRA tests: the gpt2-tiny base, small random bases, and logits of a model. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../../src/core/rng.js';
import { loadHfCheckpoint, type HfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { Gpt2, gpt2ConfigJson, parseGpt2Config } from '../../../src/models/gpt2/model.js';
import { Llama, llamaConfigJson, parseLlamaConfig } from '../../../src/models/llama/model.js';
import { loadCausalLmModel } from '../../../src/models/registry.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import { fullForward } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';

export const BASE_DIR = fixturePath('gpt2-tiny');
export const ADAPTER_DIR = fixturePath('gpt2-tiny-lora');
/** The ids gpt2-tiny-lora's golden logits are for. */
export const IDS = [7454, 2402, 257, 640, 612, 373, 257, 9379, 326, 4499];

let checkpoint: Promise<HfCheckpoint> | undefined;

/** gpt2-tiny, loaded once per test file; each call binds fresh Variables. */
export async function gpt2Tiny(): Promise<{ model: CausalLmModel; config: HfCheckpoint['config'] }> {
  checkpoint ??= loadHfCheckpoint(BASE_DIR);
  const ckpt = await checkpoint;
  return { model: loadCausalLmModel(ckpt.config, ckpt.weights), config: ckpt.config };
}

/** A random GPT-2 of the given width and depth over a small vocabulary. */
export function randomGpt2(embd: number, layers: number, vocab = 300, seed = 1): Gpt2 {
  const json = gpt2ConfigJson({ layers, heads: 4, embd, blockSize: 32, dropout: 0 }, vocab);
  return Gpt2.init(parseGpt2Config(json), new Rng(seed));
}

/** A random Llama with an untied head (as most Llamas) or a tied one. */
export function randomLlama(tied = false, seed = 2): Llama {
  const json = { ...llamaConfigJson({ layers: 2, heads: 4, embd: 32, blockSize: 32, dropout: 0 }, 300), tie_word_embeddings: tied, num_key_value_heads: 2 };
  return Llama.init(parseLlamaConfig(json, 'LlamaForCausalLM'), new Rng(seed));
}

/** Logits at every position of `ids`, from an inference session compiled for `model`. */
export async function logitsOf(model: CausalLmModel, ids: readonly number[] = IDS): Promise<Float32Array> {
  const lm = await CausalLM.fromModel(model);
  try {
    return (await fullForward(lm, ids)).logits.slice();
  } finally {
    await lm.release();
  }
}

/** Run `fn` with a fresh temp directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'forja-lora-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
