import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dtypeOfData } from '../../../src/core/dtype.js';
import { SafetensorsError, decodeTensorBytes, defaultDtype, encodeTensorData, toFloat32 } from '../../../src/io/safetensors/codecs.js';

const bytesOf = (v: ArrayBufferView): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

test('a U16 tensor is never decoded as float16 bits, nor F16 as integers', () => {
  const raw = bytesOf(new Uint16Array([0x3c00, 0xffff]));
  const u16 = decodeTensorBytes(raw, 'U16');
  assert.ok(u16 instanceof Int32Array);
  assert.deepEqual([...u16], [15360, 65535]);
  assert.equal(dtypeOfData(u16), 'int32', "core's reading of the array agrees with the values");
  const f16 = decodeTensorBytes(raw, 'F16');
  assert.ok(f16 instanceof Float32Array);
  assert.equal(f16[0], 1);
  assert.ok(Number.isNaN(f16[1]!));
  // Where a Uint16Array does appear, its dtype decides.
  const bits = new Uint16Array([0x3c00]);
  assert.deepEqual([...toFloat32({ dtype: 'F16', data: bits })], [1]);
  assert.deepEqual([...toFloat32({ dtype: 'BF16', data: new Uint16Array([0x3f80]) })], [1]);
  assert.deepEqual([...toFloat32({ dtype: 'U16', data: bits })], [15360]);
  assert.throws(() => defaultDtype(bits, 'writeSafetensors: tensor "w"'), /tensor "w": a Uint16Array needs an explicit dtype: 'F16' or 'BF16' .* 'U16'/);
});

test('integers widen to arrays core holds, and narrow back with a range check', () => {
  const i8 = decodeTensorBytes(bytesOf(new Int8Array([-128, 127])), 'I8');
  assert.deepEqual(i8, new Int32Array([-128, 127]));
  assert.deepEqual(decodeTensorBytes(bytesOf(new Int16Array([-32768, 5])), 'I16'), new Int32Array([-32768, 5]));
  assert.deepEqual(decodeTensorBytes(bytesOf(new Uint32Array([0xffffffff])), 'U32'), new BigInt64Array([0xffffffffn]));
  assert.deepEqual(decodeTensorBytes(bytesOf(new BigUint64Array([2n ** 62n])), 'U64'), new BigInt64Array([2n ** 62n]));
  assert.throws(
    () => decodeTensorBytes(bytesOf(new BigUint64Array([2n ** 63n])), 'U64', 'f: tensor "ids"'),
    (err: unknown) => err instanceof SafetensorsError && /f: tensor "ids": U64 value 9223372036854775808 at index 0 does not fit int64/.test(err.message),
  );
  assert.deepEqual(new Int8Array(encodeTensorData(i8, 'I8', 'w').buffer), new Int8Array([-128, 127]));
  assert.throws(() => encodeTensorData(new Int32Array([0, 128]), 'I8', 'tensor "w"'), /tensor "w": value 128 at index 1 does not fit I8/);
  assert.throws(() => encodeTensorData(new Int32Array([-1]), 'U16', 'tensor "w"'), /value -1 at index 0 does not fit U16/);
  assert.throws(() => encodeTensorData(new BigInt64Array([2n ** 32n]), 'U32', 'tensor "w"'), /value 4294967296 at index 0 does not fit U32/);
  assert.throws(() => encodeTensorData(new BigInt64Array([-1n]), 'U64', 'tensor "w"'), /value -1 at index 0 does not fit U64/);
  assert.deepEqual(new Uint32Array(encodeTensorData(new BigInt64Array([7n, 0xffffffffn]), 'U32', 'w').buffer), new Uint32Array([7, 0xffffffff]));
});

test('encoding: F16/BF16 from Float32Array or raw bits; wrong array types are named', () => {
  assert.deepEqual([...new Uint16Array(encodeTensorData(new Float32Array([1, -2]), 'F16', 'w').buffer)], [0x3c00, 0xc000]);
  assert.deepEqual([...new Uint16Array(encodeTensorData(new Float32Array([1]), 'BF16', 'w').buffer)], [0x3f80]);
  const bits = new Uint16Array([0x1234]);
  assert.equal(encodeTensorData(bits, 'F16', 'w').buffer, bits.buffer, 'raw bits are written as they are');
  assert.throws(() => encodeTensorData(new Int32Array(1), 'F32', 'tensor "w"'), (err: unknown) =>
    err instanceof SafetensorsError && /tensor "w": dtype F32 cannot be written from Int32Array \(it is written from Float32Array\)/.test(err.message));
  assert.throws(() => encodeTensorData(new Float32Array(1), 'F8_E4M3', 'tensor "w"'), /F8_E4M3 cannot be written from Float32Array \(it is written from Uint8Array \(raw bits\)\)/);
});

test('decodeTensorBytes: a view on the bytes when aligned, a copy when not', () => {
  const aligned = bytesOf(new Float32Array([1, 2, 3]));
  const a = decodeTensorBytes(aligned, 'F32');
  assert.equal(a.buffer, aligned.buffer, 'aligned: zero-copy view');
  const backing = new Uint8Array(13);
  backing.set(aligned, 1);
  const b = decodeTensorBytes(backing.subarray(1), 'F32');
  assert.notEqual(b.buffer, backing.buffer, 'unaligned: copied');
  assert.deepEqual(b, new Float32Array([1, 2, 3]));
});

test('toFloat32 converts every core array (int64 via Number) and keeps Float32Array as is', () => {
  const f = new Float32Array([1.5]);
  assert.equal(toFloat32({ dtype: 'F32', data: f }), f);
  assert.deepEqual(toFloat32({ dtype: 'I64', data: new BigInt64Array([-1n, 2n ** 40n]) }), new Float32Array([-1, 2 ** 40]));
  assert.deepEqual(toFloat32({ dtype: 'U8', data: new Uint8Array([0, 255]) }), new Float32Array([0, 255]));
  assert.deepEqual(toFloat32({ dtype: 'F64', data: new Float64Array([0.5]) }), new Float32Array([0.5]));
});
