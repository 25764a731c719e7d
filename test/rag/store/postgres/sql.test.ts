import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIntArray } from '../../../../src/rag/store/postgres/sql.js';

test('parseIntArray reads a string_agg of integers into the asked typed array', () => {
  const ids = parseIntArray('7,12,9007199254740991', Float64Array);
  assert.ok(ids instanceof Float64Array);
  assert.deepEqual([...ids!], [7, 12, 9007199254740991]);
  const tfs = parseIntArray('0,1,4294967295', Uint32Array);
  assert.ok(tfs instanceof Uint32Array);
  assert.deepEqual([...tfs!], [0, 1, 4294967295]);
  assert.deepEqual([...parseIntArray('42', Uint32Array)!], [42]);
});

test('parseIntArray refuses anything but non-negative integers separated by single commas', () => {
  for (const bad of ['', ',', '1,', ',1', '1,,2', '-1', '1.5', '1 ,2', 'x']) {
    assert.equal(parseIntArray(bad, Uint32Array), undefined, JSON.stringify(bad));
  }
});
