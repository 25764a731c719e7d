import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pipeline } from '../../../src/apps/pipeline.js';
import { ask, AskError, type AnswerGenerator } from '../../../src/rag/answer/ask.js';
import { buildPrompt, type PromptInput } from '../../../src/rag/answer/prompt.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { result } from '../../helpers/retrieval-result.js';

/** A generator that replies with a fixed text in pieces and counts one token per 4 characters of the prompt. */
function scripted(reply: string[], maxPositions = 512): AnswerGenerator & { prompts: PromptInput[] } {
  const prompts: PromptInput[] = [];
  const text = (p: PromptInput) => (typeof p === 'string' ? p : p.map((m) => m.content).join('\n'));
  return {
    prompts,
    model: { maxPositions },
    encode: (p) => Array.from({ length: Math.ceil(text(p).length / 4) }, () => 0),
    async *stream(p) {
      prompts.push(p);
      for (const piece of reply) yield piece;
    },
  };
}

const RANKED = [
  result(1, 'The Eiffel Tower is 330 metres tall.', { page: 2, start: 100, end: 136, title: 'Paris' }),
  result(2, 'It was finished in 1889.'),
  result(3, 'x'.repeat(4000)),
];

describe('ask', () => {
  test('streams the answer, gives the sources that fit, and maps [n] back to documents, pages and offsets', async () => {
    const gen = scripted(['It is 330 m [1]', ', done in 1889 [2]', ' [9].']);
    const streamed: string[] = [];
    const r = await ask('How tall is the Eiffel Tower?', { retrieve: async () => RANKED, generator: gen, maxNewTokens: 64, onText: (t) => void streamed.push(t) });
    assert.equal(r.outcome, 'answered');
    assert.deepEqual(streamed, ['It is 330 m [1]', ', done in 1889 [2]', ' [9].']);
    assert.equal(r.answer, streamed.join(''));
    // Source 3 is 1,000 "tokens": it does not fit 512 - 64, so the model saw two sources.
    assert.deepEqual(r.sources.map((s) => s.docId), ['doc1', 'doc2']);
    assert.deepEqual(r.cited.map((s) => [s.number, s.docId, s.page, s.start, s.end]), [[1, 'doc1', 2, 100, 136], [2, 'doc2', undefined, 0, 24]]);
    assert.deepEqual(r.unknownCitations, [9]);
    assert.equal(r.retrieved.length, 3);
    assert.ok(r.promptTokens <= 512 - 64, `${r.promptTokens}`);
    const prompt = gen.prompts[0]!;
    assert.ok(Array.isArray(prompt) && /\[1\] Paris \(p\. 2\)\nThe Eiffel Tower/.test(prompt[1]!.content as string));
  });

  test('"no relevant source" without generating: nothing retrieved, best score under the threshold, or nothing fits', async () => {
    const gen = scripted(['never']);
    const nothing = await ask('q?', { retrieve: async () => [], generator: gen });
    assert.equal(nothing.outcome, 'no-relevant-source');
    assert.match(nothing.reason!, /found nothing/);
    const weak = await ask('q?', { retrieve: async () => RANKED, generator: gen, minScore: 2 });
    assert.equal(weak.outcome, 'no-relevant-source');
    assert.match(weak.reason!, /scored 1\.0000, below the threshold 2/);
    const huge = await ask('q?', { retrieve: async () => [RANKED[2]!], generator: gen, maxNewTokens: 64 });
    assert.equal(huge.outcome, 'no-relevant-source');
    assert.match(huge.reason!, /does not fit a prompt of 448 tokens/);
    assert.equal(gen.prompts.length, 0);
  });

  test('an empty question or a budget beyond the context is refused', async () => {
    await assert.rejects(ask('  ', { retrieve: async () => RANKED, generator: scripted([]) }), AskError);
    await assert.rejects(ask('q?', { retrieve: async () => RANKED, generator: scripted([], 128), contextTokens: 100, maxNewTokens: 64 }), /100 tokens plus 64 new ones does not fit the model's 128 positions/);
  });

  test('with a real causal LM (gpt2-tiny, plain prompt): the prompt fits its 128 positions and the reply is the generated text', async () => {
    const gen = await pipeline('text-generation', fixturePath('gpt2-tiny'));
    try {
      const short = [result(1, 'Tiny models are fast.'), result(2, 'Large models are slow.'), result(3, 'word '.repeat(200))];
      const r = await ask('Which models are fast?', { retrieve: async () => short, generator: gen, chat: false, maxNewTokens: 8, instructions: 'Cite [n].' });
      assert.equal(r.outcome, 'answered');
      assert.deepEqual(r.sources.map((s) => s.number), [1, 2]);
      assert.ok(r.promptTokens + 8 <= 128);
      // The same prompt through the pipeline directly gives the same greedy reply.
      const prompt = buildPrompt({ instructions: 'Cite [n].', question: 'Which models are fast?', sources: short.slice(0, 2), chat: false }) as string;
      const direct = await gen(prompt, { max_new_tokens: 8, return_full_text: false });
      assert.equal(r.answer, direct[0]!.generated_text);
    } finally {
      await gen.dispose();
    }
  });
});
