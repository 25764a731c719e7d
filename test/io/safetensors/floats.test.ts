import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, f8ToF32 } from '../../../src/io/safetensors/floats.js';

// Reference F16 decode by the textbook formula (no bit tricks, no table).
function f16Reference(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

test('F16: every bit pattern decodes exactly (subnormals, ±0, ±inf, NaN) and encodes back', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = f16ToF32(all);
  for (let h = 0; h < 65536; h++) {
    const ref = f16Reference(h);
    if (Number.isNaN(ref)) assert.ok(Number.isNaN(f[h]), `0x${h.toString(16)}`);
    else assert.ok(Object.is(f[h], ref), `0x${h.toString(16)}: ${f[h]} vs ${ref}`);
  }
  const back = f32ToF16(f);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(f[h]!)) assert.ok((back[h]! & 0x7c00) === 0x7c00 && (back[h]! & 0x3ff) !== 0, `NaN 0x${h.toString(16)} stays NaN`);
    else assert.equal(back[h], h, `0x${h.toString(16)}`);
  }
  // Round to nearest even, overflow to inf, underflow to zero, subnormal rounding.
  const cases = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65520, 1e6, 2 ** -25, 2 ** -25 * 1.5, -0, 2 ** -24 * 1.5]);
  assert.deepEqual([...f32ToF16(cases)], [0x3c00, 0x3c02, 0x7bff, 0x7c00, 0x7c00, 0x0000, 0x0001, 0x8000, 0x0002]);
  // A subarray converts only its own elements.
  const big = new Float32Array([9, 1, 2, 9]);
  assert.deepEqual([...f32ToF16(big.subarray(1, 3))], [0x3c00, 0x4000]);
});

test('BF16: every bit pattern round-trips; Float32 rounds to nearest even', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = bf16ToF32(all);
  const back = f32ToBf16(f);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(f[h]!)) assert.ok(Number.isNaN(bf16ToF32(new Uint16Array([back[h]!]))[0]!));
    else assert.equal(back[h], h);
  }
  const bits = new Uint32Array([0x3f808000, 0x3f818000, 0x3f808001, 0x7f7fffff]);
  assert.deepEqual([...f32ToBf16(new Float32Array(bits.buffer))], [0x3f80, 0x3f82, 0x3f81, 0x7f80]);
});

test('F8: E4M3fn and E5M2 decode known values', () => {
  const e4m3 = f8ToF32(new Uint8Array([0x38, 0x7e, 0x01, 0xb8, 0x7f, 0x00]), 'F8_E4M3');
  assert.deepEqual([...e4m3].slice(0, 4), [1, 448, 2 ** -9, -1]);
  assert.ok(Number.isNaN(e4m3[4]!));
  assert.ok(Object.is(e4m3[5], 0));
  const e5m2 = f8ToF32(new Uint8Array([0x3c, 0x7b, 0x7c, 0xfc, 0x01]), 'F8_E5M2');
  assert.deepEqual([...e5m2], [1, 57344, Infinity, -Infinity, 2 ** -16]);
});
