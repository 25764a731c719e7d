import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { trace } from '../../../src/core/graph.js';
import { ShapeError } from '../../../src/core/shape.js';
import * as F from '../../../src/core/ops/index.js';
import { emitModel } from '../../../src/onnx/emit.js';
import { CompiledGraph, float32 } from '../../../src/runtime/session.js';
import { checkGrad, checkOp } from '../../helpers/gradcheck.js';
import { fixedValues } from './reference.js';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** GroupNorm from its definition: mean and biased variance per (example, group), in float64. */
function groupNormRef(x: Float32Array, dims: [number, number, number, number], groups: number, gamma: Float32Array, beta: Float32Array, eps: number): number[] {
  const [n, c, h, w] = dims;
  const hw = h * w;
  const per = (c / groups) * hw;
  const out = new Array<number>(x.length);
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      const start = b * c * hw + g * per;
      let mean = 0;
      for (let i = 0; i < per; i++) mean += x[start + i]!;
      mean /= per;
      let variance = 0;
      for (let i = 0; i < per; i++) variance += (x[start + i]! - mean) ** 2;
      variance /= per;
      for (let i = 0; i < per; i++) {
        const channel = g * (c / groups) + Math.floor(i / hw);
        out[start + i] = ((x[start + i]! - mean) / Math.sqrt(variance + eps)) * gamma[channel]! + beta[channel]!;
      }
    }
  }
  return out;
}

describe('siluFused', () => {
  test('forward is x·σ(x), and one com.microsoft QuickGelu node', async () => {
    const xs = Float32Array.from(fixedValues(12, 3), (u) => 4 * u);
    await checkOp(({ x }) => F.siluFused(x!), { x: { shape: [3, 4], values: xs } }, () => Array.from(xs, (v) => v * sigmoid(v)), { atol: 2e-6, rtol: 2e-6 });
    const { g, x, y } = trace((g) => {
      const x = g.input('x', [2]);
      return { g, x, y: F.siluFused(x) };
    });
    const emitted = emitModel({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' });
    const text = Buffer.from(emitted.bytes).toString('latin1');
    assert.ok(text.includes('QuickGelu') && text.includes('com.microsoft'), 'lowered to com.microsoft QuickGelu');
  });

  test('gradient', async () => {
    await checkGrad(({ x }) => F.siluFused(x!), { x: { shape: [3, 4], low: -4, high: 4 } });
  });
});

describe('groupNorm', () => {
  const cases: { name: string; dims: [number, number, number, number]; groups: number }[] = [
    { name: '2 groups of 2 channels', dims: [2, 4, 3, 3], groups: 2 },
    { name: 'one group (LayerNorm over C, H, W)', dims: [1, 3, 2, 2], groups: 1 },
    { name: 'a group per channel (InstanceNorm)', dims: [2, 3, 2, 3], groups: 3 },
  ];
  for (const c of cases) {
    test(`forward matches the definition: ${c.name}`, async () => {
      const size = c.dims.reduce((a, b) => a * b, 1);
      const xs = Float32Array.from(fixedValues(size, 7), (u) => 3 * u + 0.5);
      const gamma = Float32Array.from(fixedValues(c.dims[1], 8), (u) => 1 + u);
      const beta = Float32Array.from(fixedValues(c.dims[1], 9));
      await checkOp(
        ({ x, g, b }) => F.groupNorm(x!, g!, b!, c.groups, { epsilon: 1e-5 }),
        { x: { shape: c.dims, values: xs }, g: { shape: [c.dims[1]], values: gamma }, b: { shape: [c.dims[1]], values: beta } },
        () => ({ data: groupNormRef(xs, c.dims, c.groups, gamma, beta, 1e-5), dims: c.dims }),
        { atol: 1e-5, rtol: 1e-4 },
      );
    });
    test(`gradient: ${c.name}`, async () => {
      await checkGrad(({ x, g, b }) => F.groupNorm(x!, g!, b!, c.groups), { x: { shape: c.dims, low: -2, high: 2 }, g: { shape: [c.dims[1]], low: 0.5, high: 1.5 }, b: [c.dims[1]] });
    });
  }

  test('a symbolic batch runs at two sizes', async () => {
    const { g, x, gamma, beta, y } = trace((g) => {
      const x = g.input('x', ['batch', 2, 2, 2]);
      const gamma = g.input('gamma', [2]);
      const beta = g.input('beta', [2]);
      return { g, x, gamma, beta, y: F.groupNorm(x, gamma, beta, 1) };
    });
    assert.deepEqual(y.shape, ['batch', 2, 2, 2]);
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x, gamma, beta], outputs: { y }, variables: 'inputs' });
    for (const n of [1, 3]) {
      const xs = Float32Array.from(fixedValues(8 * n, n));
      const out = (await cg.run({ x: float32(xs, [n, 2, 2, 2]), gamma: float32(Float32Array.of(1, 2), [2]), beta: float32(Float32Array.of(0, 1), [2]) })).y!;
      assert.deepEqual(out.dims, [n, 2, 2, 2]);
      const ref = groupNormRef(xs, [n, 2, 2, 2], 1, Float32Array.of(1, 2), Float32Array.of(0, 1), 1e-5);
      (out.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) < 1e-4, `${v} vs ${ref[i]}`));
    }
    await cg.release();
  });

  test('bad groups and shapes name the problem', () => {
    trace((g) => {
      const x = g.input('x', ['batch', 6, 4, 4]);
      const v = g.input('v', [6]);
      assert.throws(() => g.scope('unet/norm', () => F.groupNorm(x, v, v, 4)), (e: Error) => e instanceof ShapeError && /unet\/norm: 6 channels do not split into 4 groups/.test(e.message));
      assert.throws(() => F.groupNorm(x, g.input('w', [3]), v, 2), /gamma must be \[6\] for input \[batch, 6, 4, 4\], received \[3\]/);
      assert.throws(() => F.groupNorm(g.input('flat', ['batch', 6]), v, v, 2), /expected \[N, C, H, W\] with static C, H and W, received \[batch, 6\]/);
    });
  });
});

