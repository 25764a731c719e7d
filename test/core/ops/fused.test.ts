/**
 * ORT's fused MultiHeadAttention against attention computed here from its definition, in float64:
 * softmax(q·kᵀ·scale)·v head by head, queries and keys of different lengths. (The BERT kernels of
 * this file are tested through the BERT graph, test/models/bert/fused.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grad } from '../../../src/autodiff/grad.js';
import { GraphError, trace } from '../../../src/core/graph.js';
import * as F from '../../../src/core/ops/index.js';
import { Rng } from '../../../src/core/rng.js';
import { ShapeError } from '../../../src/core/shape.js';
import { compileGraph } from '../../helpers/run-graph.js';

/** out[b, t, h·hs + d] = Σ_s softmax_s(scale · q_bth · k_bsh) v_bsh[d], all in float64. */
function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, batch: number, t: number, s: number, heads: number, width: number, scale: number): Float64Array {
  const hs = width / heads;
  const out = new Float64Array(batch * t * width);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < t; i++) {
        const scores = new Float64Array(s);
        for (let j = 0; j < s; j++) {
          let dot = 0;
          for (let d = 0; d < hs; d++) dot += q[(b * t + i) * width + h * hs + d]! * k[(b * s + j) * width + h * hs + d]!;
          scores[j] = dot * scale;
        }
        const max = Math.max(...scores);
        let total = 0;
        for (let j = 0; j < s; j++) total += (scores[j] = Math.exp(scores[j]! - max));
        for (let d = 0; d < hs; d++) {
          let acc = 0;
          for (let j = 0; j < s; j++) acc += (scores[j]! / total) * v[(b * s + j) * width + h * hs + d]!;
          out[(b * t + i) * width + h * hs + d] = acc;
        }
      }
    }
  }
  return out;
}

describe('fusedAttention (com.microsoft MultiHeadAttention)', () => {
  test('equals softmax(q·kᵀ·scale)·v per head, 7 queries over 300 keys', async () => {
    const [batch, t, s, heads, width, scale] = [2, 7, 300, 4, 32, 0.3];
    const rng = new Rng(11);
    const values = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const [q, k, v] = [values(batch * t * width), values(batch * s * width), values(batch * s * width)];
    const g = await compileGraph({ q: { shape: [batch, t, width] }, k: { shape: [batch, 's', width] }, v: { shape: [batch, 's', width] } }, (x) => ({
      out: F.fusedAttention(x.q!, x.k!, x.v!, heads, scale),
    }));
    const { out } = await g.run({ q: { dims: [batch, t, width], data: q }, k: { dims: [batch, s, width], data: k }, v: { dims: [batch, s, width], data: v } });
    await g.release();
    assert.deepEqual(out!.dims, [batch, t, width]);
    const expected = attentionRef(q, k, v, batch, t, s, heads, width, scale);
    // Each output is a convex combination of unit-normal values: float32 sums over 300 terms stay within ~1e-6.
    let worst = 0;
    expected.forEach((e, i) => (worst = Math.max(worst, Math.abs(out!.data[i]! - e))));
    assert.ok(worst < 1e-5, `largest difference ${worst}`);
  });

  test('refuses mismatched shapes by name, and has no gradient', () => {
    trace((g) => {
      const q = g.input('q', [1, 5, 8]);
      assert.throws(() => F.fusedAttention(q, g.input('k', [1, 6, 8]), g.input('v', [1, 5, 8]), 2, 1), (e: Error) => e instanceof ShapeError && /key and value \(B, S, H\)/.test(e.message));
      assert.throws(() => F.fusedAttention(q, q, q, 3, 1), /3 heads do not divide the width 8/);
      const loss = F.sum(F.fusedAttention(q, q, q, 2, 1));
      assert.throws(() => grad(loss, [q]), (e: Error) => e instanceof GraphError && /MultiHeadAttention is not differentiable/.test(e.message));
    });
  });
});
