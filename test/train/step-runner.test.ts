import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentGraph, type Tensor } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { Variable } from '../../src/core/variable.js';
import { sgd } from '../../src/optim/sgd.js';
import { asScalar, StepRunner, type StepGraphSpec } from '../../src/train/step-runner.js';
import { trace } from '../../src/core/graph.js';

/** loss = sum(w * x) over one row: its gradient is x, so SGD gives w - lr * x. */
function linearSpec(w: Variable, extra = false): StepGraphSpec {
  const optimizer = sgd({ learningRate: 0.5 });
  return {
    name: 'linear_step',
    inputs: [
      { name: 'x', shape: [1, 2], dtype: 'float32' },
      { name: 'x_again', shape: [1, 2], dtype: 'float32', alias: 'x' },
    ],
    forward: ({ x, x_again }) => {
      const prod = F.mul(x!, currentGraph().param(w));
      const outputs: Record<string, Tensor> = extra ? { doubled: F.add(x!, x_again!) } : {};
      return { loss: F.sum(prod), outputs };
    },
    trainable: () => [w],
    optimizer,
  };
}

test('a finite step applies the update, swaps the double buffer and counts the iteration', async () => {
  const w = new Variable('w_step', [1, 2], Float32Array.of(1, 2));
  const spec = linearSpec(w, true);
  const runner = await StepRunner.compile(spec);
  try {
    assert.equal(runner.buffers.x_again, runner.buffers.x);
    assert.deepEqual([...runner.aliases], ['x_again']);
    (runner.buffers.x as Float32Array).set([2, -4]);
    const first = w.value;
    const out = await runner.run();
    assert.equal(out.loss, 1 * 2 + 2 * -4);
    assert.equal(out.committed, true);
    assert.deepEqual([...w.value], [1 - 0.5 * 2, 2 + 0.5 * 4]);
    assert.deepEqual([...(out.outputs.doubled as Float32Array)], [4, -8]);
    assert.equal(spec.optimizer.iterations, 1);
    const second = w.value;
    assert.notEqual(second, first);
    // The second run writes into the first array (the spare), as the header says.
    await runner.run();
    assert.equal(w.value, first);
    assert.deepEqual([...w.value], [0 - 0.5 * 2, 4 + 0.5 * 4]);
    assert.deepEqual([...second], [0, 4]);
    assert.equal(spec.optimizer.iterations, 2);
  } finally {
    await runner.release();
  }
});

test('a non-finite loss commits nothing: same array, same values, no iteration', async () => {
  const w = new Variable('w_nan_step', [1, 2], Float32Array.of(1, 2));
  const spec = linearSpec(w);
  const runner = await StepRunner.compile(spec);
  try {
    const live = w.value;
    (runner.buffers.x as Float32Array).set([NaN, 1]);
    const out = await runner.run();
    assert.ok(Number.isNaN(out.loss));
    assert.equal(out.committed, false);
    assert.equal(w.value, live);
    assert.deepEqual([...w.value], [1, 2]);
    assert.equal(spec.optimizer.iterations, 0);
    // The next finite step starts from the untouched weights.
    (runner.buffers.x as Float32Array).set([1, 1]);
    assert.equal((await runner.run()).committed, true);
    assert.deepEqual([...w.value], [0.5, 1.5]);
  } finally {
    await runner.release();
  }
});

test('countsAsStep false commits the values but not the iteration', async () => {
  const w = new Variable('w_micro', [1, 2], Float32Array.of(0, 0));
  const spec = { ...linearSpec(w), countsAsStep: false };
  const runner = await StepRunner.compile(spec);
  try {
    (runner.buffers.x as Float32Array).set([1, 2]);
    assert.equal((await runner.run()).committed, true);
    assert.deepEqual([...w.value], [-0.5, -1]);
    assert.equal(spec.optimizer.iterations, 0);
  } finally {
    await runner.release();
  }
});

test('bad specs are refused with the step and input named', async () => {
  const w = new Variable('w_bad', [1, 2]);
  await assert.rejects(StepRunner.compile({ ...linearSpec(w), inputs: [{ name: 'x', shape: ['batch', 2], dtype: 'float32' }] }), /train step: input 'x' needs a static shape, received \[batch, 2\]/);
  await assert.rejects(
    StepRunner.compile({ ...linearSpec(w), inputs: [{ name: 'x', shape: [1, 2], dtype: 'float32' }, { name: 'y', shape: [1, 2], dtype: 'float32', alias: 'z' }], forward: ({ x }) => ({ loss: F.sum(x!), outputs: {} }) }),
    /train step: input 'y' aliases unknown input 'z'/,
  );
  await assert.rejects(StepRunner.compile({ ...linearSpec(w), forward: ({ x }) => ({ loss: F.mul(x!, currentGraph().param(w)), outputs: {} }) }), /linear_step: the loss must be a scalar, received shape \[1, 2\]/);
  await assert.rejects(StepRunner.compile({ ...linearSpec(w), forward: ({ x }) => ({ loss: F.sum(F.mul(x!, currentGraph().param(w))), outputs: { loss: x! } }) }), /linear_step: output name 'loss' is reserved/);
});

test('asScalar reshapes all-ones shapes to rank 0', () => {
  trace((g) => {
    const s = g.input('s', []);
    assert.equal(asScalar(s, 'here'), s);
    assert.deepEqual(asScalar(g.input('one', [1, 1]), 'here').shape, []);
    assert.throws(() => asScalar(g.input('two', [2]), 'here'), /here: the loss must be a scalar, received shape \[2\]/);
  });
});
