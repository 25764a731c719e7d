import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { resolveGenerationConfig } from '../../src/text/generation-config.js';
import {
  applyLogitsProcessors,
  buildLogitsProcessors,
  minLength,
  minP,
  noRepeatNgram,
  offsetting,
  repetitionPenalty,
  suppressTokens,
  suppressTokensAtBegin,
  temperature,
  topK,
  topP,
} from '../../src/text/logits-processors.js';

const run = (process: (t: readonly number[], s: Float32Array) => void, scores: number[], tokens: number[] = []): number[] => {
  const s = Float32Array.from(scores);
  process(tokens, s);
  return [...s];
};

/** Which tokens survive (finite score). */
const kept = (scores: readonly number[]): number[] => scores.flatMap((s, i) => (s === -Infinity ? [] : [i]));

// probabilities 0.5, 0.3, 0.15, 0.05 as logits
const PROBS = [0.5, 0.3, 0.15, 0.05];
const LOGITS = PROBS.map(Math.log);

describe('repetitionPenalty', () => {
  test('divides positive and multiplies negative scores of tokens already present, once per token', () => {
    assert.deepEqual(run(repetitionPenalty(2), [2, -2, 1, 0.5], [0, 1, 1]), [1, -4, 1, 0.5]);
  });
  test('rejects a non-positive penalty', () => {
    assert.throws(() => repetitionPenalty(0), /penalty must be positive, received 0/);
  });
});

describe('noRepeatNgram', () => {
  test('bigrams: bans what followed earlier occurrences of the last token', () => {
    // 1 was followed by 2 and by 4 before; the sequence now ends in 1
    assert.deepEqual(kept(run(noRepeatNgram(2), [0, 0, 0, 0, 0, 0], [1, 2, 3, 1, 4, 1])), [0, 1, 3, 5]);
  });
  test('trigrams: only the exact two-token prefix counts', () => {
    // (1,2)->3 occurred; (2,1) never did, so after [..., 1, 2] only 3 is banned
    assert.deepEqual(kept(run(noRepeatNgram(3), [0, 0, 0, 0, 0], [0, 1, 2, 3, 2, 1, 2])), [0, 1, 2, 4]);
  });
  test('unigrams ban every token seen', () => {
    assert.deepEqual(kept(run(noRepeatNgram(1), [0, 0, 0, 0], [3, 1])), [0, 2]);
  });
  test('does nothing while the sequence is too short to complete an n-gram', () => {
    assert.deepEqual(run(noRepeatNgram(4), [1, 2, 3], [1, 1]), [1, 2, 3]);
  });
});

describe('minLength', () => {
  test('bans every EOS id while shorter than the minimum, then stops', () => {
    assert.deepEqual(kept(run(minLength(4, [0, 2]), [1, 1, 1, 1], [5, 5, 5])), [1, 3]);
    assert.deepEqual(run(minLength(4, [0, 2]), [1, 1, 1, 1], [5, 5, 5, 5]), [1, 1, 1, 1]);
  });
});

describe('suppressTokens / suppressTokensAtBegin', () => {
  test('suppressTokens bans its ids at every step; ids past the vocabulary are ignored', () => {
    assert.deepEqual(kept(run(suppressTokens([1, 3, 99]), [1, 1, 1, 1, 1], [7])), [0, 2, 4]);
    assert.deepEqual(kept(run(suppressTokens([1, 3, 99]), [1, 1, 1, 1, 1], [7, 8, 9])), [0, 2, 4]);
  });

  test('suppressTokensAtBegin bans its ids only right after the beginIndex-token prompt', () => {
    const begin = suppressTokensAtBegin([0, 2], 3);
    assert.deepEqual(kept(run(begin, [1, 1, 1, 1], [5, 6, 7])), [1, 3]);
    assert.deepEqual(run(begin, [1, 1, 1, 1], [5, 6, 7, 1]), [1, 1, 1, 1]);
    assert.deepEqual(run(begin, [1, 1, 1, 1], [5, 6]), [1, 1, 1, 1]);
  });
});

describe('offsets: the processors that only add fixed amounts name them, for token choice in the model', () => {
  test('the ban-only ones list what their scores function sets to -Infinity, given the same tokens', () => {
    const cases: [string, ReturnType<typeof minLength>, number[]][] = [
      ['noRepeatNgram(2)', noRepeatNgram(2), [1, 2, 1, 3, 1]],
      ['minLength', minLength(6, [0, 4]), [1, 2, 3]],
      ['suppressTokens', suppressTokens([2, 3]), [1]],
      ['suppressTokensAtBegin', suppressTokensAtBegin([1], 2), [5, 5]],
    ];
    for (const [name, processor, tokens] of cases) {
      const scores = run(processor, [0.5, 0.1, 0.2, 0.3, 0.4], tokens);
      const fromScores = scores.flatMap((s, i) => (s === -Infinity ? [i] : []));
      const offsets = [...processor.offsets!(tokens)];
      assert.ok(offsets.every(([, amount]) => amount === -Infinity), name);
      assert.deepEqual([...new Set(offsets.map(([id]) => id))].sort(), fromScores, name);
      assert.ok(fromScores.length > 0, `${name} bans something here`);
    }
    assert.deepEqual([...minLength(3, [0]).offsets!([1, 2, 3])], [], 'minLength stops banning at the minimum');
  });

  test('offsetting adds its amounts, and says so', () => {
    const processor = offsetting(new Map([[1, 2.5], [3, -100], [9, 1]]));
    assert.deepEqual(run(processor, [0, 0, 0, 0]), [0, 2.5, 0, -100], 'ids past the vocabulary are ignored');
    assert.deepEqual([...processor.offsets!([])], [[1, 2.5], [3, -100], [9, 1]]);
  });

  test('processors that rescale scores have none', () => {
    for (const processor of [repetitionPenalty(1.2), temperature(0.7), topK(2), topP(0.9), minP(0.1)]) assert.equal(processor.offsets, undefined);
  });
});

