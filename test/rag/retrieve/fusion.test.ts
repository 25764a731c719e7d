import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RRF_K, reciprocalRankFusion } from '../../../src/rag/retrieve/fusion.js';
import { RetrievalSettingsError } from '../../../src/rag/retrieve/errors.js';

function close(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);
}

describe('reciprocalRankFusion', () => {
  test('sums 1/(60 + rank) over the lists, by hand', () => {
    // a: 1/61 + 1/63; b: 1/62 + 1/61; c: 1/63; d: 1/62
    const fused = reciprocalRankFusion([
      { keys: ['a', 'b', 'c'], weight: 1 },
      { keys: ['b', 'd', 'a'], weight: 1 },
    ]);
    assert.equal(RRF_K, 60);
    assert.deepEqual(fused.map((f) => f.key), ['b', 'a', 'd', 'c']);
    close(fused[0]!.score, 1 / 62 + 1 / 61);
    close(fused[1]!.score, 1 / 61 + 1 / 63);
    close(fused[2]!.score, 1 / 62);
    close(fused[3]!.score, 1 / 63);
    assert.deepEqual(fused.map((f) => f.bestRank), [1, 1, 2, 3]);
  });

  test('weights and the constant change the order', () => {
    // with weight 3 on the second list and c = 0: x: 1/1 + 3/2 = 2.5, y: 1/2 + 3/1 = 3.5
    const fused = reciprocalRankFusion([{ keys: ['x', 'y'], weight: 1 }, { keys: ['y', 'x'], weight: 3 }], 0);
    assert.deepEqual(fused.map((f) => [f.key, f.score]), [['y', 3.5], ['x', 2.5]]);
    // weight 0 leaves a list out of the scores
    const muted = reciprocalRankFusion([{ keys: ['x', 'y'], weight: 1 }, { keys: ['y', 'z'], weight: 0 }]);
    assert.deepEqual(muted.map((f) => f.key), ['x', 'y', 'z']);
    assert.equal(muted[2]!.score, 0);
  });

  test('equal fused scores go to the better single rank, then first appearance', () => {
    // mirrored lists: p and q both score 1/61 + 1/62
    const fused = reciprocalRankFusion([{ keys: ['p', 'q'], weight: 1 }, { keys: ['q', 'p'], weight: 1 }]);
    assert.equal(fused[0]!.score, fused[1]!.score);
    assert.deepEqual(fused.map((f) => f.key), ['p', 'q']);
  });

  test('a negative constant or weight is refused', () => {
    assert.throws(() => reciprocalRankFusion([{ keys: ['a'], weight: 1 }], -1), RetrievalSettingsError);
    assert.throws(() => reciprocalRankFusion([{ keys: ['a'], weight: -2 }]), RetrievalSettingsError);
  });
});
