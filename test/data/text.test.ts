import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { TextDataset, randomBlocks, readTextFile, shiftedPair, splitTokens } from '../../src/data/text.js';

/** Each character is its own code: easy to check windows against the source text by hand. */
const codes = { encode: (s: string) => [...s].map((c) => c.charCodeAt(0)), vocabSize: 128 };

describe('splitTokens', () => {
  test('first 90% train, last 10% validation, contiguous', () => {
    const ids = Array.from({ length: 100 }, (_, i) => i);
    const { train, val } = splitTokens(ids);
    assert.deepEqual([...train], ids.slice(0, 90));
    assert.deepEqual([...val], ids.slice(90));
  });

  test('rounds the cut down and rejects bad fractions', () => {
    const { train, val } = splitTokens([1, 2, 3, 4, 5, 6, 7], 0.5);
    assert.deepEqual([...train], [1, 2, 3]);
    assert.deepEqual([...val], [4, 5, 6, 7]);
    assert.throws(() => splitTokens([1, 2], 1), /trainFraction must be in \(0, 1\), received 1/);
  });
});

describe('randomBlocks and shiftedPair', () => {
  test('windows are block_size + 1 consecutive tokens of the stream', () => {
    const tokens = Int32Array.from({ length: 50 }, (_, i) => 1000 + i);
    const blocks = randomBlocks(tokens, { blockSize: 7, batchSize: 5 }, new Rng(3));
    assert.equal(blocks.length, 5 * 8);
    for (let row = 0; row < 5; row++) {
      const w = blocks.subarray(row * 8, row * 8 + 8);
      for (let t = 1; t < 8; t++) assert.equal(w[t], w[0]! + t);
      assert.ok(w[0]! >= 1000 && w[7]! <= 1049);
    }
  });

  test('every start position, including the last one, can be drawn', () => {
    const tokens = Int32Array.from({ length: 6 }, (_, i) => i);
    const starts = new Set(randomBlocks(tokens, { blockSize: 3, batchSize: 200 }, new Rng(1)).filter((_, i) => i % 4 === 0));
    assert.deepEqual([...starts].sort(), [0, 1, 2]);
  });

  test('too-short stream names the sizes', () => {
    assert.throws(
      () => randomBlocks(new Int32Array(4), { blockSize: 4, batchSize: 1 }, new Rng(0), "TextDataset 'val' split"),
      /TextDataset 'val' split: 4 tokens are too few for windows of block_size \+ 1 = 5 tokens/,
    );
  });

  test('inputs drop the last token, targets drop the first', () => {
    const blocks = Int32Array.from([10, 11, 12, 13, 20, 21, 22, 23]);
    const { inputs, targets } = shiftedPair(blocks, { blockSize: 3, batchSize: 2 });
    assert.deepEqual([...inputs].map(Number), [10, 11, 12, 20, 21, 22]);
    assert.deepEqual([...targets].map(Number), [11, 12, 13, 21, 22, 23]);
  });
});

describe('TextDataset', () => {
  const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(8);

  test('batches are a function of seed, split and index only', () => {
    const a = TextDataset.fromText(text, codes, { seed: 7 });
    const b = TextDataset.fromText(text, codes, { seed: 7 });
    const opts = { blockSize: 8, batchSize: 4 };
    b.batch('train', 0, opts); // drawing other batches first must not matter
    assert.deepEqual(a.batch('train', 5, opts), b.batch('train', 5, opts));
    assert.deepEqual(a.batch('val', 2, opts), b.batch('val', 2, opts));
    assert.notDeepEqual(a.batch('train', 5, opts).inputs, a.batch('train', 6, opts).inputs);
    const c = TextDataset.fromText(text, codes, { seed: 8 });
    assert.notDeepEqual(a.batch('train', 5, opts).inputs, c.batch('train', 5, opts).inputs);
  });

  test('the eval stream draws other windows than the training stream', () => {
    const ds = TextDataset.fromText(text, codes, { seed: 1 });
    const opts = { blockSize: 8, batchSize: 4 };
    assert.notDeepEqual(ds.batch('train', 0, opts, 'eval').inputs, ds.batch('train', 0, opts).inputs);
    assert.deepEqual(ds.batch('train', 0, opts, 'eval'), ds.batch('train', 0, opts, 'eval'));
  });

  test('validation windows come only from the last 10% of the text', () => {
    const ds = TextDataset.fromText(text, codes);
    const valText = text.slice(Math.floor(text.length * 0.9));
    assert.equal(ds.val.length, valText.length);
    const { inputs, targets } = ds.batch('val', 0, { blockSize: 4, batchSize: 6 });
    for (let row = 0; row < 6; row++) {
      const window = String.fromCharCode(...[...inputs.subarray(row * 4, row * 4 + 4)].map(Number), Number(targets[row * 4 + 3]));
      assert.ok(valText.includes(window), `window ${window} not in ${valText}`);
    }
  });

  test('fromFile reads UTF-8 and names a missing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forja-text-'));
    try {
      const path = join(dir, 'tiny.txt');
      await writeFile(path, 'héllo wörld, '.repeat(20));
      const ds = await TextDataset.fromFile(path, codes);
      assert.equal(ds.train.length + ds.val.length, 13 * 20);
      assert.equal(ds.train[1], 'é'.charCodeAt(0));
      await assert.rejects(readTextFile(join(dir, 'missing.txt')), /cannot read .*missing\.txt/);
      await writeFile(join(dir, 'empty.txt'), '');
      await assert.rejects(readTextFile(join(dir, 'empty.txt')), /empty\.txt is empty/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
