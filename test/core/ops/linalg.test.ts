import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '../../../src/core/graph.js';
import { ShapeError } from '../../../src/core/shape.js';
import * as F from '../../../src/core/ops/index.js';
import { checkGrad, checkOp } from '../../helpers/gradcheck.js';
import { fixedValues, matmulRef, transposeRef } from './reference.js';

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

describe('matmul', () => {
  const CASES: { name: string; a: number[]; b: number[] }[] = [
    { name: '2-D @ 2-D', a: [3, 4], b: [4, 2] },
    { name: 'batched 3-D @ 3-D', a: [2, 3, 4], b: [2, 4, 5] },
    { name: '3-D @ 2-D (shared weight)', a: [2, 3, 4], b: [4, 5] },
    { name: '2-D @ 3-D', a: [3, 4], b: [2, 4, 2] },
    { name: 'broadcast batch [2,1] with [3]', a: [2, 1, 2, 3], b: [3, 3, 2] },
  ];
  for (const c of CASES) {
    test(`${c.name}: forward and gradient`, async () => {
      const av = fixedValues(size(c.a), 1);
      const bv = fixedValues(size(c.b), 2);
      await checkOp(({ a, b }) => F.matmul(a!, b!), { a: { shape: c.a, values: av }, b: { shape: c.b, values: bv } }, () => matmulRef(av, c.a, bv, c.b));
      await checkGrad(({ a, b }) => F.matmul(a!, b!), { a: c.a, b: c.b });
    });
  }

  test('3-D @ 2-D with a symbolic batch', async () => {
    await checkGrad(({ a, b }) => F.matmul(a!, b!), { a: { shape: ['batch', 'seq', 3], dims: [2, 2, 3] }, b: [3, 2] });
  });

  test('transposeLast', async () => {
    const xs = fixedValues(24, 3);
    await checkOp(({ x }) => F.transposeLast(x!), { x: { shape: [2, 3, 4], values: xs } }, () => transposeRef(xs, [2, 3, 4], [0, 2, 1]));
  });

  test('shape errors name the op and both shapes', () => {
    trace((g) => {
      const a = g.input('a', ['batch', 784]);
      assert.throws(
        () => g.scope('dense_1', () => F.matmul(a, g.input('w', [100, 10]))),
        (e: Error) => e instanceof ShapeError && e.message === 'dense_1 (MatMul): inner dimensions differ: [batch, 784] @ [100, 10] (784 vs 100)',
      );
      assert.throws(() => F.matmul(g.input('v', [3]), g.input('m', [3, 2])), /MatMul: matmul needs rank ≥ 2 operands, got \[3\] and \[3, 2\]/);
    });
  });
});
