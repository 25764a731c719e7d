import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { currentGraph, trace, type Tensor } from '../../../src/core/graph.js';
import { ShapeError } from '../../../src/core/shape.js';
import { Variable } from '../../../src/core/variable.js';
import * as F from '../../../src/core/ops/index.js';
import { grad } from '../../../src/autodiff/grad.js';
import { CompiledGraph, float32, int64 } from '../../../src/runtime/session.js';
import { assertClose, checkGrad, checkOp } from '../../helpers/gradcheck.js';
import { conv2dRef, conv2dTransposeRef, fixedValues, reduceRef } from './reference.js';

const zeros = (n: number): number[] => new Array<number>(n).fill(0);
const ones = (n: number): number[] => new Array<number>(n).fill(1);
const values = (shape: number[], seed: number, scale = 1) => ({ shape, values: fixedValues(shape.reduce((a, b) => a * b, 1), seed, scale) });

describe('conv2d', () => {
  const cases: { name: string; x: number[]; w: number[]; opts: F.Conv2dOptions; ref: Parameters<typeof conv2dRef>[5] }[] = [
    { name: 'stride 1, pad 1', x: [2, 2, 5, 5], w: [3, 2, 3, 3], opts: { pads: 1 }, ref: { pads: [1, 1, 1, 1] } },
    { name: 'stride 2, pad 1, odd remainder', x: [1, 2, 6, 6], w: [2, 2, 3, 3], opts: { strides: 2, pads: 1 }, ref: { strides: [2, 2], pads: [1, 1, 1, 1] } },
    { name: 'stride 2, kernel 4 (DCGAN)', x: [2, 1, 6, 6], w: [2, 1, 4, 4], opts: { strides: 2, pads: 1 }, ref: { strides: [2, 2], pads: [1, 1, 1, 1] } },
    {
      name: 'asymmetric pads, stride [2, 1], dilation 2',
      x: [1, 2, 7, 6],
      w: [2, 2, 2, 3],
      opts: { strides: [2, 1], pads: [1, 0, 0, 2], dilations: 2 },
      ref: { strides: [2, 1], pads: [1, 0, 0, 2], dilations: [2, 2] },
    },
  ];
  for (const c of cases) {
    test(`forward matches the JS reference: ${c.name}`, async () => {
      await checkOp(
        ({ x, w, b }) => F.conv2d(x!, w!, b!, c.opts),
        { x: values(c.x, 1), w: values(c.w, 2), b: values([c.w[0]!], 3) },
        (v) => conv2dRef(v.x!, c.x, v.w!, c.w, v.b!, c.ref),
      );
    });
    test(`gradient: ${c.name}`, async () => {
      await checkGrad(({ x, w, b }) => F.conv2d(x!, w!, b!, c.opts), { x: c.x, w: c.w, b: [c.w[0]!] });
    });
  }

  test('grouped forward matches the reference', async () => {
    await checkOp(
      ({ x, w }) => F.conv2d(x!, w!, null, { groups: 2, pads: 1 }),
      { x: values([1, 4, 4, 4], 4), w: values([6, 2, 3, 3], 5) },
      (v) => conv2dRef(v.x!, [1, 4, 4, 4], v.w!, [6, 2, 3, 3], null, { groups: 2, pads: [1, 1, 1, 1] }),
    );
    await assert.rejects(
      () => checkGrad(({ x, w }) => F.conv2d(x!, w!, null, { groups: 2 }), { x: [1, 4, 3, 3], w: [2, 2, 2, 2] }),
      /conv2d gradient: only groups = 1 is supported, got 2/,
    );
  });

  test('shape errors name the op and both shapes', () => {
    trace((g) => {
      const x = g.input('x', ['batch', 3, 8, 8]);
      const w = g.input('w', [4, 2, 3, 3]);
      assert.throws(() => g.scope('disc/conv_1', () => F.conv2d(x, w)), (e: Error) => {
        assert.ok(e instanceof ShapeError);
        assert.match(e.message, /disc\/conv_1 \(Conv\)/);
        assert.match(e.message, /\[batch, 3, 8, 8\]/);
        assert.match(e.message, /\[4, 2, 3, 3\]/);
        return true;
      });
      assert.throws(() => F.conv2d(g.input('small', [1, 2, 2, 2]), w), /does not fit input \[1, 2, 2, 2\]/);
    });
  });

  test('symbolic batch: one session runs two batch sizes, gradient included', async () => {
    const wv = new Variable('w', [2, 1, 3, 3], fixedValues(18, 9));
    const { g, x, y, gw } = trace((g) => {
      const x = g.input('x', ['batch', 1, 4, 4]);
      const y = F.conv2d(x, g.param(wv), null, { strides: 2, pads: 1 });
      const [gw] = grad(F.sum(y), [g.param(wv)]);
      return { g, x, y, gw: gw! };
    });
    assert.deepEqual(y.shape, ['batch', 2, 2, 2]);
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y, gw }, variables: 'inputs' });
    for (const n of [1, 3]) {
      const xs = fixedValues(n * 16, n);
      const out = await cg.run({ x: float32(xs, [n, 1, 4, 4]) });
      assert.deepEqual(out.y!.dims, [n, 2, 2, 2]);
      // d Σy / dw[o, 0, a, e] = Σ over outputs of the input pixel under kernel tap (a, e).
      const ref = conv2dRef(xs, [n, 1, 4, 4], wv.value, [2, 1, 3, 3], null, { strides: [2, 2], pads: [1, 1, 1, 1] });
      assertClose(out.y!.data as Float32Array, ref.data, { atol: 1e-5 }, 'y');
      const expected: number[] = [];
      for (let o = 0; o < 2; o++)
        for (let a = 0; a < 3; a++)
          for (let e = 0; e < 3; e++) {
            let s = 0;
            for (let b = 0; b < n; b++)
              for (let i = 0; i < 2; i++)
                for (let j = 0; j < 2; j++) {
                  const r = i * 2 + a - 1;
                  const c = j * 2 + e - 1;
                  if (r >= 0 && r < 4 && c >= 0 && c < 4) s += xs[b * 16 + r * 4 + c]!;
                }
            expected.push(s);
          }
      assertClose(out.gw!.data as Float32Array, expected, { atol: 1e-5 }, 'dW');
    }
    await cg.release();
  });
});

