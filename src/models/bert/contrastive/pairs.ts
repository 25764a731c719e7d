/**
 * (query, positive passage) pairs and the batches MultipleNegativesRankingLoss
 * trains on. Reading them from a BEIR dataset is src/rag/eval/training-pairs.ts.
 *
 * In-batch negatives make every other passage of a batch a negative for each
 * query, so a batch must not hold a passage that is relevant to another of its
 * queries (the same passage twice, or the same query with two positives): it
 * would be a false negative. Batches are filled greedily from a seeded
 * shuffle, as sentence-transformers' NoDuplicatesBatchSampler does, skipping
 * pairs that conflict and leaving them for a later batch.
 */
import { epochOrder } from '../../../data/batches.js';

export interface ContrastivePair {
  queryId: string;
  passageId: string;
  query: string;
  passage: string;
}

export interface ContrastiveData {
  pairs: ContrastivePair[];
  /** Query id → every passage id judged relevant to it (score ≥ minScore), also those left out of `pairs`. */
  relevant: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Pairs built in memory; `relevant` defaults to each pair's own positive. */
export function pairsData(pairs: readonly ContrastivePair[], relevant?: ReadonlyMap<string, ReadonlySet<string>>): ContrastiveData {
  if (relevant) return { pairs: [...pairs], relevant };
  const map = new Map<string, Set<string>>();
  for (const p of pairs) {
    let set = map.get(p.queryId);
    if (!set) map.set(p.queryId, (set = new Set()));
    set.add(p.passageId);
  }
  return { pairs: [...pairs], relevant: map };
}

/**
 * The batches of one epoch, as indices into `data.pairs`: a permutation seeded by (seed, epoch), cut
 * greedily into batches of at most `batchSize` pairs in which no passage is relevant to another
 * pair's query and no passage text repeats. Every pair is in exactly one batch.
 */
export function epochBatches(data: ContrastiveData, batchSize: number, seed: number, epoch: number): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`contrastive batches: batchSize must be a positive integer, received ${batchSize}`);
  const { pairs, relevant } = data;
  let remaining = Array.from(epochOrder(pairs.length, { seed, epoch }));
  const batches: number[][] = [];
  const positivesOf = (p: ContrastivePair): ReadonlySet<string> => relevant.get(p.queryId) ?? new Set([p.passageId]);
  while (remaining.length > 0) {
    const batch: number[] = [];
    const passageIds = new Set<string>();
    const passageTexts = new Set<string>();
    const blocked = new Set<string>(); // passages relevant to a query already in the batch
    const left: number[] = [];
    for (const i of remaining) {
      const p = pairs[i]!;
      const positives = positivesOf(p);
      const fits =
        batch.length < batchSize &&
        !blocked.has(p.passageId) &&
        !passageTexts.has(p.passage) &&
        ![...positives].some((id) => passageIds.has(id));
      if (!fits) {
        left.push(i);
        continue;
      }
      batch.push(i);
      passageIds.add(p.passageId);
      passageTexts.add(p.passage);
      for (const id of positives) blocked.add(id);
    }
    batches.push(batch);
    remaining = left;
  }
  return batches;
}
