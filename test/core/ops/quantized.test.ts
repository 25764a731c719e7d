/**
 * MatMulNBits and GatherBlockQuantized against plain TypeScript: random
 * integer weights, scales and zero points are packed here (independently of
 * models/quantize) and the graph's output is compared with x @ W for
 * W[n, k] = (q − zero) · scale.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { currentGraph, type Tensor } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { Rng } from '../../../src/core/rng.js';
import { ShapeError } from '../../../src/core/shape.js';
import { trace } from '../../../src/core/graph.js';
import { compileGraph } from '../../helpers/run-graph.js';

interface Case {
  bits: 4 | 8;
  block: number;
  symmetric: boolean;
  n: number;
  k: number;
}

/** Random integers and scales for an [n, k] matrix, ORT's packing of them, and the float matrix they stand for. */
function randomMatrix({ bits, block, symmetric, n, k }: Case, rng: Rng) {
  const blocks = k / block;
  const q = Array.from({ length: n * k }, () => rng.int(1 << bits));
  const zero = Array.from({ length: n * blocks }, () => (symmetric ? 1 << (bits - 1) : rng.int(1 << bits)));
  const scale = Float32Array.from({ length: n * blocks }, () => (rng.next() - 0.3) * 0.1);
  const w = new Float32Array(n * k); // row n = output feature
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) w[r * k + c] = (q[r * k + c]! - zero[r * blocks + Math.floor(c / block)]!) * scale[r * blocks + Math.floor(c / block)]!;
  const data = new Uint8Array((n * k * bits) / 8);
  // Element i of a row: byte i (8 bits), or nibble i % 2 of byte i / 2 (4 bits), rows back to back.
  for (let i = 0; i < n * k; i++) {
    if (bits === 8) data[i] = q[i]!;
    else data[i >> 1] = data[i >> 1]! | (q[i]! << (4 * (i & 1)));
  }
  const zeroBytes = Math.ceil((blocks * bits) / 8);
  const zeros = new Uint8Array(n * zeroBytes);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < blocks; b++) {
      const z = zero[r * blocks + b]!;
      if (bits === 8) zeros[r * zeroBytes + b] = z;
      else zeros[r * zeroBytes + (b >> 1)] = zeros[r * zeroBytes + (b >> 1)]! | (z << (4 * (b & 1)));
    }
  }
  return { w, data, scale, zeros: symmetric ? undefined : zeros, zeroPerBlock: Uint8Array.from(zero) };
}

const constant = (data: Uint8Array | Float32Array, shape: number[]): Tensor =>
  currentGraph().constant(data, shape, data instanceof Float32Array ? 'float32' : 'uint8');

const CASES: Case[] = [
  { bits: 4, block: 32, symmetric: false, n: 40, k: 128 },
  { bits: 4, block: 16, symmetric: true, n: 24, k: 64 },
  { bits: 4, block: 128, symmetric: false, n: 8, k: 256 },
  { bits: 8, block: 32, symmetric: false, n: 40, k: 128 },
  { bits: 8, block: 64, symmetric: true, n: 16, k: 192 },
];

describe('matmulNBits', () => {
  for (const c of CASES) {
    for (const level of [1, 4]) {
      test(`${c.bits} bits, block ${c.block}, ${c.symmetric ? 'symmetric' : 'zero points'}, accuracy_level ${level}: x @ dequant(W)`, async () => {
        const rng = new Rng(c.bits * 1000 + c.block + level);
        const m = randomMatrix(c, rng);
        const rows = 3;
        const x = Float32Array.from({ length: rows * c.k }, () => rng.normal());
        const blocks = c.k / c.block;
        const g = await compileGraph({ x: { shape: ['batch', c.k] } }, ({ x }) => ({
          y: F.matmulNBits(x!, {
            data: constant(m.data, [c.n, blocks, (c.block * c.bits) / 8]),
            scales: constant(m.scale, [c.n, blocks]),
            zeros: m.zeros && constant(m.zeros, [c.n, m.zeros.length / c.n]),
            bits: c.bits,
            block: c.block,
          }, level),
        }));
        const { y } = await g.run({ x: { dims: [rows, c.k], data: x } });
        await g.release();
        assert.deepEqual(y!.dims, [rows, c.n]);
        let worst = 0;
        for (let i = 0; i < rows; i++) {
          for (let n = 0; n < c.n; n++) {
            let exact = 0;
            let mass = 0;
            // accuracy_level 4 rounds x to int8 per block (scale max|x|/127), so each x_k moves by at most half a step.
            let int8Bound = 0;
            for (let b = 0; b < blocks; b++) {
              let amax = 0;
              let wmass = 0;
              for (let k = b * c.block; k < (b + 1) * c.block; k++) {
                const xv = x[i * c.k + k]!;
                const wv = m.w[n * c.k + k]!;
                exact += xv * wv;
                mass += Math.abs(xv * wv);
                amax = Math.max(amax, Math.abs(xv));
                wmass += Math.abs(wv);
              }
              int8Bound += (amax / 127 / 2) * wmass;
            }
            // float32 sums of K terms: a few ulps of the terms' mass.
            const tol = 1e-5 * mass + (level === 4 ? int8Bound * 1.001 : 0) + 1e-6;
            const err = Math.abs(y!.data[i * c.n + n]! - exact);
            worst = Math.max(worst, err / tol);
          }
        }
        assert.ok(worst <= 1, `worst error is ${worst.toFixed(3)} of its bound`);
      });
    }
  }
});

