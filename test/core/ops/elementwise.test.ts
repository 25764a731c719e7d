import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace, type Tensor } from '../../../src/core/graph.js';
import { ShapeError } from '../../../src/core/shape.js';
import * as F from '../../../src/core/ops/index.js';
import { checkGrad, checkOp, type InputSpec } from '../../helpers/gradcheck.js';
import { broadcast2, fixedValues } from './reference.js';

type Binary = (a: F.Operand, b: F.Operand) => Tensor;

/** Each binary op with its JS definition and input ranges where it is smooth. */
const BINARY: { name: string; op: Binary; js: (a: number, b: number) => number; a?: Partial<InputSpec>; b?: Partial<InputSpec> }[] = [
  { name: 'add', op: F.add, js: (a, b) => a + b },
  { name: 'sub', op: F.sub, js: (a, b) => a - b },
  { name: 'mul', op: F.mul, js: (a, b) => a * b },
  { name: 'div', op: F.div, js: (a, b) => a / b, b: { low: -2, high: 2, avoid: [0], margin: 0.5 } },
  { name: 'pow', op: F.pow, js: (a, b) => a ** b, a: { low: 0.5, high: 2 }, b: { low: -2, high: 2 } },
];

/** Broadcasting layouts: same shape, a row [1, 3], a scalar tensor, missing leading axes. */
const LAYOUTS: { name: string; a: number[]; b: number[] }[] = [
  { name: '[2,3] with [2,3]', a: [2, 3], b: [2, 3] },
  { name: '[2,3] with [1,3]', a: [2, 3], b: [1, 3] },
  { name: '[2,3] with scalar []', a: [2, 3], b: [] },
  { name: '[3] with [2,3]', a: [3], b: [2, 3] },
  { name: '[2,1] with [1,3]', a: [2, 1], b: [1, 3] },
];

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function valuesFor(dims: number[], seed: number, spec: Partial<InputSpec> = {}): Float32Array {
  const low = spec.low ?? -1;
  const high = spec.high ?? 1;
  return Float32Array.from(fixedValues(size(dims), seed), (u) => {
    let v = low + ((u + 1) / 2) * (high - low);
    for (const k of spec.avoid ?? []) if (Math.abs(v - k) < (spec.margin ?? 0.05)) v = k + (v < k ? -1 : 1) * (spec.margin ?? 0.05);
    return v;
  });
}

describe('binary arithmetic with broadcasting', () => {
  for (const op of BINARY) {
    for (const layout of LAYOUTS) {
      test(`${op.name} ${layout.name}: forward and gradient`, async () => {
        const av = valuesFor(layout.a, 1, op.a);
        const bv = valuesFor(layout.b, 2, op.b);
        const ref = broadcast2(av, layout.a, bv, layout.b, op.js);
        await checkOp(
          ({ a, b }) => op.op(a!, b!),
          { a: { shape: layout.a, values: av }, b: { shape: layout.b, values: bv } },
          () => ref,
          { atol: 1e-6, rtol: 1e-5 },
        );
        await checkGrad(({ a, b }) => op.op(a!, b!), { a: { shape: layout.a, ...op.a }, b: { shape: layout.b, ...op.b } });
      });
    }
    test(`${op.name} with a JS number on either side`, async () => {
      await checkGrad(({ a }) => op.op(a!, 1.5), { a: { shape: [2, 2], ...op.a } });
      await checkGrad(({ b }) => op.op(0.75, b!), { b: { shape: [2, 2], ...op.b } });
    });
  }

  test('maximum / minimum: forward, and the gradient goes to the larger / smaller operand', async () => {
    // Operands at least 0.1 apart, so a step of 1e-2 never flips the winner.
    const a = [0.5, -0.3, 0.9, -1.0, 0.2, 0.0];
    const b = [0.2, 0.1, 0.4, -0.5, 0.7, -0.6];
    for (const [op, js] of [[F.maximum, Math.max], [F.minimum, Math.min]] as const) {
      await checkOp(({ a, b }) => op(a!, b!), { a: { shape: [2, 3], values: a }, b: { shape: [2, 3], values: b } }, () => a.map((v, i) => js(v, b[i]!)));
      await checkGrad(({ a, b }) => op(a!, b!), { a: { shape: [2, 3], values: a }, b: { shape: [2, 3], values: b } });
      // Broadcast: b [1, 3] against a [2, 3]; its gradient sums the rows it won.
      await checkGrad(({ a, b }) => op(a!, b!), { a: { shape: [2, 3], values: a }, b: { shape: [1, 3], values: [0.05, 0.55, -0.25] } });
    }
  });

  test('shape errors name the op and both shapes', () => {
    trace((g) => {
      const a = g.input('a', ['batch', 3]);
      const b = g.input('b', [4]);
      assert.throws(() => F.add(a, b), (e: Error) => e instanceof ShapeError && /^Add: cannot broadcast shapes \[batch, 3\] and \[4\]/.test(e.message));
      assert.throws(() => g.scope('model/dense_1', () => F.mul(a, b)), /model\/dense_1 \(Mul\): cannot broadcast shapes \[batch, 3\] and \[4\]/);
      assert.throws(() => F.add(a, g.input('i', [3], 'int64')), /Add: dtype mismatch float32 vs int64/);
    });
  });
});

