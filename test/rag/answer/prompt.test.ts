import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildPrompt, fitSources, formatSource } from '../../../src/rag/answer/prompt.js';
import type { RetrievalResult } from '../../../src/rag/retrieve.js';
import { result } from '../../helpers/retrieval-result.js';

describe('prompt', () => {
  test('a source names its document, headings and page, then its text', () => {
    const r = result(1, ' Water boils at 100 °C. ', { title: 'Physics', headings: ['Physics', 'Heat'], page: 3 });
    assert.equal(formatSource(2, r), '[2] Physics › Heat (p. 3)\nWater boils at 100 °C.');
    assert.equal(formatSource(1, result(4, 'x')), '[1] docs/doc4.md\nx');
  });

  test('chat prompts are a system and a user message; plain prompts end in "Answer:"', () => {
    const sources = [result(1, 'A.'), result(2, 'B.')];
    const chat = buildPrompt({ instructions: 'Use sources.', question: 'Why?', sources, chat: true });
    assert.ok(Array.isArray(chat));
    assert.deepEqual(chat.map((m) => m.role), ['system', 'user']);
    assert.match(chat[1]!.content as string, /^Sources:\n\n\[1\] docs\/doc1\.md\nA\.\n\n\[2\] docs\/doc2\.md\nB\.\n\nQuestion: Why\?$/);
    const plain = buildPrompt({ instructions: 'Use sources.', question: 'Why?', sources, chat: false });
    assert.equal(typeof plain, 'string');
    assert.match(plain as string, /^Use sources\.\n\nSources:[\s\S]*Question: Why\?\nAnswer:$/);
  });

  test('fitSources keeps the longest ranked prefix under the budget, dropping sources whole', () => {
    const ranked = [result(1, 'a'.repeat(40)), result(2, 'b'.repeat(40)), result(3, 'c'.repeat(40))];
    const count = (s: readonly RetrievalResult[]) => 10 + s.reduce((n, r) => n + r.chunk.text.length, 0);
    assert.deepEqual(fitSources(ranked, 95, count).map((r) => r.chunk.id), [1, 2]);
    assert.deepEqual(fitSources(ranked, 130, count).map((r) => r.chunk.id), [1, 2, 3]);
    assert.deepEqual(fitSources(ranked, 49, count), []);
  });
});
