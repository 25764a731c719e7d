import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ANSERINI_BM25, LUCENE_BM25 } from '../../../src/rag/lexical/bm25.js';
import { retrieve } from '../../../src/rag/retrieve.js';
import { RetrievalSettingsError } from '../../../src/rag/retrieve/errors.js';
import type { BeirDataset } from '../../../src/rag/eval/beir.js';
import { evaluate, quantile } from '../../../src/rag/eval/evaluate.js';
import { evaluateRun } from '../../../src/rag/eval/metrics.js';
import type { TextEmbedder, TextReranker } from '../../../src/text/embedder.js';
import { dataPath } from '../../helpers/fixtures.js';
import { type RecordingStore, beirStore, boundStore, textDocument } from '../memory-store.js';

const CORPUS: Record<string, string> = {
  q1: 'solar panels on roofs',
  d1: 'solar power from panels',
  d2: 'solar panels solar panels everywhere, gold standard',
  d3: 'wind turbines',
  d4: 'wind and solar farms',
};
// q1 is also a document id: BEIR drops it from q1's ranking.
const DATASET: BeirDataset = {
  dir: 'toy',
  split: 'test',
  queries: new Map([['q1', 'solar panels'], ['q2', 'wind turbines'], ['q3', 'tides']]),
  qrels: new Map([
    ['q1', new Map([['d2', 1], ['d1', 1]])],
    ['q2', new Map([['d3', 2], ['d4', 1]])],
    ['q3', new Map([['d3', 0]])],
  ]),
};

async function toyStore(withVectors = false): Promise<RecordingStore> {
  const store = await boundStore(withVectors ? 2 : undefined);
  await store.writeDocuments(Object.entries(CORPUS).map(([id, text]) => textDocument(id, text, { path: id, vector: withVectors ? toyVector(text) : undefined })));
  return store;
}

function toyVector(text: string): number[] {
  const solar = (text.match(/solar/g) ?? []).length;
  const wind = (text.match(/wind/g) ?? []).length;
  const n = Math.hypot(solar, wind) || 1;
  return [solar / n, wind / n];
}

const embedder: TextEmbedder = {
  modelId: 'toy',
  dimension: 2,
  maxTokens: 128,
  countTokens: (t) => t.split(' ').length,
  embed: async (texts) => texts.map((t) => Float32Array.from(toyVector(t))),
};
const gold: TextReranker = { modelId: 'gold', maxTokens: 512, score: async (_q, ps) => ps.map((p) => (p.includes('gold') ? 1 : 0)) };

describe('quantile', () => {
  test('linear between order statistics', () => {
    assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
    assert.ok(Math.abs(quantile([4, 1, 3, 2], 0.95) - 3.85) < 1e-12);
    assert.equal(quantile([7], 0.95), 7);
  });
});

