import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { readSafetensorsHeader } from '../../../src/io/safetensors.js';
import { Gpt2 } from '../../../src/models/gpt2/model.js';
import { Llama } from '../../../src/models/llama/model.js';
import { createLora } from '../../../src/models/lora/adapter.js';
import { LoraConfigError } from '../../../src/models/lora/errors.js';
import { resizeRows } from '../../../src/models/lora/modules-to-save.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, loadLoraAdapter, loraFromTensors, loraTensors, saveLoraAdapter } from '../../../src/models/lora/peft-io.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import { assertClose, maxAbsDiff } from '../../helpers/causal-lm.js';
import { gpt2Tiny, logitsOf, randomLlama, withTempDir } from './helpers.js';

/** What a chat template adds to GPT-2's vocabulary: <|im_start|> 50257, <|im_end|> 50258. */
const ADDED = [50257, 50258];
const CHAT_IDS = [50257, 464, 318, 50258, 198];

/** Stand in for training: move the copies' values so a reload has something to reproduce. */
function perturb(values: Float32Array, seed: number): void {
  for (let i = 0; i < values.length; i++) values[i] = values[i]! + 0.01 * Math.sin(seed + i);
}

describe('modules_to_save and added tokens', () => {
  let base: CausalLmModel;
  before(async () => {
    base = (await gpt2Tiny()).model;
  });

  test('new rows are the mean of the old ones (transformers\' mean_resizing without its 1e-9·Σ noise)', () => {
    const old = Float32Array.of(1, 2, 3, 5, 0, 1); // 3 rows of 2
    assert.deepEqual(resizeRows(old, 3, 2, 5), Float32Array.of(1, 2, 3, 5, 0, 1, 4 / 3, 8 / 3, 4 / 3, 8 / 3));
    assert.deepEqual(resizeRows(old, 3, 2, 2), Float32Array.of(1, 2, 3, 5));
  });

  test('a larger vocabulary resizes the tied embedding and head as one matrix, saved through modules_to_save', () => {
    const lora = createLora(base, { r: 2 }, { vocabSize: 50259 });
    assert.deepEqual(lora.config.modules_to_save, ['wte', 'lm_head']);
    assert.equal(lora.dims.vocabSize, 50259);
    assert.equal(base.dims.vocabSize, 50257, 'the base is untouched');
    const wte = lora.weights.get('transformer.wte.weight')!;
    assert.notEqual(wte, base.weights.get('transformer.wte.weight'));
    assert.deepEqual(wte.shape, [50259, 48]);
    assert.ok((lora.model as Gpt2).config.tieWordEmbeddings, 'Forja keeps a tied head tied');
    assert.ok(lora.trainableVariables.includes(wte));
    assert.equal(lora.trainableVariables.length, 2 * 2 + 1);
    const tensors = loraTensors(lora);
    assert.deepEqual(tensors.get('base_model.model.transformer.wte.weight')!.shape, [50259, 48]);
    assert.deepEqual(tensors.get('base_model.model.lm_head.weight'), tensors.get('base_model.model.transformer.wte.weight'), 'PEFT copies both modules: both are written, equal');
  });

  test('an adapter with added tokens reloads onto the original base with no size mismatch and identical logits, new tokens included', async () => {
    const lora = createLora(base, { r: 2, init_lora_weights: false }, { vocabSize: 50259, seed: 2 });
    perturb(lora.weights.get('transformer.wte.weight')!.value, 1);
    await withTempDir(async (dir) => {
      await saveLoraAdapter(dir, lora);
      const config = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(config.modules_to_save, ['wte', 'lm_head']);
      const header = await readSafetensorsHeader(join(dir, ADAPTER_WEIGHTS_FILE));
      assert.deepEqual(header.tensors.get('base_model.model.lm_head.weight')!.shape, [50259, 48]);
      const fresh = (await gpt2Tiny()).model;
      const reloaded = await loadLoraAdapter(dir, fresh);
      assert.equal(reloaded.dims.vocabSize, 50259);
      assert.ok((reloaded.model as Gpt2).config.tieWordEmbeddings);
      const [ours, again] = [await logitsOf(lora, CHAT_IDS), await logitsOf(reloaded, CHAT_IDS)];
      assert.deepEqual(again, ours);
      // The new tokens' logits are there and differ from each other once trained.
      assert.notEqual(ours[ADDED[0]!], ours[ADDED[1]!]);
    });
  });

  test('an untied Llama resizes embed_tokens and lm_head separately and round-trips', async () => {
    const llama = randomLlama(false);
    const lora = createLora(llama, { r: 2 }, { vocabSize: 302 });
    assert.deepEqual(lora.config.modules_to_save, ['embed_tokens', 'lm_head']);
    const head = lora.weights.get('lm_head.weight')!;
    assert.deepEqual(head.shape, [32, 302], "Forja's [hidden, vocab] layout");
    // The new head columns are the mean of the old ones, row by row.
    const old = llama.weights.get('lm_head.weight')!.value;
    const mean = old.subarray(0, 300).reduce((a, b) => a + b, 0) / 300;
    assert.ok(Math.abs(head.value[300]! - mean) < 1e-6 && head.value[301] === head.value[300]);
    perturb(head.value, 3);
    await withTempDir(async (dir) => {
      await saveLoraAdapter(dir, lora);
      const header = await readSafetensorsHeader(join(dir, ADAPTER_WEIGHTS_FILE));
      assert.deepEqual(header.tensors.get('base_model.model.lm_head.weight')!.shape, [302, 32], "nn.Linear's [vocab, hidden] in the file");
      assert.deepEqual(header.tensors.get('base_model.model.model.embed_tokens.weight')!.shape, [302, 32]);
      const reloaded = await loadLoraAdapter(dir, llama);
      assert.deepEqual(await logitsOf(reloaded, [300, 5, 301]), await logitsOf(lora, [300, 5, 301]));
    });
  });

  test('embeddings PEFT saved after a resize without modules_to_save (save_embedding_layers) are loaded as saved modules', () => {
    const lora = createLora(base, { r: 2 }, { vocabSize: 50259 });
    const tensors = new Map([...loraTensors(lora)].map(([k, t]) => [k, { shape: [...t.shape], data: t.data as Float32Array }]));
    const loaded = loraFromTensors(base, { ...lora.config, modules_to_save: null }, tensors, 'f');
    assert.equal(loaded.dims.vocabSize, 50259);
    assert.deepEqual(loaded.saved, ['transformer.wte', 'lm_head']);
    assert.deepEqual(loaded.config.modules_to_save, ['wte', 'lm_head'], 'and are saved through modules_to_save from then on');
  });

  test('a tied base whose saved embedding and head differ (as PEFT trains them) is untied on load', async () => {
    const lora = createLora(base, { r: 2, modules_to_save: ['wte', 'lm_head'] });
    const tensors = new Map([...loraTensors(lora)].map(([k, t]) => [k, { shape: [...t.shape], data: Float32Array.from(t.data as Float32Array) }]));
    perturb(tensors.get('base_model.model.lm_head.weight')!.data, 5);
    const loaded = loraFromTensors(base, lora.config, tensors, 'f');
    assert.equal((loaded.model as Gpt2).config.tieWordEmbeddings, false);
    assert.deepEqual(loaded.weights.get('lm_head.weight')!.shape, [48, 50257]);
    assert.ok(maxAbsDiff(await logitsOf(loaded, [1, 2]), await logitsOf(lora, [1, 2])) > 1e-3, 'the head now has its own values');
  });

  test('saving only the head of a tied model unties it and starts the head from the embedding', async () => {
    const lora = createLora(base, { r: 2, modules_to_save: ['lm_head'] });
    assert.equal((lora.model as Gpt2).config.tieWordEmbeddings, false);
    assert.equal(lora.weights.get('transformer.wte.weight'), base.weights.get('transformer.wte.weight'), 'the embedding is still the base\'s');
    assertClose(await logitsOf(lora, [3, 4]), await logitsOf(base, [3, 4]), 1e-5, 'same function before training');
  });

  test('any other module can be saved: a copy trains in place of the base\'s, which stays frozen', async () => {
    const llama = randomLlama(true);
    const lora = createLora(llama, { r: 2, modules_to_save: ['model.norm'] });
    const norm = lora.weights.get('model.norm.weight')!;
    assert.notEqual(norm, llama.weights.get('model.norm.weight'));
    assert.equal(norm.name, 'base_model.model.model.norm.weight');
    assert.ok((lora.model as Llama).config.tieWordEmbeddings);
    perturb(norm.value, 7);
    await withTempDir(async (dir) => {
      await saveLoraAdapter(dir, lora);
      const reloaded = await loadLoraAdapter(dir, llama);
      assert.deepEqual(reloaded.weights.get('model.norm.weight')!.value, norm.value);
    });
  });

  test('a resized embedding without the head in modules_to_save is refused; so is a resize that leaves nothing to adapt', () => {
    const lora = createLora(base, { r: 2 }, { vocabSize: 50259 });
    const tensors = new Map([...loraTensors(lora)].filter(([k]) => k !== 'base_model.model.lm_head.weight').map(([k, t]) => [k, { shape: [...t.shape], data: t.data as Float32Array }]));
    assert.throws(
      () => loraFromTensors(base, { ...lora.config, modules_to_save: ['wte'] }, tensors, 'f'),
      (err: unknown) => err instanceof LoraConfigError && /a vocabulary of 50259 \(the base has 50257\) needs transformer\.wte and lm_head in modules_to_save/.test(err.message),
    );
    assert.throws(() => createLora(base, { r: 2, target_modules: ['lm_head'] }, { vocabSize: 50259 }), /target_modules \["lm_head"\] match only lm_head, which modules_to_save or exclude_modules take out/);
  });
});