describe('conv2dTranspose', () => {
  const cases: { name: string; x: number[]; w: number[]; opts: F.Conv2dTransposeOptions; ref: Parameters<typeof conv2dTransposeRef>[5] }[] = [
    { name: 'stride 1, pad 1', x: [2, 2, 3, 3], w: [2, 3, 3, 3], opts: { pads: 1 }, ref: { pads: [1, 1, 1, 1] } },
    { name: 'stride 2, kernel 4, pad 1 (DCGAN)', x: [2, 2, 3, 3], w: [2, 1, 4, 4], opts: { strides: 2, pads: 1 }, ref: { strides: [2, 2], pads: [1, 1, 1, 1] } },
    {
      name: 'stride 2, output padding 1',
      x: [1, 2, 3, 3],
      w: [2, 2, 3, 3],
      opts: { strides: 2, pads: 1, outputPadding: 1 },
      ref: { strides: [2, 2], pads: [1, 1, 1, 1], outputPadding: [1, 1] },
    },
    {
      name: 'stride [3, 2], asymmetric pads, output padding [2, 0]',
      x: [1, 1, 2, 3],
      w: [1, 2, 3, 2],
      opts: { strides: [3, 2], pads: [0, 1, 1, 0], outputPadding: [2, 0] },
      ref: { strides: [3, 2], pads: [0, 1, 1, 0], outputPadding: [2, 0] },
    },
  ];
  for (const c of cases) {
    test(`forward matches the JS reference: ${c.name}`, async () => {
      await checkOp(
        ({ x, w, b }) => F.conv2dTranspose(x!, w!, b!, c.opts),
        { x: values(c.x, 11), w: values(c.w, 12), b: values([c.w[1]!], 13) },
        (v) => conv2dTransposeRef(v.x!, c.x, v.w!, c.w, v.b!, c.ref),
      );
    });
    test(`gradient: ${c.name}`, async () => {
      await checkGrad(({ x, w, b }) => F.conv2dTranspose(x!, w!, b!, c.opts), { x: c.x, w: c.w, b: [c.w[1]!] });
    });
  }

  test('the kernel layout is [in, out, kh, kw]', () => {
    trace((g) => {
      const y = F.conv2dTranspose(g.input('x', ['batch', 16, 7, 7]), g.input('w', [16, 8, 4, 4]), null, { strides: 2, pads: 1 });
      assert.deepEqual(y.shape, ['batch', 8, 14, 14]);
      assert.throws(() => F.conv2dTranspose(g.input('x2', [1, 8, 7, 7]), g.input('w2', [16, 8, 4, 4])), /input has 8 channels.*\[16, 8, 4, 4\]/);
    });
  });
});

