import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cosineSimilarity, maximalMarginalRelevance } from '../../../src/rag/retrieve/mmr.js';

const v = (...x: number[]): Float32Array => Float32Array.from(x);

// 1 and 2 are near-duplicates, 3 points elsewhere, 4 is opposite to 1.
const VECTORS = new Map([
  [1, v(1, 0, 0)],
  [2, v(0.99, 0.141, 0)],
  [3, v(0, 1, 0)],
  [4, v(-1, 0, 0)],
]);
const CANDIDATES = [
  { id: 1, score: 10 },
  { id: 2, score: 9 },
  { id: 3, score: 6 },
  { id: 4, score: 2 },
];

describe('maximalMarginalRelevance', () => {
  test('lambda 1 keeps the ranking', () => {
    assert.deepEqual(maximalMarginalRelevance(CANDIDATES, VECTORS, 4, 1).map((p) => p.id), [1, 2, 3, 4]);
  });

  test('lambda 0.5 skips the near-duplicate, by hand', () => {
    // relevance rescaled over [2, 10]: 1 -> 1, 2 -> 0.875, 3 -> 0.5, 4 -> 0
    // pick 1 (0.5·1 = 0.5); then 2: 0.4375 − 0.5·cos(2,1)=0.5·0.99 ≈ −0.0575, 3: 0.25 − 0 = 0.25, 4: 0 − 0 (cos −1 counts as 0)
    const picks = maximalMarginalRelevance(CANDIDATES, VECTORS, 3, 0.5);
    assert.deepEqual(picks.map((p) => p.id), [1, 3, 4]);
    assert.ok(Math.abs(picks[0]!.score - 0.5) < 1e-9);
    assert.ok(Math.abs(picks[1]!.score - 0.25) < 1e-9);
    // 4 after 3: 0 − 0.5·max(0, cos(4,3) = 0) = 0; 2 is at 0.4375 − 0.5·0.99 < 0
    assert.ok(Math.abs(picks[2]!.score) < 1e-9);
  });

  test('the objectives of successive picks never increase', () => {
    for (const lambda of [0, 0.3, 0.7, 1]) {
      const picks = maximalMarginalRelevance(CANDIDATES, VECTORS, 4, lambda);
      for (let i = 1; i < picks.length; i++) assert.ok(picks[i]!.score <= picks[i - 1]!.score + 1e-12, `lambda ${lambda}`);
    }
  });

  test('equal scores give relevance 1 to all; k beyond the candidates returns them all', () => {
    const same = CANDIDATES.map((c) => ({ ...c, score: 3 }));
    assert.equal(maximalMarginalRelevance(same, VECTORS, 10, 0.5).length, 4);
  });

  test('cosine of zero vectors is 0', () => {
    assert.equal(cosineSimilarity(v(0, 0), v(1, 0)), 0);
    assert.ok(Math.abs(cosineSimilarity(v(1, 1), v(2, 2)) - 1) < 1e-7);
  });
});
