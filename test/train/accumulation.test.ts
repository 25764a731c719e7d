import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { currentGraph } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { Rng } from '../../src/core/rng.js';
import { Variable } from '../../src/core/variable.js';
import { maskedCrossentropy } from '../../src/losses/index.js';
import { AdamW } from '../../src/optim/index.js';
import { GradientAccumulator, type MicroBatch } from '../../src/train/accumulation.js';

// A token model small enough to run many steps: ids → embedding [V, C] → head [C, V].
const V = 11;
const C = 6;
const T = 5;
const ROWS = 6;

function params(): Variable[] {
  const rng = new Rng(3);
  const init = (shape: number[]): Float32Array => Float32Array.from({ length: shape[0]! * shape[1]! }, () => 0.5 * rng.normal());
  return [new Variable('embedding', [V, C], init([V, C])), new Variable('head', [C, V], init([C, V]))];
}

/** Ids, and labels with -100 at varied places, so micro-batches hold different counts of tokens. */
function data(): { ids: BigInt64Array; labels: BigInt64Array; counted: number[] } {
  const rng = new Rng(9);
  const ids = BigInt64Array.from({ length: ROWS * T }, () => BigInt(Math.floor(rng.next() * V)));
  const labels = BigInt64Array.from({ length: ROWS * T }, (_, i) => (i % 7 === 0 || (i >= T && i < 3 * T && i % 2 === 1) ? -100n : BigInt(Math.floor(rng.next() * V))));
  const counted = Array.from({ length: ROWS }, (_, r) => labels.subarray(r * T, (r + 1) * T).filter((l) => l !== -100n).length);
  return { ids, labels, counted };
}

interface Setup {
  vars: Variable[];
  optimizer: AdamW;
  accumulator: GradientAccumulator<number>;
}

/** microBatches rows-per-micro-batch runners over fresh copies of the same weights; clipping is active. */
function setup(microBatches: number, clipNorm: number | null = 1e-3): Setup {
  const vars = params();
  const optimizer = new AdamW({ learningRate: 0.05, weightDecay: 0.1, epsilon: 1e-8, ...(clipNorm !== null && { clipNorm }) });
  const accumulator = new GradientAccumulator<number>({
    name: 'toy',
    microBatches,
    inputs: (rows) => [
      { name: 'ids', shape: [rows, T], dtype: 'int64' },
      { name: 'labels', shape: [rows, T], dtype: 'int64' },
      { name: 'scale', shape: [], dtype: 'float32' },
    ],
    forward: ({ ids, labels, scale }) => {
      const g = currentGraph();
      const logits = F.matmul(F.gather(g.param(vars[0]!), ids!), g.param(vars[1]!));
      return { loss: F.mul(maskedCrossentropy(labels!, logits, { reduction: 'sum' }), scale!), outputs: {} };
    },
    trainable: () => vars,
    optimizer,
  });
  return { vars, optimizer, accumulator };
}

/** Rows [start, end) as one micro-batch whose loss is its share of `total` counted tokens. */
function micro(start: number, end: number, total: number, d = data(), scale = 1 / total): MicroBatch<number> {
  return {
    key: end - start,
    fill: (buffers) => {
      (buffers.ids as BigInt64Array).set(d.ids.subarray(start * T, end * T));
      (buffers.labels as BigInt64Array).set(d.labels.subarray(start * T, end * T));
      (buffers.scale as Float32Array)[0] = scale;
    },
  };
}

const maxRelative = (a: Float32Array, b: Float32Array): number => {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / scale;
};

