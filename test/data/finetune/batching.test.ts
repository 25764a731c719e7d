import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../src/core/rng.js';
import {
  IGNORE_INDEX,
  type Example,
  collate,
  packExamples,
  packedAttentionMask,
  rowsOf,
  supervisedTokens,
  textBlocks,
  truncateExample,
} from '../../../src/data/finetune/batching.js';

const M = IGNORE_INDEX;
const ex = (ids: number[], labels: number[] = ids): Example => ({ inputIds: Int32Array.from(ids), labels: Int32Array.from(labels) });
const nums = (a: ArrayLike<number | bigint>): number[] => Array.from(a, Number);

describe('truncation and supervised counts', () => {
  test('truncation keeps the start and says whether it cut', () => {
    const long: Example = { ...ex([1, 2, 3, 4, 5], [M, M, 3, 4, 5]), documentStarts: Int32Array.from([0, 3]) };
    const { example, truncated } = truncateExample(long, 3);
    assert.equal(truncated, true);
    assert.deepEqual(nums(example.inputIds), [1, 2, 3]);
    assert.deepEqual(nums(example.labels), [M, M, 3]);
    assert.deepEqual(nums(example.documentStarts!), [0]);
    const same = truncateExample(long, 5);
    assert.equal(same.truncated, false);
    assert.equal(same.example, long);
  });

  test('label 0 never counts (the shift drops it), nor a segment start', () => {
    assert.equal(supervisedTokens(Int32Array.from([7, 8, 9])), 2);
    assert.equal(supervisedTokens(Int32Array.from([M, M, 9, 10])), 2);
    assert.equal(supervisedTokens(Int32Array.from([7, 8, 9, 10]), [0, 2]), 2);
    assert.equal(supervisedTokens(Int32Array.from([M])), 0);
  });
});

describe('textBlocks', () => {
  test('documents joined and cut into maxLength blocks, remembering where each starts', () => {
    const E = 0;
    const docs = [[1, 2, 3, E], [4, 5, E], [6, 7, 8, 9, 10, E]].map((d) => Int32Array.from(d));
    const blocks = textBlocks(docs, 4);
    // The stream's last token (E) would be a block of one, with nothing to predict: dropped.
    assert.deepEqual(blocks.map((b) => nums(b.inputIds)), [[1, 2, 3, E], [4, 5, E, 6], [7, 8, 9, 10]]);
    assert.deepEqual(blocks.map((b) => nums(b.documentStarts!)), [[0], [0, 3], [0]]);
    assert.deepEqual(blocks.map((b) => nums(b.labels)), blocks.map((b) => nums(b.inputIds)));
    // A last block of two tokens is kept.
    assert.equal(textBlocks([Int32Array.from([1, 2, 3, 4, 5, 6])], 4).length, 2);
    assert.equal(textBlocks([Int32Array.from([1, 2, 3, 4, 5])], 4).length, 1);
  });
});

describe('packExamples', () => {
  test('first-fit decreasing into rows of maxLength, ties in reading order', () => {
    // Lengths 5, 3, 4, 2, 6 with maxLength 8: 6 | 5 | 4, then 3 joins the 5, 2 joins the 6.
    const examples = [5, 3, 4, 2, 6].map((len, i) => ex(Array.from({ length: len }, (_, t) => 100 * i + t)));
    const rows = packExamples(examples, 8);
    assert.deepEqual(rows.map((r) => nums(r.inputIds).map((v) => Math.floor(v / 100))), [[4, 4, 4, 4, 4, 4, 3, 3], [0, 0, 0, 0, 0, 1, 1, 1], [2, 2, 2, 2]]);
    assert.deepEqual(rows.map((r) => nums(r.segmentStarts)), [[0, 6], [0, 5], [0]]);
    // Each later segment's first label is masked; the rest are the examples' labels.
    assert.deepEqual(nums(rows[1]!.labels), [0, 1, 2, 3, 4, M, 101, 102]);
    assert.throws(() => packExamples([ex([1, 2, 3])], 2), /example 0 has 3 tokens, more than maxLength 2/);
  });

  test('agrees with a plain first-fit decreasing on random lengths', () => {
    const rng = new Rng(11);
    const max = 32;
    const lengths = Array.from({ length: 300 }, () => 1 + rng.int(max));
    const rows = packExamples(lengths.map((len, i) => ex(new Array<number>(len).fill(i))), max);
    const order = [...lengths.keys()].sort((a, b) => lengths[b]! - lengths[a]! || a - b);
    const bins: number[][] = [];
    const free: number[] = [];
    for (const i of order) {
      let b = free.findIndex((f) => f >= lengths[i]!);
      if (b < 0) b = bins.push([]) - 1, free.push(max);
      bins[b]!.push(i);
      free[b]! -= lengths[i]!;
    }
    assert.deepEqual(rows.map((r) => nums(r.segmentStarts).map((s) => r.inputIds[s]!)), bins);
  });

  test('a text block keeps its document boundaries as segments when packed', () => {
    const block: Example = { ...ex([1, 2, 0, 3]), documentStarts: Int32Array.from([0, 3]) };
    const rows = packExamples([block, ex([9, 9])], 8);
    assert.deepEqual(nums(rows[0]!.segmentStarts), [0, 3, 4]);
    assert.deepEqual(nums(rows[0]!.labels), [1, 2, 0, M, M, 9]);
  });
});

