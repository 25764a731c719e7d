/**
 * Parity with the fixture's BertForSequenceClassification logits (an independent float32 BERT
 * that reproduces transformers to 2e-6). Both sides are float32 and sum in different orders;
 * logits of magnitude ~2-4 after two layers, the pooler and the classifier differ by ~1e-6
 * (measured 1.4e-6), so 1e-5; a wrong op is off by >1e-2.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { CrossEncoder, loadCrossEncoder, sigmoid } from '../../../src/models/bert/cross-encoder.js';
import { padBatch } from '../../../src/models/bert/encoding.js';
import { ConfigError } from '../../../src/models/transformer/config.js';
import { assertClose } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';

const LOGIT_TOL = 1e-5;
const DIR = fixturePath('bert-tiny-cross-encoder');

interface Golden {
  pairs: [string, string][];
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
  logits: number[];
}
const golden = JSON.parse(readFileSync(fixturePath('bert-tiny-cross-encoder', 'golden.json'), 'utf8')) as Golden;
const real = (rows: number[][]) => rows.map((row, i) => row.filter((_, j) => golden.attention_mask[i]![j] === 1));

describe('CrossEncoder on bert-tiny-cross-encoder', () => {
  let ce: CrossEncoder;
  before(async () => {
    ce = await loadCrossEncoder(DIR);
  });
  after(() => ce.release());

  test('pair ids and token_type_ids equal the golden [CLS] A [SEP] B [SEP], the empty document included', () => {
    const encoded = golden.pairs.map(([q, p]) => ce.tokenizePair(q, p));
    assert.deepEqual(encoded.map((e) => e.ids), real(golden.input_ids));
    assert.deepEqual(encoded.map((e) => e.typeIds), real(golden.token_type_ids));
    const padded = padBatch(encoded, 0);
    assert.deepEqual([...padded.attentionMask].map(Number), golden.attention_mask.flat());
    assert.deepEqual([...padded.tokenTypeIds].map(Number), golden.token_type_ids.flat());
  });

  test('raw logits of the golden padded batch and of logits() in any order', async () => {
    const big = (rows: number[][]) => BigInt64Array.from(rows.flat(), BigInt);
    const T = golden.input_ids[0]!.length;
    const batch = { rows: 6, length: T, inputIds: big(golden.input_ids), attentionMask: big(golden.attention_mask), tokenTypeIds: big(golden.token_type_ids) };
    assertClose(await ce.forward(batch), golden.logits, LOGIT_TOL, 'forward');
    assertClose((await ce.logits(golden.pairs)).map((l) => l[0]!), golden.logits, LOGIT_TOL, 'logits()');
    const one = await loadCrossEncoder(DIR, { batchSize: 1 });
    try {
      assertClose((await one.logits(golden.pairs)).map((l) => l[0]!), golden.logits, LOGIT_TOL, 'batch size 1');
    } finally {
      await one.release();
    }
  });

  test('score(query, passages) gives raw logits; predict applies the sigmoid by default', async () => {
    const [query] = golden.pairs[0]!;
    const passages = golden.pairs.filter(([q]) => q === query).map(([, p]) => p);
    const expected = golden.pairs.map((p, i) => [p, golden.logits[i]!] as const).filter(([[q]]) => q === query).map(([, l]) => l);
    assert.equal(passages.length, 2);
    assertClose(await ce.score(query, passages), expected, LOGIT_TOL, 'score');
    assertClose(await ce.predict(golden.pairs), golden.logits.map(sigmoid), LOGIT_TOL / 4, 'predict');
    assertClose(await ce.predict(golden.pairs, { activation: 'none' }), golden.logits, LOGIT_TOL, 'predict raw');
    assert.equal(sigmoid(0), 0.5);
    assert.ok(Math.abs(sigmoid(-2.9134669303894043) - 0.05156) < 1e-4);
    assert.deepEqual(await ce.score(query, []), []);
  });

  test('truncation keeps the query and cuts the passage, [SEP] last', async () => {
    const [q, p] = golden.pairs[0]!;
    const full = real(golden.input_ids)[0]!; // [CLS] 10 query tokens [SEP] 11 passage tokens [SEP]
    const short = await loadCrossEncoder(DIR, { maxTokens: 22 });
    try {
      const e = short.tokenizePair(q, p);
      assert.equal(e.ids.length, 22);
      assert.deepEqual(e.ids.slice(0, 12), full.slice(0, 12), 'the query and its [SEP] are whole');
      assert.deepEqual(e.ids.slice(12), [...full.slice(12, 21), 3]);
      assert.deepEqual(e.typeIds, [...Array(12).fill(0), ...Array(10).fill(1)]);
      assert.equal((await short.score(q, [p])).length, 1);
    } finally {
      await short.release();
    }
    // With 20 tokens the whole query would leave the passage 7 of 17: it is cut so the passage keeps 8.
    const shorter = await loadCrossEncoder(DIR, { maxTokens: 20 });
    try {
      assert.deepEqual(shorter.tokenizePair(q, p).ids, [...full.slice(0, 10), 3, ...full.slice(12, 20), 3]);
    } finally {
      await shorter.release();
    }
  });

  test('a sentence-transformers BertModel is not a cross-encoder', async () => {
    await assert.rejects(loadCrossEncoder(fixturePath('bert-tiny-embed')), (e: Error) => e instanceof ConfigError && /config\.json: architecture "BertModel" does not fit here \(expected BertForSequenceClassification\)/.test(e.message));
    await assert.rejects(loadCrossEncoder(DIR, { maxTokens: 4 }), /maxTokens must be an integer from 5/);
  });
});
