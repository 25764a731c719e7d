import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveArgs } from '../../../src/models/finetune/args.js';
import { FinetuneSettingsError } from '../../../src/models/finetune/errors.js';
import { checkSameRun, loadBase, maxLengthFor, resolveBase, resumedArgs, trainableModel, type RunFacts } from '../../../src/models/finetune/open.js';
import type { StoredRun } from '../../../src/train/checkpoint.js';
import { ResumeMismatchError } from '../../../src/train/errors.js';
import { GPT2_TINY } from './helpers.js';

const base = await loadBase(await resolveBase(GPT2_TINY, undefined));
const run = (meta: Record<string, unknown>): StoredRun => ({ position: { epoch: 0, step: 0, globalStep: 3 }, history: [], epochSums: { sums: {}, weight: 0 }, optimizers: {}, rngs: {}, meta });

describe('resolveBase, loadBase and maxLengthFor', () => {
  test('the default max_length shrinks to the model\'s positions; an explicit longer one is refused', () => {
    assert.equal(base.model.dims.maxPositions, 128);
    assert.equal(maxLengthFor({}, base.model), 128);
    assert.equal(maxLengthFor({ max_length: 64 }, base.model), 64);
    assert.throws(() => maxLengthFor({ max_length: 200 }, base.model), (err: unknown) => err instanceof FinetuneSettingsError && err.setting === 'max_length' && /200 is longer than the model's 128 positions/.test(err.message));
  });
});

describe('trainableModel', () => {
  test('full: every weight once (the tied embedding once); LoRA: the adapters, over the base', () => {
    const args = resolveArgs({});
    const full = trainableModel(base, undefined, args, 50257).trainable;
    assert.equal(full.trainable.length, base.model.weights.size);
    const { trainable, lora } = trainableModel(base, { r: 2 }, args, undefined);
    assert.ok(lora);
    assert.equal(trainable.model, lora);
    assert.deepEqual(trainable.trainable, lora.trainableVariables);
    assert.equal(trainable.trainingInputs, undefined, 'no LoRA dropout by default');
    assert.ok(trainableModel(base, { r: 2, lora_dropout: 0.1 }, args, undefined).trainable.trainingInputs);
  });

  test('a tokenizer larger than the embedding is refused for full fine-tuning (LoRA resizes it through modules_to_save)', () => {
    const args = resolveArgs({});
    assert.throws(() => trainableModel(base, undefined, args, 50259), (err: unknown) => err instanceof FinetuneSettingsError && /50259 tokens but the model's embedding has 50257 rows/.test(err.message));
    const { lora } = trainableModel(base, { r: 2 }, args, 50259);
    assert.equal(lora!.dims.vocabSize, 50259);
  });
});

describe('resuming', () => {
  const saved = run({ kind: 'forja-finetune', args: resolveArgs({ learning_rate: 1e-3, seed: 5 }) });

  test('the saved arguments; one given explicitly must equal the saved one', () => {
    assert.equal(resumedArgs(saved, {}, 'ckpt').learning_rate, 1e-3);
    assert.equal(resumedArgs(saved, { learning_rate: 1e-3 }, 'ckpt').seed, 5);
    assert.throws(() => resumedArgs(saved, { per_device_train_batch_size: 2 }, 'ckpt'), (err: unknown) => err instanceof ResumeMismatchError && err.setting === 'per_device_train_batch_size' && err.given === 2 && err.saved === 8);
  });

  test('another base, other data or another LoRA config is refused', () => {
    const facts: RunFacts = { base: { architecture: 'GPT2LMHeadModel', configSha256: 'a' }, data: { sha256: 'd', rows: 3, tokens: 30 }, lora: null, earlyStopping: null };
    const stored = run({ ...saved.meta, ...facts });
    assert.doesNotThrow(() => checkSameRun(stored, facts, 'dir'));
    assert.throws(() => checkSameRun(stored, { ...facts, base: { ...facts.base, configSha256: 'b' } }, 'dir'), (err: unknown) => err instanceof FinetuneSettingsError && err.setting === 'model');
    assert.throws(() => checkSameRun(stored, { ...facts, data: { ...facts.data, sha256: 'e' } }, 'dir'), (err: unknown) => err instanceof FinetuneSettingsError && err.setting === 'data');
    assert.throws(() => checkSameRun(stored, { ...facts, lora: { r: 8 } }, 'dir'), (err: unknown) => err instanceof ResumeMismatchError && err.setting === 'lora');
  });
});
