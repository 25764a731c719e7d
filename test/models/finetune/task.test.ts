import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadF32 } from '../../../src/io/safetensors.js';
import { resolveArgs, type TrainingArguments } from '../../../src/models/finetune/args.js';
import type { FinetuneDataset } from '../../../src/models/finetune/data.js';
import { NoSupervisedTokensError } from '../../../src/models/finetune/errors.js';
import { FinetuneTask } from '../../../src/models/finetune/task.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import type { Callback } from '../../../src/train/callbacks.js';
import { Trainer } from '../../../src/train/trainer.js';
import { TrainingDivergedError } from '../../../src/train/errors.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { countingExamples, gpt2Tiny, splitOf } from './helpers.js';

const full = (model: CausalLmModel) => ({ model, trainable: [...model.weights.values()] });

async function taskOf(data: FinetuneDataset, args: TrainingArguments, model?: CausalLmModel): Promise<FinetuneTask> {
  return new FinetuneTask({ trainable: full(model ?? (await gpt2Tiny())), data, args: resolveArgs(args) });
}

const at = (globalStep: number) => ({ epoch: 0, step: globalStep, globalStep });

describe('FinetuneTask', () => {
  test('a few steps on gpt2-tiny lower the training and validation loss; val_perplexity is exp(val_loss)', async () => {
    const train = splitOf(countingExamples(16, { minLength: 8, maxLength: 12, prompt: 2 }), 12);
    const validation = splitOf(countingExamples(4, { minLength: 10, maxLength: 12, prompt: 2, seed: 7 }), 12);
    const task = await taskOf({ train, validation }, { learning_rate: 3e-3, per_device_train_batch_size: 4, max_steps: 8, eval_steps: 4, lr_scheduler_type: 'constant' });
    try {
      const before = await task.evaluate(validation);
      const outcome = await new Trainer(task).run();
      const rows = outcome.history.rows();
      assert.equal(rows.length, 2);
      assert.ok(rows[1]!.loss! < rows[0]!.loss!, `train loss ${rows[0]!.loss} → ${rows[1]!.loss}`);
      assert.ok(rows[1]!.val_loss! < before - 1, `val loss ${before} → ${rows[1]!.val_loss}`);
      assert.ok(Math.abs(rows[1]!.val_perplexity! - Math.exp(rows[1]!.val_loss!)) < 1e-9 * rows[1]!.val_perplexity!);
      assert.equal(task.optimizer.iterations, 8);
    } finally {
      await task.release();
    }
  });

  test('two accumulated micro-batches of 2 rows train as one batch of 4: the mean over all their supervised tokens', async () => {
    // Rows of different supervised counts, so a mean of micro-batch means would differ.
    const train = splitOf(countingExamples(8, { minLength: 5, maxLength: 12, prompt: 3, seed: 4 }), 12);
    const one = await taskOf({ train }, { learning_rate: 2e-3, per_device_train_batch_size: 4, max_steps: 2, weight_decay: 0.1, max_grad_norm: 0.5 });
    const two = await taskOf({ train }, { learning_rate: 2e-3, per_device_train_batch_size: 2, gradient_accumulation_steps: 2, max_steps: 2, weight_decay: 0.1, max_grad_norm: 0.5 });
    try {
      assert.deepEqual([one.plan.updatesPerEpoch, two.plan.updatesPerEpoch], [2, 2]);
      for (const s of [0, 1]) {
        const [a, b] = [await one.trainStep(at(s)), await two.trainStep(at(s))];
        assert.equal(a.weight, b.weight, 'the same supervised tokens');
        assert.ok(Math.abs(a.logs.loss! - b.logs.loss!) < 1e-6 * a.logs.loss!, `step ${s}: ${a.logs.loss} vs ${b.logs.loss}`);
        if (s > 0) continue;
        // After the first step the first moments are the gradients (clipped on the total): equal but for
        // float32 summation order (measured ≤ 3e-7 of each tensor's scale with MLAS's AVX2 kernels, 1.3e-6
        // with its AVX-512 ones: ~10 float32 ulps; the bound is 1e-5). So are the updated weights,
        // except where a gradient is rounding noise near ε (GPT-2's key biases get none at all): there
        // Adam's g/(|g| + ε) turns different noise into different steps, in PyTorch too.
        const weights = one.parts.trainable.trainable;
        const others = two.parts.trainable.trainable;
        weights.forEach((w, i) => {
          const g = one.optimizer.slotsFor(w)[0]!.value;
          assertRelative(two.optimizer.slotsFor(others[i]!)[0]!.value, g, 1e-5, `gradient of ${w.name}`);
          const signal = (x: Float32Array) => x.filter((_, j) => Math.abs(g[j]!) > 0.1 * 1e-6);
          // Where |g| is a few ε, Adam's g/(|g| + ε) scales that rounding up (8e-6 seen with AVX-512); the
          // gradients' check above is the one that catches a wrong mean.
          assertRelative(signal(others[i]!.value), signal(w.value), 1e-4, `${w.name} after the step`);
        });
      }
      assert.equal(two.tokensTrained, one.tokensTrained);
    } finally {
      await one.release();
      await two.release();
    }
  });

  test('packed rows train: several sequences per row, the loss over the same supervised tokens as one per row', async () => {
    const examples = countingExamples(12, { minLength: 4, maxLength: 7, prompt: 1, seed: 8 });
    const packed = splitOf(examples, 16, true);
    const padded = splitOf(examples, 16);
    assert.ok(packed.size < padded.size / 2);
    assert.equal(packed.supervisedTokens, padded.supervisedTokens);
    const task = await taskOf({ train: packed, validation: padded }, { learning_rate: 3e-3, per_device_train_batch_size: 2, max_steps: 4, lr_scheduler_type: 'constant' });
    try {
      const before = await task.evaluate(padded);
      for (let s = 0; s < 4; s++) assert.ok(Number.isFinite((await task.trainStep(at(s))).logs.loss!));
      assert.ok((await task.evaluate(padded)) < before - 0.5, 'what the packed rows taught shows on the same sequences one per row');
    } finally {
      await task.release();
    }
  });

  test("the rate follows transformers' linear schedule with warmup: 0 first, the peak after warmup, 0 at the end", async () => {
    const train = splitOf(countingExamples(4, { minLength: 4, maxLength: 6 }), 6);
    const task = await taskOf({ train }, { learning_rate: 1e-3, per_device_train_batch_size: 1, max_steps: 6, warmup_steps: 2 });
    try {
      const rates: number[] = [];
      for (let s = 0; s < 6; s++) rates.push((await task.trainStep(at(s))).logs.lr!);
      const expected = [0, 0.5e-3, 1e-3, 0.75e-3, 0.5e-3, 0.25e-3];
      rates.forEach((r, i) => assert.ok(Math.abs(r - expected[i]!) < 1e-12, `step ${i}: ${r} vs ${expected[i]}`));
    } finally {
      await task.release();
    }
  });

  test('a step whose labels are all -100 is an error naming the step, not a NaN', async () => {
    const examples = countingExamples(2, { minLength: 5, maxLength: 5 }).map((e) => ({ ...e, labels: e.labels.fill(-100) }));
    const task = await taskOf({ train: splitOf(examples, 5) }, { per_device_train_batch_size: 2, max_steps: 1 });
    try {
      await assert.rejects(task.trainStep(at(0)), (err: unknown) => err instanceof NoSupervisedTokensError && err.step === 0 && /training step 1's batch is masked/.test(err.message));
      await assert.rejects(task.evaluate(splitOf(examples, 5)), (err: unknown) => err instanceof NoSupervisedTokensError && err.split === 'validation');
    } finally {
      await task.release();
    }
  });

  test('a NaN loss stops the run with TrainingDivergedError at that step; the weights stay those of the last good step', async () => {
    const model = await gpt2Tiny();
    const train = splitOf(countingExamples(4, { minLength: 6, maxLength: 6 }), 6);
    const task = await taskOf({ train }, { learning_rate: 1e-3, per_device_train_batch_size: 2, max_steps: 4, eval_steps: 4 }, model);
    const poison: Callback = { onBatchEnd: (batch) => void (batch === 1 && model.weights.get('transformer.ln_f.weight')!.value.fill(Number.NaN)) };
    try {
      const beforeStep3 = new Map<string, Float32Array>();
      const snapshot: Callback = { onBatchBegin: (batch) => void (batch === 2 && [...model.weights].forEach(([n, v]) => beforeStep3.set(n, v.value.slice()))) };
      const trainer = new Trainer(task, { callbacks: [poison, snapshot] });
      const run = trainer.run();
      await assert.rejects(run, (err: unknown) => err instanceof TrainingDivergedError && err.position.globalStep === 2 && /loss is NaN/.test(err.message));
      for (const [name, v] of model.weights) assert.deepEqual(v.value, beforeStep3.get(name), `${name} is not updated by the failed step`);
      assert.equal(task.optimizer.iterations, 2);
      assert.equal(trainer.position.globalStep, 2, 'the failed step is not counted');
    } finally {
      await task.release();
    }
  });

  // Tolerances: the golden is PyTorch float32; both sides sum in float32 in different orders, which the
  // fixtures' README measures at 2e-6 relative for gradients. The first Adam step moves each weight by
  // lr·g/(|g| + ε) ≈ ±lr, so updated weights carry the gradients' error only where |g| ≈ ε.
  test('one AdamW step on gpt2-tiny matches PyTorch: loss, gradients (wte by row norms and rows) and updated weights', async () => {
    const golden = JSON.parse(readFileSync(fixturePath('gpt2-tiny-trainstep', 'golden.json'), 'utf8')) as TrainStepGolden;
    const tensors = await loadF32(fixturePath('gpt2-tiny-trainstep', 'golden.safetensors'));
    const ids = Int32Array.from(golden.input_ids);
    const { lr, betas, eps, weight_decay } = golden.optimizer;
    // PyTorch's AdamW as the golden ran it: a constant rate, no clipping, decay on every parameter (see below).
    const model = await gpt2Tiny();
    const initial = new Map([...model.weights].map(([n, v]) => [n, v.value.slice()]));
    const task = await taskOf({ train: splitOf([{ inputIds: ids, labels: ids.slice() }], ids.length) }, {
      learning_rate: lr, adam_beta1: betas[0], adam_beta2: betas[1], adam_epsilon: eps, weight_decay, max_grad_norm: 0, lr_scheduler_type: 'constant', per_device_train_batch_size: 1, max_steps: 1,
    }, model);
    try {
      const { logs } = await task.trainStep(at(0));
      assert.ok(Math.abs(logs.loss! - golden.loss) < 1e-5 * golden.loss, `loss ${logs.loss} vs ${golden.loss}`);
    } finally {
      await task.release();
    }
    // After one step Adam's first moment is (1 − β₁)·g: the gradient the step used, to float32 rounding.
    const slots = new Map(task.optimizer.variables.map((v) => [v.name, v.value]));
    const gradOf = (name: string) => slots.get(`AdamW/${name}/m`)!.map((m) => m / (1 - betas[0]));
    for (const name of golden.params) {
      const expected = tensors.get(`grad.${name}`)!.data;
      assertRelative(gradOf(name), expected, 1e-5, `grad ${name}`);
      let after = tensors.get(`after_adamw.${name}`)!.data;
      // transformers' Trainer decays neither biases nor norm weights; the golden's plain AdamW decayed every
      // parameter, so take its decay back out for those (lr·λ·w, with w the weight before the step).
      if (model.weights.get(name)!.shape.length < 2) after = after.map((x, i) => x + lr * weight_decay * initial.get(name)![i]!);
      assertRelative(model.weights.get(name)!.value, after, 1e-5, `${name} after the step`);
    }
    const wte = 'transformer.wte.weight';
    const C = model.dims.hidden;
    const wteGrad = gradOf(wte);
    const rowNorm = Float32Array.from({ length: model.dims.vocabSize }, (_, r) => norm(wteGrad.subarray(r * C, (r + 1) * C)));
    assertRelative(rowNorm, tensors.get(`grad.${wte}.row_l2`)!.data, 1e-5, 'wte gradient row norms');
    const rows = (data: Float32Array) => Float32Array.from(golden.wte_rows.flatMap((r) => [...data.subarray(r * C, (r + 1) * C)]));
    assertRelative(rows(wteGrad), tensors.get(`grad.${wte}.rows`)!.data, 1e-5, 'wte gradient rows of the input ids');
    assertRelative(rows(model.weights.get(wte)!.value), tensors.get(`after_adamw.${wte}.rows`)!.data, 1e-5, 'wte rows after the step');
    const total = Math.hypot(...[...slots].filter(([n]) => n.endsWith('/m')).map(([, m]) => norm(m) / (1 - betas[0])));
    assert.ok(Math.abs(total - golden.grad_norm_total) < 1e-5 * golden.grad_norm_total, `gradient norm ${total} vs ${golden.grad_norm_total}`);
  });
});

interface TrainStepGolden {
  input_ids: number[];
  loss: number;
  optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
  params: string[];
  wte_rows: number[];
  grad_norm_total: number;
}

const norm = (x: Float32Array): number => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

/** max |a − b| ≤ tol · max |b|: relative to the tensor's scale, so entries near 0 are not over-weighted. */
function assertRelative(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
  }
  assert.ok(diff <= tol * scale, `${what}: max difference ${diff} is ${(diff / scale).toExponential(2)} of the scale ${scale}`);
}