describe('upsampleNearest', () => {
  test('each pixel becomes a factor × factor block', async () => {
    const xs = Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i + 1); // [1, 2, 2, 3]
    const ref = (f: number): number[] => {
      const out: number[] = [];
      for (let c = 0; c < 2; c++) for (let i = 0; i < 2 * f; i++) for (let j = 0; j < 3 * f; j++) out.push(xs[c * 6 + Math.floor(i / f) * 3 + Math.floor(j / f)]!);
      return out;
    };
    for (const f of [2, 3]) {
      await checkOp(({ x }) => F.upsampleNearest(x!, f), { x: { shape: [1, 2, 2, 3], values: xs } }, () => ({ data: ref(f), dims: [1, 2, 2 * f, 3 * f] }), { atol: 0, rtol: 0 });
    }
  });

  test('gradient', async () => {
    await checkGrad(({ x }) => F.upsampleNearest(x!, 2), { x: [2, 2, 3, 2] });
    await checkGrad(({ x }) => F.upsampleNearest(x!, 3), { x: [1, 1, 2, 2] });
  });

  test('shapes: symbolic batch kept, spatial sizes multiplied; bad input named', () => {
    trace((g) => {
      assert.deepEqual(F.upsampleNearest(g.input('x', ['batch', 4, 7, 7])).shape, ['batch', 4, 14, 14]);
      assert.throws(() => F.upsampleNearest(g.input('y', [2, 3])), /expected \[N, C, H, W\], received \[2, 3\]/);
      assert.throws(() => F.upsampleNearest(g.input('z', [1, 1, 2, 2]), 1.5), /factor must be a positive integer, received 1.5/);
    });
  });
});
