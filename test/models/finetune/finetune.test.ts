import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pipeline } from '../../../src/apps/pipeline.js';
import { readSafetensors, readSafetensorsHeader } from '../../../src/io/safetensors.js';
import { finetune, type FinetuneOptions } from '../../../src/models/finetune/finetune.js';
import { FinetuneSettingsError, OutputIsBaseModelError } from '../../../src/models/finetune/errors.js';
import { LoraModel } from '../../../src/models/lora/adapter.js';
import { loadLoraAdapter } from '../../../src/models/lora/peft-io.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import type { FinetuneTask } from '../../../src/models/finetune/task.js';
import type { Callback } from '../../../src/train/callbacks.js';
import { readCheckpointRun } from '../../../src/train/checkpoint.js';
import { ResumeMismatchError, TrainingDivergedError } from '../../../src/train/errors.js';
import type { Trainer } from '../../../src/train/trainer.js';
import { logitsOf } from '../lora/helpers.js';
import { GPT2_TINY, gpt2Tiny } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'forja-finetune-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(root, `run-${dirs++}`);

// Prompt/completion records: count on from the prompt's number, in words. GPT-2's tokenizer.
const WORDS = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];
const DATA = join(root, 'count.jsonl');
const EVAL = join(root, 'count-eval.jsonl');
const record = (i: number) => JSON.stringify({ prompt: `Count: ${WORDS[i % 8]}`, completion: ` ${WORDS.slice((i % 8) + 1, (i % 8) + 4).join(' ')}` });
writeFileSync(DATA, Array.from({ length: 24 }, (_, i) => record(i)).join('\n') + '\n');
writeFileSync(EVAL, Array.from({ length: 6 }, (_, i) => record(i + 3)).join('\n') + '\n');

const BASE: FinetuneOptions = { model: GPT2_TINY, data: DATA, eval_data: EVAL, max_length: 16, per_device_train_batch_size: 4, learning_rate: 2e-3, max_steps: 6, eval_steps: 2, lr_scheduler_type: 'cosine', warmup_steps: 1, weight_decay: 0.01, seed: 3 };

