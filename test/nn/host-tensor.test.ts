import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gatherRowsInto, HostTensor, toHostTensor } from '../../src/nn/index.js';

describe('HostTensor', () => {
  test('checks its size and slices rows as views', () => {
    assert.throws(() => new HostTensor(new Float32Array(5), [2, 3]), /shape \[2, 3\] needs 6 elements, received 5/);
    const t = new HostTensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    const rows = t.sliceRows(1, 3);
    assert.deepEqual(rows.shape, [2, 2]);
    assert.equal(rows.data.buffer, t.data.buffer);
    assert.deepEqual(rows.toArray(), [3, 4, 5, 6]);
  });

  test('flat data takes the per-example shape', () => {
    assert.deepEqual(toHostTensor(new Float32Array(12), [2, 3], 'test').shape, [2, 2, 3]);
    assert.throws(() => toHostTensor(new Float32Array(7), [2, 3], 'fit: input 0'), /fit: input 0: 7 values do not divide into examples of shape \[2, 3\] \(6 values each\)/);
  });

  test('gatherRowsInto copies shuffled rows, int64 included', () => {
    const src = new HostTensor(BigInt64Array.from([10n, 11n, 20n, 21n, 30n, 31n]), [3, 2]);
    const dst = new BigInt64Array(4);
    gatherRowsInto(dst, src, Int32Array.from([2, 0, 1]), 0, 2);
    assert.deepEqual(Array.from(dst), [30n, 31n, 10n, 11n]);
    assert.throws(() => gatherRowsInto(new Float32Array(4), src, Int32Array.from([0]), 0, 1), /cannot copy int64 values into a float32 buffer/);
  });
});
