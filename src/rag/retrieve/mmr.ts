/**
 * Maximal marginal relevance (Carbonell and Goldstein, SIGIR 1998): pick, one at a time, the candidate
 * that maximises λ · relevance − (1 − λ) · (its highest cosine similarity to those already picked).
 * Relevance is the ranking's own score rescaled to [0, 1] over the candidates, so MMR works after BM25,
 * fusion or a reranker alike; similarity comes from the stored chunk vectors, negative similarities
 * counting as 0. The penalties therefore only grow, so the objective of each pick never exceeds the
 * previous one's, and it serves as a score that keeps the order.
 */
import { checkRange } from './errors.js';

export interface MmrCandidate {
  id: number;
  score: number;
}

export interface MmrPick {
  id: number;
  /** The MMR objective when it was picked. */
  score: number;
}

export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** Up to `k` of `candidates` (best first) in MMR order; `vectors` must hold every candidate's vector. */
export function maximalMarginalRelevance(candidates: readonly MmrCandidate[], vectors: ReadonlyMap<number, Float32Array>, k: number, lambda: number): MmrPick[] {
  checkRange('mmr.lambda', lambda, 0, 1);
  if (candidates.length === 0 || k <= 0) return [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of candidates) {
    lo = Math.min(lo, c.score);
    hi = Math.max(hi, c.score);
  }
  const relevance = candidates.map((c) => (hi > lo ? (c.score - lo) / (hi - lo) : 1));
  const vecs = candidates.map((c) => {
    const v = vectors.get(c.id);
    if (!v) throw new Error(`maximalMarginalRelevance: no vector for chunk ${c.id}`);
    return v;
  });
  // Highest similarity (at least 0) of each remaining candidate to the picks so far.
  const maxSim = new Float64Array(candidates.length);
  const taken = new Uint8Array(candidates.length);
  const picks: MmrPick[] = [];
  while (picks.length < Math.min(k, candidates.length)) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < candidates.length; i++) {
      if (taken[i]) continue;
      const s = lambda * relevance[i]! - (1 - lambda) * maxSim[i]!;
      if (s > bestScore) {
        best = i;
        bestScore = s;
      }
    }
    taken[best] = 1;
    picks.push({ id: candidates[best]!.id, score: bestScore });
    for (let i = 0; i < candidates.length; i++) {
      if (!taken[i]) maxSim[i] = Math.max(maxSim[i]!, cosineSimilarity(vecs[i]!, vecs[best]!));
    }
  }
  return picks;
}
