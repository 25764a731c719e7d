/** The corpora and helpers the store benchmarks (store-sqlite.ts, store-postgres.ts) share. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';

export interface Corpus {
  docs: { id: string; text: string }[];
  queries: string[];
}

/** Uniform [0, 1) numbers from Forja's seeded Rng. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** BEIR SciFact: each document as title + text, and the test queries. */
export function scifactCorpus(dir: string): Corpus {
  const lines = (f: string) => readFileSync(join(dir, f), 'utf8').trim().split('\n');
  const docs = lines('corpus.jsonl').map((l) => {
    const o = JSON.parse(l) as { _id: string; title: string; text: string };
    return { id: o._id, text: `${o.title}\n${o.text}` };
  });
  const testIds = new Set(lines('qrels/test.tsv').slice(1).map((l) => l.split('\t')[0]));
  const queries = lines('queries.jsonl')
    .map((l) => JSON.parse(l) as { _id: string; text: string })
    .filter((q) => testIds.has(q._id))
    .map((q) => q.text);
  return { docs, queries };
}

/** SciFact's size in synthetic terms `t0`…`t29999` drawn Zipf(1), space-separated: 5,183 documents, 300 queries. */
export function zipfCorpus(seed = 7): Corpus {
  const r = rng(seed);
  const vocab = 30_000;
  // Zipf(1) over the vocabulary by inverse transform on the harmonic CDF.
  const cdf = new Float64Array(vocab);
  let h = 0;
  for (let i = 0; i < vocab; i++) cdf[i] = h += 1 / (i + 1);
  const draw = () => {
    const x = r() * h;
    let lo = 0;
    let hi = vocab - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return `t${lo}`;
  };
  const docs = Array.from({ length: 5183 }, (_, i) => ({
    id: String(i),
    text: Array.from({ length: 250 + Math.floor(r() * 100) }, draw).join(' '),
  }));
  const queries = Array.from({ length: 300 }, () => Array.from({ length: 8 + Math.floor(r() * 10) }, draw).join(' '));
  return { docs, queries };
}

/** A random unit vector of `dim` values. */
export function randomUnitVector(r: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = r() * 2 - 1;
    n += v[i]! * v[i]!;
  }
  for (let i = 0; i < dim; i++) v[i]! /= Math.sqrt(n);
  return v;
}

export function percentiles(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return `p50 ${at(0.5).toFixed(2)} ms, p95 ${at(0.95).toFixed(2)} ms, max ${at(1).toFixed(2)} ms`;
}
