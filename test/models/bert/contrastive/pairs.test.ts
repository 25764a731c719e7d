/** False-negative-free, seeded batches of contrastive pairs. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { epochBatches, pairsData, type ContrastiveData } from '../../../../src/models/bert/contrastive/pairs.js';

describe('epochBatches', () => {
  // 12 queries; q0 and q1 share passage p0, q2 has three positives, and passages p8/p9 have the same text.
  const pairs = [
    ['q0', 'p0'], ['q1', 'p0'], ['q2', 'p1'], ['q2', 'p2'], ['q2', 'p3'], ['q3', 'p4'], ['q4', 'p5'], ['q5', 'p6'],
    ['q6', 'p7'], ['q7', 'p8'], ['q8', 'p9'], ['q9', 'p10'], ['q10', 'p11'], ['q11', 'p12'],
  ].map(([q, p]) => ({ queryId: q!, passageId: p!, query: `query ${q}`, passage: p === 'p9' ? 'text of p8' : `text of ${p}` }));
  const data: ContrastiveData = pairsData(pairs);

  const check = (batches: number[][], d: ContrastiveData, size: number): void => {
    assert.deepEqual(batches.flat().sort((a, b) => a - b), d.pairs.map((_, i) => i), 'every pair once');
    for (const b of batches) {
      assert.ok(b.length >= 1 && b.length <= size);
      const texts = b.map((i) => d.pairs[i]!.passage);
      assert.equal(new Set(texts).size, texts.length, `duplicate passage text in ${JSON.stringify(b)}`);
      for (const i of b) {
        for (const j of b) {
          if (i !== j) assert.ok(!d.relevant.get(d.pairs[i]!.queryId)!.has(d.pairs[j]!.passageId), `false negative: ${d.pairs[j]!.passageId} is relevant to ${d.pairs[i]!.queryId}`);
        }
      }
    }
  };

  test('no batch holds a passage twice or a passage relevant to another of its queries', () => {
    for (let epoch = 0; epoch < 20; epoch++) check(epochBatches(data, 4, 3, epoch), data, 4);
    check(epochBatches(data, 32, 0, 0), data, 32);
  });

  test('a batch the size of the data must still split the conflicting pairs', () => {
    const batches = epochBatches(data, pairs.length, 1, 0);
    assert.ok(batches.length >= 3, `q2's three positives need three batches, got ${batches.length}`);
  });

  test('seeded: the same (seed, epoch) gives the same batches, another epoch another order', () => {
    assert.deepEqual(epochBatches(data, 4, 5, 2), epochBatches(data, 4, 5, 2));
    assert.notDeepEqual(epochBatches(data, 4, 5, 2), epochBatches(data, 4, 5, 3));
  });

  test('batchSize must be a positive integer', () => {
    assert.throws(() => epochBatches(data, 0, 0, 0), /batchSize must be a positive integer, received 0/);
  });
});
