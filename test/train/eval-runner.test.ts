import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../../src/core/ops/index.js';
import { HostTensor } from '../../src/nn/host-tensor.js';
import { EvalRunner } from '../../src/train/eval-runner.js';

test('run averages each output over batches weighted by their size', async () => {
  // Per-batch mean of x and of x²; 5 rows in batches of 2, 2, 1.
  const runner = await EvalRunner.compile('eval_test', [{ name: 'x', shape: ['batch', 1], dtype: 'float32' }], ({ x }) => ({ m: F.mean(x!), sq: F.mean(F.mul(x!, x!)) }));
  try {
    const x = new HostTensor(Float32Array.of(1, 2, 3, 4, 10), [5, 1]);
    const out = await runner.run([x], 2);
    // Weighted batch means equal the means over all rows: 20/5 and 130/5.
    assert.ok(Math.abs(out.m! - 4) < 1e-6, `m ${out.m}`);
    assert.ok(Math.abs(out.sq! - 26) < 1e-5, `sq ${out.sq}`);
    assert.deepEqual(Object.keys(out), ['m', 'sq']);
    // Batch size does not change the result.
    const whole = await runner.run([x], 5);
    assert.ok(Math.abs(whole.m! - 4) < 1e-6);
  } finally {
    await runner.release();
  }
});

test('an output that is not a scalar is refused, naming it', async () => {
  await assert.rejects(EvalRunner.compile('eval_bad', [{ name: 'x', shape: ['batch', 2], dtype: 'float32' }], ({ x }) => ({ rows: F.mean(x!, [1]) })), /eval_bad output 'rows': the loss must be a scalar, received shape \[batch\]/);
});
