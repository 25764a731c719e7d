/**
 * GGUF blocks on MatMulNBits: the mapped matrix stands for the reference
 * dequantization (test/helpers/gguf-reference.ts), ONNX Runtime's MatMulNBits
 * over it computes x·Wᵀ for that W, and a block with no (q − zero)·scale form
 * is reported so the loader can dequantize it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { currentGraph } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { Rng } from '../../../src/core/rng.js';
import { GgmlType } from '../../../src/io/gguf/types.js';
import { dequantizeMapped, mapToMatMulNBits } from '../../../src/models/gguf/quantized.js';
import { compileGraph } from '../../helpers/run-graph.js';
import { randomBlocks, refQ4_0, refQ4_1, refQ4_K, refQ5_0, refQ6_K, refQ8_0 } from '../../helpers/gguf-reference.js';
import { quantizeQ4_K } from '../../helpers/gguf-writer.js';

const CASES = [
  { type: GgmlType.Q8_0, name: 'Q8_0', size: 34, per: 32, halves: [0], ref: refQ8_0, bits: 8, group: 32, zeros: false },
  { type: GgmlType.Q4_0, name: 'Q4_0', size: 18, per: 32, halves: [0], ref: refQ4_0, bits: 4, group: 32, zeros: false },
  { type: GgmlType.Q4_K, name: 'Q4_K', size: 144, per: 256, halves: [0, 2], ref: refQ4_K, bits: 4, group: 32, zeros: true },
  { type: GgmlType.Q6_K, name: 'Q6_K', size: 210, per: 256, halves: [208], ref: refQ6_K, bits: 8, group: 16, zeros: false },
  { type: GgmlType.Q4_1, name: 'Q4_1', size: 20, per: 32, halves: [0, 2], ref: refQ4_1, bits: 4, group: 32, zeros: true },
  { type: GgmlType.Q5_0, name: 'Q5_0', size: 22, per: 32, halves: [0], ref: refQ5_0, bits: 8, group: 32, zeros: false },
];

function maxRelErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m / scale;
}

/** Random Q4_K/Q5_K blocks with every 6-bit sub-block scale ≥ 1 (scale 0 is the case tested on its own below). */
function nonZeroScales(bytes: Uint8Array, size: number): void {
  for (let at = 0; at < bytes.length; at += size) {
    for (let j = 0; j < 4; j++) bytes[at + 4 + j]! |= 1; // sc 0..3: low 6 bits of scales[j]
    for (let j = 8; j < 12; j++) bytes[at + 4 + j]! |= 1; // sc 4..7: low nibble of scales[j + 4]
  }
}

describe('GGUF blocks → MatMulNBits', () => {
  const rng = new Rng(11);
  const next = () => rng.next();
  const n = 6;
  const k = 512;
  for (const c of CASES) {
    test(`${c.name} maps to ${c.bits}-bit blocks of ${c.group}${c.zeros ? ' with float zero points' : ', symmetric'} and stands for the reference weights`, async () => {
      const bytes = randomBlocks((n * k) / c.per, c.size, c.halves, next);
      if (c.type === GgmlType.Q4_K) nonZeroScales(bytes, c.size);
      const m = mapToMatMulNBits(c.type, bytes, n, k)!;
      assert.equal(m.bits, c.bits);
      assert.equal(m.group, c.group);
      assert.equal(m.zeros !== undefined, c.zeros);
      const w = c.ref(bytes, n * k);
      // Integer zero points reproduce ggml's (q − zero)·d exactly; fractional ones round dmin·m/(d·sc) once.
      const err = maxRelErr(dequantizeMapped(m), w);
      assert.ok(c.zeros ? err < 1e-6 : err === 0, `${c.name}: max error ${err} of the largest weight`);

      const x = Float32Array.from({ length: 2 * k }, () => rng.normal());
      const g = await compileGraph({ x: { shape: [2, k] } }, ({ x: xt }) => {
        const c8 = (d: Uint8Array | Float32Array, s: number[]) => currentGraph().constant(d, s, d instanceof Float32Array ? 'float32' : 'uint8');
        const blocks = k / m.group;
        const zeros = m.zeros && c8(m.zeros, [n, blocks]);
        return { y: F.matmulNBits(xt!, { data: c8(m.data, [n, blocks, (m.group * m.bits) / 8]), scales: c8(m.scales, [n, blocks]), zeros, bits: m.bits, block: m.group }, 1) };
      });
      try {
        const y = (await g.run({ x: { dims: [2, k], data: x } })).y!.data;
        const want = new Float32Array(2 * n);
        for (let r = 0; r < 2; r++) for (let o = 0; o < n; o++) {
          let s = 0;
          for (let i = 0; i < k; i++) s += x[r * k + i]! * w[o * k + i]!;
          want[r * n + o] = s;
        }
        const e = maxRelErr(Float32Array.from(y), want);
        assert.ok(e < 1e-5, `${c.name}: MatMulNBits vs x·Wᵀ, error ${e} of the largest output`);
      } finally {
        await g.release();
      }
    });
  }

  test('Q5_1 and Q5_K have no MatMulNBits form (8-bit codes with float zero points, which ORT does not run)', () => {
    for (const [type, size] of [[GgmlType.Q5_1, 24], [GgmlType.Q5_K, 176]] as const) {
      assert.equal(mapToMatMulNBits(type, randomBlocks(8, size, [0, 2], next), 4, 512), undefined);
    }
  });

  test('a Q4_K sub-block with scale 0 and a non-zero min has no MatMulNBits form', () => {
    const x = Float32Array.from({ length: 512 }, (_, i) => Math.cos(i));
    assert.ok(mapToMatMulNBits(GgmlType.Q4_K, quantizeQ4_K(x), 2, 256), 'the plain quantization maps');
    assert.equal(mapToMatMulNBits(GgmlType.Q4_K, quantizeQ4_K(x, 1), 2, 256), undefined);
  });
});
