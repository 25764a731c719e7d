/**
 * npm run bench:hnsw [-- N [efConstruction]]: Forja's HNSW graph (src/rag/store/sqlite/hnsw.ts) against
 * the store's exact search (ExactVectorIndex) on N random clustered 384-d vectors (default 50,000):
 * build time, query latency p50/p95 and recall@10 against exact, at several efSearch values, and the
 * exact search latency on the same data. In memory, one thread; timings are noisy on a shared machine.
 */
import { Hnsw } from '../src/rag/store/sqlite/hnsw.js';
import { ExactVectorIndex } from '../src/rag/store/sqlite/vector-index.js';
import { Rng } from '../src/core/rng.js';

const N = Number(process.argv[2] ?? 50_000);
const EF_CONSTRUCTION = Number(process.argv[3] ?? 200);
const DIM = 384;
const M = 16;
const CLUSTERS = 1000;
const QUERIES = 200;
const K = 10;

/** Uniform [0, 1) numbers from Forja's seeded Rng. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

// Clusters of different spreads around Gaussian centres, queries drawn the same way.
const r = rng(2024);
const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
const centres = Array.from({ length: CLUSTERS }, () => ({ c: Float32Array.from({ length: DIM }, gauss), spread: 0.3 + 0.5 * r() }));
function sample(n: number): Float32Array {
  const out = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    const { c, spread } = centres[Math.floor(r() * CLUSTERS)]!;
    for (let j = 0; j < DIM; j++) out[i * DIM + j] = c[j]! + spread * gauss();
  }
  return out;
}
const data = sample(N);
const queries = sample(QUERIES);
const row = (m: Float32Array, i: number) => m.subarray(i * DIM, (i + 1) * DIM);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
const ms = (x: number) => x.toFixed(3);

const ids = Float64Array.from({ length: N }, (_, i) => i);
const exact = new ExactVectorIndex(ids, data, DIM);
const exactTimes: number[] = [];
const truth: Set<number>[] = [];
for (let q = 0; q < QUERIES; q++) {
  const t0 = performance.now();
  const hits = exact.search(row(queries, q), K, undefined);
  exactTimes.push(performance.now() - t0);
  truth.push(new Set(hits.map((h) => h.chunkId)));
}
exactTimes.sort((a, b) => a - b);

const t0 = performance.now();
const graph = new Hnsw(DIM, { m: M, efConstruction: EF_CONSTRUCTION, seed: 1 });
for (let i = 0; i < N; i++) graph.insert(i, row(data, i));
const buildS = (performance.now() - t0) / 1000;
const bytes = graph.serialize().byteLength;

console.log(`# HNSW vs exact, ${N} clustered ${DIM}-d vectors (${CLUSTERS} clusters), ${QUERIES} queries, k=${K}, ${new Date().toISOString().slice(0, 10)}`);
console.log(`build: ${buildS.toFixed(1)} s (M=${M}, efConstruction=${EF_CONSTRUCTION}, ${(N / buildS).toFixed(0)} vectors/s); graph ${(bytes / 2 ** 20).toFixed(1)} MiB without vectors`);
console.log(`exact: p50 ${ms(percentile(exactTimes, 0.5))} ms, p95 ${ms(percentile(exactTimes, 0.95))} ms`);
console.log('| efSearch | recall@10 | p50 ms | p95 ms | speed-up at p50 |');
console.log('|---|---|---|---|---|');
for (const ef of [16, 32, 64, 128, 256]) {
  const times: number[] = [];
  let recall = 0;
  for (let q = 0; q < QUERIES; q++) {
    const t = performance.now();
    const hits = graph.search(graph.normalise(row(queries, q)), K, ef);
    times.push(performance.now() - t);
    recall += hits.filter((h) => truth[q]!.has(h.id)).length / K;
  }
  times.sort((a, b) => a - b);
  const p50 = percentile(times, 0.5);
  console.log(`| ${ef} | ${(recall / QUERIES).toFixed(4)} | ${ms(p50)} | ${ms(percentile(times, 0.95))} | ${(percentile(exactTimes, 0.5) / p50).toFixed(0)}× |`);
}
