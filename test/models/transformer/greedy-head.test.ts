/**
 * The greedy head of the runtime graphs (tokenBias → each row's argmax, logits left in ONNX
 * Runtime), on gpt2-tiny's checkpoint: against the argmax of the logits the same forward returns
 * without it, and through generate against its logits path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { generate } from '../../../src/text/generate.js';
import type { LanguageModel } from '../../../src/text/language-model.js';
import { suppressTokens } from '../../../src/text/logits-processors.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { argmax, big, positionsFromMask, readGolden, rowOf, type Golden } from '../../helpers/causal-lm.js';

const VOCAB = 50257;

/** The same model without `greedyInGraph`, so generate takes the logits path. */
function logitsOnly(lm: CausalLM): LanguageModel {
  return {
    vocabSize: lm.vocabSize,
    maxPositions: lm.maxPositions,
    forward: (input) => lm.forward(input),
    selectCache: (cache, rows) => lm.selectCache(cache, rows),
  };
}

describe('greedy head (gpt2-tiny)', () => {
  let lm: CausalLM;
  let golden: Golden;
  before(async () => {
    ({ golden } = await readGolden('gpt2-tiny'));
    lm = await CausalLM.load(fixturePath('gpt2-tiny'));
  });
  after(() => lm.release());

  /** The golden left-padded batch of two rows (row 0 has 8 padding tokens). */
  const prefill = (tokenBias?: Float32Array, allLogits = false) => {
    const { input_ids, attention_mask } = golden.batch;
    return lm.forward({ ids: big(input_ids.flat()), batch: 2, attentionMask: big(attention_mask.flat()), positionIds: big(attention_mask.flatMap(positionsFromMask)), allLogits, ...(tokenBias && { tokenBias }) });
  };

  test('a zero bias gives each row the argmax of its logits, and no logits', async () => {
    const { logits } = await prefill();
    const expected = [0, 1].map((r) => argmax(rowOf(logits, r, VOCAB)));
    const res = await prefill(new Float32Array(2 * VOCAB));
    assert.deepEqual(res.tokens, expected);
    assert.equal(res.logits.length, 0);
    assert.deepEqual([res.cache.batch, res.cache.length], [2, golden.batch.input_ids[0]!.length]);
  });

  test('-Infinity bans a token per row: the runner-up wins, the other row unchanged', async () => {
    const { logits } = await prefill();
    const rows = [0, 1].map((r) => rowOf(logits, r, VOCAB));
    const best = rows.map((row) => argmax(row));
    const bias = new Float32Array(2 * VOCAB);
    bias[best[0]!] = -Infinity;
    const banned = Float32Array.from(rows[0]!);
    banned[best[0]!] = -Infinity;
    assert.deepEqual((await prefill(bias)).tokens, [argmax(banned), best[1]]);
  });

  test('a bias of the wrong size, or with allLogits, is refused by name', async () => {
    await assert.rejects(prefill(new Float32Array(VOCAB)), /tokenBias has 50257 entries, expected batch 2 × vocab 50257 = 100514/);
    await assert.rejects(prefill(new Float32Array(2 * VOCAB), true), /tokenBias picks the last position's token; it cannot be combined with allLogits/);
  });

  test("generate's greedy decoding through the head gives the logits path's ids, with banning processors", async () => {
    const prompts = golden.single.map((s) => s.input_ids);
    const common = { max_new_tokens: 12, pad_token_id: 50256, eos_token_id: 50256 };
    const plain = await generate(lm, prompts, common);
    // Suppress what plain greedy picks first, so the bans bind.
    const suppressed = [...new Set(plain.newTokens.map((row) => row[0]!))];
    const options = { ...common, min_new_tokens: 12, no_repeat_ngram_size: 2, logits_processor: [suppressTokens(suppressed)] };
    const inGraph = await generate(lm, prompts, options);
    const viaLogits = await generate(logitsOnly(lm), prompts, options);
    assert.deepEqual(inGraph.sequences, viaLogits.sequences);
    assert.notDeepEqual(inGraph.newTokens, plain.newTokens);
    for (const row of inGraph.newTokens) {
      assert.equal(row.length, 12);
      assert.ok(!row.some((t) => [...suppressed, 50256].includes(t)), `no suppressed token and no EOS before min_new_tokens: ${row}`);
    }
  });
});