describe('collate', () => {
  const rows = rowsOf([ex([5, 6, 7], [M, 6, 7]), ex([1, 2, 3, 4, 5], [M, M, M, 4, 5])]);

  test('right padding: pad id, attention mask 0, labels -100, positions from 0', () => {
    const b = collate(rows, [0, 1], { padTokenId: 50256, padTo: 'longest', maxLength: 16 });
    assert.equal(b.seqLength, 5);
    assert.deepEqual(nums(b.inputIds), [5, 6, 7, 50256, 50256, 1, 2, 3, 4, 5]);
    assert.deepEqual(nums(b.attentionMask), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    assert.deepEqual(nums(b.labels), [M, 6, 7, M, M, M, M, M, 4, 5]);
    assert.deepEqual(nums(b.positionIds), [0, 1, 2, 0, 0, 0, 1, 2, 3, 4]);
    assert.deepEqual(nums(b.segmentIds), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    assert.equal(b.packed, false);
    assert.equal(b.tokens, 8);
    assert.equal(b.supervisedTokens, 4);
  });

  test('padded lengths: max-length, a multiple, and the row order given', () => {
    assert.equal(collate(rows, [0], { padTokenId: 0, padTo: 'max-length', maxLength: 16 }).seqLength, 16);
    const b = collate(rows, [1, 0], { padTokenId: 0, padTo: 'longest', maxLength: 16, padToMultipleOf: 4 });
    assert.equal(b.seqLength, 8);
    assert.deepEqual(nums(b.inputIds).slice(0, 8), [1, 2, 3, 4, 5, 0, 0, 0]);
    assert.throws(() => collate(rows, [2], { padTokenId: 0, padTo: 'longest', maxLength: 16 }), /indices\[0\] = 2 is outside 0..1/);
    assert.throws(() => collate(rows, [], { padTokenId: 0, padTo: 'longest', maxLength: 16 }), /at least one row/);
  });

  test('packed rows: positions restart per sequence, segment ids separate them', () => {
    const packed = packExamples([ex([1, 2, 3]), ex([4, 5], [M, 5]), ex([6, 7, 8, 9])], 6);
    // First-fit decreasing: [6 7 8 9 | 4 5], [1 2 3].
    const b = collate(packed, [0, 1], { padTokenId: 0, padTo: 'max-length', maxLength: 6 });
    assert.equal(b.packed, true);
    assert.deepEqual(nums(b.inputIds), [6, 7, 8, 9, 4, 5, 1, 2, 3, 0, 0, 0]);
    assert.deepEqual(nums(b.positionIds), [0, 1, 2, 3, 0, 1, 0, 1, 2, 0, 0, 0]);
    assert.deepEqual(nums(b.segmentIds), [1, 1, 1, 1, 2, 2, 1, 1, 1, 0, 0, 0]);
    assert.deepEqual(nums(b.labels), [6, 7, 8, 9, M, 5, 1, 2, 3, M, M, M]);
    // 7 8 9 | 5 | 2 3: what the loss sees after the shift.
    assert.equal(b.supervisedTokens, 6);
  });
});

test('packedAttentionMask is causal and block diagonal over segments', () => {
  const segmentIds = Int32Array.from([1, 1, 2, 2, 2, 0, 1, 1, 1, 1, 3, 3]);
  const batch = { batchSize: 2, seqLength: 6, segmentIds };
  const mask = packedAttentionMask(batch);
  for (let b = 0; b < 2; b++) {
    for (let q = 0; q < 6; q++) {
      for (let k = 0; k < 6; k++) {
        const sq = segmentIds[b * 6 + q]!;
        const want = sq !== 0 && sq === segmentIds[b * 6 + k] && k <= q ? 1 : 0;
        assert.equal(mask[(b * 6 + q) * 6 + k], want, `b=${b} q=${q} k=${k}`);
      }
    }
  }
  // Row 0, query 3 (segment 2) sees keys 2 and 3 only.
  assert.deepEqual(nums(mask.subarray(3 * 6, 4 * 6)), [0, 0, 1, 1, 0, 0]);
});
