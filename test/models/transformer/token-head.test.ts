/**
 * The token head of the runtime graphs (ForwardInput.choice: each row's argmax or inverse-CDF draw of
 * logits + bias, the logits left in ONNX Runtime), on gpt2-tiny's checkpoint: against the logits the
 * same forward returns, and through generate against its logits path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { generate } from '../../../src/text/generate.js';
import type { LanguageModel, TokenChoice } from '../../../src/text/language-model.js';
import { suppressTokens } from '../../../src/text/logits-processors.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { argmax, big, positionsFromMask, readGolden, rowOf, type Golden } from '../../helpers/causal-lm.js';

const VOCAB = 50257;

/** The same model without `choosesTokens`, so generate takes the logits path. */
function logitsOnly(lm: CausalLM): LanguageModel {
  return {
    vocabSize: lm.vocabSize,
    maxPositions: lm.maxPositions,
    forward: (input) => lm.forward(input),
    selectCache: (cache, rows) => lm.selectCache(cache, rows),
  };
}

/** Float64 inverse CDF of softmax(row / t) at u, and how far u·total is from the nearest boundary (relative). */
function referenceDraw(row: Float32Array, t: number, u: number): { token: number; margin: number } {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x / t);
  const weights = Array.from(row, (x) => Math.exp(x / t - max));
  const total = weights.reduce((a, b) => a + b, 0);
  const target = u * total;
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    const before = acc;
    acc += weights[i]!;
    if (target < acc) return { token: i, margin: Math.min(target - before, acc - target) / total };
  }
  return { token: weights.length - 1, margin: 0 };
}

describe('token head (gpt2-tiny)', () => {
  let lm: CausalLM;
  let golden: Golden;
  before(async () => {
    ({ golden } = await readGolden('gpt2-tiny'));
    lm = await CausalLM.load(fixturePath('gpt2-tiny'));
  });
  after(() => lm.release());

  /** The golden left-padded batch of two rows (row 0 has 8 padding tokens). */
  const prefill = (choice?: TokenChoice, allLogits = false) => {
    const { input_ids, attention_mask } = golden.batch;
    return lm.forward({ ids: big(input_ids.flat()), batch: 2, attentionMask: big(attention_mask.flat()), positionIds: big(attention_mask.flatMap(positionsFromMask)), allLogits, ...(choice && { choice }) });
  };
  const zero = () => new Float32Array(2 * VOCAB);

  test('a zero bias gives each row the argmax of its logits, and no logits', async () => {
    const { logits } = await prefill();
    const expected = [0, 1].map((r) => argmax(rowOf(logits, r, VOCAB)));
    const res = await prefill({ bias: zero() });
    assert.deepEqual(res.tokens, expected);
    assert.equal(res.logits.length, 0);
    assert.deepEqual([res.cache.batch, res.cache.length], [2, golden.batch.input_ids[0]!.length]);
  });

  test('-Infinity bans a token per row: the runner-up wins, the other row unchanged', async () => {
    const { logits } = await prefill();
    const rows = [0, 1].map((r) => rowOf(logits, r, VOCAB));
    const best = rows.map((row) => argmax(row));
    const bias = zero();
    bias[best[0]!] = -Infinity;
    const banned = Float32Array.from(rows[0]!);
    banned[best[0]!] = -Infinity;
    assert.deepEqual((await prefill({ bias })).tokens, [argmax(banned), best[1]]);
  });

  test('sampled rows: the float64 inverse CDF of softmax(logits / t) at each uniform, in one run with the logits', async () => {
    let checked = 0;
    for (const [t, uniforms] of [[1, [0, 0.03, 0.31, 0.5, 0.77, 0.999]], [0.6, [0.12, 0.45, 0.9]], [1.7, [0.2, 0.64, 0.95]]] as const) {
      for (const u of uniforms) {
        // Row 1 sampled, row 0 greedy, both read from the same run's logits.
        const res = await prefill({ bias: zero(), sample: { rows: [1], temperatures: [t], uniforms: [u] }, logits: true });
        assert.equal(res.logits.length, 2 * VOCAB, 'logits: true returns the logits too');
        assert.equal(res.tokens![0], argmax(rowOf(res.logits, 0, VOCAB)), 'the unsampled row stays greedy');
        const ref = referenceDraw(rowOf(res.logits, 1, VOCAB), t, u);
        // The float32 softmax moves a boundary by ~1e-7 of the total; draws that close are not compared.
        if (ref.margin < 1e-6) continue;
        assert.equal(res.tokens![1], ref.token, `t ${t}, u ${u}`);
        checked++;
      }
    }
    assert.ok(checked >= 10, `compared ${checked} draws`);
  });

  test('banned tokens are never drawn, even where their probability mass would have been', async () => {
    const { logits } = await prefill();
    const row = rowOf(logits, 0, VOCAB);
    // Ban the 200 most likely tokens of row 0: most of its mass.
    const top = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]!).slice(0, 200);
    const bias = zero();
    for (const id of top) bias[id] = -Infinity;
    const banned = new Set(top);
    for (const u of [0, 0.1, 0.5, 0.9, 0.9999]) {
      const res = await prefill({ bias, sample: { rows: [0, 1], temperatures: [1, 1], uniforms: [u, u] } });
      assert.ok(!banned.has(res.tokens![0]!), `u ${u}: drew banned token ${res.tokens![0]}`);
    }
  });

  test('a bad choice is refused by name', async () => {
    await assert.rejects(prefill({ bias: new Float32Array(VOCAB) }), /choice.bias has 50257 entries, expected batch 2 × vocab 50257 = 100514/);
    await assert.rejects(prefill({ bias: zero() }, true), /choice picks the last position's token; it cannot be combined with allLogits/);
    await assert.rejects(prefill({ bias: zero(), sample: { rows: [2], temperatures: [1], uniforms: [0.5] } }), /row 2 is outside the batch of 2/);
    await assert.rejects(prefill({ bias: zero(), sample: { rows: [0], temperatures: [0], uniforms: [0.5] } }), /temperature 0 of row 0 must be positive and finite/);
    await assert.rejects(prefill({ bias: zero(), sample: { rows: [0], temperatures: [1], uniforms: [1] } }), /uniform 1 of row 0 must be in \[0, 1\)/);
    await assert.rejects(prefill({ bias: zero(), sample: { rows: [0, 1], temperatures: [1], uniforms: [0.5, 0.5] } }), /2 rows, 1 temperatures and 2 uniforms/);
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
