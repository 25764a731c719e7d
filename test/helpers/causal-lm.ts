/** Shared by the GPT-2 and Llama parity tests: golden files, a plain greedy loop, and the tests both run. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { loadF32 } from '../../src/io/safetensors.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import type { KVCache, LanguageModel } from '../../src/text/language-model.js';
import { fixturePath } from './fixtures.js';

export interface Golden {
  single: { input_ids: number[]; logits: string; positions: 'all' | 'last' }[];
  greedy: { input_ids: number[]; output_ids: number[] }[];
  batch: { input_ids: number[][]; attention_mask: number[][]; output_ids: number[][] };
}

export async function readGolden(name: string): Promise<{ golden: Golden; tensors: Map<string, { shape: number[]; data: Float32Array }> }> {
  const golden = JSON.parse(readFileSync(fixturePath(name, 'golden.json'), 'utf8')) as Golden;
  return { golden, tensors: await loadF32(fixturePath(name, 'golden.safetensors')) };
}

export const big = (xs: readonly number[]): BigInt64Array => BigInt64Array.from(xs, (x) => BigInt(x));

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${what}: max |diff| ${d} > ${tol}`);
}

/** Row `row` of a [rows, width] array. */
export const rowOf = (data: Float32Array, row: number, width: number): Float32Array => data.subarray(row * width, (row + 1) * width);

export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/** HF generate's position ids for a left-padded row: cumsum(mask) − 1, padding at 1. */
export function positionsFromMask(mask: readonly number[]): number[] {
  let seen = 0;
  return mask.map((m) => (m ? seen++ : 1));
}

/** Greedy decoding of left-padded rows; returns each row's prompt + `steps` new tokens. */
export async function greedy(model: LanguageModel, rows: number[][], masks: number[][], steps: number): Promise<number[][]> {
  const batch = rows.length;
  const out = rows.map((r) => [...r]);
  const mask = masks.map((m) => [...m]);
  let cache: KVCache | undefined;
  let ids = rows.flat();
  let positions = masks.flatMap(positionsFromMask);
  for (let s = 0; s < steps; s++) {
    const res = await model.forward({ ids: big(ids), batch, attentionMask: big(mask.flat()), positionIds: big(positions), ...(cache ? { cache } : {}) });
    cache = res.cache;
    const next = Array.from({ length: batch }, (_, b) => argmax(rowOf(res.logits, b, model.vocabSize)));
    next.forEach((t, b) => {
      out[b]!.push(t);
      mask[b]!.push(1);
    });
    positions = mask.map((m) => m.reduce((a, x) => a + x, 0) - 1);
    ids = next;
  }
  return out;
}

export interface ParityFixture {
  lm: CausalLM;
  golden: Golden;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** One-row forward of every position of `ids`. */
export const fullForward = (lm: LanguageModel, ids: readonly number[]) =>
  lm.forward({ ids: big(ids), batch: 1, attentionMask: big(ids.map(() => 1)), positionIds: big(ids.map((_, i) => i)), allLogits: true });

/**
 * Register the parity tests every causal-LM fixture passes (call inside a
 * describe). The returned object is filled in by the `before` hook.
 */
export function parityTests(name: string): ParityFixture {
  const fx = {} as ParityFixture;
  before(async () => {
    Object.assign(fx, await readGolden(name));
    fx.lm = await CausalLM.load(fixturePath(name));
  });
  after(() => fx.lm.release());

  test('logits match the golden single-prompt logits within 1e-4', async () => {
    const vocab = fx.lm.vocabSize;
    for (const s of fx.golden.single) {
      const { logits } = await fullForward(fx.lm, s.input_ids);
      const actual = s.positions === 'all' ? logits : rowOf(logits, s.input_ids.length - 1, vocab);
      assertClose(actual, fx.tensors.get(s.logits)!.data, 1e-4, s.logits);
    }
  });

  test('prefill + single-token decode steps give the full forward logits', async () => {
    const vocab = fx.lm.vocabSize;
    const ids = fx.golden.single[0]!.input_ids;
    const full = (await fullForward(fx.lm, ids)).logits;
    const prefill = 4;
    let res = await fx.lm.forward({ ids: big(ids.slice(0, prefill)), batch: 1, attentionMask: big(Array(prefill).fill(1)), positionIds: big([0, 1, 2, 3]) });
    assert.equal(res.logits.length, vocab, 'without allLogits only the last position is returned');
    assertClose(res.logits, rowOf(full, prefill - 1, vocab), 1e-4, 'prefill');
    for (let t = prefill; t < ids.length; t++) {
      res = await fx.lm.forward({ ids: big([ids[t]!]), batch: 1, attentionMask: big(Array(t + 1).fill(1)), positionIds: big([t]), cache: res.cache });
      assert.equal(res.cache.length, t + 1);
      assertClose(res.logits, rowOf(full, t, vocab), 1e-4, `decode step at position ${t}`);
    }
  });

  test('a left-padded batch gives each row its unpadded logits, then the golden greedy tokens', async () => {
    const vocab = fx.lm.vocabSize;
    const { input_ids, attention_mask, output_ids } = fx.golden.batch;
    const prefill = await fx.lm.forward({
      ids: big(input_ids.flat()),
      batch: 2,
      attentionMask: big(attention_mask.flat()),
      positionIds: big(attention_mask.flatMap(positionsFromMask)),
    });
    const unpadded0 = rowOf(fx.tensors.get('logits_0')!.data, fx.golden.single[0]!.input_ids.length - 1, vocab);
    assertClose(rowOf(prefill.logits, 0, vocab), unpadded0, 1e-4, 'left-padded row 0');
    assertClose(rowOf(prefill.logits, 1, vocab), fx.tensors.get('logits_1')!.data, 1e-4, 'row 1');
    assert.deepEqual(await greedy(fx.lm, input_ids, attention_mask, output_ids[0]!.length - input_ids[0]!.length), output_ids);
  });

  test('greedy decoding reproduces the golden greedy ids', async () => {
    for (const g of fx.golden.greedy) {
      const [out] = await greedy(fx.lm, [g.input_ids], [g.input_ids.map(() => 1)], g.output_ids.length - g.input_ids.length);
      assert.deepEqual(out, g.output_ids);
    }
  });
  return fx;
}