// --- batch norm -----------------------------------------------------------------------------

/** Per-channel batch statistics over every axis but 1: [mean, biased var, count]. */
function channelStats(x: Float32Array, dims: number[]): { mean: number[]; variance: number[]; n: number } {
  const axes = dims.map((_, i) => i).filter((i) => i !== 1);
  const n = x.length / dims[1]!;
  const mean = reduceRef(x, dims, axes, false, (a, v) => a + v, 0).data.map((s) => s / n);
  const variance: number[] = new Array(dims[1]).fill(0);
  const spatial = dims.slice(2).reduce((a, b) => a * b, 1);
  x.forEach((v, f) => {
    const c = Math.floor(f / spatial) % dims[1]!;
    variance[c]! += (v - mean[c]!) ** 2 / n;
  });
  return { mean, variance, n };
}

describe('batchNorm', () => {
  for (const dims of [[6, 3], [3, 2, 3, 2]]) {
    const c = dims[1]!;
    test(`training ${dims.length}-D: normalised output and PyTorch running statistics`, async () => {
      const rm = fixedValues(c, 21);
      const rv = Float32Array.from(fixedValues(c, 22), (v) => 1 + Math.abs(v));
      const { g, ins, y, mean, variance } = trace((g) => {
        const ins = { x: g.input('x', dims), gamma: g.input('gamma', [c]), beta: g.input('beta', [c]) };
        const r = F.batchNorm(ins.x, ins.gamma, ins.beta, {
          training: true,
          runningMean: g.constant(rm, [c], 'float32'),
          runningVar: g.constant(rv, [c], 'float32'),
        });
        return { g, ins, y: r.y, mean: r.runningMean, variance: r.runningVar };
      });
      const cg = await CompiledGraph.compile({ graph: g, inputs: [ins.x, ins.gamma, ins.beta], outputs: { y, mean, variance }, variables: 'inputs' });
      const xs = fixedValues(dims.reduce((a, b) => a * b, 1), 23, 2);
      const gamma = fixedValues(c, 24);
      const beta = fixedValues(c, 25);
      const out = await cg.run({ x: float32(xs, dims), gamma: float32(gamma, [c]), beta: float32(beta, [c]) });
      const s = channelStats(xs, dims);
      const spatial = dims.slice(2).reduce((a, b) => a * b, 1);
      const yRef = Array.from(xs, (v, f) => {
        const ch = Math.floor(f / spatial) % c;
        return ((v - s.mean[ch]!) / Math.sqrt(s.variance[ch]! + 1e-5)) * gamma[ch]! + beta[ch]!;
      });
      assertClose(out.y!.data as Float32Array, yRef, { atol: 1e-5, rtol: 1e-5 }, 'y');
      const meanRef = s.mean.map((m, ch) => 0.9 * rm[ch]! + 0.1 * m);
      const varRef = s.variance.map((v, ch) => 0.9 * rv[ch]! + (0.1 * v * s.n) / (s.n - 1));
      assertClose(out.mean!.data as Float32Array, meanRef, { atol: 1e-6, rtol: 1e-5 }, 'running mean');
      assertClose(out.variance!.data as Float32Array, varRef, { atol: 1e-6, rtol: 1e-5 }, 'running var');
      await cg.release();
    });

    test(`training ${dims.length}-D: gradient`, async () => {
      await checkGrad(
        ({ x, gamma, beta }) =>
          F.batchNorm(x!, gamma!, beta!, { training: true, runningMean: constantOf(zeros(c)), runningVar: constantOf(ones(c)) }).y,
        { x: { shape: dims, low: -2, high: 2 }, gamma: [c], beta: [c] },
      );
    });
  }

  test("keras convention: momentum weighs the old value, biased variance, epsilon 1e-3", async () => {
    const dims = [4, 2];
    const xs = Float32Array.from([1, 2, 3, 5, -1, 0, 4, 1]);
    const { g, x, y, mean, variance } = trace((g) => {
      const x = g.input('x', dims);
      const r = F.batchNorm(x, constantOf([1, 1]), constantOf([0, 0]), {
        training: true,
        convention: 'keras',
        runningMean: constantOf([0, 0]),
        runningVar: constantOf([1, 1]),
      });
      return { g, x, y: r.y, mean: r.runningMean, variance: r.runningVar };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y, mean, variance }, variables: 'inputs' });
    const out = await cg.run({ x: float32(xs, dims) });
    // Channel 0: 1, 3, -1, 4 → mean 1.75, biased var 3.6875. Channel 1: 2, 5, 0, 1 → mean 2, var 3.5.
    assertClose(out.mean!.data as Float32Array, [0.01 * 1.75, 0.01 * 2], { atol: 1e-7 }, 'running mean');
    assertClose(out.variance!.data as Float32Array, [0.99 + 0.01 * 3.6875, 0.99 + 0.01 * 3.5], { atol: 1e-6 }, 'running var');
    assert.ok(Math.abs((out.y!.data as Float32Array)[0]! - (1 - 1.75) / Math.sqrt(3.6875 + 1e-3)) < 1e-6, 'y[0] uses epsilon 1e-3');
    await cg.release();
  });

  test('inference uses the running statistics (ONNX BatchNormalization), with a gradient', async () => {
    const dims = [2, 3, 2, 2];
    const rm = [0.5, -1, 2];
    const rv = [1.5, 0.25, 4];
    const build = ({ x, gamma, beta }: Record<string, Tensor>) =>
      F.batchNorm(x!, gamma!, beta!, { training: false, runningMean: constantOf(rm), runningVar: constantOf(rv) }).y;
    const xs = fixedValues(24, 31, 2);
    const gamma = fixedValues(3, 32);
    const beta = fixedValues(3, 33);
    await checkOp(build, { x: { shape: dims, values: xs }, gamma: { shape: [3], values: gamma }, beta: { shape: [3], values: beta } }, () =>
      Array.from(xs, (v, f) => {
        const ch = Math.floor(f / 4) % 3;
        return ((v - rm[ch]!) / Math.sqrt(rv[ch]! + 1e-5)) * gamma[ch]! + beta[ch]!;
      }),
    );
    await checkGrad(build, { x: dims, gamma: [3], beta: [3] });
  });

  test('channels-last (axis -1), training and inference', async () => {
    await checkGrad(
      ({ x, gamma, beta }) =>
        F.batchNorm(x!, gamma!, beta!, { training: true, axis: -1, runningMean: constantOf([0, 0]), runningVar: constantOf([1, 1]) }).y,
      { x: { shape: [2, 3, 2], low: -2, high: 2 }, gamma: [2], beta: [2] },
    );
    const xs = fixedValues(12, 41);
    await checkOp(
      ({ x }) => F.batchNorm(x!, constantOf([2, 3]), constantOf([1, -1]), { training: false, axis: -1, runningMean: constantOf([0.5, -0.5]), runningVar: constantOf([4, 1]) }).y,
      { x: { shape: [2, 3, 2], values: xs } },
      () => Array.from(xs, (v, f) => (f % 2 === 0 ? ((v - 0.5) / Math.sqrt(4 + 1e-5)) * 2 + 1 : ((v + 0.5) / Math.sqrt(1 + 1e-5)) * 3 - 1)),
    );
  });

  test('rejects statistics of the wrong size', () => {
    trace((g) => {
      const x = g.input('x', ['batch', 4, 5, 5]);
      assert.throws(
        () => F.batchNorm(x, constantOf([1, 1, 1]), constantOf([0, 0, 0, 0]), { training: true, runningMean: constantOf([0, 0, 0, 0]), runningVar: constantOf([1, 1, 1, 1]) }),
        /gamma must be \[4\] for input \[batch, 4, 5, 5\] \(axis 1\), received \[3\]/,
      );
    });
  });
});

