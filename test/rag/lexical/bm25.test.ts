import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ANSERINI_BM25, LUCENE_BM25, bm25Idf, bm25Search, luceneLength, queryTermCounts, scoreBm25 } from '../../../src/rag/lexical/bm25.js';
import { RetrievalSettingsError } from '../../../src/rag/retrieve/errors.js';
import type { LexicalStats, TermPostings } from '../../../src/rag/store/types.js';
import { boundStore, textDocument } from '../memory-store.js';

/** A term's postings in the store's typed-array form. */
function lists(entries: [string, { chunkId: number; tf: number; length: number }[]][]): Map<string, TermPostings> {
  return new Map(
    entries.map(([term, ps]) => [
      term,
      { chunkIds: Float64Array.from(ps, (p) => p.chunkId), tfs: Uint32Array.from(ps, (p) => p.tf), lengths: Uint32Array.from(ps, (p) => p.length) },
    ]),
  );
}

// Three chunks, 9 terms, avgdl 3: 1 = apple×2 banana, 2 = banana cherry, 3 = cherry×3 date.
const STATS: LexicalStats = {
  chunkCount: 3,
  averageLength: 3,
  postings: lists([
    ['apple', [{ chunkId: 1, tf: 2, length: 3 }]],
    ['banana', [{ chunkId: 1, tf: 1, length: 3 }, { chunkId: 2, tf: 1, length: 2 }]],
    ['cherry', [{ chunkId: 2, tf: 1, length: 2 }, { chunkId: 3, tf: 3, length: 4 }]],
  ]),
};

/** scoreBm25's parallel arrays as a Map, checking that no chunk appears twice. */
function scored(...args: Parameters<typeof scoreBm25>): Map<number, number> {
  const { ids, scores } = scoreBm25(...args);
  assert.equal(ids.length, scores.length, 'one score per id');
  const map = new Map(Array.from(ids, (id, i) => [id, scores[i]!] as [number, number]));
  assert.equal(map.size, ids.length, 'each chunk once');
  return map;
}

function close(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
}

describe('scoreBm25', () => {
  test("Lucene's idf", () => {
    close(bm25Idf(3, 1), Math.log(1 + 2.5 / 1.5), 'df 1 of 3');
    close(bm25Idf(3, 3), Math.log(1 + 0.5 / 3.5), 'df 3 of 3 stays positive');
  });

  test('scores by hand with k1 0.9, b 0.4', () => {
    // idf(apple) = ln(1 + 2.5/1.5) = 0.9808293; idf(cherry) = ln(1 + 1.5/2.5) = 0.4700036
    // chunk 1: apple tf 2, |d| 3: 2 / (2 + 0.9·(0.6 + 0.4·3/3)) = 2/2.9          → 0.6764340
    // chunk 2: cherry tf 1, |d| 2: 1 / (1 + 0.9·(0.6 + 0.4·2/3)) = 1/1.78         → 0.2640470
    // chunk 3: cherry tf 3, |d| 4: 3 / (3 + 0.9·(0.6 + 0.4·4/3)) = 3/4.02         → 0.3507490
    const s = scored(STATS, ['apple', 'cherry'], ANSERINI_BM25);
    assert.deepEqual([...s.keys()].sort(), [1, 2, 3]);
    close(s.get(1), 0.6764339675942941, 'chunk 1');
    close(s.get(2), 0.2640469827223234, 'chunk 2');
    close(s.get(3), 0.35074897704905644, 'chunk 3');
  });

  test('k1 1.2, b 0.75 (the BEIR paper Elasticsearch defaults)', () => {
    // chunk 1: 0.9808293 · 2/(2 + 1.2·1) ; chunk 3: 0.4700036 · 3/(3 + 1.2·(0.25 + 0.75·4/3))
    const s = scored(STATS, ['apple', 'cherry'], LUCENE_BM25);
    close(s.get(1), 0.613018283132329, 'chunk 1');
    close(s.get(2), 0.2473703311819661, 'chunk 2');
    close(s.get(3), 0.3133357528304904, 'chunk 3');
  });

  test('a repeated query term counts once per occurrence', () => {
    assert.deepEqual([...queryTermCounts(['a', 'b', 'a'])], [['a', 2], ['b', 1]]);
    const s = scored(STATS, ['cherry', 'apple', 'cherry'], ANSERINI_BM25);
    close(s.get(3), 2 * 0.35074897704905644, 'chunk 3 doubles');
    close(s.get(1), 0.6764339675942941, 'chunk 1 unchanged');
  });

  test('b 0 ignores length, k1 0 ignores term frequency', () => {
    const noLength = scored(STATS, ['cherry'], { k1: 0.9, b: 0 });
    close(noLength.get(2), bm25Idf(3, 2) * (1 / 1.9), 'chunk 2');
    close(noLength.get(3), bm25Idf(3, 2) * (3 / 3.9), 'chunk 3');
    const binary = scored(STATS, ['cherry'], { k1: 0, b: 0.4 });
    close(binary.get(2), bm25Idf(3, 2), 'chunk 2');
    close(binary.get(3), bm25Idf(3, 2), 'chunk 3');
  });

  test('a call after a larger one starts from zero (the scratch sums are cleared)', () => {
    const big: LexicalStats = { chunkCount: 5000, averageLength: 3, postings: lists([['x', Array.from({ length: 5000 }, (_, i) => ({ chunkId: i, tf: 1, length: 3 }))]]) };
    const before = scored(STATS, ['apple', 'cherry'], ANSERINI_BM25);
    assert.equal(scored(big, ['x', 'x'], ANSERINI_BM25).size, 5000);
    assert.deepEqual(scored(STATS, ['apple', 'cherry'], ANSERINI_BM25), before);
  });

  test('terms absent from the index add nothing', () => {
    assert.equal(scored(STATS, ['zebra'], ANSERINI_BM25).size, 0);
  });

  test('bad parameters are refused by name', () => {
    assert.throws(() => scoreBm25(STATS, ['apple'], { k1: -1, b: 0.4 }), (e: unknown) => e instanceof RetrievalSettingsError && e.setting === 'k1');
    assert.throws(() => scoreBm25(STATS, ['apple'], { k1: 1, b: 1.5 }), (e: unknown) => e instanceof RetrievalSettingsError && e.setting === 'b' && /between 0 and 1/.test(e.message));
  });
});