describe('gatherBlockQuantized', () => {
  for (const c of CASES) {
    test(`${c.bits} bits, block ${c.block}, ${c.symmetric ? 'symmetric' : 'zero points'}: the dequantized rows, sharing MatMulNBits' data`, async () => {
      const rng = new Rng(7 + c.bits + c.block);
      const m = randomMatrix(c, rng);
      const blocks = c.k / c.block;
      const ids = [3, 0, c.n - 1, 3];
      const g = await compileGraph({ ids: { shape: [2, 2], dtype: 'int64' }, x: { shape: [1, c.k] } }, ({ ids, x }) => {
        const data = constant(m.data, [c.n, blocks, (c.block * c.bits) / 8]);
        const table = { data, scales: constant(m.scale, [c.n, blocks, 1]), zeros: m.zeros && constant(m.zeroPerBlock, [c.n, blocks, 1]), bits: c.bits, block: c.block };
        const head = { data, scales: constant(m.scale, [c.n, blocks]), zeros: m.zeros && constant(m.zeros, [c.n, m.zeros.length / c.n]), bits: c.bits, block: c.block };
        return { rows: F.gatherBlockQuantized(table, ids!), logits: F.matmulNBits(x!, head, 1) };
      });
      const { rows, logits } = await g.run({ ids: { dims: [2, 2], data: ids }, x: { dims: [1, c.k], data: new Float32Array(c.k).fill(1) } });
      await g.release();
      assert.deepEqual(rows!.dims, [2, 2, c.k]);
      const expected = ids.flatMap((r) => [...m.w.subarray(r * c.k, (r + 1) * c.k)]);
      for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(rows!.data[i]! - expected[i]!) <= 1e-6 * (1 + Math.abs(expected[i]!)), `element ${i}: ${rows!.data[i]} vs ${expected[i]}`);
      assert.equal(logits!.dims[1], c.n);
    });
  }
});

describe('shape rules', () => {
  const matrix = (bits: number, block: number, n: number, k: number) => ({
    data: constant(new Uint8Array((n * k * bits) / 8), [n, k / block, (block * bits) / 8]),
    scales: constant(new Float32Array((n * k) / block), [n, k / block]),
    bits: bits as 4,
    block,
  });

  test('the activation must have K features', () => {
    trace((g) => {
      const x = g.input('x', [2, 48]);
      assert.throws(() => F.matmulNBits(x, matrix(4, 16, 8, 32)), (e: Error) => e instanceof ShapeError && /48 features.*K = 32/.test(e.message));
    });
  });

  test('bits other than 4 and 8 and block sizes that are not powers of two are refused', () => {
    trace((g) => {
      const x = g.input('x', [2, 48]);
      assert.throws(() => F.matmulNBits(x, { ...matrix(4, 16, 8, 48), bits: 3 as 4 }), /bits must be 4 or 8, got 3/);
      assert.throws(() => F.matmulNBits(x, { ...matrix(8, 16, 8, 48), block: 24 }), /power of two ≥ 16, got 24/);
    });
  });

  test('misshapen scales and zero points name what is wrong', () => {
    trace((g) => {
      const x = g.input('x', [1, 64]);
      const m = matrix(4, 32, 8, 64);
      assert.throws(() => F.matmulNBits(x, { ...m, scales: constant(new Float32Array(8), [8, 1]) }), /scales has shape \[8, 1\], expected \[8, 2\]/);
      assert.throws(() => F.matmulNBits(x, { ...m, zeros: constant(new Uint8Array(16), [8, 2]) }), /zero points has shape \[8, 2\], expected \[8, 1\]/);
    });
  });

  test('no gradient flows through a quantized matmul', async () => {
    const { grad } = await import('../../../src/autodiff/grad.js');
    trace((g) => {
      const x = g.input('x', [1, 32]);
      const y = F.sum(F.matmulNBits(x, matrix(8, 32, 4, 32)));
      assert.throws(() => grad(y, [x]), /MatMulNBits/);
    });
  });
});
