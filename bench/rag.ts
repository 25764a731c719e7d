/**
 * `npm run bench:rag`: the RAG pipeline's costs on BEIR SciFact (../shared/data/scifact, read in place), in one run:
 *   - ingest time of the 5,183 abstracts into a fresh SQLite store, BM25 only;
 *   - ingest time with a MiniLM-shaped embedder of random weights (6 layers, 384 wide: the dense cost, not
 *     its quality) on the first --dense-docs documents (default 300: the whole corpus takes ~40 minutes on
 *     2 cores), as documents/s;
 *   - query latency p50/p95 over the 300 test queries for bm25, dense and hybrid on the whole corpus. The
 *     targets exclude the embedder, so the dense store's 384-d vectors come from a cheap stand-in (seeded
 *     random projections of each text's terms; search costs the same for any vectors of that size) and
 *     query vectors are computed before the clock starts. The MiniLM's own time per query is reported beside.
 * Embedding throughput against transformers.js is `npm run bench:embed`.
 *
 *   npm run bench:rag -- [--dense-docs N] [--threads N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadSentenceEmbedder } from '../src/models/bert/embedder.js';
import { loadBeirDataset } from '../src/rag/eval/beir.js';
import { quantile } from '../src/rag/eval/evaluate.js';
import { ingest } from '../src/rag/ingest.js';
import { retrieve, type RetrievalMode } from '../src/rag/retrieve.js';
import { createStore } from '../src/rag/store/open.js';
import type { Store } from '../src/rag/store/types.js';
import { Rng } from '../src/core/rng.js';
import { termFrequencies } from '../src/rag/lexical/analyzer.js';
import { setThreads } from '../src/runtime/session.js';
import type { EmbeddingRole, TextEmbedder } from '../src/text/embedder.js';
import { writeRandomMiniLm } from './random-minilm.js';

const SCIFACT = fileURLToPath(new URL('../../shared/data/scifact/', import.meta.url));

const { values } = parseArgs({ options: { 'dense-docs': { type: 'string', default: '300' }, threads: { type: 'string', default: '2' } } });
const threads = Number(values.threads);
setThreads(threads);

/** The corpus's first `n` documents as a temp corpus.jsonl. */
async function corpusHead(dir: string, n: number): Promise<string> {
  const { readFile, writeFile } = await import('node:fs/promises');
  const lines = (await readFile(join(SCIFACT, 'corpus.jsonl'), 'utf8')).split('\n').filter(Boolean).slice(0, n);
  const path = join(dir, 'corpus-head.jsonl');
  await writeFile(path, lines.join('\n') + '\n');
  return path;
}

/** 384-d vectors in microseconds: the normalised sum of a seeded random vector per analyzed term. */
function projectionEmbedder(dimension: number): TextEmbedder {
  const basis = new Map<string, Float32Array>();
  const termVector = (term: string): Float32Array => {
    let v = basis.get(term);
    if (!v) {
      const rng = new Rng([...term].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7));
      v = Float32Array.from({ length: dimension }, () => rng.next() - 0.5);
      basis.set(term, v);
    }
    return v;
  };
  const embedOne = (text: string): Float32Array => {
    const out = new Float32Array(dimension);
    for (const [term, tf] of termFrequencies(text)) {
      const v = termVector(term);
      for (let i = 0; i < dimension; i++) out[i]! += tf * v[i]!;
    }
    const norm = Math.hypot(...out) || 1;
    return out.map((x) => x / norm);
  };
  return { modelId: `random-projection-${dimension}`, dimension, maxTokens: 1_000_000, countTokens: (t) => t.split(/\s+/).filter(Boolean).length, embed: async (texts) => texts.map(embedOne) };
}

/** An embedder that answers queries from vectors computed beforehand: retrieval is then timed alone. */
function cached(embedder: TextEmbedder, vectors: Map<string, Float32Array>): TextEmbedder {
  return {
    modelId: embedder.modelId, dimension: embedder.dimension, maxTokens: embedder.maxTokens,
    countTokens: (t) => embedder.countTokens(t),
    embed: async (texts: readonly string[], role?: EmbeddingRole) => {
      if (role !== 'query') return embedder.embed(texts, role);
      return texts.map((t) => {
        const v = vectors.get(t);
        if (!v) throw new Error(`bench: no cached vector for query ${JSON.stringify(t)}`);
        return v;
      });
    },
  };
}

