/** quantizeRows / dequantizeRows: the packing against a plain reading of ORT's layout, and round-to-nearest error bounds. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { dequantizeRows, packedShapes, quantizeRows, unpackedZeros, zeroPoint, type QuantizeSpec } from '../../../src/models/quantize/pack.js';

/** The value ORT reads for element (r, c): its integer from the nibble or byte, minus its block's zero point, times its scale. */
function plainDequant(q: ReturnType<typeof quantizeRows>): Float32Array {
  const { n, k, bits, group } = q;
  const blocks = k / group;
  const out = new Float32Array(n * k);
  const zeroBytes = Math.ceil((blocks * bits) / 8);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      const b = Math.floor(c / group);
      const i = r * k + c; // blocks of a row are contiguous, rows back to back
      const v = bits === 8 ? q.data[i]! : i % 2 === 0 ? q.data[i >> 1]! & 15 : q.data[i >> 1]! >> 4;
      let z = 1 << (bits - 1);
      if (q.zeros) z = bits === 8 ? q.zeros[r * zeroBytes + b]! : b % 2 === 0 ? q.zeros[r * zeroBytes + (b >> 1)]! & 15 : q.zeros[r * zeroBytes + (b >> 1)]! >> 4;
      out[i] = (v - z) * q.scales[r * blocks + b]!;
    }
  }
  return out;
}

function randomRows(n: number, k: number, rng: Rng): Float32Array {
  // Mostly small values with a few outliers, as trained weights have.
  return Float32Array.from({ length: n * k }, () => rng.normal() * (rng.next() < 0.02 ? 8 : 0.05));
}

const SPECS: QuantizeSpec[] = [
  { bits: 4, group: 32, symmetric: false },
  { bits: 4, group: 16, symmetric: true },
  { bits: 4, group: 128, symmetric: false },
  { bits: 8, group: 32, symmetric: false },
  { bits: 8, group: 64, symmetric: true },
];

describe('quantizeRows', () => {
  for (const spec of SPECS) {
    const label = `${spec.bits} bits, group ${spec.group}, ${spec.symmetric ? 'symmetric' : 'asymmetric'}`;
    test(`${label}: dequantizeRows reads what a plain dequantisation reads; each value is within its rounding bound`, () => {
      const [n, k] = [12, 256];
      const w = randomRows(n, k, new Rng(spec.bits * 100 + spec.group));
      const q = quantizeRows(w, n, k, spec);
      const shapes = packedShapes(n, k, spec);
      assert.equal(q.data.length, shapes.data.reduce((a, b) => a * b, 1));
      assert.equal(q.scales.length, shapes.scales.reduce((a, b) => a * b, 1));
      assert.equal(q.zeros?.length, spec.symmetric ? undefined : shapes.zeros.reduce((a, b) => a * b, 1));
      const plain = plainDequant(q);
      assert.deepEqual(dequantizeRows(q), plain);
      const blocks = k / spec.group;
      for (let i = 0; i < w.length; i++) {
        const scale = Math.abs(q.scales[Math.floor(i / k) * blocks + Math.floor((i % k) / spec.group)]!);
        // Rounding moves a value by half a step; symmetric blocks may clip the side opposite their extreme by one more step.
        const bound = (spec.symmetric ? 1 : 0.5) * scale * (1 + 1e-5);
        assert.ok(Math.abs(plain[i]! - w[i]!) <= bound, `value ${i}: ${w[i]} came back as ${plain[i]} (bound ${bound})`);
      }
    });
  }

  test('asymmetric blocks represent 0 exactly, and the extremes within half a step', () => {
    const w = Float32Array.from({ length: 32 }, (_, i) => (i === 0 ? 0 : i === 1 ? -1 : i === 2 ? 3 : (i - 16) / 100));
    const q = quantizeRows(w, 1, 32, { bits: 4, group: 32, symmetric: false });
    const d = dequantizeRows(q);
    assert.equal(d[0], 0);
    assert.ok(Math.abs(q.scales[0]! - 4 / 15) < 1e-7);
    assert.ok(Math.abs(d[2]! - 3) <= q.scales[0]! / 2);
  });

  test('symmetric blocks map the value of largest magnitude exactly', () => {
    const w = Float32Array.from({ length: 16 }, (_, i) => (i === 5 ? -2.5 : i * 0.01));
    for (const bits of [4, 8] as const) {
      const q = quantizeRows(w, 1, 16, { bits, group: 16, symmetric: true });
      assert.equal(dequantizeRows(q)[5], -2.5);
      assert.equal(q.zeros, undefined);
      assert.equal(zeroPoint(q, 0, 0), 1 << (bits - 1));
    }
  });

  test('an all-zero block stays zero; zero points unpack one a byte', () => {
    const w = new Float32Array(2 * 64);
    w.fill(0.5, 64); // row 1 positive only
    const q = quantizeRows(w, 2, 64, { bits: 4, group: 32, symmetric: false });
    assert.deepEqual([...dequantizeRows(q).subarray(0, 64)], new Array(64).fill(0));
    assert.deepEqual([...unpackedZeros(q)!], [0, 0, 0, 0]);
    assert.ok([...dequantizeRows(q).subarray(64)].every((v) => Math.abs(v - 0.5) <= q.scales[2]! / 2));
  });

  test('a group that does not divide K is refused', () => {
    assert.throws(() => quantizeRows(new Float32Array(48), 1, 48, { bits: 4, group: 32, symmetric: false }), /group 32 does not divide K = 48/);
  });
});
