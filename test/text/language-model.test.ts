import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkForwardOutput, type ForwardOutput, type KVCache } from '../../src/text/language-model.js';

const cache: KVCache = { length: 0, batch: 2 };
const out = (logits: number, tokens?: number[]): ForwardOutput => ({ logits: new Float32Array(logits), cache, ...(tokens && { tokens }) });
const choice = { bias: new Float32Array(2 * 5) };

test('checkForwardOutput: logits for every row, a token per row with a choice, logits too when the choice asks for them', () => {
  assert.doesNotThrow(() => checkForwardOutput(out(10), { batch: 2 }, 5, 'here'));
  assert.throws(() => checkForwardOutput(out(5), { batch: 2 }, 5, 'here'), /^Error: here: the model returned 5 logits, expected batch 2 × vocab 5 = 10$/);
  assert.doesNotThrow(() => checkForwardOutput(out(0, [1, 2]), { batch: 2, choice }, 5, 'here'));
  assert.throws(() => checkForwardOutput(out(0, [1]), { batch: 2, choice }, 5, 'here'), /here: the model returned 1 tokens for a batch of 2/);
  assert.throws(() => checkForwardOutput(out(0), { batch: 2, choice }, 5, 'here'), /returned no tokens/);
  assert.throws(() => checkForwardOutput(out(0, [1, 2]), { batch: 2, choice: { ...choice, logits: true } }, 5, 'here'), /returned 0 logits/);
});
