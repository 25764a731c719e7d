import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import { topK } from '../../../src/rag/retrieve/top-k.js';

describe('topK', () => {
  test('equals a full sort (score down, id up) on random scores with many ties', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const items = Array.from({ length: 200 }, (_, id) => ({ id: (id * 37) % 200, score: rng.int(10) }));
      const sorted = [...items].sort((a, b) => b.score - a.score || a.id - b.id);
      const ids = items.map((x) => x.id);
      const scores = Float64Array.from(items, (x) => x.score);
      for (const k of [1, 5, 17, 200, 500]) assert.deepEqual(topK(ids, scores, k), sorted.slice(0, k), `trial ${trial} k ${k}`);
    }
  });

  test('k 0 or an empty input gives nothing', () => {
    assert.deepEqual(topK([1], [1], 0), []);
    assert.deepEqual(topK([], [], 3), []);
  });

  test('ids and scores of different lengths are refused', () => {
    assert.throws(() => topK([1, 2], [1], 1), /2 ids but 1 scores/);
  });
});