/** A float32 [n] constant in the graph being traced. */
const constantOf = (v: readonly number[]): Tensor => currentGraph().constant(Float32Array.from(v), [v.length], 'float32');

// --- layer norm ----------------------------------------------------------------------------

/** LayerNorm over the trailing `inner` elements of each row, from the definition. */
function layerNormRef(x: Float32Array, inner: number, gamma: Float32Array, beta: Float32Array, eps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / inner; r++) {
    const row = Array.from(x.subarray(r * inner, (r + 1) * inner));
    const m = row.reduce((a, b) => a + b, 0) / inner;
    const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / inner;
    row.forEach((val, i) => out.push(((val - m) / Math.sqrt(v + eps)) * gamma[i]! + beta[i]!));
  }
  return out;
}

describe('layerNorm', () => {
  test('last axis: forward matches the reference', async () => {
    const xs = fixedValues(24, 51, 3);
    const gamma = fixedValues(4, 52);
    const beta = fixedValues(4, 53);
    await checkOp(
      ({ x, gamma, beta }) => F.layerNorm(x!, gamma!, beta!, { epsilon: 1e-5 }),
      { x: { shape: [2, 3, 4], values: xs }, gamma: { shape: [4], values: gamma }, beta: { shape: [4], values: beta } },
      () => layerNormRef(xs, 4, gamma, beta, 1e-5),
    );
  });

  test('last two axes (axis -2): forward matches the reference', async () => {
    const xs = fixedValues(24, 54, 3);
    const gamma = fixedValues(12, 55);
    const beta = fixedValues(12, 56);
    await checkOp(
      ({ x, gamma, beta }) => F.layerNorm(x!, gamma!, beta!, { axis: -2, epsilon: 1e-3 }),
      { x: { shape: [2, 3, 4], values: xs }, gamma: { shape: [3, 4], values: gamma }, beta: { shape: [3, 4], values: beta } },
      () => layerNormRef(xs, 12, gamma, beta, 1e-3),
    );
  });

  test('gradient, last axis', async () => {
    await checkGrad(({ x, gamma, beta }) => F.layerNorm(x!, gamma!, beta!), { x: { shape: [3, 5], low: -2, high: 2 }, gamma: [5], beta: [5] });
  });

  test('gradient, last two axes with a symbolic batch', async () => {
    await checkGrad(({ x, gamma, beta }) => F.layerNorm(x!, gamma!, beta!, { axis: 1 }), {
      x: { shape: ['batch', 2, 3], dims: [2, 2, 3], low: -2, high: 2 },
      gamma: [2, 3],
      beta: [2, 3],
    });
  });

  test('rejects a gamma of the wrong shape', () => {
    trace((g) => {
      assert.throws(() => F.layerNorm(g.input('x', ['batch', 8]), g.input('g', [4]), g.input('b', [8])), /gamma must be \[8\] for input \[batch, 8\], received \[4\]/);
    });
  });
});

