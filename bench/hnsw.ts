/**
 * npm run bench:hnsw [-- --n N] [--ef-construction E] [--data latent,uniform,clustered]: Forja's HNSW
 * graph (src/rag/store/sqlite/hnsw.ts) against the store's exact search (ExactVectorIndex) on N 384-d
 * vectors (default 50,000) of each data set: build time, query latency p50/p95 and recall@10 against
 * exact at several efSearch values, and exact search latency on the same data. In memory, one thread;
 * timings are noisy on a shared machine. The data sets, hardest last:
 *   - clustered: 1,000 tight Gaussian clusters (the old default; recall is 1.0 from efSearch 64, so it
 *     hides the trade-off);
 *   - latent: a low intrinsic dimension, as text embeddings have: a 48-d Gaussian with a decaying
 *     spectrum, mapped to 384-d by a random linear map, plus isotropic noise;
 *   - uniform: uniform on the sphere, where near and far neighbours are almost equally far (worst case).
 */
import { parseArgs } from 'node:util';
import { Hnsw } from '../src/rag/store/sqlite/hnsw.js';
import { ExactVectorIndex } from '../src/rag/store/sqlite/vector-index.js';
import { Rng } from '../src/core/rng.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '50000' },
    'ef-construction': { type: 'string', default: '200' },
    data: { type: 'string', default: 'latent,uniform' },
  },
});
const N = Number(values.n);
const EF_CONSTRUCTION = Number(values['ef-construction']);
const DIM = 384;
const M = 16;
const QUERIES = 200;
const K = 10;
const EF_SEARCH = [10, 16, 32, 64, 128, 256, 512];

type Sampler = (n: number) => Float32Array;

function gaussian(seed: number): () => number {
  const r = new Rng(seed);
  return () => Math.sqrt(-2 * Math.log(r.next() + 1e-12)) * Math.cos(2 * Math.PI * r.next());
}

/** 1,000 clusters of different spreads around Gaussian centres. */
function clustered(seed: number): Sampler {
  const g = gaussian(seed);
  const r = new Rng(seed + 1);
  const centres = Array.from({ length: 1000 }, () => ({ c: Float32Array.from({ length: DIM }, g), spread: 0.3 + 0.5 * r.next() }));
  return (n) => {
    const out = new Float32Array(n * DIM);
    for (let i = 0; i < n; i++) {
      const { c, spread } = centres[r.int(centres.length)]!;
      for (let j = 0; j < DIM; j++) out[i * DIM + j] = c[j]! + spread * g();
    }
    return out;
  };
}

/**
 * z ~ N(0, diag(1/(1 + i/4))) in 48 dimensions (a decaying spectrum), then x = A·z + 0.15·noise with A a
 * fixed random 384×48 map: neighbours are decided by a few dozen directions, as for sentence embeddings.
 * (With tight clusters in that space instead, recall is 1.0 from efSearch 32, as for `clustered`.)
 */
function latent(seed: number): Sampler {
  const LATENT = 48;
  const g = gaussian(seed);
  const scale = Float32Array.from({ length: LATENT }, (_, i) => 1 / Math.sqrt(1 + i / 4));
  const a = Float32Array.from({ length: DIM * LATENT }, () => g() / Math.sqrt(LATENT));
  const z = new Float32Array(LATENT);
  return (n) => {
    const out = new Float32Array(n * DIM);
    for (let p = 0; p < n; p++) {
      for (let i = 0; i < LATENT; i++) z[i] = scale[i]! * g();
      for (let j = 0; j < DIM; j++) {
        let s = 0;
        for (let i = 0; i < LATENT; i++) s += a[j * LATENT + i]! * z[i]!;
        out[p * DIM + j] = s + 0.15 * g();
      }
    }
    return out;
  };
}

/** Uniform on the sphere: normalised isotropic Gaussians. */
function uniform(seed: number): Sampler {
  const g = gaussian(seed);
  return (n) => Float32Array.from({ length: n * DIM }, g);
}

const SETS: Record<string, (seed: number) => Sampler> = { clustered, latent, uniform };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
const ms = (x: number) => x.toFixed(3);
const row = (m: Float32Array, i: number) => m.subarray(i * DIM, (i + 1) * DIM);

function bench(name: string): void {
  const make = SETS[name];
  if (!make) throw new Error(`bench:hnsw: unknown data set ${JSON.stringify(name)} (known: ${Object.keys(SETS).join(', ')})`);
  const sample = make(2024);
  const data = sample(N);
  const queries = sample(QUERIES);

  const exact = new ExactVectorIndex(Float64Array.from({ length: N }, (_, i) => i), data, DIM);
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

  console.log(`\n## ${name}: ${N} vectors, ${DIM}-d, ${QUERIES} queries, k=${K}`);
  console.log(`build: ${buildS.toFixed(1)} s (M=${M}, efConstruction=${EF_CONSTRUCTION}, ${(N / buildS).toFixed(0)} vectors/s); graph ${(graph.serialize().byteLength / 2 ** 20).toFixed(1)} MiB without vectors`);
  console.log(`exact: p50 ${ms(percentile(exactTimes, 0.5))} ms, p95 ${ms(percentile(exactTimes, 0.95))} ms`);
  console.log('| efSearch | recall@10 | p50 ms | p95 ms | speed-up at p50 |');
  console.log('|---|---|---|---|---|');
  for (const ef of EF_SEARCH) {
    const times: number[] = [];
    let recall = 0;
    for (let q = 0; q < QUERIES; q++) {
      const t = performance.now();
      const hits = graph.search(graph.normalise(row(queries, q)), K, Math.max(ef, K));
      times.push(performance.now() - t);
      recall += hits.filter((h) => truth[q]!.has(h.id)).length / K;
    }
    times.sort((a, b) => a - b);
    const p50 = percentile(times, 0.5);
    console.log(`| ${ef} | ${(recall / QUERIES).toFixed(4)} | ${ms(p50)} | ${ms(percentile(times, 0.95))} | ${(percentile(exactTimes, 0.5) / p50).toFixed(0)}× |`);
  }
}

console.log(`# HNSW vs exact search, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`);
for (const name of values.data.split(',')) bench(name.trim());
