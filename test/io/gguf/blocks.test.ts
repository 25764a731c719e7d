/**
 * ggml block decoding against the reference dequantization written in
 * test/helpers/gguf-reference.ts from the format description: random block
 * bytes (every byte pattern is a valid block once its f16 scales are finite).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { dequantize, scaleMinK4 } from '../../../src/io/gguf/blocks.js';
import { GgmlType } from '../../../src/io/gguf/types.js';
import { randomBlocks, refQ4_0, refQ4_1, refQ4_K, refQ5_0, refQ5_1, refQ5_K, refQ6_K, refQ8_0 } from '../../helpers/gguf-reference.js';
import { quantizeQ4_K } from '../../helpers/gguf-writer.js';

function assertNear(actual: Float32Array, expected: Float32Array, rel: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const tol = rel * Math.max(1e-6, Math.abs(expected[i]!));
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('ggml blocks', () => {
  const rng = new Rng(7);
  const next = () => rng.next();
  const cases = [
    { type: GgmlType.Q8_0, name: 'Q8_0', size: 34, per: 32, halves: [0], ref: refQ8_0, rel: 0 },
    { type: GgmlType.Q4_0, name: 'Q4_0', size: 18, per: 32, halves: [0], ref: refQ4_0, rel: 0 },
    // d·sc·q − dmin·m: ggml rounds the product to float32 before subtracting; one rounding may differ.
    { type: GgmlType.Q4_K, name: 'Q4_K', size: 144, per: 256, halves: [0, 2], ref: refQ4_K, rel: 1e-6 },
    { type: GgmlType.Q6_K, name: 'Q6_K', size: 210, per: 256, halves: [208], ref: refQ6_K, rel: 0 },
    { type: GgmlType.Q4_1, name: 'Q4_1', size: 20, per: 32, halves: [0, 2], ref: refQ4_1, rel: 1e-6 },
    { type: GgmlType.Q5_0, name: 'Q5_0', size: 22, per: 32, halves: [0], ref: refQ5_0, rel: 0 },
    { type: GgmlType.Q5_1, name: 'Q5_1', size: 24, per: 32, halves: [0, 2], ref: refQ5_1, rel: 1e-6 },
    { type: GgmlType.Q5_K, name: 'Q5_K', size: 176, per: 256, halves: [0, 2], ref: refQ5_K, rel: 1e-6 },
  ];
  for (const c of cases) {
    test(`${c.name} dequantizes as the reference`, () => {
      const blocks = 12;
      const bytes = randomBlocks(blocks, c.size, c.halves, next);
      const n = blocks * c.per;
      assertNear(dequantize(c.type, bytes, n)!, c.ref(bytes, n), c.rel, c.name);
    });
  }

  test('Q4_K 6-bit scales and mins unpack as the test quantizer packed them', () => {
    const x = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i * 0.37) * (1 + (i >> 5)));
    const b = quantizeQ4_K(x);
    const pairs = Array.from({ length: 8 }, (_, j) => scaleMinK4(b, 4, j));
    assert.ok(pairs.some(([sc]) => sc >= 16), 'some scale uses the high bits');
    const back = dequantize(GgmlType.Q4_K, b, 256)!;
    let err = 0;
    for (let i = 0; i < 256; i++) err = Math.max(err, Math.abs(back[i]! - x[i]!));
    assert.ok(err < 0.6, `round trip within a quantization step (max error ${err})`);
  });

  test('F16 and BF16 widen exactly; unknown types are undefined', () => {
    const f16 = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]); // 1, -2
    assert.deepEqual([...dequantize(GgmlType.F16, f16, 2)!], [1, -2]);
    const bf16 = new Uint8Array([0x80, 0x3f, 0x40, 0xc0]); // 1, -3
    assert.deepEqual([...dequantize(GgmlType.BF16, bf16, 2)!], [1, -3]);
    assert.equal(dequantize(10, new Uint8Array(84), 256), undefined);
  });
});
