/** TokenBias: the reusable [rows, vocab] bias of in-model token choice. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { minLength, offsetting, suppressTokens, temperature } from '../../src/text/logits-processors.js';
import { TokenBias } from '../../src/text/token-bias.js';

describe('TokenBias', () => {
  test("adds the processors' offsets per row; the next step starts from zero again", () => {
    const bias = new TokenBias(4);
    const rows = bias.begin(2);
    bias.addProcessors(0, [suppressTokens([1, 9]), offsetting(new Map([[2, 0.5]]))], []);
    bias.add(1, 2, -1.5);
    bias.add(1, 2, 0.25);
    assert.deepEqual([...rows], [0, -Infinity, 0.5, 0, 0, 0, -1.25, 0], 'ids past the vocabulary are ignored; amounts add up');
    const next = bias.begin(3);
    assert.deepEqual([...next], new Array<number>(12).fill(0));
    bias.addProcessors(2, [minLength(5, [3])], [7, 7]);
    assert.deepEqual([...next.subarray(8)], [0, 0, 0, -Infinity]);
  });

  test('covers only processors that declare their offsets', () => {
    assert.equal(TokenBias.covers([suppressTokens([1]), minLength(2, [0])]), true);
    assert.equal(TokenBias.covers([]), true);
    assert.equal(TokenBias.covers([suppressTokens([1]), temperature(0.5)]), false);
  });
});