// --- dropout ---------------------------------------------------------------------------------

describe('dropout', () => {
  test('training: kept values scaled by 1/(1−rate), drop rate near `rate`, gradient is the mask formula', async () => {
    const rate = 0.3;
    const n = 4000;
    const { g, x, cot, y, dx } = trace((g) => {
      const x = g.input('x', [n]);
      const cot = g.input('cot', [n]);
      const y = F.dropout(x, rate, { training: true, seed: 42 });
      const [dx] = grad(F.sum(F.mul(y, cot)), [x]);
      return { g, x, cot, y, dx: dx! };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x, cot], outputs: { y, dx }, variables: 'inputs' });
    const xs = Float32Array.from(fixedValues(n, 61), (v) => v + (v >= 0 ? 0.5 : -0.5)); // never 0
    const cs = fixedValues(n, 62);
    const out = await cg.run({ x: float32(xs, [n]), cot: float32(cs, [n]) });
    const ys = out.y!.data as Float32Array;
    const dxs = out.dx!.data as Float32Array;
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      const kept = ys[i] !== 0;
      if (!kept) dropped++;
      const scale = kept ? 1 / (1 - rate) : 0;
      assert.ok(Math.abs(ys[i]! - xs[i]! * scale) < 1e-5, `y[${i}]`);
      assert.ok(Math.abs(dxs[i]! - cs[i]! * scale) < 1e-5, `dx[${i}]: ${dxs[i]} vs mask formula ${cs[i]! * scale}`);
    }
    // Binomial(4000, 0.3): sd ≈ 29, so ±150 is a 5-sigma band.
    assert.ok(Math.abs(dropped - rate * n) < 150, `dropped ${dropped} of ${n}`);
    await cg.release();
  });

  test('inference, and rate 0, are the identity (no node)', () => {
    trace((g) => {
      const x = g.input('x', [3]);
      assert.equal(F.dropout(x, 0.5, { training: false }), x);
      assert.equal(F.dropout(x, 0, { training: true }), x);
      assert.throws(() => F.dropout(x, 1, { training: true }), /rate must be in \[0, 1\), received 1/);
    });
  });

  test('a seeded session repeats its mask sequence; successive runs differ', async () => {
    const { g, x, y } = trace((g) => {
      const x = g.input('x', [64]);
      return { g, x, y: F.dropout(x, 0.5, { training: true, seed: 7 }) };
    });
    const feeds = { x: float32(new Float32Array(64).fill(1), [64]) };
    const masks = async (): Promise<string[]> => {
      const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' });
      const runs = [];
      for (let r = 0; r < 2; r++) runs.push(Array.from((await cg.run(feeds)).y!.data as Float32Array, (v) => (v ? 1 : 0)).join(''));
      await cg.release();
      return runs;
    };
    const first = await masks();
    assert.notEqual(first[0], first[1]);
    assert.deepEqual(await masks(), first);
  });
});

