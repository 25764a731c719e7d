/**
 * MultipleNegativesRankingLoss against a float64 JS reference, and its gradient by central differences.
 * Tolerance of the forward: the graph computes in float32 (norms, a 3×3 or 4×4 matmul, logSoftmax of
 * values up to ±scale = 20); each step rounds at ~6e-8 relative, so the loss (≈ 1-20) is within ~1e-5 of
 * the float64 value; 1e-4 leaves room, and a wrong reduction or label is off by >1e-1.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../../src/core/rng.js';
import { multipleNegativesRankingLoss, rankingLossReference } from '../../../../src/models/bert/contrastive/loss.js';
import { l2Normalize } from '../../../../src/models/bert/pooling.js';
import { checkGrad } from '../../../helpers/gradcheck.js';
import { compileGraph } from '../../../helpers/run-graph.js';

const rows = (data: Float32Array, n: number, h: number): Float32Array[] => Array.from({ length: n }, (_, i) => data.slice(i * h, (i + 1) * h));

describe('multipleNegativesRankingLoss', () => {
  for (const symmetric of [false, true]) {
    for (const normalized of [false, true]) {
      test(`equals the float64 reference (symmetric ${symmetric}, normalized inputs ${normalized})`, async () => {
        const B = 4;
        const H = 6;
        const rng = new Rng(7);
        const q = Float32Array.from({ length: B * H }, () => rng.normal());
        const p = Float32Array.from({ length: B * H }, () => rng.normal());
        const graph = await compileGraph({ q: { shape: [B, H] }, p: { shape: [B, H] } }, ({ q: tq, p: tp }) => {
          const [a, b] = normalized ? [l2Normalize(tq!), l2Normalize(tp!)] : [tq!, tp!];
          return { loss: multipleNegativesRankingLoss(a, b, { symmetric, normalized }) };
        });
        const out = await graph.run({ q: { dims: [B, H], data: q }, p: { dims: [B, H], data: p } });
        await graph.release();
        const expected = rankingLossReference(rows(q, B, H), rows(p, B, H), { symmetric });
        assert.ok(Math.abs(out.loss!.data[0]! - expected) < 1e-4, `loss ${out.loss!.data[0]} vs reference ${expected}`);
        // The reference itself: a hand-computed 2×2 case (scale 1, orthogonal/aligned vectors).
        const two = rankingLossReference([[1, 0], [0, 1]], [[1, 0], [0, 1]], { scale: 1 });
        assert.ok(Math.abs(two - Math.log(1 + Math.exp(-1))) < 1e-12);
      });
    }
  }

  test('a perfect batch has a small loss, a swapped one a large loss', () => {
    const eye = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
    const good = rankingLossReference(eye, eye);
    const swapped = rankingLossReference(eye, [eye[1]!, eye[0]!, eye[2]!]);
    assert.ok(good < 1e-8 && swapped > 10, `good ${good}, swapped ${swapped}`);
  });

  test('gradient matches central differences (queries and passages, both variants)', async () => {
    // eps 1e-3: the loss is ~1 and float32-rounded at ~1e-7, so rounding adds ≲ 1e-4 to a quotient;
    // scale 20 makes the third derivative large, which a bigger step would turn into truncation error.
    for (const symmetric of [false, true]) {
      const report = await checkGrad(({ q, p }) => multipleNegativesRankingLoss(q!, p!, { symmetric }), { q: { shape: [3, 4], low: -2, high: 2 }, p: { shape: [3, 4], low: -2, high: 2 } }, { eps: 1e-3, atol: 2e-3, rtol: 2e-2 });
      assert.equal(report.checked, 24);
    }
  });
});
