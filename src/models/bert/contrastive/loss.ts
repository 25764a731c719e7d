/**
 * sentence-transformers' MultipleNegativesRankingLoss (Henderson et al. 2017,
 * "Efficient Natural Language Response Suggestion for Smart Reply"): for B
 * (query, positive) pairs, S = scale · cos(qᵢ, pⱼ) is a B × B matrix, and the
 * loss is the cross-entropy of each row against its diagonal,
 *
 *   L = −(1/B) Σᵢ log( exp Sᵢᵢ / Σⱼ exp Sᵢⱼ ),
 *
 * so every other passage of the batch is a negative. The symmetric variant
 * (MultipleNegativesSymmetricRankingLoss) averages it with the same loss over
 * the columns (each passage picking its query).
 */
import type { Tensor } from '../../../core/graph.js';
import * as F from '../../../core/ops/index.js';
import { sparseCategoricalCrossentropy } from '../../../losses/index.js';
import { l2Normalize } from '../pooling.js';

/** sentence-transformers' default scale (a temperature of 0.05). */
export const DEFAULT_SCALE = 20;

export interface RankingLossOptions {
  scale?: number;
  symmetric?: boolean;
  /** The embeddings are already unit vectors (a Normalize module), so cosine is their dot product. */
  normalized?: boolean;
}

/** scale · cos(queries (B, H), passages (B, H)) → (B, B). */
export function similarityMatrix(queries: Tensor, passages: Tensor, opts: RankingLossOptions = {}): Tensor {
  const unit = (x: Tensor): Tensor => (opts.normalized ? x : l2Normalize(x));
  const cos = F.matmul(unit(queries), F.transpose(unit(passages), [1, 0]));
  return F.mul(cos, opts.scale ?? DEFAULT_SCALE);
}

/** The mean loss over the batch (a scalar). */
export function multipleNegativesRankingLoss(queries: Tensor, passages: Tensor, opts: RankingLossOptions = {}): Tensor {
  const scores = similarityMatrix(queries, passages, opts);
  const rows = queries.shape[0];
  if (typeof rows !== 'number') throw new Error('multipleNegativesRankingLoss: the batch size must be static');
  const labels = F.range(0, rows);
  const forward = sparseCategoricalCrossentropy(labels, scores, { fromLogits: true });
  if (!opts.symmetric) return forward;
  const backward = sparseCategoricalCrossentropy(labels, F.transpose(scores, [1, 0]), { fromLogits: true });
  return F.mul(F.add(forward, backward), 0.5);
}

/** The same loss in float64 over JS vectors: a reference for tests and for checking a run. */
export function rankingLossReference(queries: readonly ArrayLike<number>[], passages: readonly ArrayLike<number>[], opts: RankingLossOptions = {}): number {
  const scale = opts.scale ?? DEFAULT_SCALE;
  const norm = (v: ArrayLike<number>): number => Math.max(Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0)), 1e-12);
  const cos = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let dot = 0;
    for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
    return dot / (norm(a) * norm(b));
  };
  const S = queries.map((q) => passages.map((p) => scale * cos(q, p)));
  const rowLoss = (m: number[][]): number =>
    m.reduce((sum, row, i) => {
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      return sum + lse - row[i]!;
    }, 0) / m.length;
  const forward = rowLoss(S);
  if (!opts.symmetric) return forward;
  const T = S[0]!.map((_, j) => S.map((row) => row[j]!));
  return (forward + rowLoss(T)) / 2;
}
