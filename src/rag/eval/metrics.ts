/**
 * Retrieval metrics with the definitions BEIR reports: nDCG@k, MAP@k and Recall@k as pytrec_eval
 * (trec_eval 9) computes `ndcg_cut`, `map_cut` and `recall`, and MRR@k as BEIR's own `mrr`.
 *
 * - A document is relevant when its grade is at least 1; unjudged documents are not relevant.
 * - nDCG@k: Σ_{i ≤ k} grade_i / log2(i + 1) over the ranking, divided by the same sum over the qrels'
 *   grades sorted down (the ideal ranking); 0 when no document has a positive grade.
 * - MAP@k: Σ precision@i over the relevant documents at ranks i ≤ k, divided by the number of relevant
 *   documents in the qrels (not by min(k, that number)).
 * - Recall@k: relevant documents in the top k over relevant documents in the qrels.
 * - MRR@k: 1 / rank of the first relevant document within the top k, else 0.
 * - Ties: trec_eval ignores the given order and sorts by score (as a 32-bit float) down, then by document
 *   id in *descending* byte order; BEIR's MRR keeps the given order among equal scores (a stable sort).
 * - The mean is over every judged query; a query the run lacks scores 0, and a query whose judgments
 *   are all 0 is kept and scores 0, as BEIR's averages keep it (see `queriesWithoutRelevant`).
 */
import type { Qrels } from './beir.js';

export interface RankedDoc {
  docId: string;
  score: number;
}

/** Query id -> its ranking, best first. */
export type Run = Map<string, RankedDoc[]>;

export interface Cutoffs {
  ndcg: readonly number[];
  map: readonly number[];
  recall: readonly number[];
  mrr: readonly number[];
}

/** What the issue and BEIR's SciFact table report: nDCG@10, MAP@100, Recall@10/100, MRR@10. */
export const DEFAULT_CUTOFFS: Readonly<Cutoffs> = Object.freeze({ ndcg: [10], map: [100], recall: [10, 100], mrr: [10] });

/** Metric name (BEIR's: `NDCG@10`, `MAP@100`, `Recall@10`, `MRR@10`) -> value. */
export type Metrics = Record<string, number>;

export interface RunEvaluation {
  /** Means over `queries`. */
  metrics: Metrics;
  perQuery: Map<string, Metrics>;
  queries: number;
  /** Judged queries with no document of grade ≥ 1: they count as 0 in every mean. */
  queriesWithoutRelevant: number;
}

function byteCompare(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-8 byte order is code point order; UTF-16 unit order differs only around surrogates.
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A ranking in trec_eval's order: score as float32 down, then document id down. */
export function trecOrder(ranking: readonly RankedDoc[]): RankedDoc[] {
  return [...ranking].sort((x, y) => Math.fround(y.score) - Math.fround(x.score) || byteCompare(y.docId, x.docId));
}

/** A ranking in BEIR's MRR order: score down, equal scores in the given order. */
export function beirOrder(ranking: readonly RankedDoc[]): RankedDoc[] {
  return [...ranking].sort((x, y) => y.score - x.score);
}

function relevantCount(judged: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const g of judged.values()) if (g >= 1) n++;
  return n;
}

/** nDCG@k of a ranking already in trec_eval order. */
export function ndcgAt(ranked: readonly RankedDoc[], judged: ReadonlyMap<string, number>, k: number): number {
  let dcg = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) {
    const g = judged.get(ranked[i]!.docId) ?? 0;
    if (g > 0) dcg += g / Math.log2(i + 2);
  }
  const ideal = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a);
  let idcg = 0;
  for (let i = 0; i < Math.min(k, ideal.length); i++) idcg += ideal[i]! / Math.log2(i + 2);
  return idcg > 0 ? dcg / idcg : 0;
}

/** MAP@k (average precision cut at k) of a ranking already in trec_eval order. */
export function averagePrecisionAt(ranked: readonly RankedDoc[], judged: ReadonlyMap<string, number>, k: number): number {
  const relevant = relevantCount(judged);
  if (relevant === 0) return 0;
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) {
    if ((judged.get(ranked[i]!.docId) ?? 0) >= 1) sum += ++hits / (i + 1);
  }
  return sum / relevant;
}

/** Recall@k of a ranking already in trec_eval order. */
export function recallAt(ranked: readonly RankedDoc[], judged: ReadonlyMap<string, number>, k: number): number {
  const relevant = relevantCount(judged);
  if (relevant === 0) return 0;
  let hits = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) if ((judged.get(ranked[i]!.docId) ?? 0) >= 1) hits++;
  return hits / relevant;
}

/** MRR@k (reciprocal rank of the first relevant document) of a ranking already in BEIR order. */
export function reciprocalRankAt(ranked: readonly RankedDoc[], judged: ReadonlyMap<string, number>, k: number): number {
  for (let i = 0; i < Math.min(k, ranked.length); i++) if ((judged.get(ranked[i]!.docId) ?? 0) >= 1) return 1 / (i + 1);
  return 0;
}

function checkCutoffs(cutoffs: Cutoffs): void {
  for (const [name, ks] of Object.entries(cutoffs) as [string, readonly number[]][]) {
    for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new RangeError(`evaluateRun: ${name} cutoff ${k} is not a positive integer`);
  }
}

/** Every metric of every judged query, and their means. */
export function evaluateRun(qrels: Qrels, run: Run, cutoffs: Cutoffs = DEFAULT_CUTOFFS): RunEvaluation {
  checkCutoffs(cutoffs);
  const perQuery = new Map<string, Metrics>();
  const sums: Metrics = {};
  let withoutRelevant = 0;
  for (const [qid, judged] of qrels) {
    const ranking = run.get(qid) ?? [];
    const seen = new Set<string>();
    for (const d of ranking) {
      if (seen.has(d.docId)) throw new RangeError(`evaluateRun: query ${qid} ranks document ${d.docId} twice`);
      seen.add(d.docId);
    }
    if (relevantCount(judged) === 0) withoutRelevant++;
    const trec = trecOrder(ranking);
    const beir = beirOrder(ranking);
    const m: Metrics = {};
    for (const k of cutoffs.ndcg) m[`NDCG@${k}`] = ndcgAt(trec, judged, k);
    for (const k of cutoffs.map) m[`MAP@${k}`] = averagePrecisionAt(trec, judged, k);
    for (const k of cutoffs.recall) m[`Recall@${k}`] = recallAt(trec, judged, k);
    for (const k of cutoffs.mrr) m[`MRR@${k}`] = reciprocalRankAt(beir, judged, k);
    perQuery.set(qid, m);
    for (const [name, v] of Object.entries(m)) sums[name] = (sums[name] ?? 0) + v;
  }
  const metrics: Metrics = {};
  for (const [name, sum] of Object.entries(sums)) metrics[name] = qrels.size ? sum / qrels.size : 0;
  return { metrics, perQuery, queries: qrels.size, queriesWithoutRelevant: withoutRelevant };
}
