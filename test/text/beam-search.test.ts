import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { beamSearch, topIndices, type NextTokenLogits } from '../../src/text/beam-search.js';
import { resolveGenerationConfig, type GenerationConfig } from '../../src/text/generation-config.js';
import { buildLogitsProcessors } from '../../src/text/logits-processors.js';
import { anyCriterion, eosCriterion, maxLengthCriterion } from '../../src/text/stopping.js';

// tokens: 0 = EOS, 1 = A, 2 = B, 3 = C; the prompt is [3]
const EOS = 0;
const PROMPT = [3];
const EPS = 1e-6;

type Table = Record<string, number[]>;

/** Next-token logits from a table of probabilities keyed by the generated prefix; tracks each row's history. */
class TableLogits implements NextTokenLogits {
  advances = 0;
  private histories: number[][];

  constructor(
    private readonly table: Table,
    private readonly fallback: number[],
    prompts: number[][],
  ) {
    this.histories = prompts.map((p) => [...p]);
  }

  logits(): Float32Array {
    return Float32Array.from(this.histories.flatMap((h) => this.probs(h.slice(PROMPT.length)).map((p) => Math.log(p))));
  }

  private probs(generated: number[]): number[] {
    return this.table[generated.join(',')] ?? this.fallback;
  }

  async advance(sourceRows: readonly number[], tokens: readonly number[]): Promise<Float32Array> {
    this.advances++;
    this.histories = sourceRows.map((s, i) => [...this.histories[s]!, tokens[i]!]);
    return this.logits();
  }
}

async function search(table: Table, fallback: number[], options: GenerationConfig) {
  const config = resolveGenerationConfig({ eos_token_id: EOS, num_beams: 2, ...options }, {}, { promptLength: PROMPT.length, maxPositions: 64 });
  const next = new TableLogits(table, fallback, [PROMPT]);
  const result = await beamSearch({
    prompts: [PROMPT],
    promptLogits: next.logits(),
    next,
    config,
    processors: buildLogitsProcessors(config),
    isDone: anyCriterion([maxLengthCriterion(config.maxLength), eosCriterion(config.eosTokenIds)]),
    vocabSize: 4,
    rng: new Rng(config.seed ?? 0),
  });
  return { ...result, steps: next.advances + 1 };
}

describe('topIndices', () => {
  test('largest first, earlier index on ties', () => {
    assert.deepEqual(topIndices([1, 5, 3, 5, -Infinity, 4], 3), [1, 3, 5]);
    assert.deepEqual(topIndices([2, 1], 5), [0, 1]);
  });
});

describe('length penalty and early stopping', () => {
  // EOS .4 / A .6 first; after that EOS .6 / A .4 whatever came before.
  // Hypotheses: [EOS] = log .4 = -0.916; [A, EOS] = log .36 = -1.022; [A, A, EOS] = log .144 = -1.938; ...
  const table: Table = { '': [0.4, 0.6, EPS, EPS] };
  const fallback = [0.6, 0.4, EPS, EPS];

  test('length_penalty 1 divides by the generated length: [A, EOS] (-0.511) beats [EOS] (-0.916)', async () => {
    const r = await search(table, fallback, { max_new_tokens: 4, length_penalty: 1, early_stopping: true });
    assert.deepEqual(r.newTokens, [[1, EOS]]);
    assert.ok(Math.abs(r.scores[0]! - Math.log(0.36) / 2) < 1e-5);
  });

  test('length_penalty 0 compares raw log-probabilities: [EOS] wins', async () => {
    const r = await search(table, fallback, { max_new_tokens: 4, length_penalty: 0, early_stopping: true });
    assert.deepEqual(r.newTokens, [[EOS]]);
    assert.deepEqual(r.sequences, [[3, EOS]], 'output cropped to the best hypothesis');
  });

  test('early_stopping true stops as soon as num_beams hypotheses are finished', async () => {
    assert.equal((await search(table, fallback, { max_new_tokens: 4, early_stopping: true })).steps, 2);
  });

  test('early_stopping false stops when the best running beam at its current length cannot win', async () => {
    // after step 3 the running beam [A, A, A] scores -2.343 / 3 = -0.781 < worst finished [A, A, EOS] -0.646
    const r = await search(table, fallback, { max_new_tokens: 4, early_stopping: false });
    assert.equal(r.steps, 3);
    assert.deepEqual(r.newTokens, [[1, EOS]]);
  });

  test("early_stopping 'never' judges the running beam at max_length, so it runs to the end", async () => {
    // -2.343 / 4 = -0.586 > -0.646, so step 4 (which reaches max_length) runs too
    const r = await search(table, fallback, { max_new_tokens: 4, early_stopping: 'never' });
    assert.equal(r.steps, 4);
    assert.deepEqual(r.newTokens, [[1, EOS]]);
  });
});

describe('candidates', () => {
  // After A or B, EOS is the best token for both beams, so the top two candidates both finish;
  // the 2 × num_beams candidates keep [A, C] alive, and it ends best: log(.55 × .4 × .95) / 3 = -0.522
  // against [A, EOS] log(.55 × .6) / 2 = -0.554.
  const table: Table = {
    '': [0.01, 0.55, 0.44, EPS],
    '1': [0.6, EPS, EPS, 0.4],
    '2': [0.6, EPS, EPS, 0.4],
    '1,3': [0.95, 0.02, 0.02, 0.01],
  };
  const uniform = [0.25, 0.25, 0.25, 0.25];

  test('beams whose best continuations all end keep running on the next-best candidates', async () => {
    const r = await search(table, uniform, { max_new_tokens: 3, early_stopping: 'never' });
    assert.deepEqual(r.newTokens, [[1, 3, EOS]]);
    assert.ok(Math.abs(r.scores[0]! - Math.log(0.55 * 0.4 * 0.95) / 3) < 1e-5);
  });

  test('with early_stopping true the two finished hypotheses end the search', async () => {
    const r = await search(table, uniform, { max_new_tokens: 3, early_stopping: true });
    assert.deepEqual(r.newTokens, [[1, EOS]]);
    assert.equal(r.steps, 2);
  });

  test('an EOS outside the top num_beams candidates does not finish a hypothesis', async () => {
    // step 1: EOS (.27) ranks third behind A (.42) and B (.31), so [EOS] (log .27 = -1.309) never
    // becomes a hypothesis, although it would beat [A, EOS] (log .252 = -1.378) with length_penalty 0
    const late: Table = { '': [0.27, 0.42, 0.31, EPS], '1': [0.6, EPS, EPS, 0.4], '2': [0.6, EPS, EPS, 0.4] };
    const r = await search(late, uniform, { max_new_tokens: 3, length_penalty: 0, early_stopping: true });
    assert.deepEqual(r.newTokens, [[1, EOS]]);
  });
});

describe('beam sampling', () => {
  test('is reproducible per seed and stays within the sampled support', async () => {
    const table: Table = { '': [EPS, 0.5, 0.3, 0.2] };
    const fallback = [EPS, 0.4, 0.3, 0.3];
    const runs = await Promise.all([1, 1, 2].map((seed) => search(table, fallback, { max_new_tokens: 3, do_sample: true, seed })));
    assert.deepEqual(runs[0]!.newTokens, runs[1]!.newTokens);
    for (const r of runs) assert.ok(r.newTokens[0]!.every((t) => t >= 1 && t <= 3));
  });
});