describe('unary math', () => {
  const UNARY: { name: string; op: (x: Tensor) => Tensor; js: (v: number) => number; spec?: Partial<InputSpec> }[] = [
    { name: 'neg', op: F.neg, js: (v) => -v },
    { name: 'exp', op: F.exp, js: Math.exp, spec: { low: -2, high: 2 } },
    { name: 'log', op: F.log, js: Math.log, spec: { low: 0.3, high: 3 } },
    { name: 'sqrt', op: F.sqrt, js: Math.sqrt, spec: { low: 0.3, high: 3 } },
    { name: 'abs', op: F.abs, js: Math.abs, spec: { avoid: [0] } },
    { name: 'reciprocal', op: F.reciprocal, js: (v) => 1 / v, spec: { low: -2, high: 2, avoid: [0], margin: 0.4 } },
    { name: 'erf', op: F.erf, js: erfRef, spec: { low: -2, high: 2 } },
    { name: 'square', op: F.square, js: (v) => v * v },
    { name: 'clip(-0.5, 0.4)', op: (x) => F.clip(x, -0.5, 0.4), js: (v) => Math.min(Math.max(v, -0.5), 0.4), spec: { avoid: [-0.5, 0.4] } },
    { name: 'cast to float64 and back', op: (x) => F.cast(F.mul(F.cast(x, 'float64'), 3), 'float32'), js: (v) => Math.fround(v) * 3 },
  ];
  for (const u of UNARY) {
    test(`${u.name}: forward and gradient`, async () => {
      const xs = valuesFor([2, 3], 7, u.spec);
      await checkOp(({ x }) => u.op(x!), { x: { shape: [2, 3], values: xs } }, () => Array.from(xs, u.js), { atol: 1e-6, rtol: 2e-6 });
      await checkGrad(({ x }) => u.op(x!), { x: { shape: [2, 3], ...u.spec } });
    });
  }

  test('sign is forward-only', async () => {
    await checkOp(({ x }) => F.sign(x!), { x: { shape: [3], values: [-2, 0, 0.5] } }, () => [-1, 0, 1]);
  });
});

describe('where and comparisons', () => {
  test('comparisons and logic (forward, as 0/1)', async () => {
    const a = [1, 2, 3, 4];
    const b = [2, 2, 2, 2];
    const cmp = (op: (a: F.Operand, b: F.Operand) => Tensor, js: (x: number, y: number) => boolean) =>
      checkOp(({ a, b }) => F.cast(op(a!, b!), 'float32'), { a: { shape: [4], values: a }, b: { shape: [4], values: b } }, () => a.map((v, i) => Number(js(v, b[i]!))));
    await cmp(F.equal, (x, y) => x === y);
    await cmp(F.less, (x, y) => x < y);
    await cmp(F.greater, (x, y) => x > y);
    await cmp(F.lessOrEqual, (x, y) => x <= y);
    await cmp(F.greaterOrEqual, (x, y) => x >= y);
    await cmp((x, y) => F.and(F.greater(x, 1), F.less(y as Tensor, 3)), (x, y) => x > 1 && y < 3);
    await cmp((x) => F.not(F.greater(x, 2)), (x) => !(x > 2));
  });

  test('where: forward and gradients to both branches, with broadcasting', async () => {
    const c = [0.5, -0.5, 0.2, -0.1, 0.9, -0.9];
    const a = valuesFor([2, 3], 3);
    const b = valuesFor([1, 3], 4);
    const build = ({ c, a, b }: Record<string, Tensor>) => F.where(F.greater(c!, 0), a!, b!);
    await checkOp(build, { c: { shape: [2, 3], values: c }, a: { shape: [2, 3], values: a }, b: { shape: [1, 3], values: b } }, () =>
      c.map((v, i) => (v > 0 ? a[i]! : b[i % 3]!)),
    );
    await checkGrad(build, { c: { shape: [2, 3], values: c }, a: [2, 3], b: [1, 3] }, { wrt: ['a', 'b'] });
    // A JS number as one branch, a scalar tensor as the other.
    await checkGrad(({ c, s }) => F.where(F.greater(c!, 0), s!, -1), { c: { shape: [2, 3], values: c }, s: [] }, { wrt: ['s'] });
  });
});

/** erf by its Maclaurin series (converges fast for |x| ≤ 2). */
function erfRef(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('custom gradients', () => {
  test('stopGradient blocks the gradient; withGradientOf swaps it in', async () => {
    const { grad } = await import('../../../src/autodiff/grad.js');
    const { CompiledGraph, float32 } = await import('../../../src/runtime/session.js');
    const xs = Float32Array.from([1, -2, 3]);
    const { g, x, blocked, swapped, value } = trace((g) => {
      const x = g.input('x', [3]);
      // d/dx Σ x·sg(x) = x (the sg factor is a constant), not 2x.
      const [blocked] = grad(F.sum(F.mul(x, F.stopGradient(x))), [x]);
      // value Σx², gradient that of Σ 3x = 3.
      const value = F.withGradientOf(F.stopGradient(F.sum(F.square(x))), F.sum(F.mul(x, 3)));
      const [swapped] = grad(value, [x]);
      return { g, x, blocked: blocked!, swapped: swapped!, value };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { blocked, swapped, value }, variables: 'inputs' });
    const out = await cg.run({ x: float32(xs, [3]) });
    assert.deepEqual(Array.from(out.blocked!.data as Float32Array), [1, -2, 3]);
    assert.deepEqual(Array.from(out.swapped!.data as Float32Array), [3, 3, 3]);
    assert.equal((out.value!.data as Float32Array)[0], 14);
  });
});
