/**
 * Speculative sampling keeps the target's distribution: on table models with a 3-token vocabulary,
 * the joint distribution of 4 sampled tokens (81 outcomes) from assisted generation is compared
 * with the exact target distribution by a chi-square test; sampling from the draft alone, which
 * differs, must fail the same test (so the test has power).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generate, type GenerateOptions } from '../../src/text/generate.js';
import type { LanguageModel } from '../../src/text/language-model.js';
import { TableLM } from '../helpers/table-lm.js';

const V = 3;
const NEW = 4;
const DRAWS = 6000;

/** softmax(logits / temperature) with only the top `topK` kept (topK = V keeps all). */
function probs(logits: Float32Array, temperature: number, topK: number): number[] {
  const cut = [...logits].sort((a, b) => b - a)[topK - 1]!;
  const e = [...logits].map((l) => (l >= cut ? Math.exp(l / temperature) : 0));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/** Exact probability of every continuation of the prompt [0] (outcome index: tokens in base V). */
function exactDistribution(lm: TableLM, temperature: number, topK: number): number[] {
  const out: number[] = [];
  for (let outcome = 0; outcome < V ** NEW; outcome++) {
    let p = 1;
    let prev = 0;
    for (let j = 0; j < NEW; j++) {
      const token = Math.floor(outcome / V ** (NEW - 1 - j)) % V;
      p *= probs(lm.logitsAfter(prev, j), temperature, topK)[token]!;
      prev = token;
    }
    out.push(p);
  }
  return out;
}

async function counts(model: LanguageModel, options: GenerateOptions): Promise<number[]> {
  const c = new Array<number>(V ** NEW).fill(0);
  for (let seed = 0; seed < DRAWS; seed++) {
    const { newTokens } = await generate(model, [[0]], { ...options, do_sample: true, seed, max_new_tokens: NEW });
    c[newTokens[0]!.reduce((acc, t) => acc * V + t, 0)]!++;
  }
  return c;
}

/** Pearson's statistic, cells with expected count < 5 pooled into one; returns it with its degrees of freedom. */
function chiSquare(observed: number[], p: number[]): { stat: number; df: number } {
  let stat = 0;
  let cells = 0;
  let poolObs = 0;
  let poolExp = 0;
  observed.forEach((o, i) => {
    const e = p[i]! * DRAWS;
    if (e < 5) {
      poolObs += o;
      poolExp += e;
      return;
    }
    stat += (o - e) ** 2 / e;
    cells++;
  });
  if (poolExp > 0) {
    stat += (poolObs - poolExp) ** 2 / Math.max(poolExp, 1e-9);
    cells++;
  }
  return { stat, df: cells - 1 };
}

/**
 * The 0.999 quantile of chi-square(df), by Wilson–Hilferty (accurate to ~1% for df ≥ 10). With a
 * correct sampler the statistic exceeds it with probability 0.001; the seeds are fixed, so the
 * test is deterministic, and the bound was set from the distribution, not from a run.
 */
function critical999(df: number): number {
  const z = 3.0902;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

describe('speculative sampling (table models, vocabulary of 3)', () => {
  const target = new TableLM(V, 1);
  const draft = new TableLM(V, 2);

  for (const [name, temperature, topK] of [
    ['plain sampling', 1, V],
    ['temperature 0.7 and top_k 2 on both models', 0.7, 2],
  ] as const) {
    test(`${name}: assisted draws follow the target's distribution; the draft's own do not`, async () => {
      const exact = exactDistribution(target, temperature, topK);
      assert.ok(Math.abs(exact.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      const processing = { temperature, top_k: topK === V ? 0 : topK };
      const assisted = await counts(target, { ...processing, assistant_model: draft, num_assistant_tokens: 3, assistant_confidence_threshold: 0 });
      const a = chiSquare(assisted, exact);
      assert.ok(a.stat < critical999(a.df), `assisted: chi-square ${a.stat.toFixed(1)} over ${a.df} df exceeds ${critical999(a.df).toFixed(1)}`);
      const plain = chiSquare(await counts(target, processing), exact);
      assert.ok(plain.stat < critical999(plain.df), `target alone: chi-square ${plain.stat.toFixed(1)} over ${plain.df} df`);
      const wrong = chiSquare(await counts(draft, processing), exact);
      assert.ok(wrong.stat > critical999(wrong.df), `the draft alone should fail: chi-square ${wrong.stat.toFixed(1)} over ${wrong.df} df`);
    });
  }

  test('with the target as its own draft every sampled draft token is accepted', async () => {
    const out = await generate(target, [[0]], { do_sample: true, seed: 3, max_new_tokens: 20, assistant_model: target, num_assistant_tokens: 4, assistant_confidence_threshold: 0 });
    assert.ok(out.assisted!.drafted > 0);
    assert.equal(out.assisted!.accepted, out.assisted!.drafted);
    assert.equal(out.newTokens[0]!.length, 20);
  });
});
