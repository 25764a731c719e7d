import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveArgs } from '../../../src/models/finetune/args.js';
import { fingerprintRows, planSteps, stepRows } from '../../../src/models/finetune/data.js';
import { countingExamples, splitOf } from './helpers.js';

describe('planSteps', () => {
  test("steps as transformers' Trainer counts them: ⌈batches / accumulation⌉ per pass, max_steps wins", () => {
    const plan = planSteps(resolveArgs({ per_device_train_batch_size: 3, gradient_accumulation_steps: 2, num_train_epochs: 3, warmup_ratio: 0.2 }), 10);
    assert.deepEqual(plan, { batchesPerEpoch: 4, updatesPerEpoch: 2, totalSteps: 6, warmupSteps: 2, evalSteps: 2, saveSteps: 2 });
    assert.equal(planSteps(resolveArgs({ per_device_train_batch_size: 3, num_train_epochs: 0.5 }), 10).totalSteps, 2);
    const capped = planSteps(resolveArgs({ per_device_train_batch_size: 2, max_steps: 3, eval_steps: 10 }), 100);
    assert.deepEqual([capped.totalSteps, capped.evalSteps], [3, 3], 'an interval is at most the run');
    assert.equal(planSteps(resolveArgs({ eval_steps: 2, save_steps: 4, max_steps: 8 }), 10).saveSteps, 4);
  });
});

describe('stepRows', () => {
  test('each pass covers every row once, in micro-batches of the batch size (the last short), a new order each pass, the same for the same step', () => {
    const args = resolveArgs({ per_device_train_batch_size: 3, gradient_accumulation_steps: 2, num_train_epochs: 2 });
    const plan = planSteps(args, 10);
    const pass = (e: number) => [0, 1].flatMap((s) => stepRows(plan, args, 10, e * plan.updatesPerEpoch + s));
    const first = pass(0);
    assert.deepEqual(first.map((r) => r.length), [3, 3, 3, 1]);
    assert.deepEqual(first.flatMap((r) => [...r]).sort((a, b) => a - b), [...Array(10).keys()]);
    assert.notDeepEqual(pass(1).flatMap((r) => [...r]), first.flatMap((r) => [...r]));
    assert.deepEqual(stepRows(plan, args, 10, 3), stepRows(plan, args, 10, 3));
    assert.notDeepEqual(stepRows(plan, resolveArgs({ ...args, data_seed: 1 }), 10, 0), stepRows(plan, args, 10, 0), 'data_seed orders the rows');
  });
});

describe('fingerprintRows', () => {
  test('changes with any id or label of the training rows', () => {
    const examples = countingExamples(5, { minLength: 4, maxLength: 6 });
    const a = fingerprintRows(splitOf(examples, 6));
    assert.deepEqual(fingerprintRows(splitOf(examples, 6)), a);
    const masked = examples.map((e, i) => (i === 2 ? { ...e, labels: e.labels.map((l, t) => (t === 1 ? -100 : l)) } : e));
    assert.notEqual(fingerprintRows(splitOf(masked, 6)).sha256, a.sha256);
    assert.equal(a.rows, 5);
    assert.equal(a.tokens, examples.reduce((n, e) => n + e.inputIds.length, 0));
  });
});