describe("Lucene's one-byte lengths", () => {
  test('exact below 24 and for 3 more bits, then 4 significant bits of length − 24', () => {
    for (const n of [0, 1, 23, 24, 31, 39]) assert.equal(luceneLength(n), n);
    assert.equal(luceneLength(40), 40); // 16 = 0b10000 keeps 0b1000·2
    assert.equal(luceneLength(41), 40);
    assert.equal(luceneLength(214), 200); // 190 = 0b10111110 -> 0b1011·16 = 176
    assert.equal(luceneLength(1541), 24 + (((1541 - 24) >>> 7) << 7));
  });

  test("'lucene' lengths change the score of long chunks only", () => {
    const stats: LexicalStats = { chunkCount: 2, averageLength: 100, postings: lists([['t', [{ chunkId: 1, tf: 1, length: 214 }, { chunkId: 2, tf: 1, length: 10 }]]]) };
    const exact = scored(stats, ['t'], { ...ANSERINI_BM25, lengths: 'exact' });
    const lucene = scored(stats, ['t'], ANSERINI_BM25);
    const idf = bm25Idf(2, 2);
    close(exact.get(1), idf / (1 + 0.9 * (0.6 + (0.4 * 214) / 100)), 'exact long');
    close(lucene.get(1), idf / (1 + 0.9 * (0.6 + (0.4 * 200) / 100)), 'lucene long');
    close(lucene.get(2), exact.get(2)!, 'short');
  });
});

describe('bm25Search', () => {
  test('analyzes the query as the index was and returns the top k, ties by chunk id', async () => {
    const store = await boundStore();
    await store.writeDocuments([
      textDocument('a', 'Apples and bananas; an apple.'),
      textDocument('b', 'Banana with cherries'),
      textDocument('c', 'The cherry, cherries and more cherries on a date'),
      textDocument('d', 'Banana with cherries'),
    ]);
    const hits = await bm25Search(store, 'APPLES or Cherry?', 3);
    assert.deepEqual(store.lexicalCalls.at(-1)!.terms, ['appl', 'cherri']); // 'or' is a stop word
    assert.deepEqual(hits.map((h) => h.id), [1, 3, 2]);
    assert.ok(hits[0]!.score > hits[1]!.score && hits[1]!.score > hits[2]!.score);
    // chunks 2 and 4 tie; the smaller id comes first
    const all = await bm25Search(store, 'cherry', 10);
    assert.deepEqual(all.map((h) => h.id), [3, 2, 4]);
    assert.equal(all[1]!.score, all[2]!.score);
  });

  test('a query of stop words only asks the store nothing', async () => {
    const store = await boundStore();
    assert.deepEqual(await bm25Search(store, 'the and of', 5), []);
    assert.equal(store.lexicalCalls.length, 0);
  });
});