describe('finetune', () => {
  test('full fine-tuning lowers the loss and saves an HF directory whose logits are the trained model\'s and which generate loads', async () => {
    const output_dir = freshDir();
    const steps: number[] = [];
    let evaluations = 0;
    const result = await finetune({ ...BASE, output_dir, onStep: (p) => void steps.push(p.step), onEvaluation: () => void evaluations++ });
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
    assert.equal(evaluations, 3);
    assert.equal(result.steps, 6);
    assert.equal(result.history.length, 3);
    assert.ok(result.history[2]!.val_loss! < result.history[0]!.val_loss!, `val loss ${result.history.map((r) => r.val_loss)}`);
    assert.ok(result.trainLoss! < result.history[0]!.loss!);
    assert.equal(result.valPerplexity, Math.exp(result.valLoss!));
    assert.equal(result.trainableParameters, result.totalParameters);
    assert.ok(result.tokensPerSecond > 0 && result.tokensPerSecond >= result.supervisedTokensPerSecond);
    assert.ok(Math.abs(result.tokensPerSecond * result.trainingSeconds - result.trainTokens) < 1e-6 * result.trainTokens, 'tokens/s follows from its figures');
    assert.ok(result.peakRssBytes > 50e6 && result.seconds >= result.trainingSeconds);
    assert.deepEqual(
      readdirSync(output_dir).sort(),
      ['checkpoint.safetensors', 'config.json', 'generation_config.json', 'merges.txt', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json'],
    );
    const saved = await CausalLM.load(output_dir);
    try {
      const ids = [7454, 2402, 257, 640];
      const fromDisk = await logitsOf(saved.model, ids);
      assert.deepEqual(fromDisk, await logitsOf(result.model, ids), 'the saved weights are the trained ones, bit for bit');
      assert.notDeepEqual(fromDisk, await logitsOf(await gpt2Tiny(), ids), 'and they moved');
    } finally {
      await saved.release();
    }
    const generator = await pipeline('text-generation', output_dir);
    try {
      const [out] = await generator('Count: two', { max_new_tokens: 3, do_sample: false });
      assert.ok(String(out!.generated_text).startsWith('Count: two'));
    } finally {
      await generator.dispose();
    }
  });

  test('an output_dir that is the base model\'s directory, or holds it, is refused before any work', async () => {
    const before = readdirSync(GPT2_TINY).sort();
    await assert.rejects(finetune({ ...BASE, output_dir: GPT2_TINY }), (err: unknown) => err instanceof OutputIsBaseModelError && err.setting === 'output_dir' && /would overwrite it/.test(err.message));
    await assert.rejects(finetune({ ...BASE, output_dir: dirname(GPT2_TINY), overwrite_output_dir: true }), OutputIsBaseModelError);
    assert.deepEqual(readdirSync(GPT2_TINY).sort(), before);
  });

  test('interrupted by a signal mid-interval and resumed, a run ends bit-identical to an uninterrupted one (accumulation on)', async () => {
    const args: FinetuneOptions = { ...BASE, per_device_train_batch_size: 2, gradient_accumulation_steps: 2, max_steps: 5 };
    const straight = await finetune({ ...args, output_dir: freshDir() });
    const output_dir = freshDir();
    const stop = new AbortController();
    const cut = await finetune({ ...args, output_dir, signal: stop.signal, onStep: (p) => void (p.step === 3 && stop.abort()) });
    assert.equal(cut.interrupted, true);
    assert.equal(cut.steps, 3);
    assert.ok(existsSync(join(output_dir, 'model.safetensors')), 'the model of step 3 is saved on the way out');
    await assert.rejects(finetune({ ...args, output_dir }), (err: unknown) => err instanceof FinetuneSettingsError && /already holds a fine-tuning run: continue it with \{?resume_from_checkpoint/.test(err.message));
    await assert.rejects(finetune({ ...args, output_dir, resume_from_checkpoint: true, learning_rate: 1e-3 }), (err: unknown) => err instanceof ResumeMismatchError && err.setting === 'learning_rate');
    const resumed = await finetune({ model: GPT2_TINY, data: DATA, eval_data: EVAL, output_dir, resume_from_checkpoint: true });
    assert.equal(resumed.startStep, 3);
    assert.equal(resumed.steps, 5);
    for (const [name, v] of straight.model.weights) assert.deepEqual(resumed.model.weights.get(name)!.value, v.value, `${name} after 5 steps`);
    assert.deepEqual(resumed.history, straight.history);
  });

  test('a NaN loss stops the run naming the step; the last checkpoint on disk is the last good one, and the run resumes from it', async () => {
    const output_dir = freshDir();
    let trainer!: Trainer;
    const poison: Callback = {
      setTrainer: (t) => (trainer = t),
      onBatchEnd: () => void (trainer.position.globalStep === 3 && (trainer.task as FinetuneTask).parts.trainable.trainable[0]!.value.fill(Number.NaN)),
    };
    await assert.rejects(finetune({ ...BASE, output_dir, callbacks: [poison] }), (err: unknown) => err instanceof TrainingDivergedError && err.position.globalStep === 3 && err.during === 'step');
    const run = await readCheckpointRun(join(output_dir, 'checkpoint.safetensors'));
    assert.equal(run.position.globalStep, 2, 'the checkpoint of the last save point');
    const weights = await readSafetensors(join(output_dir, 'model.safetensors'));
    for (const [name, t] of weights) assert.ok((t.data as Float32Array).every(Number.isFinite), `${name} on disk is finite`);
    const resumed = await finetune({ ...BASE, output_dir, resume_from_checkpoint: true });
    assert.equal(resumed.startStep, 2);
    assert.equal(resumed.steps, 6);
    await assert.rejects(finetune({ ...BASE, output_dir, resume_from_checkpoint: true }), (err: unknown) => err instanceof FinetuneSettingsError && /already finished its 6 steps/.test(err.message));
  });

  test('early stopping ends the run when the validation loss stops improving, and the model of that step is saved', async () => {
    const output_dir = freshDir();
    const result = await finetune({ ...BASE, output_dir, eval_steps: 1, save_steps: 3, early_stopping_patience: 1, early_stopping_threshold: 100 });
    assert.equal(result.stoppedEarly, true);
    assert.equal(result.steps, 2, 'no improvement of 100 after the first evaluation: stop at the second');
    const saved = await CausalLM.load(output_dir);
    try {
      assert.deepEqual(await logitsOf(saved.model, [1, 2, 3]), await logitsOf(result.model, [1, 2, 3]));
    } finally {
      await saved.release();
    }
    await assert.rejects(finetune({ ...BASE, eval_data: undefined, early_stopping_patience: 2 }), (err: unknown) => err instanceof FinetuneSettingsError && err.setting === 'early_stopping_patience');
  });

  test('LoRA is a parameter of the same run: only the adapters train, the base stays, and the PEFT adapter saved reloads to the same logits', async () => {
    const output_dir = freshDir();
    const result = await finetune({ ...BASE, output_dir, learning_rate: 1e-2, lora: { r: 4, lora_alpha: 8 } });
    assert.ok(result.model instanceof LoraModel);
    assert.ok(result.history[2]!.val_loss! < result.history[0]!.val_loss!);
    const pristine = await gpt2Tiny();
    const baseSize = [...pristine.weights.values()].reduce((n, v) => n + v.size, 0);
    assert.equal(result.trainableParameters, 2 * 4 * (48 + 144), 'c_attn A [4, 48] and B [144, 4] in each of the 2 layers');
    assert.equal(result.totalParameters, baseSize + result.trainableParameters);
    for (const [name, v] of pristine.weights) assert.deepEqual(result.model.base.weights.get(name)!.value, v.value, `base ${name} is untouched`);
    for (const file of ['adapter_config.json', 'adapter_model.safetensors', 'checkpoint.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(output_dir, file)), file);
    assert.ok(!existsSync(join(output_dir, 'model.safetensors')), 'no full copy of the base');
    // The checkpoint holds the adapters and their AdamW moments, nothing of the frozen base.
    const stored = [...(await readSafetensorsHeader(join(output_dir, 'checkpoint.safetensors'))).tensors.keys()];
    assert.equal(stored.length, 3 * 4);
    assert.ok(stored.every((n) => /lora_[AB]\.weight(\/[mv])?$/.test(n)), stored.join(', '));
    const reloaded = await loadLoraAdapter(output_dir, pristine);
    assert.deepEqual(await logitsOf(reloaded, [5, 6, 7]), await logitsOf(result.model, [5, 6, 7]));
  });
});
