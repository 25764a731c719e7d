import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DigitPromptError, digitFromPrompt } from '../../../../src/models/mnist/diffusion/prompt.js';

describe('digitFromPrompt', () => {
  test('digits and English and Spanish number words, with articles and accents', () => {
    const cases: Array<[string, number]> = [
      ['7', 7], ['a seven', 7], ['un siete', 7], ['Un Siete.', 7], ['the number 3', 3], ['dígito cero', 0],
      ['número nueve', 9], ['una', 1], ['uno', 1], ['an eight', 8], ['draw a 4', 4], ['dos', 2], ['seven 7', 7],
    ];
    for (const [prompt, digit] of cases) assert.equal(digitFromPrompt(prompt), digit, prompt);
  });

  test('a prompt with no digit, two digits or an unknown word is refused, naming it', () => {
    assert.throws(() => digitFromPrompt(''), (e: unknown) => e instanceof DigitPromptError && /names no digit/.test(e.message));
    assert.throws(() => digitFromPrompt('a three and a five'), (e: unknown) => e instanceof DigitPromptError && /'and' is not a digit word/.test(e.message));
    assert.throws(() => digitFromPrompt('3 5'), (e: unknown) => e instanceof DigitPromptError && /more than one digit \(3, 5\)/.test(e.message));
    assert.throws(() => digitFromPrompt('12'), (e: unknown) => e instanceof DigitPromptError && /'12' is not a digit word/.test(e.message));
    assert.throws(() => digitFromPrompt('a cat'), (e: unknown) => e instanceof DigitPromptError && /'cat' is not a digit word \(known: 0-9, zero/.test(e.message));
  });
});