// --- elementwise and indexing helpers ----------------------------------------------------------

describe('softplus, logSigmoid, rsqrt', () => {
  test('softplus and logSigmoid are finite and exact at large |x|', async () => {
    const xs = [-100, -20, -1, 0, 0.5, 20, 100];
    const softplusRef = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    await checkOp(({ x }) => F.softplus(x!), { x: { shape: [7], values: xs } }, () => xs.map(softplusRef), { atol: 1e-6, rtol: 1e-6 });
    await checkOp(({ x }) => F.logSigmoid(x!), { x: { shape: [7], values: xs } }, () => xs.map((v) => -softplusRef(-v)), { atol: 1e-6, rtol: 1e-6 });
  });

  test('rsqrt forward', async () => {
    const xs = [0.25, 1, 4, 9];
    await checkOp(({ x }) => F.rsqrt(x!), { x: { shape: [4], values: xs } }, () => [2, 1, 0.5, 1 / 3]);
  });

  test('gradients', async () => {
    await checkGrad(({ x }) => F.softplus(x!), { x: { shape: [2, 4], low: -4, high: 4 } });
    await checkGrad(({ x }) => F.logSigmoid(x!), { x: { shape: [2, 4], low: -4, high: 4 } });
    await checkGrad(({ x }) => F.rsqrt(x!), { x: { shape: [6], low: 0.5, high: 3 } });
  });
});

describe('range, trilu, cumsum', () => {
  test('range: static and runtime bounds', async () => {
    const { g, n, a, b } = trace((g) => {
      const n = g.input('n', [], 'int64');
      return { g, n, a: F.range(2, 11, 3), b: F.range(0, n) };
    });
    assert.deepEqual(a.shape, [3]);
    assert.equal(typeof b.shape[0], 'string');
    const cg = await CompiledGraph.compile({ graph: g, inputs: [n], outputs: { a, b }, variables: 'inputs' });
    const out = await cg.run({ n: int64([4], []) });
    assert.deepEqual(Array.from(out.a!.data as BigInt64Array, Number), [2, 5, 8]);
    assert.deepEqual(Array.from(out.b!.data as BigInt64Array, Number), [0, 1, 2, 3]);
    await cg.release();
  });

  test('trilu forward, lower and upper with an offset', async () => {
    const xs = Array.from({ length: 12 }, (_, i) => i + 1);
    const keep = (upper: boolean, k: number) => xs.map((v, f) => {
      const [i, j] = [Math.floor(f / 4) % 3, f % 4];
      return (upper ? j - i >= k : j - i <= k) ? v : 0;
    });
    await checkOp(({ x }) => F.trilu(x!), { x: { shape: [3, 4], values: xs } }, () => keep(false, 0));
    await checkOp(({ x }) => F.trilu(x!, { upper: true, k: 1 }), { x: { shape: [3, 4], values: xs } }, () => keep(true, 1));
  });

  test('cumsum forward: plain, exclusive, reverse', async () => {
    const xs = [1, 2, 3, 4, 5, 6];
    await checkOp(({ x }) => F.cumsum(x!, 1), { x: { shape: [2, 3], values: xs } }, () => [1, 3, 6, 4, 9, 15]);
    await checkOp(({ x }) => F.cumsum(x!, 0, { exclusive: true }), { x: { shape: [2, 3], values: xs } }, () => [0, 0, 0, 1, 2, 3]);
    await checkOp(({ x }) => F.cumsum(x!, -1, { reverse: true }), { x: { shape: [2, 3], values: xs } }, () => [6, 5, 3, 15, 11, 6]);
  });

  test('gradients', async () => {
    await checkGrad(({ x }) => F.trilu(x!, { k: -1 }), { x: [2, 3, 3] });
    await checkGrad(({ x }) => F.trilu(x!, { upper: true }), { x: [3, 4] });
    await checkGrad(({ x }) => F.cumsum(x!, 1), { x: [2, 4] });
    await checkGrad(({ x }) => F.cumsum(x!, 0, { exclusive: true, reverse: true }), { x: [3, 2] });
  });
});
