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
      for (const k of [1, 5, 17, 200, 500]) assert.deepEqual(topK(items, k), sorted.slice(0, k), `trial ${trial} k ${k}`);
    }
  });

  test('k 0 or an empty input gives nothing', () => {
    assert.deepEqual(topK([{ id: 1, score: 1 }], 0), []);
    assert.deepEqual(topK([], 3), []);
  });
});
