import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCitations } from '../../../src/rag/answer/citations.js';

describe('parseCitations', () => {
  test('single, listed, adjacent and ranged markers, each source once in order of first citation', () => {
    assert.deepEqual(parseCitations('Yes [2]. Also [1, 3] and [2][4]; see [3-5].', 5), { cited: [2, 1, 3, 4, 5], unknown: [] });
  });
  test('numbers outside the sources are reported, not cited', () => {
    assert.deepEqual(parseCitations('As [0] and [7] say, and [2].', 3), { cited: [2], unknown: [0, 7] });
  });
  test('no markers, words in brackets, and absurd ranges cite nothing', () => {
    assert.deepEqual(parseCitations('Nothing here [citation needed] [1-2000].', 4), { cited: [], unknown: [] });
  });
});
