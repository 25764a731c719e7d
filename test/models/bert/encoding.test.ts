import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { lengthBatches, padBatch, pairLengths, SpecialTokenTemplate } from '../../../src/models/bert/encoding.js';
import { ConfigError } from '../../../src/models/transformer/config.js';
import { fixturePath } from '../../helpers/fixtures.js';

const tokenizerJson = JSON.parse(readFileSync(fixturePath('bert-tiny-embed', 'tokenizer.json'), 'utf8')) as Record<string, unknown>;

describe('SpecialTokenTemplate', () => {
  test("applies the fixture tokenizer's TemplateProcessing: [CLS] A [SEP] and [CLS] A [SEP] B [SEP] with type ids 0 then 1", () => {
    const t = SpecialTokenTemplate.fromTokenizerJson(tokenizerJson, 'tokenizer.json');
    assert.deepEqual(t.single([10, 11]), { ids: [2, 10, 11, 3], typeIds: [0, 0, 0, 0] });
    assert.deepEqual(t.pair([10], [20, 21]), { ids: [2, 10, 3, 20, 21, 3], typeIds: [0, 0, 0, 1, 1, 1] });
    assert.deepEqual(t.pair([10], []), { ids: [2, 10, 3, 3], typeIds: [0, 0, 0, 1] });
    assert.equal(t.singleSpecials, 2);
    assert.equal(t.pairSpecials, 3);
  });

  test('BertProcessing, a Sequence holding a template, and no post_processor', () => {
    const bert = SpecialTokenTemplate.fromTokenizerJson({ post_processor: { type: 'BertProcessing', cls: ['[CLS]', 101], sep: ['[SEP]', 102] } }, 'x');
    assert.deepEqual(bert.pair([5], [6]), { ids: [101, 5, 102, 6, 102], typeIds: [0, 0, 0, 1, 1] });
    const seq = SpecialTokenTemplate.fromTokenizerJson({ post_processor: { type: 'Sequence', processors: [{ type: 'ByteLevel' }, tokenizerJson.post_processor] } }, 'x');
    assert.deepEqual(seq.single([7]).ids, [2, 7, 3]);
    assert.deepEqual(SpecialTokenTemplate.fromTokenizerJson({ post_processor: null }, 'x').pair([1], [2]), { ids: [1, 2], typeIds: [0, 1] });
  });

  test('unsupported or broken post_processors are named with the file', () => {
    assert.throws(() => SpecialTokenTemplate.fromTokenizerJson({ post_processor: { type: 'RobertaProcessing' } }, '/m/tokenizer.json'), (e: Error) => e instanceof ConfigError && /\/m\/tokenizer\.json: post_processor type "RobertaProcessing" is not supported/.test(e.message));
    const pp = { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '[X]', type_id: 0 } }], pair: [], special_tokens: {} };
    assert.throws(() => SpecialTokenTemplate.fromTokenizerJson({ post_processor: pp }, 't.json'), /t\.json post_processor\.single\[0\]: special token "\[X\]" has no ids/);
  });
});

describe('pairLengths', () => {
  test('keeps both when they fit, else cuts the passage and keeps the query', () => {
    assert.deepEqual(pairLengths(5, 10, 20), [5, 10]);
    assert.deepEqual(pairLengths(5, 30, 20), [5, 15]);
    assert.deepEqual(pairLengths(10, 30, 20), [10, 10]);
  });

  test('a query that would leave the passage less than half the budget is cut instead', () => {
    assert.deepEqual(pairLengths(18, 30, 20), [10, 10]);
    assert.deepEqual(pairLengths(18, 4, 20), [16, 4]);
    assert.deepEqual(pairLengths(50, 0, 20), [20, 0]);
  });
});

describe('padBatch and lengthBatches', () => {
  test('pads right with the pad id, attention and type ids 0', () => {
    const b = padBatch([{ ids: [2, 7, 3], typeIds: [0, 0, 0] }, { ids: [2, 3], typeIds: [0, 1] }], 9);
    assert.equal(b.length, 3);
    assert.deepEqual([...b.inputIds], [2n, 7n, 3n, 2n, 3n, 9n]);
    assert.deepEqual([...b.attentionMask], [1n, 1n, 1n, 1n, 1n, 0n]);
    assert.deepEqual([...b.tokenTypeIds], [0n, 0n, 0n, 0n, 1n, 0n]);
  });

  test('groups by length, longest first, and every index appears once', () => {
    const lengths = [3, 9, 4, 9, 1, 5];
    const batches = lengthBatches(lengths, { batchSize: 2, maxBatchTokens: 1000 });
    assert.deepEqual(batches, [[1, 3], [5, 2], [0, 4]]);
  });

  test('maxBatchTokens bounds rows × padded length', () => {
    const batches = lengthBatches([100, 100, 100, 10, 10, 10, 10], { batchSize: 32, maxBatchTokens: 200 });
    assert.deepEqual(batches, [[0, 1], [2, 3], [4, 5, 6]]);
    // A single input longer than the limit still gets its own batch.
    assert.deepEqual(lengthBatches([500, 2], { batchSize: 8, maxBatchTokens: 100 }), [[0], [1]]);
  });
});