describe('evaluate', () => {
  test('bm25: the report scores the run it returns, and drops a document named like its query', async () => {
    const store = await toyStore();
    const progress: number[] = [];
    const report = await evaluate({ store, dataset: DATASET, k: 3, onProgress: (p) => progress.push(p.done) });
    assert.deepEqual(report.modes.map((m) => m.mode), ['bm25']);
    assert.equal(report.queries, 3);
    assert.equal(report.queriesWithoutRelevant, 1);
    const bm25 = report.modes[0]!;
    assert.equal(bm25.identicalIdsRemoved, 1);
    assert.ok(!bm25.run.get('q1')!.some((d) => d.docId === 'q1'));
    assert.equal(bm25.run.get('q1')!.length, 3, 'one more document was fetched to make up for it');
    assert.deepEqual(bm25.metrics, evaluateRun(DATASET.qrels, bm25.run).metrics);
    // q3 ("tides") matches nothing: an empty ranking scoring 0
    assert.deepEqual(bm25.run.get('q3'), []);
    assert.deepEqual(progress, [1, 2, 3]);
    assert.ok(bm25.latencyMs.p50 >= 0 && bm25.latencyMs.p50 <= bm25.latencyMs.p95);
    const kept = await evaluate({ store, dataset: DATASET, k: 3, ignoreIdenticalIds: false });
    assert.ok(kept.modes[0]!.run.get('q1')!.some((d) => d.docId === 'q1'));
    assert.equal(kept.modes[0]!.identicalIdsRemoved, 0);
  });

  test('the run is retrieve() at the document level', async () => {
    const store = await toyStore();
    const report = await evaluate({ store, dataset: DATASET, k: 2, ignoreIdenticalIds: false, bm25: LUCENE_BM25 });
    const direct = await retrieve(store, 'wind turbines', { k: 2, unit: 'document', bm25: LUCENE_BM25 });
    assert.deepEqual(report.modes[0]!.run.get('q2'), direct.map((r) => ({ docId: r.chunk.docId, score: r.score })));
  });

  test('all four modes; rerank reorders the first stage', async () => {
    const store = await toyStore(true);
    const report = await evaluate({ store, dataset: DATASET, embedder, reranker: gold, k: 3 });
    assert.deepEqual(report.modes.map((m) => m.mode), ['bm25', 'dense', 'hybrid', 'rerank']);
    const [bm25, , , rerank] = report.modes;
    assert.equal(rerank!.run.get('q1')![0]!.docId, 'd2', 'the gold passage goes first');
    assert.equal(rerank!.perQuery.get('q1')!['MRR@10'], 1);
    assert.notDeepEqual(rerank!.run.get('q1'), bm25!.run.get('q1'));
    for (const m of report.modes) assert.equal(m.run.size, 3, m.mode);
  });

  test('modes without what they need are refused', async () => {
    const store = await toyStore();
    const refuses = (o: Partial<Parameters<typeof evaluate>[0]>, setting: string) =>
      assert.rejects(evaluate({ store, dataset: DATASET, ...o }), (e: unknown) => e instanceof RetrievalSettingsError && e.setting === setting, setting);
    await refuses({ modes: ['dense'] }, 'embedder');
    await refuses({ modes: ['rerank'] }, 'reranker');
    await refuses({ modes: ['rerank'], reranker: gold, rerank: { base: 'hybrid' } }, 'embedder');
    await refuses({ modes: ['rerank'], reranker: gold, k: 10, rerank: { top: 5 } }, 'rerank.top');
    await refuses({ modes: [] }, 'modes');
    await refuses({ k: 0 }, 'k');
  });
});

describe('SciFact (../shared/data/scifact, test split)', () => {
  test("BM25 nDCG@10 reaches the BEIR paper's 0.665 and Anserini's flat 0.679", async (t) => {
    const dir = dataPath('scifact');
    const store = await beirStore(`${dir}/corpus.jsonl`);
    const report = await evaluate({ store, dataset: dir, modes: ['bm25'], bm25: ANSERINI_BM25 });
    const bm25 = report.modes[0]!;
    t.diagnostic(`SciFact BM25 (k1 0.9, b 0.4, Lucene lengths): ${JSON.stringify(bm25.metrics)}, p50 ${bm25.latencyMs.p50.toFixed(2)} ms`);
    assert.equal(report.queries, 300);
    assert.equal(bm25.identicalIdsRemoved, 0, 'no SciFact query id is a document id');
    assert.ok(bm25.metrics['NDCG@10']! >= 0.665, `nDCG@10 ${bm25.metrics['NDCG@10']}`);
    // Anserini's published flat BM25 (trec_eval, 4 digits): 0.6789 nDCG@10, 0.9253 Recall@100
    assert.ok(Math.abs(bm25.metrics['NDCG@10']! - 0.6789) < 0.0005, `nDCG@10 ${bm25.metrics['NDCG@10']} vs Anserini 0.6789`);
    assert.ok(Math.abs(bm25.metrics['Recall@100']! - 0.9253) < 0.0005, `Recall@100 ${bm25.metrics['Recall@100']} vs Anserini 0.9253`);
  });
});
