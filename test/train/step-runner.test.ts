import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentGraph, type Tensor } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { Variable } from '../../src/core/variable.js';
import { adam } from '../../src/optim/adam.js';
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

/** loss = sum((w·x − 1)²) with Adam, whose per-step scalars (bias corrections) change every step. */
function adamSpec(w: Variable, stepsPerRun: number): StepGraphSpec {
  return {
    name: `adam_step_x${stepsPerRun}`,
    inputs: [{ name: 'x', shape: [1, 2], dtype: 'float32' }],
    forward: ({ x }) => {
      const err = F.sub(F.mul(x!, currentGraph().param(w)), 1);
      return { loss: F.sum(F.mul(err, err)), outputs: { err } };
    },
    trainable: () => [w],
    optimizer: adam({ learningRate: 0.1 }),
    stepsPerRun,
  };
}

test('stepsPerRun: K steps in one run give what K runs of one step give, bit for bit', async () => {
  const xs = Float32Array.of(1, 2, -3, 0.5, 2, 2, 0.25, -1, 4, 1);
  const wOne = new Variable('w_one_by_one', [1, 2], Float32Array.of(0.3, -0.2));
  const wLoop = new Variable('w_looped', [1, 2], Float32Array.of(0.3, -0.2));
  const one = await StepRunner.compile(adamSpec(wOne, 1));
  const loop = await StepRunner.compile(adamSpec(wLoop, 4));
  try {
    const losses: number[] = [];
    const errs: number[] = [];
    for (let s = 0; s < 5; s++) {
      (one.buffers.x as Float32Array).set(xs.subarray(s * 2, s * 2 + 2));
      const out = await one.run();
      losses.push(out.loss);
      errs.push(...(out.outputs.err as Float32Array));
    }
    assert.equal(loop.stepsPerRun, 4);
    assert.equal(loop.buffers.x!.length, 8);
    (loop.buffers.x as Float32Array).set(xs.subarray(0, 8));
    const first = await loop.run(4);
    assert.equal(first.committed, true);
    assert.deepEqual([...first.losses], losses.slice(0, 4));
    assert.equal(first.loss, losses[3]);
    assert.deepEqual([...(first.outputs.err as Float32Array).subarray(0, 8)], errs.slice(0, 8));
    (loop.buffers.x as Float32Array).set(xs.subarray(8, 10));
    const last = await loop.run(1);
    assert.deepEqual([...last.losses], losses.slice(4));
    assert.deepEqual([...wLoop.value], [...wOne.value]);
    assert.equal(loop.optimizer.iterations, 5);
    const slots = (w: Variable, r: StepRunner) => r.optimizer.slotsFor(w).map((v) => [...v.value]);
    assert.deepEqual(slots(wLoop, loop), slots(wOne, one));
  } finally {
    await Promise.all([one.release(), loop.release()]);
  }
});

test('stepsPerRun: a non-finite loss anywhere in the run commits none of its steps', async () => {
  const w = new Variable('w_looped_nan', [1, 2], Float32Array.of(0.3, -0.2));
  const runner = await StepRunner.compile(adamSpec(w, 3));
  try {
    (runner.buffers.x as Float32Array).set([1, 2, NaN, 1, 2, 2]);
    const out = await runner.run(3);
    assert.equal(out.committed, false);
    assert.ok(Number.isNaN(out.losses[1]!));
    assert.deepEqual([...w.value], [...Float32Array.of(0.3, -0.2)]);
    assert.equal(runner.optimizer.iterations, 0);
    await assert.rejects(runner.run(4), /a run takes 1 to 3 steps, received 4/);
    await assert.rejects(runner.run(0), /a run takes 1 to 3 steps, received 0/);
  } finally {
    await runner.release();
  }
  await assert.rejects(StepRunner.compile({ ...adamSpec(w, 2), countsAsStep: false }), /a run of several steps must count them as optimizer steps/);
  await assert.rejects(StepRunner.compile(adamSpec(w, 1.5)), /stepsPerRun must be a positive integer, received 1.5/);
});