describe('warpers', () => {
  test('temperature divides every score', () => {
    assert.deepEqual(run(temperature(2), [2, -4, 1]), [1, -2, 0.5]);
  });

  test('topK keeps the k best and ties with the k-th', () => {
    assert.deepEqual(kept(run(topK(2), [1, 3, 2, 3])), [1, 3]);
    assert.deepEqual(kept(run(topK(3), [1, 3, 2, 3])), [1, 2, 3]);
    assert.deepEqual(kept(run(topK(1, 2), [1, 3, 2, 0])), [1, 2], 'min_tokens_to_keep raises k');
    assert.deepEqual(kept(run(topK(10), [1, 3])), [0, 1], 'k larger than the vocabulary keeps all');
  });

  test('topK on a large row keeps exactly the k largest (checked against a full sort)', () => {
    const rng = new Rng(11);
    const scores = Array.from({ length: 5000 }, () => Math.fround(rng.normal() * 3));
    for (const k of [1, 37, 4999]) {
      const expected = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]).slice(0, k).map(([, i]) => i).sort((a, b) => a - b);
      assert.deepEqual(kept(run(topK(k), scores)), expected, `k=${k}`);
    }
  });

  test('topP keeps the smallest set whose mass exceeds p', () => {
    // ascending cumulative mass: .05, .20, .50, 1.0; tokens are dropped while it is <= 1 - p
    assert.deepEqual(kept(run(topP(0.7), LOGITS)), [0, 1]);
    assert.deepEqual(kept(run(topP(0.9), LOGITS)), [0, 1, 2]);
    assert.deepEqual(kept(run(topP(0.4), LOGITS)), [0]);
    assert.deepEqual(kept(run(topP(0.4, 3), LOGITS)), [0, 1, 2], 'min_tokens_to_keep');
    // kept scores are untouched
    const out = run(topP(0.7), LOGITS);
    assert.equal(out[0], Math.fround(LOGITS[0]!));
  });

  test('minP drops tokens below p times the top probability', () => {
    assert.deepEqual(kept(run(minP(0.25), LOGITS)), [0, 1, 2]); // threshold 0.125
    assert.deepEqual(kept(run(minP(0.5), LOGITS)), [0, 1]); // threshold 0.25
    assert.deepEqual(kept(run(minP(0.9, 3), LOGITS)), [0, 1, 2], 'min_tokens_to_keep');
  });
});

describe('buildLogitsProcessors', () => {
  const ctx = { promptLength: 3, maxPositions: 64 };

  test('greedy: no warpers, even when sampling options are set', () => {
    const cfg = resolveGenerationConfig({ temperature: 2, top_p: 0.5 }, {}, ctx);
    assert.equal(buildLogitsProcessors(cfg).length, 0);
    assert.deepEqual(applyLogitsProcessors(buildLogitsProcessors(cfg), [], Float32Array.from(LOGITS)), Float32Array.from(LOGITS));
  });

  test('temperature is applied before top-p (transformers order)', () => {
    // T=2 flattens to ∝ sqrt(p) = .379 .294 .208 .120; mass kept for p=.7 then needs 3 tokens
    const cfg = resolveGenerationConfig({ do_sample: true, temperature: 2, top_k: 0, top_p: 0.7 }, {}, ctx);
    assert.deepEqual(kept([...applyLogitsProcessors(buildLogitsProcessors(cfg), [], Float32Array.from(LOGITS))]), [0, 1, 2]);
  });

  test('penalty, n-gram ban and min_new_tokens run before the warpers', () => {
    const cfg = resolveGenerationConfig(
      { do_sample: true, top_k: 2, repetition_penalty: 100, no_repeat_ngram_size: 2, min_new_tokens: 2, eos_token_id: 3 },
      {},
      ctx,
    );
    // prompt [1, 0, 1]: penalty pushes token 0 and 1 down, bigram (1,0) bans 0, EOS 3 banned (no new tokens yet);
    // top-k then keeps the two best of what is left: token 2 and the penalised token 1
    const scores = applyLogitsProcessors(buildLogitsProcessors(cfg), [1, 0, 1], Float32Array.from([5, 5, 1, 9]));
    assert.deepEqual([...scores], [-Infinity, Math.fround(0.05), 1, -Infinity]);
  });
});
