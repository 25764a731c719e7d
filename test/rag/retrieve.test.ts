import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreMismatchError } from '../../src/rag/errors.js';
import { ANALYZER, termFrequencies } from '../../src/rag/lexical/analyzer.js';
import { bm25Search } from '../../src/rag/lexical/bm25.js';
import { retrieve, type RetrievalWarning } from '../../src/rag/retrieve.js';
import { RetrievalSettingsError } from '../../src/rag/retrieve/errors.js';
import type { DocumentInput } from '../../src/rag/store/types.js';
import type { TextEmbedder, TextReranker } from '../../src/text/embedder.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { type RecordingStore, boundStore, cosine, textDocument } from './memory-store.js';

// A toy embedder: one axis per topic word, so cosine similarity is predictable.
const TOPICS = ['cat', 'dog', 'car', 'bike'];
function toyVector(text: string): number[] {
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  const v = TOPICS.map((t) => words.filter((w) => w.startsWith(t)).length);
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

class ToyEmbedder implements TextEmbedder {
  readonly dimension = TOPICS.length;
  calls: string[][] = [];
  constructor(readonly modelId = 'toy', readonly maxTokens = 64) {}
  countTokens(text: string): number {
    return text.split(/\s+/).filter(Boolean).length;
  }
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    this.calls.push([...texts]);
    return texts.map((t) => Float32Array.from(toyVector(t)));
  }
}

// A toy cross-encoder: relevance is how often "gold" occurs.
class GoldReranker implements TextReranker {
  readonly modelId = 'gold';
  readonly maxTokens = 512;
  seen: string[] = [];
  async score(_query: string, passages: readonly string[]): Promise<number[]> {
    this.seen.push(...passages);
    return passages.map((p) => (p.match(/gold/g) ?? []).length);
  }
}

const TEXTS: Record<string, string> = {
  d1: 'cat cat cat dog',
  d2: 'cat dog dog',
  d3: 'car bike bike gold gold',
  d4: 'cat car gold',
  d5: 'bike bike bike',
};

async function toyStore(): Promise<RecordingStore> {
  const store = await boundStore(TOPICS.length);
  await store.writeDocuments(Object.entries(TEXTS).map(([id, text]) => textDocument(id, text, { path: `notes/${id}.txt`, vector: toyVector(text) })));
  return store;
}

const ids = (results: { chunk: { docId: string } }[]): string[] => results.map((r) => r.chunk.docId);

