import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Variable } from '../../src/core/variable.js';

test('a variable starts at zeros of its shape, or at the given value', () => {
  const v = new Variable('w', [2, 3]);
  assert.equal(v.size, 6);
  assert.deepEqual([...v.value], [0, 0, 0, 0, 0, 0]);
  assert.equal(v.trainable, true);
  const init = Float32Array.of(1, 2, 3, 4);
  const u = new Variable('u', [4], init, false);
  assert.equal(u.value, init);
  assert.equal(u.trainable, false);
  assert.deepEqual(new Variable('s', []).size, 1);
});

test('a value of the wrong size is refused, naming the variable and shape', () => {
  assert.throws(() => new Variable('dense/kernel', [2, 2], new Float32Array(3)), /Variable 'dense\/kernel': value has 3 elements but shape \[2, 2\] needs 4/);
  const v = new Variable('bn/mean', [3]);
  assert.throws(() => v.assign(new Float32Array(2), 'load'), /Variable 'bn\/mean' \(load\): got 2 elements, expected 3 for shape \[3\]/);
  assert.deepEqual([...v.value], [0, 0, 0]);
});

test('assign replaces the value; ids are unique; dims is a copy', () => {
  const v = new Variable('a', [2]);
  const next = Float32Array.of(5, 6);
  v.assign(next);
  assert.equal(v.value, next);
  const w = new Variable('a', [2]);
  assert.notEqual(v.id, w.id);
  const dims = v.dims;
  dims.push(9);
  assert.deepEqual(v.shape, [2]);
});