async function latencies(store: Store, queries: string[], mode: RetrievalMode, embedder?: TextEmbedder): Promise<{ p50: number; p95: number }> {
  for (const q of queries.slice(0, 20)) await retrieve(store, q, { mode, k: 10, ...(embedder && { embedder }) }); // warm caches
  const times: number[] = [];
  for (const q of queries) {
    const t0 = performance.now();
    await retrieve(store, q, { mode, k: 10, ...(embedder && { embedder }) });
    times.push(performance.now() - t0);
  }
  return { p50: quantile(times, 0.5), p95: quantile(times, 0.95) };
}

async function timedIngest(path: string, corpus: string, embedder?: TextEmbedder): Promise<{ store: Store; seconds: number; chunks: number; docs: number }> {
  const store = await createStore(path);
  const chunkSize = Math.min(embedder ? embedder.maxTokens - 2 : Infinity, 1_000_000);
  const t0 = performance.now();
  const summary = await ingest(store, corpus, { ...(embedder && { embedder }), chunkSize, overlap: Math.min(32, Math.floor(chunkSize / 8)), batchSize: 512 });
  return { store, seconds: (performance.now() - t0) / 1000, chunks: summary.chunks, docs: summary.added };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'forja-bench-rag-'));
  try {
    const corpus = join(SCIFACT, 'corpus.jsonl');
    const dataset = await loadBeirDataset(SCIFACT, 'test');
    const queries = [...dataset.queries.values()];
    const load0 = loadavg()[0]!;

    const bm25 = await timedIngest(join(dir, 'bm25.sqlite'), corpus);
    const bm25Latency = await latencies(bm25.store, queries, 'bm25');
    await bm25.store.close();

    const projection = projectionEmbedder(384);
    const dense = await timedIngest(join(dir, 'dense.sqlite'), corpus, projection);
    const qv = await projection.embed(queries, 'query');
    const fast = cached(projection, new Map(queries.map((q, i) => [q, qv[i]!])));
    const denseLatency = await latencies(dense.store, queries, 'dense', fast);
    const hybridLatency = await latencies(dense.store, queries, 'hybrid', fast);
    await dense.store.close();

    const modelDir = join(dir, 'minilm');
    await writeRandomMiniLm(modelDir);
    const embedder = await loadSentenceEmbedder(modelDir);
    const minilm = await timedIngest(join(dir, 'minilm.sqlite'), await corpusHead(dir, Number(values['dense-docs'])), embedder);
    const t0 = performance.now();
    await embedder.embed(queries, 'query');
    const embedMsPerQuery = (performance.now() - t0) / queries.length;
    await minilm.store.close();
    await embedder.release();

    const ms = (x: number) => x.toFixed(2);
    console.log(`SciFact: ${bm25.docs} documents, ${queries.length} test queries; ${threads} threads; load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}\n`);
    console.log('| step | documents | chunks | time | target |');
    console.log('|---|---:|---:|---:|---|');
    console.log(`| ingest, BM25 only (one chunk per document) | ${bm25.docs} | ${bm25.chunks} | ${bm25.seconds.toFixed(1)} s | < 10 s: ${bm25.seconds < 10 ? 'met' : 'NOT met'} |`);
    console.log(`| ingest with 384-d stand-in vectors (one chunk per document) | ${dense.docs} | ${dense.chunks} | ${dense.seconds.toFixed(1)} s | — |`);
    console.log(`| ingest with the MiniLM-shaped embedder (chunks ≤ ${embedder.maxTokens - 2} tokens) | ${minilm.docs} | ${minilm.chunks} | ${minilm.seconds.toFixed(1)} s (${(minilm.docs / minilm.seconds).toFixed(2)} docs/s, ${(minilm.chunks / minilm.seconds).toFixed(1)} chunks/s) | — |`);
    console.log('\n| query, k 10, over all documents | p50 | p95 | target |');
    console.log('|---|---:|---:|---|');
    console.log(`| bm25 | ${ms(bm25Latency.p50)} ms | ${ms(bm25Latency.p95)} ms | p95 < 10 ms: ${bm25Latency.p95 < 10 ? 'met' : 'NOT met'} |`);
    console.log(`| dense (exact; query vector given) | ${ms(denseLatency.p50)} ms | ${ms(denseLatency.p95)} ms | — |`);
    console.log(`| hybrid (query vector given) | ${ms(hybridLatency.p50)} ms | ${ms(hybridLatency.p95)} ms | p95 < 30 ms: ${hybridLatency.p95 < 30 ? 'met' : 'NOT met'} |`);
    console.log(`| the MiniLM-shaped embedder alone, per query (batched) | ${ms(embedMsPerQuery)} ms | | excluded above |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
