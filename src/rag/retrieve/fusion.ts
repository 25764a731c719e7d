/**
 * Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): each list adds weight / (c + rank)
 * for every item it holds, ranks from 1. Only ranks matter, so BM25 scores and cosine similarities
 * need no common scale.
 */
import { checkRange } from './errors.js';

export interface FusionList<K> {
  /** The list's items, best first. */
  keys: readonly K[];
  weight: number;
}

export interface Fused<K> {
  key: K;
  score: number;
  /** The best rank any list gave the item (ties in the fused score go to the better one). */
  bestRank: number;
}

/** Cormack et al.'s constant. */
export const RRF_K = 60;

/** Every key of the lists by fused score, best first; ties by best rank, then by first appearance. */
export function reciprocalRankFusion<K>(lists: readonly FusionList<K>[], c: number = RRF_K): Fused<K>[] {
  checkRange('fusion.k', c, 0);
  lists.forEach((l, i) => checkRange(`fusion.weights[${i}]`, l.weight, 0));
  const fused = new Map<K, Fused<K> & { order: number }>();
  for (const { keys, weight } of lists) {
    keys.forEach((key, i) => {
      const rank = i + 1;
      const entry = fused.get(key);
      if (entry) {
        entry.score += weight / (c + rank);
        entry.bestRank = Math.min(entry.bestRank, rank);
      } else fused.set(key, { key, score: weight / (c + rank), bestRank: rank, order: fused.size });
    });
  }
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || a.bestRank - b.bestRank || a.order - b.order)
    .map(({ key, score, bestRank }) => ({ key, score, bestRank }));
}
