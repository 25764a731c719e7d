/**
 * CausalLM's cache merging for continuous batching (gpt2-tiny): caches of different lengths
 * concatenated with masked left padding, and leading padding columns trimmed, continue exactly
 * as each row's own cache does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CausalLM } from '../../src/models/causal-lm.js';
import type { KVCache } from '../../src/text/language-model.js';
import { fixturePath } from '../helpers/fixtures.js';
import { assertClose, big, rowOf } from '../helpers/causal-lm.js';

describe('CausalLM.concatCaches and trimCache (gpt2-tiny)', () => {
  let lm: CausalLM;
  before(async () => {
    lm = await CausalLM.load(fixturePath('gpt2-tiny'));
  });
  after(() => lm.release());

  const a = [7454, 2402, 257, 640];
  const b = [612, 373, 257, 9379, 326, 4499, 13];
  const prefill = async (ids: number[]) =>
    (await lm.forward({ ids: big(ids), batch: 1, attentionMask: big(ids.map(() => 1)), positionIds: big(ids.map((_, i) => i)) })).cache;
  /** One decode step of a single unpadded row. */
  const alone = async (ids: number[], cache: KVCache, next: number) =>
    (await lm.forward({ ids: big([next]), batch: 1, attentionMask: big(new Array<number>(ids.length + 1).fill(1)), positionIds: big([ids.length]), cache })).logits;

  test('a 4- and a 7-position cache, concatenated (the short one left-padded), step on as each does alone', async () => {
    const [ca, cb] = [await prefill(a), await prefill(b)];
    const both = lm.concatCaches([ca, cb]);
    assert.deepEqual([both.batch, both.length], [2, 7]);
    const step = await lm.forward({
      ids: big([11, 13]),
      batch: 2,
      attentionMask: big([0, 0, 0, 1, 1, 1, 1, 1, ...new Array<number>(8).fill(1)]),
      positionIds: big([4, 7]),
      cache: both,
    });
    assertClose(rowOf(step.logits, 0, lm.vocabSize), await alone(a, ca, 11), 1e-5, 'padded row');
    assertClose(rowOf(step.logits, 1, lm.vocabSize), await alone(b, cb, 13), 1e-5, 'full row');
  });

  test('trimCache drops the padding columns a row kept after the longer row left', async () => {
    const ca = await prefill(a);
    const padded = lm.selectCache(lm.concatCaches([await prefill(b), ca]), [1]);
    assert.equal(padded.length, 7);
    const trimmed = lm.trimCache(padded, 3);
    assert.deepEqual([trimmed.batch, trimmed.length], [1, 4]);
    assertClose(await alone(a, trimmed, 11), await alone(a, ca, 11), 1e-5, 'trimmed row');
    assert.equal(lm.trimCache(trimmed, 0).length, 4);
    assert.throws(() => lm.trimCache(trimmed, 5), /GPT2LMHeadModel\.trimCache: cannot drop the first 5 positions of a cache of 4/);
    assert.equal(lm.concatCaches([ca]), ca);
    assert.throws(() => lm.concatCaches([ca, { batch: 1, length: 4 }]), /the cache was not created by a CausalLM/);
  });
});
