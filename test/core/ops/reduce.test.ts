import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace, type Tensor } from '../../../src/core/graph.js';
import { Rng } from '../../../src/core/rng.js';
import * as F from '../../../src/core/ops/index.js';
import { CompiledGraph, float32 } from '../../../src/runtime/session.js';
import { checkGrad, checkOp, distinctValues } from '../../helpers/gradcheck.js';
import { fixedValues, reduceRef } from './reference.js';

type Reducer = (x: Tensor, axes?: readonly number[], keepdims?: boolean) => Tensor;

const DIMS = [2, 3, 4];
const REDUCERS: { name: string; op: Reducer; js: (acc: number, v: number) => number; init: number; post?: (v: number, n: number) => number }[] = [
  { name: 'sum', op: F.sum, js: (a, v) => a + v, init: 0 },
  { name: 'sumSquares', op: F.sumSquares, js: (a, v) => a + v * v, init: 0 },
  { name: 'mean', op: F.mean, js: (a, v) => a + v, init: 0, post: (v, n) => v / n },
  { name: 'max', op: F.max, js: Math.max, init: -Infinity },
  { name: 'min', op: F.min, js: Math.min, init: Infinity },
];

/** Every way to pick axes of a rank-3 tensor: each axis, negative, pairs, all (explicit and omitted). */
const AXES: (readonly number[] | undefined)[] = [[0], [1], [2], [-1], [0, 2], [1, 2], [0, 1, 2], undefined];

describe('reductions', () => {
  // Values ≥ 0.1 apart: max/min have a unique winner that a 1e-2 step cannot change.
  const xs = distinctValues(24, new Rng(3));
  for (const r of REDUCERS) {
    for (const axes of AXES) {
      for (const keepdims of [false, true]) {
        test(`${r.name} over ${axes ? `[${axes.join(', ')}]` : 'all axes'}, keepdims ${keepdims}: forward and gradient`, async () => {
          const norm = (axes ?? [0, 1, 2]).map((a) => (a < 0 ? a + 3 : a));
          const n = norm.reduce((acc, a) => acc * DIMS[a]!, 1);
          await checkOp(({ x }) => r.op(x!, axes, keepdims), { x: { shape: DIMS, values: xs } }, () => {
            const ref = reduceRef(xs, DIMS, norm, keepdims, r.js, r.init);
            return { data: ref.data.map((v) => (r.post ? r.post(v, n) : v)), dims: ref.dims };
          });
          await checkGrad(({ x }) => r.op(x!, axes, keepdims), { x: { shape: DIMS, values: xs } });
        });
      }
    }
  }

  test('mean over a symbolic axis divides by the runtime size', async () => {
    await checkGrad(({ x }) => F.mean(x!, [0, 1]), { x: { shape: ['batch', 3], dims: [4, 3] } });
    const { g, x, m } = trace((g) => {
      const x = g.input('x', ['batch', 2]);
      return { g, x, m: F.mean(x, [0]) };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { m }, variables: 'inputs' });
    for (const n of [1, 4]) {
      const data = fixedValues(2 * n, n);
      const expected = [0, 1].map((c) => Array.from({ length: n }, (_, i) => data[i * 2 + c]!).reduce((a, b) => a + b, 0) / n);
      const got = Array.from((await cg.run({ x: float32(data, [n, 2]) })).m!.data as Float32Array);
      got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6));
    }
    await cg.release();
  });

  test('prod and argmax (forward only)', async () => {
    const values = [1, 2, 3, -1, 0.5, 4];
    await checkOp(({ x }) => F.prod(x!, [1]), { x: { shape: [2, 3], values } }, () => ({ data: [6, -2], dims: [2] }));
    await checkOp(({ x }) => F.cast(F.argmax(x!, -1), 'float32'), { x: { shape: [2, 3], values } }, () => [2, 2]);
    await checkOp(({ x }) => F.cast(F.argmax(x!, 0, true), 'float32'), { x: { shape: [2, 3], values } }, () => ({ data: [0, 0, 1], dims: [1, 3] }));
  });

  test('an out-of-range axis is an error naming the op', () => {
    trace((g) => {
      assert.throws(() => F.sum(g.input('x', [2, 3]), [2]), /ReduceSum: axis 2 is out of range for rank 2/);
    });
  });
});
