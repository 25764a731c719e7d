import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dtypeOfData, isFloat, ONNX_DTYPE } from '../../src/core/dtype.js';

test('ONNX_DTYPE holds the TensorProto.DataType codes', () => {
  // onnx.proto: FLOAT=1 UINT8=2 INT32=6 INT64=7 BOOL=9 FLOAT16=10 DOUBLE=11
  assert.deepEqual(ONNX_DTYPE, { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 });
});

test('isFloat is true for the three float types only', () => {
  assert.deepEqual(
    (['float32', 'float16', 'float64', 'int64', 'int32', 'uint8', 'bool'] as const).map(isFloat),
    [true, true, true, false, false, false, false],
  );
});

test('dtypeOfData maps each typed array to its dtype', () => {
  assert.equal(dtypeOfData(new Float32Array(1)), 'float32');
  assert.equal(dtypeOfData(new Float64Array(1)), 'float64');
  assert.equal(dtypeOfData(new BigInt64Array(1)), 'int64');
  assert.equal(dtypeOfData(new Int32Array(1)), 'int32');
  assert.equal(dtypeOfData(new Uint16Array(1)), 'float16');
  assert.equal(dtypeOfData(new Uint8Array(1)), 'uint8');
});
