/**
 * BM25 over a store's term statistics, as Lucene's BM25Similarity (which Anserini uses) scores it:
 *
 *   score(q, d) = Σ_{t in q} idf(t) · tf / (tf + k1 · (1 − b + b · |d| / avgdl))
 *   idf(t)      = ln(1 + (N − df + 0.5) / (df + 0.5))
 *
 * A term repeated in the query counts once per occurrence, as Anserini's bag-of-words query boosts it.
 * Lucene (since 8.0) leaves out BM25's constant (k1 + 1) factor, so scores compare with Anserini's run
 * files; rankings are unaffected either way. Lucene stores each document's length in one lossy byte
 * (exact below 24 terms, then 3 significant bits); `lengths: 'lucene'` scores with those decoded lengths,
 * which reproduces Anserini's SciFact nDCG@10 (0.6789) to the fourth digit, `'exact'` with the true ones.
 */
import type { ChunkFilter, LexicalStats, Store, TermPostings } from '../store/types.js';
import { RetrievalSettingsError, checkRange } from '../retrieve/errors.js';
import { topK, type Scored } from '../retrieve/top-k.js';
import { analyze } from './analyzer.js';

export interface Bm25Params {
  /** Term-frequency saturation. */
  k1: number;
  /** Length normalisation, 0 (none) to 1 (full). */
  b: number;
  /** Document lengths as stored (`exact`) or rounded as Lucene's one-byte norms round them (default). */
  lengths?: 'exact' | 'lucene';
}

/** Anserini's defaults, used for its BEIR baselines (0.679 nDCG@10 on SciFact). */
export const ANSERINI_BM25: Readonly<Bm25Params> = Object.freeze({ k1: 0.9, b: 0.4, lengths: 'lucene' });
/** Elasticsearch's and Lucene's own defaults, which the BEIR paper's BM25 ran with. */
export const LUCENE_BM25: Readonly<Bm25Params> = Object.freeze({ k1: 1.2, b: 0.75, lengths: 'lucene' });

export function checkBm25Params(params: Bm25Params): void {
  checkRange('k1', params.k1, 0);
  checkRange('b', params.b, 0, 1);
  if (params.lengths !== undefined && params.lengths !== 'exact' && params.lengths !== 'lucene') {
    throw new RetrievalSettingsError('lengths', `{lengths} must be 'exact' or 'lucene', not ${String(params.lengths)}`);
  }
}

// Lucene's SmallFloat.intToByte4 then byte4ToInt: lengths below 24 are exact, larger ones keep 4
// significant bits (the leading one implicit) of length - 24.
const FREE_VALUES = 24;

/** A document length as Lucene's BM25 sees it after storing it in a one-byte norm. */
export function luceneLength(length: number): number {
  if (length < FREE_VALUES) return length;
  const v = length - FREE_VALUES;
  const bits = 32 - Math.clz32(v);
  if (bits < 4) return length;
  const shift = bits - 4;
  return FREE_VALUES + ((v >>> shift) << shift);
}

/** Lucene's BM25 idf of a term in `df` of `n` documents. */
export function bm25Idf(n: number, df: number): number {
  return Math.log(1 + (n - df + 0.5) / (df + 0.5));
}

/** Query term -> how often it occurs in the query. */
export function queryTermCounts(terms: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

/** Chunks and their scores, as parallel arrays in no particular order. */
export interface ChunkScores {
  readonly ids: Float64Array;
  readonly scores: Float64Array;
}

// Scratch reused by every call (scoring is synchronous), so a query allocates only its result: sums
// indexed by chunk id (zeroed again after each call), and the ids touched, in first-touch order.
let sums = new Float64Array(0);
let touched = new Float64Array(0);

/** The BM25 score of every chunk that holds at least one query term. */
export function scoreBm25(stats: LexicalStats, queryTerms: readonly string[], params: Bm25Params = ANSERINI_BM25): ChunkScores {
  checkBm25Params(params);
  const { k1, b } = params;
  const quantize = (params.lengths ?? 'lucene') === 'lucene';
  // An index of empty chunks has average length 0; its postings (if any) all have length 0 too.
  const avgdl = stats.averageLength > 0 ? stats.averageLength : 1;
  const weighted: { weight: number; postings: TermPostings }[] = [];
  let maxId = -1;
  let postingCount = 0;
  for (const [term, count] of queryTermCounts(queryTerms)) {
    const postings = stats.postings.get(term);
    const df = postings?.chunkIds.length ?? 0;
    if (df === 0) continue;
    weighted.push({ weight: count * bm25Idf(stats.chunkCount, df), postings: postings! });
    postingCount += df;
    for (const id of postings!.chunkIds) if (id > maxId) maxId = id;
  }
  if (sums.length < maxId + 1) sums = new Float64Array(Math.max(maxId + 1, 2 * sums.length));
  if (touched.length < postingCount) touched = new Float64Array(Math.max(postingCount, 2 * touched.length));
  let n = 0;
  for (const { weight, postings } of weighted) {
    const { chunkIds, tfs, lengths } = postings;
    for (let i = 0; i < chunkIds.length; i++) {
      const chunkId = chunkIds[i]!;
      const tf = tfs[i]!;
      const dl = quantize ? luceneLength(lengths[i]!) : lengths[i]!;
      if (sums[chunkId] === 0) touched[n++] = chunkId;
      sums[chunkId]! += (weight * tf) / (tf + k1 * (1 - b + (b * dl) / avgdl));
    }
  }
  const ids = touched.slice(0, n);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    scores[i] = sums[ids[i]!]!;
    sums[ids[i]!] = 0;
  }
  return { ids, scores };
}

const NO_SCORES: ChunkScores = { ids: new Float64Array(0), scores: new Float64Array(0) };

/** Every chunk that matches `query` (analyzed as the index was) with its BM25 score. */
export async function bm25Scores(store: Store, query: string, params: Bm25Params = ANSERINI_BM25, filter?: ChunkFilter): Promise<ChunkScores> {
  checkBm25Params(params);
  const terms = analyze(query);
  if (terms.length === 0) return NO_SCORES;
  const stats = await store.lexicalStats([...new Set(terms)], filter);
  return scoreBm25(stats, terms, params);
}

/** The `k` best chunks by BM25, best first (ties: smaller chunk id first). */
export async function bm25Search(store: Store, query: string, k: number, params: Bm25Params = ANSERINI_BM25, filter?: ChunkFilter): Promise<Scored[]> {
  return rankScores(await bm25Scores(store, query, params, filter), k);
}

export function rankScores(scores: ChunkScores, k: number): Scored[] {
  return topK(scores.ids, scores.scores, k);
}
