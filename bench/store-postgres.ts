/**
 * Measures the PostgreSQL store at SciFact's size over the wire (not a test; numbers are noisy on a shared
 * machine):
 *   node --import tsx bench/store-postgres.ts [--url URL] [--scifact DIR] [--no-vectors]
 * Without --url it starts the PGlite socket server (test/helpers/pg-server.ts). With --scifact it indexes
 * that BEIR corpus with Forja's analyzer and runs its test queries; otherwise a synthetic corpus of the same
 * shape (5,183 chunks of 250-350 Zipf-distributed terms). Vectors are random, 384-d.
 * Reports ingest time (BM25 only, then with vectors), the HNSW index build, lexicalStats latency, and
 * vectorSearch latency exact and through HNSW with its recall@10 against exact.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { termFrequencies } from '../src/rag/lexical/analyzer.js';
import { PostgresStore } from '../src/rag/store/postgres.js';
import type { ChunkFilter, DocumentInput } from '../src/rag/store/types.js';
import { postgresUrl, stopPostgres } from '../test/helpers/pg-server.js';
import { percentiles, randomUnitVector, rng, scifactCorpus, zipfCorpus } from './store-corpus.js';

const DIM = 384;
const BATCH = 256;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { url: { type: 'string' }, scifact: { type: 'string' }, 'no-vectors': { type: 'boolean' } } });
  const base = values.url ?? (await postgresUrl());
  const withVectors = !values['no-vectors'];
  let inputs: DocumentInput[];
  let queryTerms: string[][];
  if (values.scifact) {
    const { docs, queries } = scifactCorpus(values.scifact);
    inputs = docs.map((d) => ({
      id: d.id, path: `corpus/${d.id}`, hash: d.id,
      chunks: [{ ordinal: 0, text: d.text, start: 0, end: d.text.length, headings: [], terms: termFrequencies(d.text) }],
    }));
    queryTerms = queries.map((q) => [...termFrequencies(q).keys()]);
  } else {
    // The synthetic terms are the tokens themselves, not analyzed.
    const { docs, queries } = zipfCorpus();
    inputs = docs.map((d, i) => {
      const terms = new Map<string, number>();
      for (const t of d.text.split(' ')) terms.set(t, (terms.get(t) ?? 0) + 1);
      return { id: String(i), path: `corpus/${i}`, hash: String(i), chunks: [{ ordinal: 0, text: [...terms.keys()].join(' '), start: 0, end: 1, headings: [], terms }] };
    });
    queryTerms = queries.map((q) => [...new Set(q.split(' '))]);
  }
  const postings = inputs.reduce((n, d) => n + d.chunks[0]!.terms.size, 0);
  console.log(`server ${base.replace(/:[^:@/]*@/, '@')}; corpus ${values.scifact ?? 'synthetic'}: ${inputs.length} chunks, ${postings} postings, ${queryTerms.length} queries`);

  const schemas: string[] = [];
  const urlFor = (schema: string) => {
    schemas.push(schema);
    const u = new URL(base);
    u.searchParams.set('schema', schema);
    return u.toString();
  };
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    const bm25Url = urlFor(`measure_bm25_${process.pid}`);
    const bm25 = await PostgresStore.open(bm25Url);
    await bm25.bind({ analyzer: 'measure' });
    const bm25Ms = await timed(async () => {
      for (let i = 0; i < inputs.length; i += BATCH) await bm25.writeDocuments(inputs.slice(i, i + BATCH));
    });
    console.log(`ingest BM25 only: ${(bm25Ms / 1000).toFixed(2)} s (batches of ${BATCH}; ${((inputs.length * 1000) / bm25Ms).toFixed(0)} docs/s, ${((postings * 1000) / bm25Ms / 1000).toFixed(0)}k postings/s)`);

    const filter: ChunkFilter = { pathGlob: 'corpus/1*' };
    for (const [label, f] of [['unfiltered', undefined], [`pathGlob ${filter.pathGlob}`, filter]] as const) {
      for (const q of queryTerms.slice(0, 20)) await bm25.lexicalStats(q, f);
      const ms: number[] = [];
      let rows = 0;
      for (const q of queryTerms) {
        ms.push(await timed(async () => {
          const s = await bm25.lexicalStats(q, f);
          for (const l of s.postings.values()) rows += l.chunkIds.length;
        }));
      }
      console.log(`lexicalStats ${label}: ${percentiles(ms)} (${(rows / queryTerms.length).toFixed(0)} postings per query)`);
    }
    await bm25.close();

    if (withVectors) {
      const r = rng(1);
      const dense = inputs.map((d) => ({ ...d, chunks: d.chunks.map((c) => ({ ...c, vector: randomUnitVector(r, DIM) })) }));
      const denseUrl = urlFor(`measure_dense_${process.pid}`);
      const exact = await PostgresStore.open(denseUrl);
      await exact.bind({ analyzer: 'measure', embedModel: 'random', dimension: DIM });
      const denseMs = await timed(async () => {
        for (let i = 0; i < dense.length; i += BATCH) await exact.writeDocuments(dense.slice(i, i + BATCH));
      });
      console.log(`ingest with ${DIM}-d vectors (below the exact-search limit: no index): ${(denseMs / 1000).toFixed(2)} s (${((dense.length * 1000) / denseMs).toFixed(0)} docs/s)`);
      // A handle whose limit the store now exceeds builds the HNSW index on its first write.
      const ann = await PostgresStore.open(denseUrl, { exactSearchLimit: 0 });
      const buildMs = await timed(() => ann.writeDocuments(dense.slice(-1)));
      console.log(`HNSW index build over ${dense.length} chunks (one write): ${(buildMs / 1000).toFixed(2)} s`);
      const qr = rng(99);
      const qvecs = Array.from({ length: 300 }, () => randomUnitVector(qr, DIM));
      for (const [label, f] of [['unfiltered', undefined], [`pathGlob ${filter.pathGlob}`, filter]] as const) {
        for (const q of qvecs.slice(0, 10)) await Promise.all([exact.vectorSearch(q, 10, f), ann.vectorSearch(q, 10, f)]);
        const te: number[] = [];
        const ta: number[] = [];
        let found = 0;
        for (const q of qvecs) {
          let want: number[] = [];
          let got: number[] = [];
          te.push(await timed(async () => (want = (await exact.vectorSearch(q, 10, f)).map((h) => h.chunkId))));
          ta.push(await timed(async () => (got = (await ann.vectorSearch(q, 10, f)).map((h) => h.chunkId))));
          const w = new Set(want);
          found += got.filter((id) => w.has(id)).length;
        }
        console.log(`vectorSearch k=10 ${label}: exact ${percentiles(te)}; HNSW ${percentiles(ta)}, recall@10 ${(found / (10 * qvecs.length)).toFixed(3)}`);
      }
      await exact.close();
      await ann.close();
    }
  } finally {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await admin.end();
    await stopPostgres();
  }
}

await main();
