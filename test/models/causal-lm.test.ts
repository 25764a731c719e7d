/**
 * CausalLM, the ORT-backed LanguageModel: its cache handling and input checks, on gpt2-tiny
 * against the transformers goldens. The per-architecture parity runs are in gpt2/ and llama/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CausalLM } from '../../src/models/causal-lm.js';
import type { KVCache } from '../../src/text/language-model.js';
import { fixturePath } from '../helpers/fixtures.js';
import { assertClose, big, positionsFromMask, readGolden, rowOf, type Golden } from '../helpers/causal-lm.js';

const VOCAB = 50257;

describe('CausalLM (gpt2-tiny)', () => {
  let lm: CausalLM;
  let golden: Golden;
  let tensors: Map<string, { shape: number[]; data: Float32Array }>;
  before(async () => {
    ({ golden, tensors } = await readGolden('gpt2-tiny'));
    lm = await CausalLM.load(fixturePath('gpt2-tiny'));
  });
  after(() => lm.release());

  /** Prefill of the golden left-padded batch (row 0 has 8 padding tokens, row 1 none). */
  const prefillBatch = (allLogits = false) => {
    const { input_ids, attention_mask } = golden.batch;
    return lm.forward({ ids: big(input_ids.flat()), batch: 2, attentionMask: big(attention_mask.flat()), positionIds: big(attention_mask.flatMap(positionsFromMask)), allLogits });
  };

  test('sizes, directory and generation_config.json come from the checkpoint', () => {
    assert.equal(lm.vocabSize, VOCAB);
    assert.equal(lm.maxPositions, 128);
    assert.equal(lm.dir, fixturePath('gpt2-tiny'));
    assert.equal(lm.generationConfig?.eos_token_id, 50256);
    const empty = lm.emptyCache(3);
    assert.deepEqual([empty.batch, empty.length], [3, 0]);
  });

  test('allLogits on a padded batch: every position of each row, the padded row matching its unpadded golden', async () => {
    const res = await prefillBatch(true);
    const T = golden.batch.input_ids[0]!.length;
    assert.equal(res.logits.length, 2 * T * VOCAB);
    assert.deepEqual([res.cache.batch, res.cache.length], [2, T]);
    // Prompt 0 is row 0 after 8 padding tokens; its golden has every position.
    const real = golden.single[0]!.input_ids.length;
    assertClose(res.logits.subarray((T - real) * VOCAB, T * VOCAB), tensors.get('logits_0')!.data, 1e-4, 'row 0, real positions');
    assertClose(rowOf(res.logits, 2 * T - 1, VOCAB), tensors.get('logits_1')!.data, 1e-4, 'row 1, last position');
  });

  test('selectCache reorders and duplicates rows (beam search)', async () => {
    const [mask0, mask1] = golden.batch.attention_mask as [number[], number[]];
    const res = await prefillBatch();
    // Rows [1, 0, 1] take tokens [11, 13, 11]; row 0 has 10 real tokens, row 1 has 18.
    const beams = await lm.forward({
      ids: big([11, 13, 11]),
      batch: 3,
      attentionMask: big([...mask1, 1, ...mask0, 1, ...mask1, 1]),
      positionIds: big([18, 10, 18]),
      cache: lm.selectCache(res.cache, [1, 0, 1]),
    });
    const direct = await lm.forward({ ids: big([13, 11]), batch: 2, attentionMask: big([...mask0, 1, ...mask1, 1]), positionIds: big([10, 18]), cache: res.cache });
    assertClose(rowOf(beams.logits, 0, VOCAB), rowOf(direct.logits, 1, VOCAB), 1e-5, 'row 1 moved to 0');
    assertClose(rowOf(beams.logits, 1, VOCAB), rowOf(direct.logits, 0, VOCAB), 1e-5, 'row 0 moved to 1');
    assertClose(rowOf(beams.logits, 2, VOCAB), rowOf(direct.logits, 1, VOCAB), 1e-5, 'row 1 duplicated');
  });

  test('selectCache: the identity selection is the cache itself; a dropped row leaves the others intact', async () => {
    const res = await prefillBatch();
    assert.equal(lm.selectCache(res.cache, [0, 1]), res.cache);
    const only1 = lm.selectCache(res.cache, [1]);
    assert.deepEqual([only1.batch, only1.length], [1, res.cache.length]);
    const mask1 = golden.batch.attention_mask[1]!;
    const one = await lm.forward({ ids: big([11]), batch: 1, attentionMask: big([...mask1, 1]), positionIds: big([18]), cache: only1 });
    const both = await lm.forward({ ids: big([11, 11]), batch: 2, attentionMask: big([...golden.batch.attention_mask[0]!, 1, ...mask1, 1]), positionIds: big([10, 18]), cache: res.cache });
    assertClose(one.logits, rowOf(both.logits, 1, VOCAB), 1e-5, 'row 1 alone');
    assert.throws(() => lm.selectCache(res.cache, [0, 2]), /selectCache: row 2 is out of range for a cache of 2 rows/);
    assert.throws(() => lm.selectCache(res.cache, [-1]), /row -1 is out of range/);
  });

  test('bad inputs are refused before running, naming the sizes', async () => {
    const ones = (n: number) => big(new Array<number>(n).fill(1));
    const count = (n: number) => big(Array.from({ length: n }, (_, i) => i));
    await assert.rejects(lm.forward({ ids: ones(5), batch: 2, attentionMask: ones(5), positionIds: count(5) }), /GPT2LMHeadModel\.forward: 5 ids do not split into 2 rows of at least one token/);
    await assert.rejects(lm.forward({ ids: ones(0), batch: 1, attentionMask: ones(0), positionIds: count(0) }), /0 ids do not split into 1 rows/);
    await assert.rejects(
      lm.forward({ ids: ones(4), batch: 2, attentionMask: ones(6), positionIds: count(4) }),
      /attentionMask has 6 entries, expected batch 2 × \(cache 0 \+ steps 2\) = 4/,
    );
    await assert.rejects(lm.forward({ ids: ones(4), batch: 2, attentionMask: ones(4), positionIds: count(2) }), /positionIds has 2 entries, expected batch 2 × steps 2/);
    const n = lm.maxPositions + 1;
    await assert.rejects(lm.forward({ ids: ones(n), batch: 1, attentionMask: ones(n), positionIds: count(n) }), /GPT2LMHeadModel\.forward: 129 positions exceed the model's maximum of 128/);
  });

  test('a cache of another batch size or from elsewhere is refused', async () => {
    const two = lm.emptyCache(2);
    await assert.rejects(lm.forward({ ids: big([1]), batch: 1, attentionMask: big([1]), positionIds: big([0]), cache: two }), /GPT2LMHeadModel: the cache holds 2 rows but the input has batch 1/);
    const foreign: KVCache = { batch: 1, length: 0 };
    await assert.rejects(lm.forward({ ids: big([1]), batch: 1, attentionMask: big([1]), positionIds: big([0]), cache: foreign }), /GPT2LMHeadModel: the cache was not created by a CausalLM/);
    assert.throws(() => lm.selectCache(foreign, [0]), /the cache was not created by a CausalLM/);
  });
});