describe('retrieve', () => {
  test('bm25: chunk records, scores and ranks, the same order as bm25Search', async () => {
    const store = await toyStore();
    const results = await retrieve(store, 'cat', { mode: 'bm25', k: 3 });
    const hits = await bm25Search(store, 'cat', 3);
    assert.deepEqual(results.map((r) => r.chunk.id), hits.map((h) => h.id));
    assert.deepEqual(ids(results), ['d1', 'd2', 'd4']);
    const first = results[0]!;
    assert.equal(first.chunk.text, TEXTS.d1);
    assert.equal(first.chunk.path, 'notes/d1.txt');
    assert.deepEqual([first.chunk.start, first.chunk.end], [0, TEXTS.d1!.length]);
    assert.equal(first.score, hits[0]!.score);
    assert.deepEqual(results.map((r) => r.rank), [1, 2, 3]);
    assert.deepEqual(first.stages, { bm25: { score: hits[0]!.score, rank: 1 } });
  });

  test('bm25 takes k1 and b, and the filter reaches the store', async () => {
    const store = await toyStore();
    const results = await retrieve(store, 'cat', { k: 5, bm25: { k1: 1.2, b: 0.75 }, filter: { docIds: ['d2', 'd4'] } });
    assert.deepEqual(ids(results), ['d2', 'd4']);
    assert.deepEqual(store.lexicalCalls.at(-1)!.filter, { docIds: ['d2', 'd4'] });
    const globbed = await retrieve(store, 'cat', { k: 5, bm25: { b: 0 }, filter: { pathGlob: 'notes/d[12].txt' } });
    assert.deepEqual(ids(globbed), ['d1', 'd2']);
  });

  test('dense: ranked by cosine similarity of the embedded query', async () => {
    const store = await toyStore();
    const embedder = new ToyEmbedder();
    const results = await retrieve(store, 'bike', { mode: 'dense', embedder, k: 2 });
    assert.deepEqual(ids(results), ['d5', 'd3']);
    assert.ok(Math.abs(results[1]!.score - cosine(Float32Array.from(toyVector('bike')), Float32Array.from(toyVector(TEXTS.d3!)))) < 1e-6);
    assert.deepEqual(Object.keys(results[0]!.stages), ['dense']);
    assert.deepEqual(embedder.calls, [['bike']]);
  });

  test('hybrid: reciprocal rank fusion of both lists, by hand', async () => {
    const store = await toyStore();
    const query = 'dog car';
    const lexical = await retrieve(store, query, { mode: 'bm25', k: 5 });
    const dense = await retrieve(store, query, { mode: 'dense', embedder: new ToyEmbedder(), k: 5 });
    const rankIn = (list: typeof lexical, id: string): number | undefined => list.find((r) => r.chunk.docId === id)?.rank;
    const byHand = (c: number, wb: number, wd: number) =>
      Object.keys(TEXTS)
        .map((id) => {
          const a = rankIn(lexical, id);
          const b = rankIn(dense, id);
          return { id, score: (a ? wb / (c + a) : 0) + (b ? wd / (c + b) : 0) };
        })
        .filter((e) => e.score > 0 || rankIn(lexical, e.id) || rankIn(dense, e.id))
        .sort((x, y) => y.score - x.score);
    const hybrid = await retrieve(store, query, { mode: 'hybrid', embedder: new ToyEmbedder(), k: 5 });
    const expected = byHand(60, 1, 1);
    assert.deepEqual(hybrid.map((r) => r.score), expected.map((e) => e.score));
    for (const r of hybrid) {
      assert.equal(r.stages.fused!.rank, r.rank);
      assert.equal(r.stages.bm25?.rank, rankIn(lexical, r.chunk.docId));
      assert.equal(r.stages.dense?.rank, rankIn(dense, r.chunk.docId));
    }
    const weighted = await retrieve(store, query, { embedder: new ToyEmbedder(), k: 5, fusion: { k: 1, weights: { bm25: 2, dense: 0.5 } } });
    assert.deepEqual(weighted.map((r) => r.score), byHand(1, 2, 0.5).map((e) => e.score));
    // a dense weight of 0 leaves BM25's order in front
    const lexicalFirst = await retrieve(store, query, { embedder: new ToyEmbedder(), k: lexical.length, fusion: { weights: { dense: 0 } } });
    assert.deepEqual(ids(lexicalFirst), ids(lexical));
  });

  test('rerank: the cross-encoder scores the top rerankTop and reorders them', async () => {
    const store = await toyStore();
    const reranker = new GoldReranker();
    const results = await retrieve(store, 'cat car', { k: 2, reranker, rerankTop: 4 });
    // BM25 finds d1, d2, d3, d4 (d5 has neither word); gold: d3 2, d4 1, d1 and d2 0
    assert.deepEqual([...reranker.seen].sort(), [TEXTS.d1, TEXTS.d2, TEXTS.d3, TEXTS.d4].sort());
    assert.deepEqual(ids(results), ['d3', 'd4']);
    assert.deepEqual(results.map((r) => [r.score, r.stages.rerank!.score, r.stages.rerank!.rank]), [[2, 2, 1], [1, 1, 2]]);
    assert.ok(results[0]!.stages.bm25, 'earlier stages are kept');
  });

  test('mmr: a near-duplicate of a better result gives way to a different one', async () => {
    const store = await boundStore(TOPICS.length);
    await store.writeDocuments([
      textDocument('a', 'cat cat dog', { vector: toyVector('cat cat dog') }),
      textDocument('b', 'cat cat dog dog', { vector: toyVector('cat cat dog') }),
      textDocument('c', 'cat car car', { vector: toyVector('car') }),
    ]);
    const plain = await retrieve(store, 'cat', { k: 2 });
    assert.deepEqual(ids(plain), ['a', 'b']);
    const diverse = await retrieve(store, 'cat', { k: 2, mmr: { lambda: 0.5, fetchK: 3 } });
    assert.deepEqual(ids(diverse), ['a', 'c']);
    assert.deepEqual(diverse.map((r) => r.stages.mmr!.rank), [1, 2]);
    // without vectors MMR cannot compare chunks
    const bare = await boundStore();
    await bare.writeDocuments([textDocument('x', 'cat'), textDocument('y', 'cat cat')]);
    await assert.rejects(retrieve(bare, 'cat', { k: 1, mmr: {} }), (e: unknown) => e instanceof RetrievalSettingsError && e.setting === 'mmr');
  });

  test("unit 'document': each document once, by its best chunk", async () => {
    const store = await boundStore(TOPICS.length);
    const chunk = (ordinal: number, text: string) => ({ ordinal, text, start: ordinal * 100, end: ordinal * 100 + text.length, headings: ['H'], terms: termFrequencies(text), vector: Float32Array.from(toyVector(text)) });
    const docs: DocumentInput[] = [
      { id: 'long', path: 'long.md', hash: '1', chunks: [chunk(0, 'dog'), chunk(1, 'cat cat cat'), chunk(2, 'cat cat')] },
      { id: 'short', path: 'short.md', hash: '2', chunks: [chunk(0, 'cat dog')] },
    ];
    await store.writeDocuments(docs);
    const chunks = await retrieve(store, 'cat', { k: 3 });
    assert.deepEqual(ids(chunks), ['long', 'long', 'short']);
    for (const mode of ['bm25', 'dense', 'hybrid'] as const) {
      const byDoc = await retrieve(store, 'cat', { mode, k: 2, unit: 'document', embedder: new ToyEmbedder() });
      assert.deepEqual(ids(byDoc), ['long', 'short'], mode);
      assert.equal(byDoc[0]!.chunk.ordinal, 1, `${mode}: the best chunk stands for the document`);
      assert.equal(byDoc[0]!.chunk.start, 100);
    }
  });

  test('a query longer than the embedder reads is reported through onWarning', async () => {
    const store = await toyStore();
    const warnings: RetrievalWarning[] = [];
    const embedder = new ToyEmbedder('toy', 5);
    await retrieve(store, 'cat dog car', { mode: 'dense', embedder, onWarning: (w) => warnings.push(w) });
    assert.equal(warnings.length, 0, 'three words and two special tokens fit in 5');
    const results = await retrieve(store, 'cat dog car bike', { mode: 'hybrid', embedder, onWarning: (w) => warnings.push(w) });
    assert.ok(results.length > 0);
    assert.equal(warnings.length, 1);
    assert.deepEqual({ ...warnings[0]!, message: '' }, { code: 'query-truncated', model: 'toy', tokens: 6, maxTokens: 5, message: '' });
    assert.match(warnings[0]!.message, /6 tokens.*first 5/);
  });

  test('settings that cannot work are refused by name', async () => {
    const store = await toyStore();
    const refuses = async (options: Parameters<typeof retrieve>[2], setting: string): Promise<void> => {
      await assert.rejects(retrieve(store, 'cat', options), (e: unknown) => e instanceof RetrievalSettingsError && e.setting === setting, setting);
    };
    await refuses({ mode: 'dense' }, 'embedder');
    await refuses({ mode: 'sparse' as 'bm25' }, 'mode');
    await refuses({ k: 0 }, 'k');
    await refuses({ rerankTop: 5 }, 'rerankTop');
    await refuses({ k: 10, reranker: new GoldReranker(), rerankTop: 5 }, 'rerankTop');
    await refuses({ k: 10, mmr: { fetchK: 3 } }, 'mmr.fetchK');
    await refuses({ mmr: { lambda: 2 } }, 'mmr.lambda');
    await refuses({ embedder: new ToyEmbedder(), fusion: { k: -1 } }, 'fusion.k');
    await refuses({ bm25: { b: 2 } }, 'b');
    await refuses({ filter: { pages: { from: 3, to: 1 } } }, 'pages');
    await refuses({ unit: 'page' as 'chunk' }, 'unit');
  });

  test('a store built otherwise is refused, naming both sides', async () => {
    const other = new MemoryStore();
    await other.bind({ analyzer: 'whitespace-1' });
    await assert.rejects(retrieve(other, 'cat'), (e: unknown) => e instanceof StoreMismatchError && e.stored === 'whitespace-1' && e.requested === ANALYZER);
    const store = await toyStore();
    await assert.rejects(retrieve(store, 'cat', { embedder: new ToyEmbedder('minilm') }), (e: unknown) => e instanceof StoreMismatchError && e.setting === 'embedding model' && e.stored === 'toy');
    const lexicalOnly = await boundStore();
    await assert.rejects(retrieve(lexicalOnly, 'cat', { embedder: new ToyEmbedder() }), (e: unknown) => e instanceof RetrievalSettingsError && e.setting === 'embedder');
    assert.deepEqual(await retrieve(lexicalOnly, 'cat', { mode: 'bm25', embedder: new ToyEmbedder() }), [], 'bm25 does not need embeddings');
  });
});
