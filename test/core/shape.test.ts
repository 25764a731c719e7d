import { test } from 'node:test';
import assert from 'node:assert/strict';
import { broadcastShapes, dimAt, formatShape, freshDim, isStatic, normalizeAxis, sameShape, ShapeError, shapesAgree, sizeOf } from '../../src/core/shape.js';

test('broadcastShapes follows numpy, keeps symbolic dims, and names the op on mismatch', () => {
  assert.deepEqual(broadcastShapes([2, 3], [3], 'Add'), [2, 3]);
  assert.deepEqual(broadcastShapes([2, 1, 4], [3, 1], 'Add'), [2, 3, 4]);
  assert.deepEqual(broadcastShapes([], [5], 'Add'), [5]);
  assert.deepEqual(broadcastShapes(['batch', 1], [1, 8], 'Mul'), ['batch', 8]);
  assert.deepEqual(broadcastShapes(['batch', 8], [4, 8], 'Mul'), [4, 8]);
  assert.throws(
    () => broadcastShapes([2, 3], [4, 3], 'dense_1 (Add)'),
    (e: Error) => e instanceof ShapeError && e.message === 'dense_1 (Add): cannot broadcast shapes [2, 3] and [4, 3] (dimension 0: 2 vs 4)',
  );
});

test('normalizeAxis, sizeOf, isStatic, sameShape, formatShape', () => {
  assert.equal(normalizeAxis(-1, 3, 'op'), 2);
  assert.throws(() => normalizeAxis(3, 3, 'softmax'), /softmax: axis 3 is out of range for rank 3/);
  assert.equal(sizeOf([2, 3, 4]), 24);
  assert.equal(sizeOf(['batch', 3]), null);
  assert.equal(isStatic([1, 2]), true);
  assert.equal(isStatic([1, 'n']), false);
  assert.equal(sameShape(['n', 2], ['n', 2]), true);
  assert.equal(sameShape([2], [2, 1]), false);
  assert.equal(formatShape(['batch', 28, 28]), '[batch, 28, 28]');
});

test('shapesAgree: equal ranks and static sizes; a symbolic dim agrees with anything', () => {
  assert.equal(shapesAgree([3, 4], [3, 4]), true);
  assert.equal(shapesAgree([1, 4], [3, 4]), false);
  assert.equal(shapesAgree([4], [3, 4]), false);
  assert.equal(shapesAgree(['batch', 4], [2, 4]), true);
  assert.equal(shapesAgree(['batch', 4], ['n', 4]), true);
  assert.equal(shapesAgree(['batch', 4], ['batch', 5]), false);
});

test('dimAt counts negative axes from the end and refuses out-of-range ones; freshDim never repeats', () => {
  assert.equal(dimAt(['batch', 3, 4], 0), 'batch');
  assert.equal(dimAt(['batch', 3, 4], -1), 4);
  assert.throws(() => dimAt([3, 4], 2), (e: Error) => e instanceof ShapeError && e.message === 'axis 2 is out of range for shape [3, 4]');
  assert.throws(() => dimAt([3, 4], -3), /axis -3 is out of range/);
  const [a, b] = [freshDim('s'), freshDim('s')];
  assert.match(a, /^s_\d+$/);
  assert.notEqual(a, b);
});
