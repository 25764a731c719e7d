import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '../../../src/core/graph.js';
import { dtypeOf, int64s, inversePermutation, lift, sameAsInput, scalar } from '../../../src/core/ops/util.js';

const constOf = (t: { source: unknown }) => {
  const s = t.source as { kind: string; value?: unknown };
  assert.equal(s.kind, 'const');
  return s.value;
};

test('scalar builds a rank-0 constant of each dtype', () => {
  trace(() => {
    const cases = [
      ['float32', Float32Array.of(2.5)],
      ['float64', Float64Array.of(2.5)],
      ['int32', Int32Array.of(3)],
      ['int64', BigInt64Array.of(3n)],
      ['bool', Uint8Array.of(1)],
      ['uint8', Uint8Array.of(7)],
    ] as const;
    for (const [dtype, expected] of cases) {
      const v = dtype === 'float32' || dtype === 'float64' ? 2.5 : dtype === 'bool' ? 1 : dtype === 'uint8' ? 7 : 3;
      const t = scalar(v, dtype);
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, []);
      assert.deepEqual(constOf(t), expected);
    }
    assert.throws(() => scalar(1, 'float16'), /scalar: unsupported dtype float16/);
  });
});

test('int64s is a 1-D int64 constant', () => {
  trace(() => {
    const t = int64s([3, -1, 0]);
    assert.equal(t.dtype, 'int64');
    assert.deepEqual(t.shape, [3]);
    assert.deepEqual(constOf(t), BigInt64Array.of(3n, -1n, 0n));
  });
});

test('lift and dtypeOf: numbers take the dtype of the tensor operand', () => {
  trace((g) => {
    const x = g.input('x', [2], 'float64');
    assert.equal(lift(x, 'float32'), x);
    const c = lift(4, 'float64');
    assert.equal(c.dtype, 'float64');
    assert.deepEqual(constOf(c), Float64Array.of(4));
    assert.equal(dtypeOf(1, x), 'float64');
    assert.equal(dtypeOf(1, 2), 'float32');
    assert.deepEqual(sameAsInput([x]), [{ shape: [2], dtype: 'float64' }]);
  });
});

test('inversePermutation undoes a permutation', () => {
  assert.deepEqual(inversePermutation([2, 0, 1]), [1, 2, 0]);
  assert.deepEqual(inversePermutation([0, 1, 2, 3]), [0, 1, 2, 3]);
  const p = [3, 1, 0, 2];
  const inv = inversePermutation(p);
  assert.deepEqual(p.map((_, i) => p[inv[i]!]), [0, 1, 2, 3]);
});