describe('GradientAccumulator', () => {
  test('three micro-batches give the loss, weights and Adam moments of one step on their concatenation (mean over all counted tokens, clipped on the total)', async () => {
    const d = data();
    const total = d.counted.reduce((a, b) => a + b, 0);
    assert.notEqual(d.counted[0]! + d.counted[1]!, d.counted[2]! + d.counted[3]!, 'micro-batches hold different numbers of counted tokens');
    const whole = setup(1);
    const split = setup(3);
    try {
      for (let step = 0; step < 3; step++) {
        const one = await whole.accumulator.step([micro(0, ROWS, total, d)]);
        const three = await split.accumulator.step([micro(0, 2, total, d), micro(2, 4, total, d), micro(4, 6, total, d)]);
        assert.ok(one.committed && three.committed);
        assert.equal(three.ran, 3);
        assert.ok(Math.abs(one.loss - three.loss) < 1e-6 * one.loss, `step ${step}: loss ${one.loss} vs ${three.loss}`);
      }
      assert.equal(whole.optimizer.iterations, 3);
      assert.equal(split.optimizer.iterations, 3, 'one optimizer step per accumulated step');
      whole.vars.forEach((v, i) => {
        const err = maxRelative(split.vars[i]!.value, v.value);
        assert.ok(err < 1e-6, `${v.name}: relative difference ${err}`);
      });
      whole.optimizer.variables.forEach((slot, i) => {
        const err = maxRelative(split.optimizer.variables[i]!.value, slot.value);
        assert.ok(err < 1e-6, `${slot.name}: relative difference ${err}`);
      });
      assert.equal(split.accumulator.variables.length, 2, 'one gradient sum per parameter');
      for (const sum of split.accumulator.variables) assert.ok(sum.value.every((x) => x === 0), `${sum.name} is zero between steps`);
    } finally {
      await whole.accumulator.release();
      await split.accumulator.release();
    }
  });

  test('clipping is active in that comparison: without it the first step differs', async () => {
    const d = data();
    const total = d.counted.reduce((a, b) => a + b, 0);
    const clipped = setup(1);
    const free = setup(1, null);
    try {
      await clipped.accumulator.step([micro(0, ROWS, total, d)]);
      await free.accumulator.step([micro(0, ROWS, total, d)]);
      assert.ok(maxRelative(clipped.optimizer.variables[0]!.value, free.optimizer.variables[0]!.value) > 0.1, 'the first moment sees the clipped gradient');
    } finally {
      await clipped.accumulator.release();
      await free.accumulator.release();
    }
  });

  test('a non-finite micro-batch commits nothing: weights, moments and step count stay, the sums are zeroed, and the next step is as if it never ran', async () => {
    const d = data();
    const total = d.counted.reduce((a, b) => a + b, 0);
    const reference = setup(3);
    const failing = setup(3);
    try {
      const step = (s: Setup, scale2 = 1 / total) => s.accumulator.step([micro(0, 2, total, d), micro(2, 4, total, d, scale2), micro(4, 6, total, d)]);
      await step(reference);
      await step(failing);
      const before = failing.vars.map((v) => v.value.slice());
      const out = await step(failing, Number.NaN);
      assert.equal(out.committed, false);
      assert.equal(out.ran, 2, 'stops at the micro-batch that failed');
      assert.ok(Number.isNaN(out.loss));
      assert.equal(failing.optimizer.iterations, 1);
      failing.vars.forEach((v, i) => assert.deepEqual(v.value, before[i]));
      for (const sum of failing.accumulator.variables) assert.ok(sum.value.every((x) => x === 0), `${sum.name} was zeroed`);
      const a = await step(reference);
      const b = await step(failing);
      assert.equal(a.loss, b.loss);
      reference.vars.forEach((v, i) => assert.deepEqual(failing.vars[i]!.value, v.value));
    } finally {
      await reference.accumulator.release();
      await failing.accumulator.release();
    }
  });

  test('a short last step (fewer micro-batches) still steps once; too many or none is an error', async () => {
    const d = data();
    const s = setup(3);
    try {
      const out = await s.accumulator.step([micro(0, 2, d.counted[0]! + d.counted[1]!, d)]);
      assert.ok(out.committed);
      assert.equal(s.optimizer.iterations, 1);
      await assert.rejects(s.accumulator.step([]), /toy: a step takes 1 to 3 micro-batches, received 0/);
      const four = [0, 1, 2, 3].map(() => micro(0, 2, 10, d));
      await assert.rejects(s.accumulator.step(four), /received 4/);
      assert.throws(() => new GradientAccumulator({ ...setupSpec(), microBatches: 0 }), /toy: microBatches must be a positive integer, received 0/);
    } finally {
      await s.accumulator.release();
    }
  });
});

function setupSpec() {
  return { name: 'toy', inputs: () => [], forward: () => ({ loss: F.scalar(0), outputs: {} }), trainable: () => [], optimizer: new AdamW(), microBatches: 1 };
}
